package dashboards

import (
	"html/template"
	"strings"
)

// The filter bar's dimensions are multi-select: each is a <details> dropdown of
// checkboxes named after the URL parameter, so team=a&team=b (what
// query.ParseFilter reads, as it reads team=a,b) comes back checked, and the
// form works without script too. Nothing checked means all.

// All is the label of the unfiltered state ("All").
func (sb selectBox) All() string { return sb.all }

// chosen is the values asked for, in order, without repeats.
func (sb selectBox) chosen() []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range strings.Split(sb.cur, ",") {
		if v = strings.TrimSpace(v); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// label is an option's label, or the value itself when the dimension does not
// list it (a value from an edited URL).
func (sb selectBox) label(v string) string {
	if sb.dim != nil {
		for _, o := range sb.dim.opts {
			if o.Value == v {
				return o.Label
			}
		}
	}
	return v
}

// Summary is what the closed dropdown shows: "All", the one or two labels
// chosen, or the first and how many more.
func (sb selectBox) Summary() string {
	ch := sb.chosen()
	switch len(ch) {
	case 0:
		return sb.all
	case 1:
		return sb.label(ch[0])
	case 2:
		return sb.label(ch[0]) + ", " + sb.label(ch[1])
	}
	return sb.label(ch[0]) + " +" + itoa(len(ch)-1)
}

// ChecksHTML is the dropdown's checkboxes: the dimension's values, the chosen
// ones checked, and chosen values the dimension does not list at the end.
func (sb selectBox) ChecksHTML() template.HTML {
	ch := sb.chosen()
	if len(ch) == 0 && sb.dim != nil {
		if h, ok := sb.dim.none.Load(sb.Name); ok {
			return h.(template.HTML)
		}
		h := sb.checks(ch)
		sb.dim.none.Store(sb.Name, h)
		return h
	}
	return sb.checks(ch)
}

// checks writes the checkboxes with the values of ch checked.
func (sb selectBox) checks(ch []string) template.HTML {
	on := make(map[string]bool, len(ch))
	for _, v := range ch {
		on[v] = true
	}
	var w htmlWriter
	box := func(v, label string) {
		w.WriteString(`<label class="mo"><input type="checkbox" name="`)
		w.esc(sb.Name)
		w.WriteString(`" value="`)
		w.esc(v)
		w.WriteByte('"')
		if on[v] {
			w.WriteString(" checked")
			delete(on, v)
		}
		w.WriteString("> ")
		w.esc(label)
		w.WriteString("</label>")
	}
	if sb.dim != nil {
		w.Grow(len(sb.dim.opts) * (64 + len(sb.Name)))
		for _, o := range sb.dim.opts {
			box(o.Value, o.Label)
		}
	}
	for _, v := range ch {
		if on[v] {
			box(v, v)
		}
	}
	return template.HTML(w.String())
}
