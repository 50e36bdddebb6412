package dashboards

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
)

// TestBrowserForecastAndTargets: in a real browser, the overview shows this
// quarter's forecast range, pacing and the coverage needed, and each of the
// director, a manager and a rep sees the figures of the own scope (the API's
// for the same session, formatted as the page formats them); the director
// splits a yearly target on /targets, edits a quarter, stores the proposal as
// a new version and finds it in the versions; a rep sees the own targets
// against the forecast but not the company's, and no split form.
func TestBrowserForecastAndTargets(t *testing.T) {
	b := newBrowser(t)
	now := time.Now().UTC()
	d := newDemoConfig(t, gen.Config{Seed: 1, Opportunities: 4000, AsOf: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)})
	totals := map[string]float64{}
	for _, user := range []string{"director", "manager", "rep"} {
		if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		b.signIn(t, d.ts.URL, user)
		if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
			t.Fatalf("%s: overview: %v", user, err)
		}
		b.waitCharts(t)
		text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#forecast').textContent`))
		if err != nil {
			t.Fatalf("%s: no forecast panel: %v", user, err)
		}
		lang, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.dataset.lang`))
		fc, err := chromedp.Run(b.ctx, chromedp.Evaluate[query.Forecast](`fetch('/api/v1/forecast').then(r => r.json())`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: forecast API: %v", user, err)
		}
		tr := tr{lang}
		want := []string{tr.Money(fc.Total.Point), tr.Money(fc.Total.P10) + " – " + tr.Money(fc.Total.P90), tr.T("fc.gap"), tr.T("fc.coverage")}
		if fc.Pacing == nil {
			t.Errorf("%s: no pacing in the forecast (targets are loaded)", user)
		} else {
			want = append(want, tr.Money(fc.Pacing.Gap), tr.Money(fc.Pacing.NeededPerWeek), fmtf("%.1f× / %.1f×", fc.Pacing.Coverage, fc.Pacing.CoverageNeeded))
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s (%s): the forecast panel lacks %q:\n%s", user, lang, w, text)
			}
		}
		totals[user] = fc.Total.Point
		// Pacing one level down: per team for the director, per rep for the
		// manager, none for a rep.
		rows, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#forecast #t-pacing tbody tr').length`))
		if (user == "rep") != (rows == 0) {
			t.Errorf("%s: %d rows of pacing per team or rep under the forecast", user, rows)
		}
		b.shot(t, "forecast-"+user)
		problems, _ := b.take()
		for _, pr := range problems {
			t.Errorf("%s overview: %s", user, pr)
		}
	}
	if !(totals["director"] > totals["manager"] && totals["manager"] > totals["rep"] && totals["rep"] > 0) {
		t.Errorf("forecasts by scope %v: want the company's above the team's above the rep's", totals)
	}

	// Still signed in as the rep: the targets page shows the own row and
	// team, not the company, and no split form.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/targets?lang=en"), chromedp.WaitVisible(chromedp.CSS(`#topdown`))); err != nil {
		t.Fatalf("targets as rep: %v", err)
	}
	rows, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#t-topdown tbody tr td:nth-child(1)')].map(td => td.textContent)`))
	for _, lv := range rows {
		if lv == "Company" {
			t.Errorf("a rep sees the company's targets: %v", rows)
		}
	}
	if n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#split').length`)); n != 0 {
		t.Errorf("a rep sees the split form")
	}

	// The director splits 2027's target, stores it, and finds the version.
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.signIn(t, d.ts.URL, "director")
	err := chromedp.Do(b.ctx,
		chromedp.Navigate(d.ts.URL+"/targets?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#split form`)),
		chromedp.SetValue(chromedp.CSS(`#split input[name=year]`), "2027"),
		chromedp.SetValue(chromedp.CSS(`#split input[name=amount]`), "1200000"),
		chromedp.SetValue(chromedp.CSS(`#split select[name=periods]`), "even"),
		chromedp.Submit(chromedp.CSS(`#split input[name=amount]`)),
		chromedp.WaitVisible(chromedp.CSS(`#proposal form`)),
	)
	if err != nil {
		t.Fatalf("propose a split: %v", err)
	}
	cells, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#proposal input[type=number]')].map(i => i.value)`))
	var sum float64
	for _, c := range cells {
		v, err := strconv.ParseFloat(c, 64)
		if err != nil {
			t.Fatalf("proposal cell %q: %v", c, err)
		}
		sum += v
	}
	if len(cells) == 0 || len(cells)%4 != 0 || sum < 1200000-0.005 || sum > 1200000+0.005 {
		t.Errorf("the proposal's %d quarter cells add up to %.2f, want 1,200,000.00", len(cells), sum)
	}
	b.shot(t, "targets-proposal")
	err = chromedp.Do(b.ctx,
		chromedp.SetValue(chromedp.CSS(`#proposal input[name=a0q1]`), "12345.67"),
		chromedp.Click(chromedp.CSS(`#proposal button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)),
		chromedp.WaitVisible(chromedp.CSS(`#t-versions`)),
	)
	if err != nil {
		t.Fatalf("store the proposal: %v", err)
	}
	notice, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`.notice`)))
	first, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`#t-versions tbody tr:first-child`)))
	if !strings.Contains(notice, "new version") || !strings.Contains(first, "2027-01-01 – 2028-01-01") || !strings.Contains(first, "targets-") {
		t.Errorf("after storing: notice %q, newest version %q", notice, first)
	}
	vs, err := chromedp.Run(b.ctx, chromedp.Evaluate[struct{ Versions []query.TargetVersion }](`fetch('/api/v1/targets/versions').then(r => r.json())`, chromedp.EvalAwaitPromise))
	first0, _ := strconv.ParseFloat(cells[0], 64)
	if want := 1200000 - first0 + 12345.67; err != nil || len(vs.Versions) == 0 || vs.Versions[0].Rows != int64(len(cells)) || math.Abs(vs.Versions[0].Total-want) > 0.01 {
		t.Errorf("versions after storing %d cells: %+v (%v)", len(cells), vs.Versions, err)
	}
	b.shot(t, "targets-stored")
	// In Chinese: no message key shows through.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/targets?lang=zh-CN&year=2027&amount=1000"), chromedp.WaitVisible(chromedp.CSS(`#proposal form`))); err != nil {
		t.Fatalf("targets in Chinese: %v", err)
	}
	zh, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('main').textContent`))
	for _, key := range []string{"tg.", "fc.", "nav."} {
		if strings.Contains(zh, key) {
			t.Errorf("the Chinese targets page shows a message key %q…", key)
		}
	}
	if !strings.Contains(zh, "目标与预测对比") || !strings.Contains(zh, "保存为新版本") {
		t.Errorf("the targets page is not in Chinese")
	}
	b.shot(t, "targets-zh")
	problems, _ := b.take()
	for _, pr := range problems {
		t.Errorf("targets: %s", pr)
	}
}
