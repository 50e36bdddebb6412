package alerts

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

const chromiumPath = "/usr/bin/chromium"

// alertBrowser is a headless Chromium that sends the test token with every
// request, as a signed-in manager's browser would send the session.
func alertBrowser(t *testing.T, token string) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("browser tests need Debian's chromium at " + chromiumPath + ": CI installs it (deploy/install-deps.sh)")
		}
		t.Skip("browser tests need Debian's chromium at " + chromiumPath + " (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// The first call starts the browser: it runs without a deadline, which
	// would stop the browser with it.
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatalf("set the token header: %v", err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancel3)
	return ctx
}

// chartInfo is what the browser drew of one event's chart.
type chartInfo struct {
	Found  bool      `json:"found"`
	Drawn  bool      `json:"drawn"`
	Labels []string  `json:"labels"`
	Values []float64 `json:"values"`
	Shade  []string  `json:"shade"`
	Error  string    `json:"error"`
	Title  string    `json:"title"` // the card's heading
	Link   string    `json:"link"`  // its link, "" without one
}

// eventChart opens u and reads the chart of the event's article.
func eventChart(t *testing.T, ctx context.Context, u, id string) chartInfo {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body[data-charts]")), chromedp.Sleep(200*time.Millisecond)); err != nil {
		t.Fatalf("open %s: %v", u, err)
	}
	ci, err := chromedp.Run(ctx, chromedp.Evaluate[chartInfo](`(() => {
		const art = document.getElementById(`+fmt.Sprintf("%q", id)+`);
		if (!art) return {found: false};
		const h = art.querySelector('h3'), a = art.querySelector('h3 a');
		const head = {title: h ? h.textContent : '', link: a ? a.getAttribute('href') : ''};
		const err = art.querySelector('.chart-error');
		const el = art.querySelector('.chart[data-spec]');
		if (!el) return {...head, found: true, drawn: false, error: err ? err.textContent : ''};
		const c = window.echarts && echarts.getInstanceByDom(el);
		if (!c || !el.querySelector('canvas')) return {...head, found: true, drawn: false};
		const o = c.getOption();
		const ma = (o.series[0].markArea || {}).data || [];
		return {...head, found: true, drawn: true, labels: o.xAxis[0].data.map(String),
			values: o.series[0].data.map(d => Number(d !== null && typeof d === 'object' ? d.value : d)),
			shade: ma.length ? [String(ma[0][0].xAxis), String(ma[0][1].xAxis)] : []};
	})()`))
	if err != nil {
		t.Fatalf("read the chart of %s on %s: %v", id, u, err)
	}
	return ci
}

var hrefRE = regexp.MustCompile(`href="([^"]+)"`)

