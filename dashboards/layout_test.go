package dashboards

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestLayoutPhone opens the main pages at 360 and 390 px as the director and
// as a rep, in English and Chinese: nothing may make the page wider than the
// screen (a phone user would scroll sideways to read a number), the menu stays
// one scrollable row and sign-out stays on screen.
func TestLayoutPhone(t *testing.T) {
	b := newBrowser(t)
	d := newDemo(t, 3000)
	type geo struct {
		ScrollWidth int     `json:"sw"`
		Inner       int     `json:"iw"`
		Wide        string  `json:"wide"`
		NavHeight   float64 `json:"nh"`
		NavLinkH    float64 `json:"lh"`
		SignOutX    float64 `json:"so"`
	}
	measure := `(() => {
		const iw = window.innerWidth, sw = document.scrollingElement.scrollWidth;
		let wide = '';
		if (sw > iw) for (const el of document.querySelectorAll('body *')) {
			const r = el.getBoundingClientRect();
			if (r.right > iw + 1 && !el.closest('.tablewrap, .nav, .msb')) { wide = el.tagName + '.' + el.className + '#' + el.id; break; }
		}
		const nav = document.querySelector('nav.nav'), a = nav && nav.querySelector('a');
		const so = document.querySelector('header form button').getBoundingClientRect();
		return {sw, iw, wide, nh: nav ? nav.getBoundingClientRect().height : 0, lh: a ? a.getBoundingClientRect().height : 0, so: so.right};
	})()`
	paths := []string{"/", "/funnel", "/reps", "/territories", "/targets", "/alerts"}
	for _, user := range []string{"director", "rep"} {
		b.signIn(t, d.ts.URL, user)
		for _, width := range []int64{360, 390} {
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(width, 780)); err != nil {
				t.Fatal(err)
			}
			for _, lang := range []string{"en", "zh-CN"} {
				for i, p := range paths {
					u := d.ts.URL + p
					if i == 0 {
						u += "?lang=" + lang // sets the language cookie for the rest
					}
					if err := chromedp.Do(b.ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
						t.Fatalf("%s %s: %v", user, p, err)
					}
					g, err := chromedp.Run(b.ctx, chromedp.Evaluate[geo](measure))
					if err != nil {
						t.Fatal(err)
					}
					where := user + " " + lang + " " + p + " at " + itoa(int(width)) + " px"
					if g.ScrollWidth > g.Inner {
						t.Errorf("%s: the page is %d px wide on a %d px screen (first wide element: %s)", where, g.ScrollWidth, g.Inner, g.Wide)
						b.shot(t, "phone-"+user+"-"+lang+strings.ReplaceAll(p, "/", "-"))
					}
					if g.NavHeight > 60 || g.NavLinkH > 50 {
						t.Errorf("%s: the menu wraps (menu %.0f px high, an entry %.0f px)", where, g.NavHeight, g.NavLinkH)
					}
					if g.SignOutX > float64(g.Inner) {
						t.Errorf("%s: sign-out is off screen (right edge %.0f px)", where, g.SignOutX)
					}
				}
			}
		}
		if problems, _ := b.take(); len(problems) > 0 {
			t.Errorf("%s: %v", user, problems)
		}
		// A wall screen: the panels take its width and the charts follow.
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(2560, 1440), chromedp.Navigate(d.ts.URL+"/reps?lang=en"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
			t.Fatal(err)
		}
		wall, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`[document.querySelector('main').getBoundingClientRect().width, Math.max(0, ...[...document.querySelectorAll('.chart canvas')].map(c => c.getBoundingClientRect().width))]`))
		if err != nil {
			t.Fatal(err)
		}
		if wall[0] < 2400 || wall[1] < 1600 {
			t.Errorf("%s at 2560 px: the page's main column is %.0f px and its widest chart %.0f px, want the screen's width", user, wall[0], wall[1])
		}
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1440, 1000), chromedp.Navigate(d.ts.URL+"/?lang=en"),
			chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))); err != nil {
			t.Fatalf("sign out: %v", err)
		}
	}
}

