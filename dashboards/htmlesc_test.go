package dashboards

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strings"
	"testing"
)

// The template fragments that table.BodyHTML replaces, in the same
// surroundings as in layout.html; they are the oracle the Go-written HTML must
// match byte for byte.
const (
	oldRows = `{{define "rows"}}<table><tbody>
        {{$t := .}}{{range .Rows}}<tr{{if .Class}} class="{{.Class}}"{{end}}>{{range $i, $c := .Cells}}<td class="{{if (index $t.Cols $i).Num}}num {{end}}{{$c.Class}}"{{if and (index $t.Cols $i).Num $c.Raw}} data-v="{{$c.Raw}}"{{end}}>{{if $c.Bar}}<span class="cbar" style="width:{{pct $c.Bar}}%"></span>{{end}}{{if $c.Link}}<a href="{{$c.Link}}">{{$c.Text}}</a>{{else}}{{$c.Text}}{{end}}</td>{{end}}</tr>{{end}}
      </tbody></table>{{end}}`
	newRows = `{{define "rows"}}<table><tbody>
        {{.BodyHTML}}
      </tbody></table>{{end}}`
)

// nasty are strings a CRM export could hold, for every context.
var nasty = []string{
	"", "plain", "Zhōu 周杰", `"quoted"`, `it's`, "a+b", "<script>alert(1)</script>", "&amp; &lt;", "\x00nul", "bad\xffutf8", "tab\there",
	"javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "data:text/html,<b>x</b>", "vbscript:x", "mailto:a@b.c", "MAILTO:a@b.c",
	"http://example.com/?a=1&b=<>\"'", "https://x.y/p q", "//evil.example/x", "/funnel?stage=proposal&rep=U0001", "/a:b", "a:b/c", "/x?q=%zz%41%4%",
	"/x?q=100%", "/x#frag ment", "/找/路径?名=值", "/x?a=b+c&d=e%20f", "{}[]()`\\;@!$*,~", "\r\n", "&#34;", "+Inf", "-1", "expression(alert(1))",
}

func TestBodyHTMLMatchesTemplate(t *testing.T) {
	funcs := template.FuncMap{"pct": pctWidth}
	oldT := template.Must(template.New("").Funcs(funcs).Parse(oldRows))
	newT := template.Must(template.New("").Funcs(funcs).Parse(newRows))
	bars := []float64{0, 0.5, 1, 0.123456, -0.3, 1e-9, 0.005, 12.5, math.NaN(), math.Inf(1), math.Inf(-1)}
	tb := &table{ID: "t", Cols: []col{{Label: "a"}, {Label: "b", Num: true}, {Label: "c"}}}
	for i, s := range nasty {
		for j := range 3 {
			u := nasty[(i+j*7)%len(nasty)]
			rw := row{Class: nasty[(i+j)%len(nasty)]}
			for k := range 3 {
				rw.Cells = append(rw.Cells, cell{Text: s, Link: []string{"", u, s}[(j+k)%3], Class: nasty[(i+k+j*3)%len(nasty)], Bar: bars[(i+j+k)%len(bars)], Raw: nasty[(i+2*k+j)%len(nasty)]})
			}
			if j == 2 {
				rw.Cells = rw.Cells[:2] // fewer cells than columns
			}
			tb.Rows = append(tb.Rows, rw)
		}
	}
	want, got := exec(t, oldT, "rows", tb), exec(t, newT, "rows", tb)
	if want != got {
		t.Fatalf("rows differ at byte %d:\ntemplate: %q\nBodyHTML: %q", firstDiff(want, got), around(want, firstDiff(want, got)), around(got, firstDiff(want, got)))
	}
	if !strings.Contains(got, "#ZgotmplZ") || strings.Contains(got, "<script>") {
		t.Fatal("unsafe URLs or markup got through")
	}
	// The limit cuts the rows shown, not the table.
	tb.Limit = 2
	if n := strings.Count(exec(t, newT, "rows", tb), "<tr"); n != 2 || tb.Hidden() != len(tb.Rows)-2 {
		t.Fatalf("limit 2 shows %d rows, hides %d of %d", n, tb.Hidden(), len(tb.Rows))
	}
	// A selected row past the limit is shown too.
	tb.Rows[len(tb.Rows)-1].Class = "selected"
	if n := strings.Count(exec(t, newT, "rows", tb), "<tr"); n != 3 || tb.Hidden() != len(tb.Rows)-3 {
		t.Fatalf("limit 2 and a selected row shows %d rows, hides %d of %d", n, tb.Hidden(), len(tb.Rows))
	}
	// More cells than columns fails the page, as the template's index did.
	tb.Limit = 0
	tb.Rows = append(tb.Rows, row{Cells: make([]cell, 4)})
	if err := newT.ExecuteTemplate(&bytes.Buffer{}, "rows", tb); err == nil {
		t.Fatal("a row wider than the columns rendered")
	}
}

func exec(t *testing.T, tm *template.Template, name string, data any) string {
	t.Helper()
	var b bytes.Buffer
	if err := tm.ExecuteTemplate(&b, name, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func firstDiff(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(s string, i int) string {
	return fmt.Sprint(s[max(0, i-60):min(len(s), i+60)])
}

func TestFixedMatchesSprintf(t *testing.T) {
	for _, v := range []float64{0, math.Copysign(0, -1), 1, -1, 0.05, 0.15, 0.25, 2.5, 3.5, -2.5, 1234567.891, 1e21, 1e-7, -1e-7, 0.9999, 99.95, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64, math.SmallestNonzeroFloat64} {
		for prec := range 3 {
			if got, want := fixed(v, prec), fmt.Sprintf("%.*f", prec, v); got != want {
				t.Errorf("fixed(%v, %d) = %q, fmt says %q", v, prec, got, want)
			}
		}
	}
}

func TestURLFuncMatchesURL(t *testing.T) {
	for _, q := range []string{"", "stage=proposal", "stage=proposal&rep=U1&deal=D9", "rep=x&rep=y", "lang=zh-CN&csv=t&stage=a+b", "a=1&z=2&rep=", "xrep=PLACEHOLDER&rep=1", "deal=PLACEHOLDER"} {
		vs, _ := url.ParseQuery(q)
		r := &request{q: vs}
		for _, call := range [][]string{{"rep", "deal", ""}, {"deal"}, {"stage", "rep", "", "deal", ""}} {
			f := r.urlFunc("/funnel", call[0], call[1:]...)
			for _, v := range nasty {
				if got, want := f(v), r.url("/funnel", append([]string{call[0], v}, call[1:]...)...); got != want {
					t.Fatalf("query %q, %v, value %q: urlFunc %q, url %q", q, call, v, got, want)
				}
			}
		}
	}
}