// TestAlertsInTheBrowser: in a real browser, every default rule's anomaly on
// the demo's data draws its chart on the Alerts page, and the link of its
// email opens the view that shows it: the funnel with the deal selected, or
// the Alerts page on the event with its metric drawn over a range that holds
// the anomaly's start and the last day judged (to is exclusive).
func TestAlertsInTheBrowser(t *testing.T) {
	if StartDashboards == nil {
		t.Fatal("dashboards not linked into this test binary (alerts/e2e_dashboards_test.go)")
	}
	ctx := alertBrowser(t, e2eToken)
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: demoOpps})
	evs, as := pageEvents(t, db, truth, 2)
	base := StartDashboards(t, db, e2eToken, "")
	l := linker{base: base, path: "/trends", dealPath: "/funnel", ratePath: "/reps"}

	// The Alerts page: every event's chart is drawn.
	rules := map[string]bool{}
	for i, x := range evs {
		ci := eventChart(t, ctx, base+"/alerts", x.ID)
		if !ci.Found {
			t.Errorf("rule %s (%s by %s): event %s is not on the Alerts page", x.Rule, x.Metric, x.SegmentKind, x.ID)
			continue
		}
		if !ci.Drawn || len(ci.Labels) == 0 {
			t.Errorf("rule %s (%s by %s %s): the browser drew no chart on the Alerts page %s", x.Rule, x.Metric, x.SegmentKind, x.SegmentLabel, ci.Error)
			continue
		}
		if len(ci.Shade) != 2 || ci.Shade[0] > as[i].Since.Format(time.DateOnly) {
			t.Errorf("rule %s: the anomalous span %v does not start by the anomaly's start %s", x.Rule, ci.Shade, as[i].Since.Format(time.DateOnly))
		}
		checkDealCard(t, x, &as[i], ci)
		rules[x.Rule] = true
		if i == 0 || i == len(evs)-1 {
			// One look is worth it when a test fails.
			if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90)); err == nil {
				_ = os.WriteFile(fmt.Sprintf("%s/alerts-page-%d.png", t.TempDir(), i), png, 0o644)
			}
		}
	}
	for _, r := range DefaultRules() {
		if !rules[r.Name] {
			t.Errorf("default rule %s has no event whose chart the browser drew", r.Name)
		}
	}

	// The email's link of each event, opened in the browser.
	for i := range as {
		a := &as[i]
		em, err := render(Recipient{Email: "m@example.com", Name: "M", Lang: "zh-CN"}, []*Anomaly{a}, l)
		if err != nil {
			t.Fatal(err)
		}
		m := hrefRE.FindStringSubmatch(em.HTML)
		if m == nil {
			t.Fatalf("rule %s: the email has no link", a.Rule)
		}
		link := html.UnescapeString(m[1])
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		lastDay := a.To.AddDate(0, 0, -1) // the last day judged
		if a.Deal != nil {
			lastDay = a.To // deal rules judge the day's export
		}
		from, to := q.Get("from"), q.Get("to")
		if from == "" || from > a.Since.Format(time.DateOnly) || to <= lastDay.Format(time.DateOnly) {
			t.Errorf("rule %s: the link's range [%s, %s) does not hold the start %s and the day judged %s: %s",
				a.Rule, from, to, a.Since.Format(time.DateOnly), lastDay.Format(time.DateOnly), link)
		}
		switch {
		case a.Deal != nil:
			if u.Path != "/funnel" || q.Get("deal") != a.Deal.ID {
				t.Errorf("rule %s: a deal's link %s does not select the deal %s on the funnel", a.Rule, link, a.Deal.ID)
				continue
			}
			var txt string
			err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("body[data-charts]")))
			if err == nil {
				txt, err = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('deal') || {innerText: ''}).innerText`))
			}
			if err != nil || !(strings.Contains(txt, a.Deal.ID) || (a.Deal.Name != "" && strings.Contains(txt, a.Deal.Name))) {
				t.Errorf("rule %s: the link %s shows no panel of deal %s (%v): %.200q", a.Rule, link, a.Deal.ID, err, txt)
			}
		case a.Metric == MetricWinRate:
			if u.Path != "/reps" {
				t.Errorf("rule %s: the win-rate link %s does not open the reps page", a.Rule, link)
				continue
			}
			err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("body[data-charts]")))
			var drawn bool
			if err == nil {
				drawn, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { const el = document.getElementById('chart-winrates'); return !!(el && echarts.getInstanceByDom(el) && el.querySelector('canvas')); })()`))
			}
			if err != nil || !drawn {
				t.Errorf("rule %s: the link %s draws no win rates (%v)", a.Rule, link, err)
			}
		default:
			if u.Path != "/alerts" || q.Get("event") != a.EventID {
				t.Errorf("rule %s: the link %s does not open the Alerts page on event %s", a.Rule, link, a.EventID)
				continue
			}
			ci := eventChart(t, ctx, link, a.EventID)
			if !ci.Drawn || len(ci.Labels) == 0 {
				t.Errorf("rule %s: the link %s draws no chart of the event (%s)", a.Rule, link, ci.Error)
				continue
			}
			first, last := ci.Labels[0], ci.Labels[len(ci.Labels)-1]
			// Weekly charts (rates, means) label a week by its first day.
			if first > a.Since.Format(time.DateOnly) || last < lastDay.AddDate(0, 0, -6).Format(time.DateOnly) {
				t.Errorf("rule %s: the chart behind %s spans %s..%s, not the start %s and the day judged %s", a.Rule, link, first, last,
					a.Since.Format(time.DateOnly), lastDay.Format(time.DateOnly))
			}
		}
	}
	t.Logf("%d events of %d default rules: charts drawn in Chromium, email links followed", len(evs), len(rules))
}

// checkDealCard: a deal alert's card names its deal, links to it, and draws
// the deal's own history: its amount from before the cut to after it, its
// days to the expected close date rising at each push, its days in the stage
// up to the days the rule found.
func checkDealCard(t *testing.T, x *Event, a *Anomaly, ci chartInfo) {
	t.Helper()
	if a.Deal == nil {
		return
	}
	if !strings.Contains(ci.Title, a.Deal.Name) || ci.Link != "/deals/"+url.PathEscape(a.Deal.ID) {
		t.Errorf("rule %s: the card's heading %q (link %q) does not name and link deal %s %q", x.Rule, ci.Title, ci.Link, a.Deal.ID, a.Deal.Name)
	}
	vs := ci.Values
	if len(vs) == 0 {
		return
	}
	switch x.Kind {
	case "amount_cut":
		if !slices.Contains(vs, math.Round(a.Expected)) || vs[len(vs)-1] != math.Round(a.Actual) {
			t.Errorf("rule %s: the chart's amounts %v do not go from %.0f to %.0f", x.Rule, vs, a.Expected, a.Actual)
		}
	case "pushed_close":
		rises := 0
		for k := 1; k < len(vs); k++ {
			if vs[k] > vs[k-1] {
				rises++
			}
		}
		if float64(rises) < a.Actual {
			t.Errorf("rule %s: the days to the close date rise %d times on the chart, the deal was pushed %.0f times", x.Rule, rises, a.Actual)
		}
	case "stuck_deal":
		if math.Abs(vs[len(vs)-1]-a.Actual) > 2 {
			t.Errorf("rule %s: the chart ends at %.0f days in stage, the rule found %.1f", x.Rule, vs[len(vs)-1], a.Actual)
		}
	}
}
