package dashboards

import (
	"html/template"
	"strings"
	"testing"
)

// checksTemplate is what ChecksHTML writes, as html/template would write it:
// the oracle for its escaping of CRM values.
const checksTemplate = `{{define "ms"}}<fieldset>{{$n := .Name}}{{range .Boxes}}<label class="mo"><input type="checkbox" name="{{$n}}" value="{{.Value}}"{{if .Selected}} checked{{end}}> {{.Label}}</label>{{end}}</fieldset>{{end}}` +
	`{{define "new"}}<fieldset>{{.ChecksHTML}}</fieldset>{{end}}`

func TestChecksHTMLMatchesTemplate(t *testing.T) {
	tm := template.Must(template.New("").Parse(checksTemplate))
	var opts []option
	for i, s := range nasty {
		if !strings.Contains(s, ",") { // a value with a comma cannot be asked for (query.ParseFilter splits lists)
			opts = append(opts, option{Value: s, Label: nasty[(i+5)%len(nasty)]})
		}
	}
	type oracle struct {
		Name  string
		Boxes []option
	}
	// One dimension for every case, as pages share it: the unchecked boxes it
	// keeps must not leak into a page with values checked or another name.
	dim := newDimOptions(opts)
	for i, cur := range []string{"", "plain", "", "plain,a+b", "", "not there", "plain,not there,plain", `"quoted",<script>alert(1)</script>`, ""} {
		name := `team"x`
		if i == 4 {
			name = "territory"
		}
		sb := selectBox{Name: name, Label: "Team", all: "All", dim: dim, cur: cur}
		want := oracle{Name: sb.Name}
		on := map[string]bool{}
		for _, v := range sb.chosen() {
			on[v] = true
		}
		for _, o := range opts {
			o.Selected = on[o.Value]
			delete(on, o.Value)
			want.Boxes = append(want.Boxes, o)
		}
		for _, v := range sb.chosen() {
			if on[v] {
				want.Boxes = append(want.Boxes, option{Value: v, Label: v, Selected: true})
			}
		}
		w, g := exec(t, tm, "ms", want), exec(t, tm, "new", sb)
		if w != g {
			i := firstDiff(w, g)
			t.Fatalf("cur %q: checkboxes differ at byte %d:\ntemplate:   %q\nChecksHTML: %q", cur, i, around(w, i), around(g, i))
		}
		if strings.Contains(g, "<script>") {
			t.Fatal("markup got through")
		}
	}
	// The closed dropdown says what is chosen.
	sb := selectBox{all: "All", dim: newDimOptions([]option{{Value: "a", Label: "Alpha"}, {Value: "b", Label: "Beta"}, {Value: "c", Label: "Gamma"}})}
	for cur, want := range map[string]string{"": "All", "b": "Beta", "a,b": "Alpha, Beta", "c,a,b": "Gamma +2", "zz": "zz"} {
		sb.cur = cur
		if got := sb.Summary(); got != want {
			t.Errorf("summary of %q: %q, want %q", cur, got, want)
		}
	}
}
