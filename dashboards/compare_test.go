package dashboards

import (
	"html"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
)

// compareDemo is a demo exported today, so this quarter and the year run to
// today as a director sees them.
func compareDemo(t *testing.T) *demo {
	now := time.Now().UTC()
	return newDemoConfig(t, gen.Config{Seed: 1, Opportunities: 3000, AsOf: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)})
}

// compareRanges are a full quarter, this quarter to date, the year to date and
// a custom range, as [from, to).
func compareRanges() [][2]string {
	now := time.Now().UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	q := time.Date(today.Year(), time.Month((int(today.Month())-1)/3*3+1), 1, 0, 0, 0, 0, time.UTC)
	d := func(t time.Time) string { return t.Format(time.DateOnly) }
	return [][2]string{
		{d(q.AddDate(0, -3, 0)), d(q)},
		{d(q), d(q.AddDate(0, 3, 0))},
		{d(time.Date(today.Year(), 1, 1, 0, 0, 0, 0, time.UTC)), d(today.AddDate(0, 0, 1))},
		{d(today.AddDate(0, 0, -45)), d(today.AddDate(0, 0, -10))},
	}
}

type apiDelta struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	Value  *float64 `json:"value"`
	Change *float64 `json:"change"`
	N      int64    `json:"n"`
}

