package dashboards

import (
	"fmt"
	"html/template"
	"strings"
	"sync"
)

// The long repeated parts of a page (table rows, the filter's checkboxes)
// are written here rather than by html/template: the template engine calls every
// escaper and field through reflection, which for a table of hundreds of rows
// cost most of a page's CPU. The escaping below is html/template's own for the
// same contexts (text, quoted attribute, URL attribute, CSS value), and
// htmlesc_test.go checks the output byte for byte against the template fragments
// these functions replace.

// htmlWriter builds HTML with html/template's escaping.
type htmlWriter struct{ strings.Builder }

// esc writes s escaped for a text node or a quoted attribute value: what
// html/template's htmlEscaper and attrEscaper do for a plain string.
func (w *htmlWriter) esc(s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		var repl string
		switch s[i] {
		case 0:
			repl = "\uFFFD"
		case '"':
			repl = "&#34;"
		case '&':
			repl = "&amp;"
		case '\'':
			repl = "&#39;"
		case '+':
			repl = "&#43;"
		case '<':
			repl = "&lt;"
		case '>':
			repl = "&gt;"
		default:
			continue
		}
		// All replaced characters are ASCII, so byte-wise scanning matches
		// html/template's rune-wise one (multi-byte runes contain no ASCII).
		w.WriteString(s[written:i])
		w.WriteString(repl)
		written = i + 1
	}
	w.WriteString(s[written:])
}

// url writes s as a quoted href value: html/template's urlFilter (only http,
// https, mailto or relative URLs), urlNormalizer and attrEscaper.
func (w *htmlWriter) url(s string) {
	if protocol, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(protocol, "/") {
		if !strings.EqualFold(protocol, "http") && !strings.EqualFold(protocol, "https") && !strings.EqualFold(protocol, "mailto") {
			w.WriteString("#ZgotmplZ")
			return
		}
	}
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHexByte(s[i+1]) && isHexByte(s[i+2]):
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		fmt.Fprintf(&b, "%%%02x", c)
		written = i + 1
	}
	if written == 0 {
		w.esc(s)
		return
	}
	b.WriteString(s[written:])
	w.esc(b.String())
}

func isHexByte(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// pctWidth is the template's pct function: a ratio as a whole percentage.
func pctWidth(v float64) string { return fixed(v*100, 0) }

// cssNum writes a formatted number into a style attribute as html/template's
// cssValueFilter and attrEscaper would. Numbers pass unchanged (but for the +
// of +Inf); anything else is refused the way the filter refuses it.
func (w *htmlWriter) cssNum(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || c == '.' || c == '+' || c == 'N' || c == 'a' || c == 'I' || c == 'n' || c == 'f' || c == '-' && (i == 0 || s[i-1] != '-')) {
			w.WriteString("ZgotmplZ")
			return
		}
	}
	w.esc(s)
}

// BodyHTML is the table's rows as layout.html shows them: numeric columns
// right-aligned with their raw value in data-v, optional bar behind the text,
// optional link. Only the first
// Limit rows when Limit > 0 (the CSV export has them all).
func (t *table) BodyHTML() (template.HTML, error) {
	var w htmlWriter
	rows := t.Shown()
	w.Grow(len(rows) * len(t.Cols) * 48)
	for _, r := range rows {
		w.WriteString("<tr")
		if r.Class != "" {
			w.WriteString(` class="`)
			w.esc(r.Class)
			w.WriteByte('"')
		}
		w.WriteByte('>')
		for i, c := range r.Cells {
			if i >= len(t.Cols) {
				return "", fmt.Errorf("table %s: a row has %d cells for %d columns", t.ID, len(r.Cells), len(t.Cols))
			}
			w.WriteString(`<td class="`)
			if t.Cols[i].Num {
				w.WriteString("num ")
			}
			w.esc(c.Class)
			w.WriteByte('"')
			if t.Cols[i].Num && c.Raw != "" {
				// The raw number app.js sorts by ("1.2万" and "52.3k" do not sort as text).
				w.WriteString(` data-v="`)
				w.esc(c.Raw)
				w.WriteByte('"')
			}
			w.WriteByte('>')
			if c.Bar != 0 {
				w.WriteString(`<span class="cbar" style="width:`)
				w.cssNum(pctWidth(c.Bar))
				w.WriteString(`%"></span>`)
			}
			if c.Link != "" {
				w.WriteString(`<a href="`)
				w.url(c.Link)
				w.WriteString(`">`)
				w.esc(c.Text)
				w.WriteString(`</a>`)
			} else {
				w.esc(c.Text)
			}
			w.WriteString("</td>")
		}
		w.WriteString("</tr>")
	}
	return template.HTML(w.String()), nil
}

// Shown is the rows the page shows: the first Limit, and a selected row further
// down.
func (t *table) Shown() []row {
	if t.Limit <= 0 || len(t.Rows) <= t.Limit {
		return t.Rows
	}
	shown := t.Rows[:t.Limit:t.Limit]
	for _, r := range t.Rows[t.Limit:] {
		if r.Class == "selected" || strings.HasSuffix(r.Class, " selected") {
			shown = append(shown, r)
		}
	}
	return shown
}

// Hidden is how many rows the page leaves to "show all" and the CSV.
func (t *table) Hidden() int { return len(t.Rows) - len(t.Shown()) }

// dimOptions is a filter dimension's options, sorted (shared and read-only:
// the filter bar's dropdowns write them, filterbar.go). none keeps the
// dropdown's checkboxes with nothing checked, what most pages show, written
// once per options and parameter name.
type dimOptions struct {
	opts []option
	none sync.Map // parameter name -> template.HTML
}

func newDimOptions(opts []option) *dimOptions { return &dimOptions{opts: opts} }