// TestLayoutTables sorts the reps table by a formatted number column (its
// data-v raw values), searches it, and round-trips a two-team filter chosen in
// the filter bar's dropdown through the URL.
func TestLayoutTables(t *testing.T) {
	b := newBrowser(t)
	d := newDemo(t, 3000)
	b.signIn(t, d.ts.URL, "director")
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/reps?lang=en"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatal(err)
	}
	// Column 4 is bookings ("1.2M", "830.5k"): sorting must follow the amounts.
	col := func() []float64 {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`[...document.querySelectorAll('#t-reps tbody tr')].map(r => parseFloat(r.cells[3].getAttribute('data-v')))`))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	sorted := func(v []float64, asc bool) bool {
		for i := 1; i < len(v); i++ {
			if asc && v[i] < v[i-1] || !asc && v[i] > v[i-1] {
				return false
			}
		}
		return len(v) > 2
	}
	header := chromedp.CSS(`#t-reps thead th:nth-child(4) button.sort`)
	for _, want := range []string{"descending", "ascending"} {
		if err := chromedp.Do(b.ctx, chromedp.Click(header)); err != nil {
			t.Fatal(err)
		}
		sortAttr, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#t-reps thead th:nth-child(4)').getAttribute('aria-sort') || ''`))
		if err != nil {
			t.Fatal(err)
		}
		if v := col(); sortAttr != want || !sorted(v, want == "ascending") {
			t.Errorf("after a click on the bookings header: aria-sort %q, want %s; values %v", sortAttr, want, v)
		}
	}
	// Keyboard: the header is a button, Enter sorts.
	if err := chromedp.Do(b.ctx, chromedp.Focus(chromedp.CSS(`#t-reps thead th:nth-child(2) button.sort`)), chromedp.KeyEvent("\r"), chromedp.Sleep(100*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	names, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#t-reps tbody tr')].map(r => r.cells[1].textContent.trim())`))
	for i := 1; i < len(names); i++ {
		if strings.Compare(strings.ToLower(names[i-1]), strings.ToLower(names[i])) > 0 && !strings.EqualFold(names[i-1], names[i]) {
			// localeCompare and byte order agree on the generator's Latin names
			t.Errorf("Enter on the rep header: %q before %q", names[i-1], names[i])
			break
		}
	}
	// Search: typing a rep's name leaves the rows that hold it.
	if len(names) > 10 {
		q := names[len(names)/2]
		if err := chromedp.Do(b.ctx, chromedp.SendKeys(chromedp.CSS(`.tsearch input`), q), chromedp.Sleep(100*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`[...document.querySelectorAll('#t-reps tbody tr')].filter(r => !r.hidden).length`))
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 || n >= len(names) {
			t.Errorf("searching %q leaves %d of %d rows", q, n, len(names))
		}
	} else {
		t.Errorf("the reps table has %d rows: too few to search", len(names))
	}

	// Multi-select: check two teams in the dropdown, close it: the URL carries
	// both, and the reloaded page shows both checked.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/funnel?preset=last_12m"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]")),
		chromedp.Click(chromedp.CSS(`details.ms[data-name=team] summary`)),
		chromedp.Click(chromedp.CSS(`details.ms[data-name=team] input[value="`+d.teamA+`"]`)),
		chromedp.Click(chromedp.CSS(`details.ms[data-name=team] input[value="`+d.teamB+`"]`)),
		chromedp.Click(chromedp.CSS(`main h1`)),
		chromedp.Sleep(300*time.Millisecond), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(b.location())
	if got := u.Query()["team"]; len(got) != 2 || u.Query().Get("preset") != "last_12m" {
		t.Fatalf("after choosing two teams the URL is %s, want team twice and the preset kept", u)
	}
	checked, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('details.ms[data-name=team] input:checked')].map(i => i.value)`))
	summary, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('details.ms[data-name=team] .msv').textContent`))
	if len(checked) != 2 || !strings.Contains(summary, ",") {
		t.Errorf("the reloaded page shows teams %v checked (summary %q), want %s and %s", checked, summary, d.teamA, d.teamB)
	}
	if problems, _ := b.take(); len(problems) > 0 {
		t.Errorf("console: %v", problems)
	}
}

// TestStaticFilesGzipped: ECharts reaches a browser gzipped (a phone on a slow
// network waited seconds for the 1 MB file), cached for a year only under a
// versioned URL, and whole for a client that does not take gzip.
func TestStaticFilesGzipped(t *testing.T) {
	ts := httptest.NewServer(New(Options{}).Echo)
	t.Cleanup(ts.Close)
	want, err := fs.ReadFile(assets, "static/echarts/echarts.min.js")
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{DisableCompression: true}
	for _, c := range []struct {
		path, enc, wantEnc, wantCache string
	}{
		{"/static/echarts/echarts.min.js?v=abc", "gzip, deflate, br", "gzip", "immutable"},
		{"/static/echarts/echarts.min.js", "gzip;q=0", "", "max-age=3600"},
		{"/static/echarts/echarts.min.js?v=abc", "", "", "immutable"},
	} {
		resp, got := fetchEncoded(t, tr, ts.URL+c.path, c.enc, c.wantEnc)
		if !bytes.Equal(got, want) {
			t.Errorf("%s (%q): %d bytes after decoding, want the embedded %d", c.path, c.enc, len(got), len(want))
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, c.wantCache) {
			t.Errorf("%s: Cache-Control %q, want %s", c.path, cc, c.wantCache)
		}
		if c.wantEnc == "gzip" && resp.ContentLength > int64(len(want))/2 {
			t.Errorf("%s: %d bytes on the wire for %d", c.path, resp.ContentLength, len(want))
		}
	}
	for _, p := range []string{"/static/nope.js", "/static/echarts/nope", "/static/../templates/layout.html"} {
		resp, err := http.Get(ts.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
}