// TestCompareAPI: previous and last_year of the card endpoints are the metric
// asked for directly over the comparison ranges (query.CompareRanges), and the
// change is the current value against them; an empty range says null, n 0.
func TestCompareAPI(t *testing.T) {
	d := compareDemo(t)
	type answer struct {
		Total struct {
			WinRate float64 `json:"win_rate"`
			Won     int64   `json:"won"`
			Lost    int64   `json:"lost"`
			Median  float64 `json:"median_days"`
			Count   int64   `json:"count"`
		} `json:"total"`
		Won        float64   `json:"won"`
		Previous   *apiDelta `json:"previous"`
		LastYear   *apiDelta `json:"last_year"`
		CompareCut bool      `json:"compare_cut"`
	}
	value := func(ep string, a answer) (float64, int64) {
		switch ep {
		case "winrate":
			return a.Total.WinRate, a.Total.Won + a.Total.Lost
		case "cycle":
			return a.Total.Median, a.Total.Count
		}
		return a.Won, -1
	}
	for _, r := range compareRanges() {
		f, err := query.ParseFilter(url.Values{"from": {r[0]}, "to": {r[1]}}, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		want := query.CompareRanges(f, time.Now().UTC())
		for _, x := range [][2]string{{"tok-director", "winrate"}, {"tok-director", "cycle"}, {"tok-director", "coverage"}, {"tok-manager", "winrate"}, {"tok-manager", "coverage"}} {
			tok, ep := x[0], x[1] // a manager's comparisons are the team's (failures name the path; the manager rows come last)
			var a answer
			path := "/api/v1/" + ep + "?from=" + r[0] + "&to=" + r[1]
			if code := get(t, d.ts, tok, path+"&compare=true", &a); code != 200 {
				t.Fatalf("%s: status %d", path, code)
			}
			if a.Previous == nil || a.LastYear == nil {
				t.Fatalf("%s&compare=true has no previous or last_year", path)
			}
			if a.CompareCut != want.Cut {
				t.Errorf("%s: compare_cut %v, want %v", path, a.CompareCut, want.Cut)
			}
			cur, _ := value(ep, a)
			for _, x := range []struct {
				name string
				got  *apiDelta
				f    query.Filter
			}{{"previous", a.Previous, want.Previous}, {"last_year", a.LastYear, want.LastYear}} {
				from, to := x.f.From.Format(time.DateOnly), x.f.To.Format(time.DateOnly)
				if x.got.From != from || x.got.To != to {
					t.Errorf("%s: %s covers %s..%s, want %s..%s", path, x.name, x.got.From, x.got.To, from, to)
				}
				var direct answer
				if code := get(t, d.ts, tok, "/api/v1/"+ep+"?from="+from+"&to="+to, &direct); code != 200 {
					t.Fatalf("%s over %s..%s: status %d", ep, from, to, code)
				}
				v, n := value(ep, direct)
				switch {
				case n == 0:
					if x.got.Value != nil || x.got.Change != nil || x.got.N != 0 {
						t.Errorf("%s: %s over an empty range says value %v change %v n %d, want null, null, 0", path, x.name, x.got.Value, x.got.Change, x.got.N)
					}
				case x.got.Value == nil || math.Abs(*x.got.Value-v) > 1e-6*math.Max(1, math.Abs(v)):
					t.Errorf("%s: %s value %v, the metric asked directly over %s..%s is %v", path, x.name, x.got.Value, from, to, v)
				case n > 0 && x.got.N != n:
					t.Errorf("%s: %s n %d, want %d", path, x.name, x.got.N, n)
				case x.got.Change != nil:
					wantC := cur - v // rates and days: the difference
					if ep == "coverage" {
						wantC = cur/v - 1
					}
					if math.Abs(*x.got.Change-wantC) > 1e-6 {
						t.Errorf("%s: %s change %v, want %v (current %v against %v)", path, x.name, *x.got.Change, wantC, cur, v)
					}
				}
			}
		}
	}
	// Without compare=true the answer is as before.
	var plain map[string]any
	get(t, d.ts, "tok-director", "/api/v1/winrate", &plain)
	if _, ok := plain["previous"]; ok {
		t.Error("/winrate without compare=true carries previous")
	}
	if code := get(t, d.ts, "tok-director", "/api/v1/winrate?compare=maybe", nil); code != 400 {
		t.Errorf("compare=maybe: status %d, want 400", code)
	}
}

var (
	kpiBlock  = regexp.MustCompile(`(?s)^<div class="kl">([^<]*)</div><div class="kv">(.*?)</div>(.*)$`)
	kpiLink   = regexp.MustCompile(`^<a href="([^"]+)"`)
	kpiCmp    = regexp.MustCompile(`<div class="kc[^"]*" title="[^"]*">([^<]*): <b>([^<]*)</b></div>`)
	closedOf  = regexp.MustCompile(`won / closed: ([\d,]+) / ([\d,]+)`)
	cycleOf   = regexp.MustCompile(`\(n=([\d,]+)\)`)
	fakeZeros = regexp.MustCompile(`∞|NaN|Inf`)
)

// TestOverviewComparisons: every card of the overview shows its comparison
// with the previous period and last year and links to the deals behind it,
// and the deals listed there are as many as the card counts (win rate's
// closed deals, cycle time's won deals).
func TestOverviewComparisons(t *testing.T) {
	d := compareDemo(t)
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != 303 {
		t.Fatalf("director cannot sign in: %d", code)
	}
	for _, p := range []string{"/", "/?preset=this_q", "/?preset=last_q", "/?team=" + url.QueryEscape(d.teamA), "/?from=2001-01-01&to=2001-04-01"} {
		code, body := d.page(t, c, p)
		if code != 200 {
			t.Fatalf("%s: status %d", p, code)
		}
		sec := body[strings.Index(body, `id="kpis"`):]
		if i := strings.Index(sec, "</section>"); i > 0 {
			sec = sec[:i]
		}
		var blocks [][]string
		for _, part := range strings.Split(sec, `<div class="kpi `)[1:] {
			if m := kpiBlock.FindStringSubmatch(part[strings.Index(part, ">")+1:]); m != nil {
				blocks = append(blocks, m)
			}
		}
		if len(blocks) != 5 {
			t.Fatalf("%s: %d cards, want 5", p, len(blocks))
		}
		empty := strings.Contains(p, "2001")
		for _, b := range blocks {
			label, kv, rest := b[1], b[2], b[3]
			cmps := kpiCmp.FindAllStringSubmatch(rest, -1)
			if len(cmps) != 2 || cmps[0][1] != "vs previous period" || cmps[1][1] != "vs same period last year" {
				t.Errorf("%s: card %q has comparisons %q, want vs previous period and vs same period last year", p, label, cmps)
			}
			for _, cm := range cmps {
				if fakeZeros.MatchString(cm[2]) || (empty && label != "Bookings" && cm[2] != "– (n=0)" && label != "Pipeline coverage") {
					t.Errorf("%s: card %q says %q %q", p, label, cm[1], cm[2])
				}
			}
			m := kpiLink.FindStringSubmatch(kv)
			if m == nil || !strings.HasPrefix(html.UnescapeString(m[1]), "/deals?") {
				t.Errorf("%s: card %q's value does not link to its deals: %s", p, label, kv)
				continue
			}
			link, _ := url.Parse(html.UnescapeString(m[1]))
			q := link.Query()
			if q.Get("from") == "" && q.Get("to") == "" {
				// The pages resolve a preset (none: year to date); the API takes dates.
				from, to := (&pages{fyStart: time.January}).preset(q.Get("preset"), time.Now().UTC())
				q.Set("from", from.Format(time.DateOnly))
				q.Set("to", to.Format(time.DateOnly))
				q.Del("preset")
			}
			var n *regexp.Regexp
			group := 0
			switch label {
			case "Win rate":
				n, group = closedOf, 2
			case "Cycle time":
				n, group = cycleOf, 1
			default:
				continue
			}
			nm := n.FindStringSubmatch(rest)
			if nm == nil {
				t.Errorf("%s: card %q shows no count: %s", p, label, rest)
				continue
			}
			want, _ := strconv.ParseInt(strings.ReplaceAll(nm[group], ",", ""), 10, 64)
			var deals struct {
				Total int64 `json:"total"`
			}
			if code := get(t, d.ts, "tok-director", "/api/v1/deals?"+q.Encode(), &deals); code != 200 {
				t.Fatalf("%s: the deals of card %q (%s): status %d", p, label, link, code)
			}
			if deals.Total != want {
				t.Errorf("%s: card %q counts %d deals, its link %s lists %d", p, label, want, link, deals.Total)
			}
		}
	}
}

var (
	tdCell  = regexp.MustCompile(`<td class="([^"]*)"(?: data-v="([^"]*)")?>(.*?)</td>`)
	teamRow = regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`)
)

// TestTableComparisons: the teams table's change against the previous period
// is the teams' bookings asked from the API over both ranges; the reps and
// territories tables have the comparison columns and cells that open deals;
// the charts' points carry deal links; a manager reads it in Chinese.
func TestTableComparisons(t *testing.T) {
	d := compareDemo(t)
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != 303 {
		t.Fatalf("director cannot sign in: %d", code)
	}
	r := compareRanges()[0] // the last whole quarter
	code, body := d.page(t, c, "/?from="+r[0]+"&to="+r[1])
	if code != 200 {
		t.Fatalf("overview: %d", code)
	}
	f, _ := query.ParseFilter(url.Values{"from": {r[0]}, "to": {r[1]}}, time.UTC)
	cmp := query.CompareRanges(f, time.Now().UTC())
	type wr struct {
		Groups []struct {
			Key       string  `json:"key"`
			WonAmount float64 `json:"won_amount"`
			Won       int64   `json:"won"`
			Lost      int64   `json:"lost"`
			WinRate   float64 `json:"win_rate"`
		} `json:"groups"`
	}
	amount := func(from, to string) map[string]float64 {
		var w wr
		if code := get(t, d.ts, "tok-director", "/api/v1/winrate?group_by=team&from="+from+"&to="+to, &w); code != 200 {
			t.Fatalf("winrate by team: %d", code)
		}
		out := map[string]float64{}
		for _, g := range w.Groups {
			out[g.Key] = g.WonAmount
		}
		return out
	}
	cur, prev := amount(r[0], r[1]), amount(cmp.Previous.From.Format(time.DateOnly), cmp.Previous.To.Format(time.DateOnly))
	checked := 0
	for _, tr := range teamRow.FindAllStringSubmatch(body, -1) {
		for team, v := range cur {
			name := tr[1][:max(strings.Index(tr[1], "</a>"), 0)]
			if !strings.Contains(name, "/funnel?") || !strings.Contains(name, "team="+url.QueryEscape(team)+"&amp;") && !strings.Contains(name, "team="+url.QueryEscape(team)+`"`) {
				continue
			}
			cells := tdCell.FindAllStringSubmatch(tr[1], -1)
			if len(cells) != 11 {
				t.Fatalf("team %s's row has %d cells, want 11 (7 and 4 comparisons)", team, len(cells))
			}
			bp := cells[7]
			if prev[team] == 0 {
				if bp[3] != "–" {
					t.Errorf("team %s had no bookings before; its change says %q", team, bp[3])
				}
				continue
			}
			want := v/prev[team] - 1
			got, err := strconv.ParseFloat(bp[2], 64)
			if err != nil || math.Abs(got-want) > 1e-3 {
				t.Errorf("team %s: bookings vs previous period %q (%s), want %.4f (%.0f against %.0f)", team, bp[3], bp[2], want, v, prev[team])
			}
			if (want > 0 && bp[1] != "num good") || (want < 0 && bp[1] != "num bad") {
				t.Errorf("team %s: a change of %.3f is coloured %q", team, want, bp[1])
			}
			if !strings.Contains(cells[1][3], `href="/deals?`) || !strings.Contains(cells[6][3], `href="/deals?`) {
				t.Errorf("team %s: bookings or win rate do not open their deals: %s", team, tr[1])
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no team row found on the overview")
	}
	for _, id := range []string{"chart-teams", "chart-conversion"} {
		i := strings.Index(body, `id="spec-`+id+`">`)
		if i < 0 || !strings.Contains(body[i:i+strings.Index(body[i:], "</script>")], `"links":{`) || !strings.Contains(body[i:i+strings.Index(body[i:], "</script>")], `/deals?`) {
			t.Errorf("%s's points do not open their deals", id)
		}
	}
	// The tables' changes compare the rows' own bookings: win rate's won amount by
	// rep and territory is the scorecards' and the territories' captured.
	for _, x := range []struct{ ep, group, key, amount string }{{"reps", "rep", "rep_id", "won_amount"}, {"territories", "territory", "territory", "captured"}} {
		var rows []map[string]any
		var w wr
		get(t, d.ts, "tok-director", "/api/v1/"+x.ep+"?from="+r[0]+"&to="+r[1], &rows)
		get(t, d.ts, "tok-director", "/api/v1/winrate?group_by="+x.group+"&from="+r[0]+"&to="+r[1], &w)
		if len(rows) == 0 || len(w.Groups) == 0 {
			t.Fatalf("/api/v1/%s or win rate by %s is empty", x.ep, x.group)
		}
		won := map[string]float64{}
		for _, g := range w.Groups {
			won[g.Key] = g.WonAmount
		}
		for _, row := range rows {
			k, _ := row[x.key].(string)
			if a, _ := row[x.amount].(float64); math.Abs(a-won[k]) > 0.01 {
				t.Errorf("%s %s: %s %.2f, but win rate by %s says %.2f won", x.ep, k, x.amount, a, x.group, won[k])
			}
		}
	}
	for _, p := range []string{"/reps", "/territories"} {
		code, body := d.page(t, c, p+"?from="+r[0]+"&to="+r[1])
		if code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
		for _, h := range []string{"Bookings vs prev.", "Bookings vs last year", "Win rate vs prev.", "Win rate vs last year"} {
			if !strings.Contains(body, ">"+h+"</th>") {
				t.Errorf("%s has no column %q", p, h)
			}
		}
		if len(regexp.MustCompile(`<td class="num [^"]*"[^>]*><a href="/deals\?`).FindAllString(body, -1)) < 3 {
			t.Errorf("%s: few cells open their deals", p)
		}
	}
	// A rep's scorecard: four cards with comparisons; its deals card counts what its link lists.
	code, body = d.page(t, c, "/reps/"+d.repA+"?from="+r[0]+"&to="+r[1])
	if code != 200 {
		t.Fatalf("scorecard: %d", code)
	}
	if n := strings.Count(body, `<div class="kc`); n != 8 {
		t.Errorf("the scorecard's cards have %d comparisons, want 8 (4 cards x 2)", n)
	}
	dm := regexp.MustCompile(`<div class="kl">Deals</div><div class="kv"><a href="([^"]+)"[^>]*>([\d,]+)</a>`).FindStringSubmatch(body)
	if dm == nil {
		t.Fatal("the scorecard's deals card does not link to its deals")
	}
	link, _ := url.Parse(html.UnescapeString(dm[1]))
	var deals struct {
		Total int64 `json:"total"`
	}
	get(t, d.ts, "tok-director", "/api/v1/deals?"+link.RawQuery, &deals)
	if want, _ := strconv.ParseInt(strings.ReplaceAll(dm[2], ",", ""), 10, 64); deals.Total != want {
		t.Errorf("the scorecard's deals card says %d, its link %s lists %d", want, link, deals.Total)
	}
	// The scorecard's metric counts (n) open as many of the rep's deals.
	mtab := body[strings.Index(body, `id="t-metrics"`):]
	mtab = mtab[:strings.Index(mtab, "</table>")]
	ns := regexp.MustCompile(`<a href="(/deals\?[^"]*)">([\d,]+)</a>`).FindAllStringSubmatch(mtab, -1)
	if len(ns) < 4 {
		t.Errorf("the scorecard's metrics link %d counts to their deals, want the stage conversions, win rate, deal size and cycle time", len(ns))
	}
	for _, nm := range ns {
		link, _ := url.Parse(html.UnescapeString(nm[1]))
		var deals struct {
			Total int64 `json:"total"`
		}
		get(t, d.ts, "tok-director", "/api/v1/deals?"+link.RawQuery, &deals)
		if want, _ := strconv.ParseInt(strings.ReplaceAll(nm[2], ",", ""), 10, 64); deals.Total != want {
			t.Errorf("a scorecard metric of n=%d links to %s, which lists %d", want, link, deals.Total)
		}
	}
	if !strings.Contains(body, `id="spec-chart-trend"`) || !strings.Contains(body[strings.Index(body, `id="spec-chart-trend"`):], `"links":{`) {
		t.Error("the scorecard's monthly trend does not open the rep's deals")
	}
	// The trends' cohorts: each month's cohort count lists as many deals created in it.
	code, body = d.page(t, c, "/trends?from="+r[0]+"&to="+r[1])
	if code != 200 {
		t.Fatalf("trends: %d", code)
	}
	cohorts := regexp.MustCompile(`<a href="(/deals\?basis=created[^"]*)">([\d,]+)</a>`).FindAllStringSubmatch(body, -1)
	if len(cohorts) != 3 {
		t.Errorf("the trends of a quarter link %d monthly cohorts to their deals, want 3", len(cohorts))
	}
	for _, cm := range cohorts {
		link, _ := url.Parse(html.UnescapeString(cm[1]))
		var deals struct {
			Total int64 `json:"total"`
		}
		get(t, d.ts, "tok-director", "/api/v1/deals?"+link.RawQuery, &deals)
		if want, _ := strconv.ParseInt(strings.ReplaceAll(cm[2], ",", ""), 10, 64); deals.Total != want {
			t.Errorf("a cohort of %d deals links to %s, which lists %d", want, link, deals.Total)
		}
	}
	if !strings.Contains(body, `"links":{"`+r[0]) {
		t.Error("the trends' charts do not link their periods to deals")
	}
	m := d.client(t)
	if code := d.login(t, m, "manager", demoPassword); code != 303 {
		t.Fatalf("manager cannot sign in: %d", code)
	}
	if code, body := d.page(t, m, "/"); code != 200 || !strings.Contains(body, "较上期") || !strings.Contains(body, "较去年同期") {
		t.Errorf("the manager's overview (zh-CN) has no comparisons in Chinese: %d", code)
	}
}

