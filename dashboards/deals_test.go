package dashboards

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The API fixture: o1, o2 (closed) and o3 (open, proposal) are r1's in East,
// o5 (lost) is r3's in West. No stage history: o3 has been in proposal since it
// was created on 2024-01-15, and no stay ever left a stage (no norm).
func TestDealsAPI(t *testing.T) {
	ts := newAPIServer(t)
	type detail struct {
		Deal struct {
			ID     string `json:"opportunity_id"`
			Stage  string `json:"stage"`
			Status string `json:"status"`
		} `json:"deal"`
		CRMID  string `json:"crm_id"`
		Stages []struct {
			Stage   string  `json:"stage"`
			Entered string  `json:"entered"`
			Days    float64 `json:"days"`
			Current bool    `json:"current"`
		} `json:"stages"`
	}
	for _, c := range []struct {
		token, id string
		code      int
	}{
		{"tok-east", "o3", 200}, {"tok-east", "o5", 404}, {"tok-ravi", "o5", 200}, {"tok-ravi", "o1", 404},
		{"tok-director", "o5", 200}, {"tok-director", "nope", 404}, {"", "o3", 401},
	} {
		var d detail
		if got := get(t, ts, c.token, "/api/v1/deals/"+c.id, &d); got != c.code {
			t.Errorf("%s opening deal %s: %d, want %d", c.token, c.id, got, c.code)
		} else if got == 200 && (d.Deal.ID != c.id || d.CRMID != c.id) {
			t.Errorf("%s opening deal %s got %+v", c.token, c.id, d)
		}
	}
	var o3 detail
	get(t, ts, "tok-east", "/api/v1/deals/o3", &o3)
	since := time.Since(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC)).Hours() / 24
	if len(o3.Stages) != 1 || o3.Stages[0].Stage != "proposal" || !o3.Stages[0].Current || o3.Stages[0].Entered != "2024-01-15 00:00" ||
		o3.Stages[0].Days < since-0.01 || o3.Stages[0].Days > since+0.01 {
		t.Errorf("o3 without history is in proposal since it was created (%.2f days): %+v", since, o3.Stages)
	}

	type stuck struct {
		Total int `json:"total"`
		Deals []struct {
			ID    string   `json:"opportunity_id"`
			Days  float64  `json:"days"`
			Ratio *float64 `json:"ratio"`
		} `json:"deals"`
	}
	const all = "from=2024-01-01&to=2024-04-01"
	for _, c := range []struct {
		token, query string
		code         int
		ids          []string
	}{
		{"tok-director", all, 200, []string{"o3"}}, {"tok-east", all, 200, []string{"o3"}}, {"tok-ravi", all, 200, nil},
		{"tok-east", all + "&team=West", 403, nil}, {"tok-ravi", all + "&rep=r1", 403, nil},
		{"tok-director", all + "&sort=name", 400, nil}, {"tok-director", all + "&page_size=5000", 400, nil},
	} {
		var s stuck
		got := get(t, ts, c.token, "/api/v1/stuck?"+c.query, &s)
		if got != c.code {
			t.Errorf("%s /stuck?%s: %d, want %d", c.token, c.query, got, c.code)
			continue
		}
		if got != 200 {
			continue
		}
		var ids []string
		for _, d := range s.Deals {
			ids = append(ids, d.ID)
			if d.Ratio != nil {
				t.Errorf("%s: %s has a ratio %v though no stay left its stage", c.token, d.ID, *d.Ratio)
			}
		}
		if s.Total != len(c.ids) || strings.Join(ids, ",") != strings.Join(c.ids, ",") {
			t.Errorf("%s /stuck: %d deals %v, want %v", c.token, s.Total, ids, c.ids)
		}
	}
}

