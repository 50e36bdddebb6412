package dashboards

import (
	"context"
	"fmt"
	"html"
	"math"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// The journeys of issue 15: the numbers a director, a manager and a rep read
// on the pages are the API's (TestBrowserJourneys), and the API's are the ones
// computed by hand over a small fixture for partial periods
// (TestPartialPeriodsHand).

// handDates are the fixture's dates, all relative to today (UTC): this
// quarter [qs, qe), the previous [pqs, qs), and e, the elapsed days of this
// quarter, today included.
type handDates struct {
	today, tomorrow, qs, qe, pqs time.Time
	e                            int
}

func newHandDates() handDates {
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	qs := time.Date(today.Year(), time.Month((int(today.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	return handDates{today: today, tomorrow: today.AddDate(0, 0, 1), qs: qs, qe: qs.AddDate(0, 3, 0), pqs: qs.AddDate(0, -3, 0), e: daysBetween(qs, today) + 1}
}

func daysBetween(a, b time.Time) int { return int(math.Round(b.Sub(a).Hours() / 24)) }

func ymd(t time.Time) string { return t.Format(time.DateOnly) }

// handDeal is a deal of the fixture: its owner, stage, amount and dates.
type handDeal struct {
	id, owner, stage string
	amount           float64
	created, close   time.Time
}

// handDeals: East is r1 and r2 (manager m1), West is r3.
func (hd handDates) deals() []handDeal {
	mid := hd.pqs.AddDate(0, 1, 0) // the previous quarter's second month starts
	last := hd.qs.AddDate(0, 0, -1)
	return []handDeal{
		// The previous quarter.
		{"p1", "r1", "won", 300, hd.pqs, hd.pqs},
		{"p2", "r2", "won", 400, hd.pqs, last},
		{"p3", "r3", "won", 100, hd.pqs, mid},
		{"p4", "r3", "lost", 50, hd.pqs, mid},
		{"p5", "r3", "proposal", 150, hd.pqs, last}, // open, expected in the previous quarter (overdue)
		// This quarter.
		{"q1", "r1", "won", 200, hd.qs, hd.qs},
		{"q2", "r1", "lost", 100, hd.qs, hd.qs},
		{"q3", "r2", "lost", 100, hd.qs, hd.qs},
		{"q4", "r2", "negotiation", 500, hd.qs, hd.qe.AddDate(0, 0, -1)},
		{"q5", "r3", "qualified", 250, hd.qs, hd.qe.AddDate(0, 0, -1)},
		// A year before this quarter's start.
		{"y1", "r1", "won", 120, hd.qs.AddDate(-1, 0, 0), hd.qs.AddDate(-1, 0, 0)},
	}
}

// handTargets: East's team target and r3's rep target, this and the previous quarter.
func (hd handDates) targets() [][4]string {
	return [][4]string{
		{"team", "East", ymd(hd.pqs), "600"}, {"rep", "r3", ymd(hd.pqs), "300"},
		{"team", "East", ymd(hd.qs), "900"}, {"rep", "r3", ymd(hd.qs), "300"},
	}
}

// newHandServer loads the fixture through ingest as canonical exports and
// serves it with a director, a manager of East and the rep r3 (sessions and
// tokens).
func newHandServer(t *testing.T, hd handDates) *demo {
	t.Helper()
	ctx := context.Background()
	db := schemastest.Open(t)
	dir := t.TempDir()
	reps := []string{"rep_id,name,email,role,manager_id,team,territory,lang,active,hired_on,source_system",
		"d1,Dana,,director,,,,,1,2020-01-01,hand", "m1,Ming,,manager,d1,East,North,,1,2020-01-01,hand",
		"r1,Rui,,rep,m1,East,North,,1,2020-01-01,hand", "r2,Rosa,,rep,m1,East,North,,1,2020-01-01,hand",
		"m2,Mara,,manager,d1,West,South,,1,2020-01-01,hand", "r3,Ravi,,rep,m2,West,South,,1,2020-01-01,hand"}
	targets := []string{"scope,scope_id,period_start,period_end,metric,amount,currency"}
	for _, tg := range hd.targets() {
		start, _ := time.Parse(time.DateOnly, tg[2])
		targets = append(targets, strings.Join([]string{tg[0], tg[1], tg[2], ymd(start.AddDate(0, 3, 0)), "bookings", tg[3], ""}, ","))
	}
	opps := []string{"opportunity_id,name,account_id,owner_id,product,pipeline,source,stage,vendor_stage,amount,currency,probability,created_at,close_date,closed,won,lost_reason,snapshot_date,source_system"}
	for _, dl := range hd.deals() {
		closed, won := "0", "0"
		switch dl.stage {
		case "won":
			closed, won = "1", "1"
		case "lost":
			closed = "1"
		}
		opps = append(opps, fmt.Sprintf("%s,Deal %s,,%s,Pro,default,web,%s,%s,%.0f,,0.5,%s 09:00:00,%s,%s,%s,,%s,hand",
			dl.id, dl.id, dl.owner, dl.stage, dl.stage, dl.amount, ymd(dl.created), ymd(dl.close), closed, won, ymd(hd.today)))
	}
	var files []string
	for _, f := range []struct {
		name  string
		lines []string
	}{{"reps.csv", reps}, {"targets.csv", targets}, {"opportunities.csv", opps}} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte(strings.Join(f.lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	q := query.New(db, time.UTC, nil)
	ing := ingest.New(db, ingest.Options{MaxUploadBytes: 1 << 20, Publish: q.Refresh}, nil)
	if _, err := ing.LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"}); err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.MinCost)
	h := config.Secret(hash)
	cfg := config.Default()
	cfg.Auth.SessionSecret = "test-secret"
	cfg.Auth.Users = []config.User{
		{Username: "director", PasswordHash: h, Role: "director"},
		{Username: "manager", PasswordHash: h, Role: "manager", Team: "East"},
		{Username: "rep", PasswordHash: h, Role: "rep", Team: "West", Rep: "r3"},
	}
	cfg.Auth.Tokens = []config.Token{{Name: "d", Token: "tok-director", Role: "director"}, {Name: "m", Token: "tok-manager", Role: "manager", Team: "East"},
		{Name: "r", Token: "tok-rep", Role: "rep", Team: "West", Rep: "r3"}}
	d := &demo{db: db, teamA: "East", teamB: "West", repA: "r1", repB: "r3"}
	d.srv = New(Options{Config: cfg, DB: db, Query: q, Ingest: ing, Mount: []func(*Server){APIMount(q)}})
	d.ts = httptest.NewServer(d.srv.Echo)
	t.Cleanup(d.ts.Close)
	return d
}

// nearly: equal to a cent's hundredth (the API's amounts are sums and products of the fixture's).
func nearly(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

type handCoverage struct {
	query.Coverage
	Previous   *apiDelta `json:"previous"`
	LastYear   *apiDelta `json:"last_year"`
	CompareCut bool      `json:"compare_cut"`
}

// checkCoverage compares /coverage's answer with the hand's: target, won,
// pipeline, remaining, coverage (nil: none) and status.
func checkCoverage(t *testing.T, d *demo, who, token, from, to string, target, won, pipeline float64, prorated bool, status string) handCoverage {
	t.Helper()
	var cv handCoverage
	path := "/api/v1/coverage?compare=true&from=" + from + "&to=" + to
	if code := get(t, d.ts, token, path, &cv); code != 200 {
		t.Fatalf("%s %s: status %d", who, path, code)
	}
	remaining := math.Max(target-won, 0)
	var want *float64
	if remaining > 0 && status == "ok" {
		c := pipeline / remaining
		want = &c
	}
	got := cv.Coverage.Coverage
	covOK := (want == nil) == (got == nil) && (want == nil || nearly(*want, *got))
	if !nearly(cv.Target, target) || cv.Won != won || cv.Pipeline != pipeline || !nearly(cv.Remaining, remaining) || !covOK || cv.Status != status || cv.Prorated != prorated {
		w := "null"
		if want != nil {
			w = fmt.Sprint(*want)
		}
		t.Errorf("%s [%s, %s): %+v (coverage %v)\nwant target %v, won %v, pipeline %v, remaining %v, coverage %s, status %s, prorated %v",
			who, from, to, cv.Coverage, deref(got), target, won, pipeline, remaining, w, status, prorated)
	}
	return cv
}

// checkDelta compares a comparison with the hand's range and value, and the change cur against it.
func checkDelta(t *testing.T, what string, got *apiDelta, from, to time.Time, cur, val float64, n int64, relative bool) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: no comparison", what)
		return
	}
	ch := cur - val
	if relative {
		ch = (cur - val) / val
	}
	if got.From != ymd(from) || got.To != ymd(to) || got.Value == nil || !nearly(*got.Value, val) || got.N != n || got.Change == nil || !nearly(*got.Change, ch) {
		t.Errorf("%s: %+v (value %v, change %v), want [%s, %s) value %v n %d change %v", what, *got, deref(got.Value), deref(got.Change), ymd(from), ymd(to), val, n, ch)
	}
}

// TestPartialPeriodsHand: /coverage, /attainment, /winrate and the overview's
// velocity card over partial periods of a fixture small enough to compute by
// hand (the sums are written out in the comments), for each role.
func TestPartialPeriodsHand(t *testing.T) {
	hd := newHandDates()
	d := newHandServer(t, hd)
	qs, pqs, qe, tomorrow := hd.qs, hd.pqs, hd.qe, hd.tomorrow
	qDays, pqDays := float64(daysBetween(qs, qe)), float64(daysBetween(pqs, qs))
	mid := pqs.AddDate(0, 1, 0)

	// The previous quarter, a range that has ended. Director: East 600 + r3 300
	// = 900; won p1 300 + p2 400 + p3 100 = 800; open p5 150 expected in it:
	// remaining 100, but no day of it is still to come: no coverage (ended).
	checkCoverage(t, d, "director", "tok-director", ymd(pqs), ymd(qs), 900, 800, 150, false, "ended")
	// East: 600 against 700 won: the target is met, no coverage.
	checkCoverage(t, d, "manager", "tok-manager", ymd(pqs), ymd(qs), 600, 700, 0, false, "target_met")
	// r3: 300 against 100 won, 150 open: remaining 200, ended.
	checkCoverage(t, d, "rep", "tok-rep", ymd(pqs), ymd(qs), 300, 100, 150, false, "ended")

	// Its last two months, a partial period that has ended: each target counts
	// its share of days s; won p2 400 (last day) + p3 100 (the month's first
	// day), open p5 150.
	s := float64(daysBetween(mid, qs)) / pqDays
	checkCoverage(t, d, "director", "tok-director", ymd(mid), ymd(qs), 900*s, 500, 150, true, ifStatus(900*s > 500))
	checkCoverage(t, d, "manager", "tok-manager", ymd(mid), ymd(qs), 600*s, 400, 0, true, ifStatus(600*s > 400))
	checkCoverage(t, d, "rep", "tok-rep", ymd(mid), ymd(qs), 300*s, 100, 150, true, ifStatus(300*s > 100))

	// This quarter to date, [qs, tomorrow): e of the quarter's days; won q1
	// 200; open q4 500 and q5 250 are expected after today, outside the range.
	share := float64(hd.e) / qDays
	prorated := hd.e < int(qDays)
	checkCoverage(t, d, "director", "tok-director", ymd(qs), ymd(tomorrow), 1200*share, 200, 0, prorated, ifStatus(1200*share > 200))

	// This quarter, a range that runs past today: the whole targets (900 +
	// 300), won q1 200, open q4 500 + q5 250 = 750: remaining 1000, coverage
	// 0.75. Its bookings compare with the previous quarter cut to e days and
	// with the same dates a year earlier (y1 120).
	cv := checkCoverage(t, d, "director", "tok-director", ymd(qs), ymd(qe), 1200, 200, 750, false, "ok")
	prevTo := pqs.AddDate(0, 0, hd.e)
	prevWon, prevN := 0.0, int64(0)
	for _, dl := range hd.deals() {
		if dl.stage == "won" && !dl.close.Before(pqs) && dl.close.Before(prevTo) && dl.close.Before(qs) {
			prevWon, prevN = prevWon+dl.amount, prevN+1 // p1 always, p3 and p2 once e reaches their days
		}
	}
	if !cv.CompareCut {
		t.Errorf("this quarter runs past today: compare_cut is false")
	}
	checkDelta(t, "this quarter's bookings vs the previous quarter's first days", cv.Previous, pqs, prevTo, 200, prevWon, prevN, true)
	checkDelta(t, "this quarter's bookings vs last year", cv.LastYear, qs.AddDate(-1, 0, 0), tomorrow.AddDate(-1, 0, 0), 200, 120, 1, true)
	// East's share of it: 900, won 200, open q4 500: coverage 500/700.
	checkCoverage(t, d, "manager", "tok-manager", ymd(qs), ymd(qe), 900, 200, 500, false, "ok")

	// Win rate this quarter: q1 won of q1, q2, q3 closed = 1/3; the previous
	// quarter's first e days: p1 won and, once within, p3 won, p4 lost.
	var wr struct {
		query.WinRate
		Previous *apiDelta `json:"previous"`
	}
	if code := get(t, d.ts, "tok-director", "/api/v1/winrate?compare=true&from="+ymd(qs)+"&to="+ymd(qe), &wr); code != 200 {
		t.Fatalf("winrate: %d", code)
	}
	if wr.Total.Won != 1 || wr.Total.Lost != 2 || !nearly(wr.Total.WinRate, 1.0/3) {
		t.Errorf("this quarter's win rate %+v, want 1 won, 2 lost, 1/3", wr.Total)
	}
	pw, pl := 1.0, 0.0 // p1
	if mid.Before(prevTo) {
		pw, pl = pw+1, pl+1 // p3, p4
	}
	if last := qs.AddDate(0, 0, -1); last.Before(prevTo) {
		pw++ // p2
	}
	checkDelta(t, "this quarter's win rate vs the previous quarter's first days", wr.Previous, pqs, prevTo, 1.0/3, pw/(pw+pl), int64(pw+pl), false)

	// Cycle time this quarter: q1, created and won on the quarter's first day,
	// 0 days; the previous quarter's first e days: p1 0 days and, once within,
	// p3 (a month) and p2 (the whole quarter but a day): their median.
	var cy struct {
		query.CycleTime
		Previous *apiDelta `json:"previous"`
	}
	if code := get(t, d.ts, "tok-director", "/api/v1/cycle?compare=true&from="+ymd(qs)+"&to="+ymd(qe), &cy); code != 200 {
		t.Fatalf("cycle: %d", code)
	}
	if cy.Total.Count != 1 || cy.Total.Median != 0 {
		t.Errorf("this quarter's cycle time %+v, want 1 deal of 0 days", cy.Total)
	}
	cycles := []float64{0} // p1
	if mid.Before(prevTo) {
		cycles = append(cycles, float64(daysBetween(pqs, mid))) // p3
	}
	if last := qs.AddDate(0, 0, -1); last.Before(prevTo) {
		cycles = append(cycles, float64(daysBetween(pqs, last))) // p2
	}
	med := cycles[len(cycles)/2] // odd counts, in ascending order
	if len(cycles) == 2 {
		med = (cycles[0] + cycles[1]) / 2
	}
	checkDelta(t, "this quarter's cycle time vs the previous quarter's first days", cy.Previous, pqs, prevTo, 0, med, int64(len(cycles)), false)

	// Attainment over the previous quarter: the targets inside it, East 600
	// booked 700 (p1 + p2) and r3 300 booked 100 (p3); a manager sees East's,
	// the rep r3's.
	type row struct {
		key            string
		target, booked float64
	}
	for _, x := range []struct {
		who, token string
		want       []row
	}{
		{"director", "tok-director", []row{{"team/East", 600, 700}, {"rep/r3", 300, 100}}},
		{"manager", "tok-manager", []row{{"team/East", 600, 700}}},
		{"rep", "tok-rep", []row{{"rep/r3", 300, 100}}},
	} {
		var at query.Attainment
		if code := get(t, d.ts, x.token, "/api/v1/attainment?from="+ymd(pqs)+"&to="+ymd(qs), &at); code != 200 {
			t.Fatalf("%s attainment: %d", x.who, code)
		}
		got := map[string]query.TargetRow{}
		for _, r := range at.Targets {
			got[r.Scope+"/"+r.ScopeID] = r
		}
		if len(got) != len(x.want) {
			t.Errorf("%s: attainment rows %+v, want %v", x.who, at.Targets, x.want)
		}
		for _, w := range x.want {
			r, ok := got[w.key]
			if !ok || r.Target != w.target || r.Booked != w.booked || !nearly(r.Attainment, w.booked/w.target) || r.PeriodStart != ymd(pqs) || r.PeriodEnd != ymd(qs) {
				t.Errorf("%s: attainment of %s %+v, want target %v booked %v attainment %v", x.who, w.key, r, w.target, w.booked, w.booked/w.target)
			}
		}
	}

	// Velocity this quarter (the overview card, which no endpoint answers):
	// opened q1–q5 = 5 over the e elapsed days × win rate 1/3 × average won
	// 200, per day; the card shows the range's whole value, not the one that
	// grows with the days of the range still to come.
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != 303 {
		t.Fatalf("director cannot sign in: %d", code)
	}
	vel := 5.0 / float64(hd.e) * (1.0 / 3) * 200
	for _, lang := range []string{"en", "zh-CN"} {
		code, body := d.page(t, c, "/?preset=this_q&lang="+lang)
		if code != 200 {
			t.Fatalf("overview this quarter: %d", code)
		}
		tr := tr{lang}
		want := tr.Money(vel) + " " + tr.T("kpi.per_day")
		cards := kpiValues(body)
		if len(cards) != 5 || cards[4] != want {
			t.Errorf("%s: the velocity card says %q (cards %q), want %s (5 opened in %d days × 1/3 × 200)", lang, last(cards), cards, want, hd.e)
		}
		// And the bookings card: 200 won; coverage 750 open / 1000 remaining.
		if len(cards) != 5 || cards[0] != tr.Money(200) || cards[1] != "0.8×" || cards[2] != tr.Pct(1.0/3) {
			t.Errorf("%s: cards %q, want bookings %s, coverage 0.8×, win rate %s", lang, cards, tr.Money(200), tr.Pct(1.0/3))
		}
	}
}

// ifStatus is coverage's status of a range with no day left when a target
// exists: ended while something remains.
func ifStatus(remains bool) string {
	if remains {
		return "ended"
	}
	return "target_met"
}

func last(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// kpiValues are the overview cards' values (.kv) as the HTML shows them.
func kpiValues(body string) []string {
	var out []string
	if i := strings.Index(body, `id="kpis"`); i >= 0 {
		body = body[i:]
	}
	if i := strings.Index(body, "</section>"); i >= 0 {
		body = body[:i]
	}
	for _, part := range strings.Split(body, `<div class="kv">`)[1:] {
		end := strings.Index(part, "</div>")
		if end < 0 {
			continue
		}
		v := part[:end]
		for strings.Contains(v, "<") { // drop the link around the value
			i, j := strings.Index(v, "<"), strings.Index(v, ">")
			if j < i {
				break
			}
			v = v[:i] + v[j+1:]
		}
		out = append(out, strings.TrimSpace(html.UnescapeString(v)))
	}
	return out
}

// journeyCard is an overview card as shown: its value and its small lines.
type journeyCard struct {
	V  string   `json:"v"`
	Ks []string `json:"ks"`
}

// journeyView is what a journey reads off a page to compare with a fresh tab's.
type journeyView struct {
	Cards  []journeyCard `json:"cards"`
	From   string        `json:"from"`
	To     string        `json:"to"`
	Stages [][2]string   `json:"stages"`
	Deals  string        `json:"deals"`
	Deal   string        `json:"deal"`
	// Teams are the teams table's target cells: shown text and raw value.
	Teams [][2]string `json:"teams"`
}

const readView = `(() => ({
	cards: [...document.querySelectorAll('#kpis .kpi')].map(k => ({v: k.querySelector('.kv').textContent.trim(), ks: [...k.querySelectorAll('.ks')].map(x => x.textContent.trim())})),
	from: (document.querySelector('#filters input[name=from]') || {}).value || '',
	to: (document.querySelector('#filters input[name=to]') || {}).value || '',
	stages: [...document.querySelectorAll('#t-stages tbody tr')].map(r => [r.cells[0].textContent.trim(), r.cells[1].textContent.trim()]),
	deals: ((document.querySelector('#deals .sub') || {}).textContent || '').trim(),
	teams: [...document.querySelectorAll('#t-teams tbody tr')].map(r => [r.cells[2].textContent.trim(), r.cells[2].dataset.v || '']),
	deal: ((document.querySelector('#deal') || {}).textContent || '').replace(/\s+/g, ' ').trim(),
}))()`

// apiGet fetches an API path with the page's session (the signed-in user's scope).
func apiGet[T any](t *testing.T, ctx context.Context, path string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](`fetch(`+strconv.Quote(path)+`).then(r => { if (!r.ok) throw new Error(r.status + ' ' + r.url); return r.json(); })`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v
}

// open loads a page in ctx's tab, waits for its charts and, on a phone, finds
// it no wider than the screen.
func openPage(t *testing.T, ctx context.Context, u string, phone bool) journeyView {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS("body[data-charts]"))); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return readPage(t, ctx, u, phone)
}

func readPage(t *testing.T, ctx context.Context, where string, phone bool) journeyView {
	t.Helper()
	if phone {
		g, err := chromedp.Run(ctx, chromedp.Evaluate[[]any](`(() => {
			const iw = window.innerWidth, sw = document.scrollingElement.scrollWidth;
			let wide = '';
			if (sw > iw) for (const el of document.querySelectorAll('body *')) {
				const r = el.getBoundingClientRect();
				if (r.right > iw + 1 && !el.closest('.tablewrap, .nav, .msb')) { wide = el.tagName + '.' + el.className + '#' + el.id; break; }
			}
			return [sw, iw, wide];
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if g[0].(float64) > g[1].(float64) {
			t.Errorf("%s: the page is %v px wide on a %v px screen (first wide element: %v)", where, g[0], g[1], g[2])
		}
	}
	v, err := chromedp.Run(ctx, chromedp.Evaluate[journeyView](readView))
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	return v
}

// checkCards compares the overview's cards with the API's answers for the same
// range and session, formatted as the page formats them.
func checkCards(t *testing.T, ctx context.Context, lang string, v journeyView) {
	t.Helper()
	tr := tr{lang}
	rq := "from=" + v.From + "&to=" + v.To
	cov := apiGet[query.Coverage](t, ctx, "/api/v1/coverage?"+rq)
	wr := apiGet[query.WinRate](t, ctx, "/api/v1/winrate?"+rq)
	cyc := apiGet[query.CycleTime](t, ctx, "/api/v1/cycle?"+rq)
	mv := apiGet[query.Movement](t, ctx, "/api/v1/movement?period=month&"+rq)
	if len(v.Cards) != 5 {
		t.Fatalf("%d cards, want 5: %+v", len(v.Cards), v.Cards)
	}
	want := func(card int, label, value string, sub ...string) {
		t.Helper()
		c := v.Cards[card]
		if c.V != value {
			t.Errorf("[%s, %s) card %s shows %q, the API's is %q", v.From, v.To, label, c.V, value)
		}
		for _, s := range sub {
			found := false
			for _, k := range c.Ks {
				found = found || strings.HasPrefix(k, s)
			}
			if !found {
				t.Errorf("[%s, %s) card %s says %q, want %q from the API", v.From, v.To, label, c.Ks, s)
			}
		}
	}
	var bookSub []string
	if cov.Target > 0 {
		bookSub = append(bookSub, tr.Pct(cov.Won/cov.Target)+" "+tr.T("kpi.of_target")+" "+tr.Money(cov.Target))
	}
	want(0, "bookings", tr.Money(cov.Won), bookSub...)
	// One target on the page: the teams table's add up to the card's (a
	// manager's or rep's one row is the card's).
	var sum float64
	for _, tg := range v.Teams {
		x, _ := strconv.ParseFloat(tg[1], 64)
		sum += x
	}
	if cov.Target > 0 && (tr.Money(sum) != tr.Money(cov.Target) || (len(v.Teams) == 1 && v.Teams[0][0] != tr.Money(cov.Target))) {
		t.Errorf("[%s, %s) the teams table's targets %q add up to %s, the bookings card's target is %s", v.From, v.To, v.Teams, tr.Money(sum), tr.Money(cov.Target))
	}
	if cov.Status == "ok" && cov.Coverage != nil {
		want(1, "coverage", fmtf("%.1f×", *cov.Coverage), tr.T("kpi.coverage_sub")+": "+tr.Money(cov.Pipeline)+" / "+tr.Money(cov.Remaining))
	} else {
		want(1, "coverage ("+cov.Status+")", "–")
	}
	closed := wr.Total.Won + wr.Total.Lost
	if closed > 0 {
		want(2, "win rate", tr.Pct(wr.Total.WinRate), tr.T("kpi.winrate_sub")+": "+tr.Int(wr.Total.Won)+" / "+tr.Int(closed))
	} else {
		want(2, "win rate", "–")
	}
	if cyc.Total.Count > 0 {
		want(3, "cycle time", tr.Days(cyc.Total.Median)+" "+tr.T("kpi.days"), tr.T("kpi.cycle_sub")+" (n="+tr.Int(cyc.Total.Count)+")")
	} else {
		want(3, "cycle time", "–")
	}
	var opened int64
	for _, p := range mv.Periods {
		opened += p.Opened
	}
	from, _ := time.Parse(time.DateOnly, v.From)
	to, _ := time.Parse(time.DateOnly, v.To)
	vel := "–"
	if x := query.Velocity(opened, elapsedDays(query.Filter{From: from, To: to}, time.Now().UTC()), wr.Total.Won, wr.Total.Lost, wr.Total.WonAmount); x != nil {
		vel = tr.Money(*x) + " " + tr.T("kpi.per_day")
	}
	want(4, "velocity", vel)
}

// checkStages compares the funnel's stage table with /api/v1/funnel's.
func checkStages(t *testing.T, ctx context.Context, lang string, v journeyView) {
	t.Helper()
	tr := tr{lang}
	fn := apiGet[query.Funnel](t, ctx, "/api/v1/funnel?from="+v.From+"&to="+v.To)
	var want [][2]string
	for _, s := range fn.Stages {
		want = append(want, [2]string{tr.Stage(s.Stage), tr.Int(s.Reached)})
	}
	want = append(want, [2]string{tr.Stage("won"), tr.Int(fn.Won)})
	if fmt.Sprint(v.Stages) != fmt.Sprint(want) {
		t.Errorf("[%s, %s) the funnel's stages show %q, /api/v1/funnel's are %q", v.From, v.To, v.Stages, want)
	}
}

// TestBrowserJourneys: the director, a manager and a rep, in English and
// Chinese, at 1440×900 and on a 390×844 phone, sign in through the form, open
// the overview on a partial period (year to date, this quarter) and read the
// cards as the API answers for the same range and scope; drill the funnel
// stage → rep → deal with the stage counts of /api/v1/funnel and the rep's
// open deals of /api/v1/deals; and the URLs reproduce each view in a fresh tab.
// On the phone no page is wider than the screen.
func TestBrowserJourneys(t *testing.T) {
	b := newBrowser(t)
	now := time.Now().UTC()
	d := newDemoConfig(t, gen.Config{Seed: 1, Opportunities: 3000, AsOf: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)})
	b.take()
	for _, user := range []string{"director", "manager", "rep"} {
		for _, vp := range [][2]int64{{1440, 900}, {390, 844}} {
			if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(b.ctx, chromedp.EmulateViewport(vp[0], vp[1])); err != nil {
				t.Fatal(err)
			}
			b.signIn(t, d.ts.URL, user)
			for _, lang := range []string{"en", "zh-CN"} {
				name := fmt.Sprintf("%s/%s/%dx%d", user, lang, vp[0], vp[1])
				t.Run(name, func(t *testing.T) { journey(t, b, d, lang, vp) })
				problems, _ := b.take()
				for _, p := range problems {
					t.Errorf("%s: %s", name, p)
				}
			}
		}
	}
}

func journey(t *testing.T, b *browser, d *demo, lang string, vp [2]int64) {
	phone := vp[0] < 600
	preset := map[string]string{"en": "ytd", "zh-CN": "this_q"}[lang]
	ov := d.ts.URL + "/?preset=" + preset + "&lang=" + lang
	v := openPage(t, b.ctx, ov, phone)
	checkCards(t, b.ctx, lang, v)
	overviewCards := v.Cards

	// The funnel of the same filter, then the first stage (from the
	// negotiation down) with open deals of the range, and the rep owning the
	// first of them.
	fq := "from=" + v.From + "&to=" + v.To
	fv := openPage(t, b.ctx, d.ts.URL+"/funnel?"+fq, phone)
	checkStages(t, b.ctx, lang, fv)
	var stage, owner string
	for _, s := range []string{"negotiation", "proposal", "qualified", "lead"} {
		ds := apiGet[query.Deals](t, b.ctx, "/api/v1/deals?basis=created&status=open&sort=close&page_size=1&stage="+s+"&"+fq)
		if ds.Total > 0 {
			stage, owner = s, ds.Deals[0].OwnerID
			break
		}
	}
	if stage == "" {
		t.Fatalf("[%s) no open deal created in the range at any stage", fq)
	}
	click := func(sel, wantInURL string) journeyView {
		t.Helper()
		if err := chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
		// The click navigates: wait for the new page's charts (an evaluation
		// during the navigation fails; try again).
		cond := `location.search.includes(` + strconv.Quote(wantInURL) + `) && document.readyState === 'complete' && document.body.hasAttribute('data-charts')`
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](cond)); err == nil && ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("click %s: no page with %s after 20 s (at %s)", sel, wantInURL, b.location())
			}
		}
		return readPage(t, b.ctx, b.location(), phone)
	}
	sv := click(`#t-stages a[href*="stage=`+stage+`"]`, "stage="+stage)
	checkStages(t, b.ctx, lang, sv)
	// The owner's row at the stage: reached and conversion as /api/v1/reps says.
	shown, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`(() => { const a = document.querySelector('#t-reps-at-stage a[href*="rep=`+url.QueryEscape(owner)+`"]'); const r = a && a.closest('tr'); return r ? [r.cells[2].textContent.trim(), r.cells[3].textContent.trim()] : []; })()`))
	if err != nil || len(shown) != 2 {
		t.Fatalf("%s has no row among the reps at %s (%v)", owner, stage, err)
	}
	found := false
	for _, rs := range apiGet[[]query.RepScore](t, b.ctx, "/api/v1/reps?"+fq) {
		for _, m := range rs.Metrics {
			if rs.RepID == owner && m.Metric == "conversion" && m.Stage == stage {
				found = true
				if tr := (tr{lang}); shown[0] != tr.Int(m.N) || shown[1] != tr.Pct(m.Value) {
					t.Errorf("%s at %s: the row shows reached %s, conversion %s; /api/v1/reps says %s, %s", owner, stage, shown[0], shown[1], tr.Int(m.N), tr.Pct(m.Value))
				}
			}
		}
	}
	if !found {
		t.Errorf("/api/v1/reps has no conversion at %s for %s, whose row shows %q", stage, owner, shown)
	}
	rv := click(`#t-reps-at-stage a[href*="rep=`+url.QueryEscape(owner)+`"]`, "rep="+url.QueryEscape(owner))
	ds := apiGet[query.Deals](t, b.ctx, "/api/v1/deals?basis=created&status=open&sort=close&page_size=200&stage="+stage+"&rep="+url.QueryEscape(owner)+"&"+fq)
	if tr := (tr{lang}); !strings.HasSuffix(rv.Deals, "("+tr.Int(ds.Total)+")") {
		t.Errorf("%s at %s: the deals panel says %q, /api/v1/deals counts %d", owner, stage, rv.Deals, ds.Total)
	}
	first := ds.Deals[0].OpportunityID
	dv := click(`#t-deals tbody tr:first-child td:first-child a`, "deal="+url.QueryEscape(first))
	if dv.Deal == "" {
		t.Fatalf("the deal %s does not open beside the list", first)
	}
	dealURL := b.location()
	t.Logf("[%s, %s) cards %v; teams' targets %v; funnel %v; %s at %s: %s; deal %.60s", v.From, v.To, overviewCards, v.Teams, fv.Stages, owner, stage, rv.Deals, dv.Deal)

	// A fresh tab on each URL shows the same numbers.
	tab, cancel := chromedp.NewContext(b.ctx)
	defer cancel()
	if err := chromedp.Do(tab, chromedp.EmulateViewport(vp[0], vp[1])); err != nil {
		t.Fatal(err)
	}
	if again := openPage(t, tab, ov, phone); fmt.Sprint(again.Cards) != fmt.Sprint(overviewCards) {
		t.Errorf("%s in a fresh tab shows %q, first %q", ov, again.Cards, overviewCards)
	}
	if again := openPage(t, tab, dealURL, phone); fmt.Sprint(again) != fmt.Sprint(dv) {
		t.Errorf("%s in a fresh tab shows %+v, first %+v", dealURL, again, dv)
	}
}