// TestBrowserChartDrill: in Chromium, clicking a team's bookings bar on the
// overview opens that team's won deals, and a conversion-trend point the
// deals created in its month.
func TestBrowserChartDrill(t *testing.T) {
	b := newBrowser(t)
	d := compareDemo(t)
	b.signIn(t, d.ts.URL, "director")
	r := compareRanges()[0]
	for _, tc := range []struct {
		chart, js string
		want      []string
	}{
		{"chart-teams", `c => { const l = c.getModel().getSeriesByIndex(0).getData().getItemLayout(0); return [l.x + l.width / 2, l.y + l.height / 2]; }`,
			[]string{"/deals?", "basis=closed", "status=won", "team="}},
		{"chart-conversion", `c => { const ss = c.getOption().series; for (let k = 0; k < ss.length; k++) { const i = ss[k].data.findIndex(x => (x.value ?? x) !== '-'); if (i >= 0) return c.convertToPixel({seriesIndex: k}, [i, ss[k].data[i].value ?? ss[k].data[i]]); } }`,
			[]string{"/deals?", "basis=created", "from=" + r[0][:5], "to=" + r[1][:5]}},
	} {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+"/?from="+r[0]+"&to="+r[1])); err != nil {
			t.Fatal(err)
		}
		b.waitCharts(t)
		// The real mouse clicks inside the viewport: bring the chart to its middle.
		if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(document.getElementById('`+tc.chart+`').scrollIntoView({block: 'center'}), true)`)); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(b.ctx, chromedp.Sleep(300*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		b.clickChart(t, tc.chart, tc.js)
		u := b.location()
		for _, w := range tc.want {
			if !strings.Contains(u, w) {
				t.Errorf("clicking %s opened %s, want it to hold %s", tc.chart, u, w)
			}
		}
	}
}