// The pages: the deals behind a number with a title naming the set, its CSV,
// the stuck deals of a manager's team, a deal's detail and another team's deal.
func TestDealsPages(t *testing.T) {
	d := newDemo(t, 1500)
	const rng = "from=2000-01-01&to=2100-01-01"
	var deals struct {
		Total int `json:"total"`
		Deals []struct {
			ID   string `json:"opportunity_id"`
			Team string `json:"team"`
		} `json:"deals"`
	}
	if c := get(t, d.ts, "tok-director", "/api/v1/deals?"+rng+"&basis=closed&status=won&page_size=500&team="+url.QueryEscape(d.teamA), &deals); c != 200 || deals.Total == 0 {
		t.Fatalf("won deals of %s: %d %d", d.teamA, c, deals.Total)
	}
	won := deals.Total
	mine := deals.Deals[0].ID
	if c := get(t, d.ts, "tok-director", "/api/v1/deals?"+rng+"&page_size=1&team="+url.QueryEscape(d.teamB), &deals); c != 200 || deals.Total == 0 {
		t.Fatalf("deals of %s: %d", d.teamB, c)
	}
	other := deals.Deals[0].ID

	// The deal links back to its CRM record (crm.record_urls of its source).
	var dd struct {
		Source string `json:"source_system"`
		URL    string `json:"crm_url"`
	}
	if c := get(t, d.ts, "tok-director", "/api/v1/deals/"+url.PathEscape(mine), &dd); c != 200 || dd.Source != "gen" || dd.URL != "https://crm.example.com/r/"+url.PathEscape(mine)+"/view" {
		t.Errorf("deal %s: %d, source %q, crm_url %q; want the gen template with its id", mine, c, dd.Source, dd.URL)
	}

	dir := d.client(t)
	d.login(t, dir, "director", demoPassword)
	if code, body := d.page(t, dir, "/deals/"+url.PathEscape(mine)); code != 200 || !strings.Contains(body, `href="https://crm.example.com/r/`+url.PathEscape(mine)+`/view"`) {
		t.Errorf("the deal page (%d) does not link to the CRM record", code)
	}
	code, body := d.page(t, dir, "/deals?"+rng+"&basis=closed&status=won&team="+url.QueryEscape(d.teamA))
	if code != 200 || !strings.Contains(body, "<h1>Won deals · closed 2000-01-01 – 2099-12-31 · "+html.EscapeString(d.teamA)+"</h1>") {
		t.Errorf("the won deals page (%d) does not name its set in the title", code)
	}
	if !strings.Contains(body, `href="/deals/`+url.PathEscape(mine)+`?back=`) {
		t.Errorf("the deals page does not link %s to its detail", mine)
	}
	code, csvBody := d.page(t, dir, "/deals?"+rng+"&basis=closed&status=won&csv=deals&team="+url.QueryEscape(d.teamA))
	if lines := strings.Count(strings.TrimSpace(csvBody), "\n"); code != 200 || lines != won {
		t.Errorf("the CSV of %d won deals has %d rows (status %d)", won, lines, code)
	}
	// Every deal of the set, not one page (1,500 deals are three pages of 500).
	if c := get(t, d.ts, "tok-director", "/api/v1/deals?"+rng+"&page_size=1", &deals); c != 200 || deals.Total <= 500 {
		t.Fatalf("all deals: %d %d", c, deals.Total)
	}
	code, csvBody = d.page(t, dir, "/deals?"+rng+"&sort=close&csv=deals")
	if lines := strings.Count(strings.TrimSpace(csvBody), "\n"); code != 200 || lines != deals.Total {
		t.Errorf("the CSV of all %d deals has %d rows (status %d)", deals.Total, lines, code)
	}
	ids := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(csvBody), "\n")[1:] {
		ids[strings.SplitN(l, ",", 2)[0]] = true
	}
	if len(ids) != deals.Total {
		t.Errorf("the CSV's pages repeat or miss deals: %d distinct of %d", len(ids), deals.Total)
	}
	if code, body = d.page(t, dir, "/deals?"+rng+"&sort=name"); code != 400 {
		t.Errorf("an unknown sort: %d", code)
	}
	code, body = d.page(t, dir, "/deals/"+url.PathEscape(other)+"?back="+url.QueryEscape("/funnel?stage=lead"))
	if code != 200 || !strings.Contains(body, `id="t-deal-stages"`) || !strings.Contains(body, `href="/funnel?stage=lead"`) {
		t.Errorf("the director's deal page (%d) lacks the stage history or the back link", code)
	}
	if code, body = d.page(t, dir, "/deals/x?back="+url.QueryEscape("//evil.example/")); strings.Contains(body, "evil.example") {
		t.Error("the back link leads off the server")
	}

	mgr := d.client(t)
	d.login(t, mgr, "manager", demoPassword)
	if code, body = d.page(t, mgr, "/deals/"+url.PathEscape(mine)+"?lang=en"); code != 200 {
		t.Errorf("the manager's own team's deal: %d", code)
	}
	if code, body = d.page(t, mgr, "/deals/"+url.PathEscape(other)+"?lang=en"); code != 404 || !strings.Contains(body, "not among the deals you can see") {
		t.Errorf("another team's deal: %d, want 404 with a sentence", code)
	}
	code, body = d.page(t, mgr, "/stuck?"+rng+"&lang=zh-CN")
	if code != 200 || !strings.Contains(body, "停滞商机") || !strings.Contains(body, `id="t-stuck"`) {
		t.Errorf("the manager's stuck deals page: %d", code)
	}
	var st struct {
		Total int `json:"total"`
		Deals []struct {
			Team  string   `json:"team"`
			Ratio *float64 `json:"ratio"`
		} `json:"deals"`
	}
	if c := get(t, d.ts, "tok-manager", "/api/v1/stuck?"+rng+"&page_size=1000", &st); c != 200 || st.Total == 0 {
		t.Fatalf("the manager's stuck deals: %d %d", c, st.Total)
	}
	prev := 1e18
	for _, x := range st.Deals {
		if x.Team != d.teamA {
			t.Errorf("the manager sees a deal of %s", x.Team)
		}
		if x.Ratio != nil {
			if *x.Ratio > prev {
				t.Errorf("stuck deals not by ratio, most stuck first: %v after %v", *x.Ratio, prev)
			}
			prev = *x.Ratio
		}
	}
	code, csvBody = d.page(t, mgr, "/stuck?"+rng+"&csv=stuck")
	if lines := strings.Count(strings.TrimSpace(csvBody), "\n"); code != 200 || lines != st.Total {
		t.Errorf("the stuck CSV has %d rows for %d deals (status %d)", lines, st.Total, code)
	}
	if code, _ = d.page(t, mgr, "/stuck?"+rng+"&team="+url.QueryEscape(d.teamB)); code != http.StatusForbidden {
		t.Errorf("a manager asking for another team's stuck deals: %d", code)
	}
}

