package dashboards

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/query"
)

const chromium = "/usr/bin/chromium"

// browser drives a real headless Chromium and records what the page does:
// console errors, uncaught exceptions, and every request's URL.
type browser struct {
	ctx      context.Context
	mu       sync.Mutex
	problems []string
	requests []string
	shots    string
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("browser tests need Debian's chromium at " + chromium + ": CI installs it (deploy/install-deps.sh)")
		}
		t.Skip("browser tests need Debian's chromium at " + chromium + " (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1000), chromedp.Flag("lang", "en-US"),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel3)
	b := &browser{ctx: ctx, shots: os.Getenv("PIPELENS_ARTIFACTS")}
	if b.shots == "" {
		b.shots = filepath.Join("..", "artifacts", "screenshots")
	}
	if err := os.MkdirAll(b.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range e.Args {
					args = append(args, fmt.Sprint(a.Value)+a.Description)
				}
				b.problems = append(b.problems, "console."+string(e.Type)+": "+strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			b.problems = append(b.problems, "exception: "+e.ExceptionDetails.Text+" "+fmt.Sprint(e.ExceptionDetails.Exception))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError {
				b.problems = append(b.problems, "log: "+e.Entry.Text+" "+e.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			b.requests = append(b.requests, e.Request.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return b
}

// take returns and clears what was recorded.
func (b *browser) take() (problems, requests []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	problems, requests = b.problems, b.requests
	b.problems, b.requests = nil, nil
	return
}

func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// waitCharts waits until app.js has drawn the page's charts and returns how many
// ECharts instances hold a canvas.
func (b *browser) waitCharts(t *testing.T) (declared, drawn int) {
	t.Helper()
	type counts struct {
		Declared int `json:"declared"`
		Drawn    int `json:"drawn"`
	}
	if err := chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS("body[data-charts]")), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatalf("charts did not draw: %v", err)
	}
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[counts](`(() => {
			const els = [...document.querySelectorAll('.chart[data-spec]')];
			const drawn = els.filter(el => window.echarts && echarts.getInstanceByDom(el) && el.querySelector('canvas')).length;
			return {declared: els.length, drawn};
		})()`))
	if err != nil {
		t.Fatalf("charts did not draw: %v", err)
	}
	return res.Declared, res.Drawn
}

func (b *browser) signIn(t *testing.T, base, user string) {
	t.Helper()
	err := chromedp.Do(b.ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), demoPassword),
		chromedp.Submit(chromedp.CSS(`input[name=password]`)),
		chromedp.WaitVisible(chromedp.CSS(`header.top`)),
	)
	if err != nil {
		t.Fatalf("sign in as %s: %v", user, err)
	}
}

func (b *browser) location() string {
	u, _ := chromedp.Run(b.ctx, chromedp.Location())
	return u
}

// clickChart clicks, with the real mouse, the point of a chart's data item: the
// centre of a funnel layer, or a scatter point of the reps chart.
func (b *browser) clickChart(t *testing.T, chartID, js string) {
	t.Helper()
	xy, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]float64](`(() => {
		const el = document.getElementById('`+chartID+`');
		const c = echarts.getInstanceByDom(el);
		const p = (`+js+`)(c);
		// Scroll the point to the middle of the window: a click lands only on
		// what is on screen.
		let r = el.getBoundingClientRect();
		window.scrollBy(0, r.top + p[1] - window.innerHeight / 2);
		r = el.getBoundingClientRect();
		return [r.left + p[0], r.top + p[1]];
	})()`))
	if err != nil {
		t.Fatalf("locate %s: %v", chartID, err)
	}
	if err := chromedp.Do(b.ctx, chromedp.MouseClickXY(xy[0], xy[1]), chromedp.Sleep(200*time.Millisecond), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatalf("click %s: %v", chartID, err)
	}
}