// From the funnel, choosing a deal shows it without scrolling: the deal's top
// lies in the first viewport at 1440x900, and its full detail is one link away
// with a link back to the same funnel view.
func TestBrowserDealFromFunnel(t *testing.T) {
	b := newBrowser(t)
	d := newDemo(t, 1500)
	const rng = "from=2000-01-01&to=2100-01-01"
	var deals struct {
		Deals []struct {
			Owner string `json:"owner_id"`
		} `json:"deals"`
	}
	if c := get(t, d.ts, "tok-director", "/api/v1/deals?"+rng+"&stage=proposal&status=open&page_size=1", &deals); c != 200 || len(deals.Deals) == 0 {
		t.Fatalf("no open deal in proposal: %d", c)
	}
	b.signIn(t, d.ts.URL, "director")
	funnel := d.ts.URL + "/funnel?" + rng + "&stage=proposal&rep=" + url.QueryEscape(deals.Deals[0].Owner)
	if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(1440, 900), chromedp.Navigate(funnel)); err != nil {
		t.Fatal(err)
	}
	b.waitCharts(t)
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#t-deals tbody tr:first-child td:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`#deal`))); err != nil {
		t.Fatalf("choosing a deal: %v", err)
	}
	b.waitCharts(t)
	top, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.getElementById('deal').getBoundingClientRect().top`))
	if err != nil || top < 0 || top >= 900 {
		t.Errorf("the chosen deal's top is at %v px of a 900 px viewport (%v)", top, err)
	}
	u := b.location()
	if !strings.Contains(u, "deal=") || !strings.HasSuffix(u, "#deal") {
		t.Errorf("the deal link is not the funnel anchored at the deal: %s", u)
	}
	b.shot(t, "funnel-deal-anchored")
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#deal .plinks a`)), chromedp.WaitVisible(chromedp.CSS(`#deal-stages`))); err != nil {
		t.Fatalf("opening the deal's detail: %v", err)
	}
	if u := b.location(); !strings.Contains(u, "/deals/") {
		t.Errorf("the detail link went to %s", u)
	}
	top, err = chromedp.Run(b.ctx, chromedp.Evaluate[float64](`document.getElementById('deal-stages').getBoundingClientRect().top`))
	if err != nil || top < 0 || top >= 900 {
		t.Errorf("the stage history's top is at %v px (%v)", top, err)
	}
	b.shot(t, "deal-detail")
	detail := b.location()
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`.crumbs a`)), chromedp.WaitVisible(chromedp.CSS(`#deal`))); err != nil {
		t.Fatalf("back to the funnel: %v", err)
	}
	if u := b.location(); !strings.Contains(u, "/funnel?") || !strings.Contains(u, "stage=proposal") || !strings.Contains(u, "deal=") {
		t.Errorf("the back link does not lead to the same funnel view: %s", u)
	}
	// On a phone the detail and the stuck deals fit the width (tables scroll
	// inside their frame).
	for _, u := range []string{detail, d.ts.URL + "/stuck?" + rng} {
		if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(360, 780), chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
			t.Fatal(err)
		}
		if w, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); err != nil || w > 360 {
			t.Errorf("%s at 360 px is %d px wide (%v)", u, w, err)
		}
	}
	b.shot(t, "stuck-phone")
	problems, _ := b.take()
	for _, p := range problems {
		t.Error(p)
	}
}