func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	d := newDemo(t, 4000)
	host := strings.TrimPrefix(d.ts.URL, "http://")
	checkRequests := func(where string, reqs []string) {
		for _, r := range reqs {
			u, err := url.Parse(r)
			if err != nil || (u.Host != host && u.Scheme != "data" && u.Scheme != "blob") {
				t.Errorf("%s: a request left the server: %s", where, r)
			}
		}
	}
	b.signIn(t, d.ts.URL, "director")
	b.take()

	pages := []struct{ name, path string }{
		{"overview", "/"}, {"funnel", "/funnel"}, {"trends", "/trends"}, {"reps", "/reps"}, {"scorecard", "/reps/" + d.repA},
		{"territories", "/territories"}, {"alerts", "/alerts"}, {"imports", "/imports"},
	}
	for _, p := range pages {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+p.path)); err != nil {
			t.Fatalf("%s: %v", p.path, err)
		}
		declared, drawn := b.waitCharts(t)
		if p.name != "imports" && declared == 0 {
			t.Errorf("%s: no charts on the page", p.name)
		}
		if drawn != declared {
			t.Errorf("%s: %d of %d charts drawn", p.name, drawn, declared)
		}
		b.shot(t, p.name)
		problems, reqs := b.take()
		for _, pr := range problems {
			t.Errorf("%s: %s", p.name, pr)
		}
		checkRequests(p.name, reqs)
	}

	// Funnel drill-down: click the proposal layer, then a rep's point, then a deal.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/funnel")); err != nil {
		t.Fatal(err)
	}
	b.waitCharts(t)
	b.clickChart(t, "chart-funnel", `c => { const l = c.getModel().getSeriesByIndex(0).getData().getItemLayout(2); const pts = l.points || l; return [(pts[0][0]+pts[1][0]+pts[2][0]+pts[3][0])/4, (pts[0][1]+pts[2][1])/2]; }`)
	if u := b.location(); !strings.Contains(u, "stage=proposal") {
		t.Fatalf("clicking the proposal stage did not drill into it: %s", u)
	}
	b.waitCharts(t)
	b.shot(t, "funnel-stage")
	// The rep owning the first open deal created in the page's range at the
	// stage (as /api/v1/deals lists them, with the page's default range): its
	// point on the reps chart.
	open := apiGet[query.Deals](t, b.ctx, "/api/v1/deals?basis=created&status=open&sort=close&page_size=1&stage=proposal")
	if open.Total == 0 {
		t.Fatal("no open deal created in the default range is in proposal")
	}
	b.clickChart(t, "chart-reps", `c => { const p = c.getOption().series[2].data.find(d => d.name === `+strconv.Quote(open.Deals[0].OwnerName)+`);
		if (!p) throw new Error('no point for the rep'); return c.convertToPixel({seriesIndex: 2}, p.value); }`)
	u := b.location()
	if !strings.Contains(u, "stage=proposal") || !strings.Contains(u, "rep="+url.QueryEscape(open.Deals[0].OwnerID)) {
		t.Fatalf("clicking a rep did not drill into the rep's deals: %s", u)
	}
	b.waitCharts(t)
	crumbs, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.crumbs a').length`))
	if err != nil || crumbs != 3 {
		t.Errorf("breadcrumbs at the rep level: %d, want 3 (%v)", crumbs, err)
	}
	b.shot(t, "funnel-rep")
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#t-deals tbody tr:first-child td:first-child a`)), chromedp.WaitVisible(chromedp.CSS(`#deal`))); err != nil {
		t.Fatalf("clicking a deal: %v", err)
	}
	if u := b.location(); !strings.Contains(u, "deal=") {
		t.Errorf("the deal click did not reach the deal: %s", u)
	}
	b.shot(t, "funnel-deal")
	// Back up the path through the breadcrumbs.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`.crumbs a:nth-of-type(2)`)), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatal(err)
	}
	if u := b.location(); !strings.Contains(u, "stage=proposal") || strings.Contains(u, "rep=") || strings.Contains(u, "deal=") {
		t.Errorf("the stage breadcrumb does not lead back to the stage: %s", u)
	}
	problems, reqs := b.take()
	for _, pr := range problems {
		t.Errorf("drill-down: %s", pr)
	}
	checkRequests("drill-down", reqs)

	// The language switch.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/?lang=en"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]")),
		chromedp.Click(chromedp.CSS(`#lang-switch`)), chromedp.WaitVisible(chromedp.CSS(`body[data-lang="zh-CN"][data-charts]`))); err != nil {
		t.Fatalf("language switch: %v", err)
	}
	nav, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`nav.nav`)))
	if !strings.Contains(nav, "总览") || !strings.Contains(nav, "漏斗") {
		t.Errorf("after the switch the navigation is %q, want Chinese", nav)
	}
	b.waitCharts(t)
	b.shot(t, "overview-zh")
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/territories"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatal(err)
	}
	b.waitCharts(t)
	b.shot(t, "territories-zh")
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`#lang-switch`)), chromedp.WaitVisible(chromedp.CSS(`body[data-lang="en"]`))); err != nil {
		t.Fatal(err)
	}
	nav, _ = chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`nav.nav`)))
	if !strings.Contains(nav, "Overview") {
		t.Errorf("switching back gives %q", nav)
	}
	problems, reqs = b.take()
	for _, pr := range problems {
		t.Errorf("language: %s", pr)
	}
	checkRequests("language", reqs)

	// A manager who edits the URL to another team sees none of its numbers.
	if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))); err != nil {
		t.Fatalf("sign out: %v", err)
	}
	b.signIn(t, d.ts.URL, "manager")
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatal(err)
	}
	teams, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`main`)))
	if strings.Contains(teams, d.teamB) || !strings.Contains(teams, d.teamA) {
		t.Errorf("the manager's overview shows another team or not the own")
	}
	b.waitCharts(t)
	b.shot(t, "manager-overview")
	for _, p := range []string{"/?team=" + url.QueryEscape(d.teamB), "/funnel?team=" + url.QueryEscape(d.teamB) + "&stage=proposal", "/reps/" + d.repB} {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+p), chromedp.WaitVisible(chromedp.CSS("main"))); err != nil {
			t.Fatal(err)
		}
		text, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`main`)))
		code, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(document.querySelector('h1.code')||{}).textContent||''`))
		if code != "403" && code != "404" {
			t.Errorf("a manager of %s opening %s is not refused (page: %.200q)", d.teamA, p, text)
		}
		charts, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.chart').length`))
		if charts > 0 {
			t.Errorf("%s shows charts to a manager of another team", p)
		}
	}
	b.shot(t, "manager-forbidden")
	problems, reqs = b.take()
	for _, pr := range problems {
		// The refused page itself is a 403/404: Chromium logs the status.
		if !strings.Contains(pr, "status of 403") && !strings.Contains(pr, "status of 404") {
			t.Errorf("manager: %s", pr)
		}
	}
	checkRequests("manager", reqs)
	// Sign out from a page that has the header; the sign-in page is the last shot.
	if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/alerts"), chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))); err != nil {
		t.Fatal(err)
	}
	b.shot(t, "login")
}
