package dashboards

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pipelens/pipelens/query"
)

// specOf decodes a chart's spec as app.js reads it.
func specOf(t *testing.T, cv *chartView) chartSpec {
	t.Helper()
	var cs chartSpec
	if err := json.Unmarshal([]byte(cv.Spec), &cs); err != nil {
		t.Fatalf("chart %s: spec does not parse: %v", cv.ID, err)
	}
	return cs
}

func seriesOf(cs chartSpec) []map[string]any {
	var out []map[string]any
	for _, s := range series(cs.O) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func valueAt(s map[string]any, i int) any {
	d := s["data"].([]any)[i]
	if m, ok := d.(map[string]any); ok {
		return m["value"]
	}
	return d
}

// A maturing month's tooltip showed "–" for every transition although its points
// were drawn: the dashed series must be in the tooltip and the month noted.
func TestConversionTrendTooltipMaturing(t *testing.T) {
	stages := []string{"lead", "qualified"}
	pp := func(period string, conv float64, incomplete bool) query.ConversionPeriod {
		return query.ConversionPeriod{Period: period, Funnel: query.Funnel{Stages: []query.StageCount{{Stage: "lead", Conversion: conv}, {Stage: "qualified", Conversion: conv / 2}}},
			WinConversion: conv / 4, Incomplete: incomplete}
	}
	periods := []query.ConversionPeriod{pp("2026-09-01", 0.5, false), pp("2026-10-01", 0.4, false), pp("2026-11-01", 0.3, true)}
	for _, tc := range []struct{ lang, note string }{{"en", "still maturing"}, {"zh-CN", "仍在成熟中"}} {
		cs := specOf(t, buildConversionTrend("c", tr{tc.lang}, stages, periods, true, 300))
		if !strings.HasPrefix(cs.Partial["2026-11-01"], tc.note) || len(cs.Partial) != 1 {
			t.Errorf("%s: the maturing month's tooltip does not say it is maturing: %v", tc.lang, cs.Partial)
		}
		ss := seriesOf(cs)
		for i, s := range ss {
			if tt, ok := s["tooltip"].(map[string]any); ok && tt["show"] == false {
				t.Errorf("%s: series %d (%v) is left out of the tooltip, so a maturing month shows –", tc.lang, i, s["name"])
			}
		}
		// Each transition: solid series without the maturing month, dashed with it.
		if v := valueAt(ss[1], 2); v != 0.3 {
			t.Errorf("%s: the dashed series lacks the maturing value: %v", tc.lang, v)
		}
	}
}

// The current month, half gone, read as a drop on the sparklines; the series was
// named "v" in the tooltip.
func TestSparklinePartialAndName(t *testing.T) {
	labels := []string{"2026-10", "2026-11", "2026-12"}
	vals := []float64{100, 120, 30}
	for _, tc := range []struct{ lang, name, note string }{{"en", "Bookings", "to date"}, {"zh-CN", "签约额", "截至目前"}} {
		tt := tr{tc.lang}
		cs := specOf(t, buildSparkline("s", tt, tt.T("kpi.bookings"), labels, vals, true, colMain, "money"))
		ss := seriesOf(cs)
		if len(ss) != 2 {
			t.Fatalf("%s: want the complete months and the partial one as two series, got %d", tc.lang, len(ss))
		}
		for _, s := range ss {
			if s["name"] != tc.name {
				t.Errorf("%s: sparkline series is named %v, want %s", tc.lang, s["name"], tc.name)
			}
		}
		if v := valueAt(ss[0], 2); v != "-" {
			t.Errorf("%s: the partial month is on the solid line: %v", tc.lang, v)
		}
		if ls, _ := ss[1]["lineStyle"].(map[string]any); ls["type"] != "dashed" {
			t.Errorf("%s: the partial month's segment is not dashed: %v", tc.lang, ss[1]["lineStyle"])
		}
		last := ss[1]["data"].([]any)[2].(map[string]any)
		if last["value"] != 30.0 || last["symbol"] != "emptyCircle" {
			t.Errorf("%s: the partial month is not a hollow point: %v", tc.lang, last)
		}
		if !strings.HasPrefix(cs.Partial["2026-12"], tc.note) {
			t.Errorf("%s: the partial month's tooltip does not say to date: %v", tc.lang, cs.Partial)
		}
	}
	// A finished last month stays one solid line.
	cs := specOf(t, buildSparkline("s", tr{"en"}, "Cycle time", labels, vals, false, colMain, "days"))
	if len(seriesOf(cs)) != 1 || cs.Partial != nil {
		t.Errorf("a complete series is drawn as partial: %d series, %v", len(seriesOf(cs)), cs.Partial)
	}
}

// A rep at 4.6% (3.3–6.2%) against peers at 12.4% was neutral blue: query moves
// the win rate's weakness to the stage that explains it, and the chart must still
// show the scorecard's judgement.
func TestRepsChartColourFollowsScorecard(t *testing.T) {
	wr := query.MetricScore{Metric: "win_rate", Value: 0.046, Low: 0.033, High: 0.062, Peer: 0.124, N: 300, HigherIsBetter: true, ExplainedBy: []string{"proposal"}}
	rs := query.RepScore{RepID: "U1", Metrics: []query.MetricScore{wr, {Metric: "conversion", Stage: "proposal", Verdict: query.Weakness}}}
	if got := judged(rs, wr); got != query.Weakness {
		t.Fatalf("judged = %q, want weakness", got)
	}
	cs := specOf(t, buildIntervalChart("c", tr{"en"}, []string{"U1"}, []float64{wr.Value}, []float64{wr.Low}, []float64{wr.High}, []string{judged(rs, wr)}, wr.Peer, "pct", nil))
	pt := seriesOf(cs)[2]["data"].([]any)[0].(map[string]any)
	if c := pt["itemStyle"].(map[string]any)["color"]; c != colBad {
		t.Errorf("the rep's point is %v, want red %s", c, colBad)
	}
	neutral := query.MetricScore{Metric: "win_rate", Value: 0.12, Low: 0.08, High: 0.16, Peer: 0.124}
	if got := judged(query.RepScore{Metrics: []query.MetricScore{neutral}}, neutral); got != "" {
		t.Errorf("an interval around the peers is judged %q", got)
	}
}

// Funnel labels printed 12345 without separators.
func TestFunnelChartLabelsSeparated(t *testing.T) {
	f := query.Funnel{Cohort: 12345, Stages: []query.StageCount{{Stage: "lead", Reached: 12345}, {Stage: "qualified", Reached: 4321}}, Won: 1234}
	for _, lang := range []string{"en", "zh-CN"} {
		tt := tr{lang}
		cs := specOf(t, buildFunnelChart("f", tt, f, nil, ""))
		items := seriesOf(cs)[0]["data"].([]any)
		want := []string{tt.Stage("lead") + "  12,345", tt.Stage("qualified") + "  4,321", tt.Stage("won") + "  1,234"}
		for i, w := range want {
			got := items[i].(map[string]any)["label"].(map[string]any)["formatter"]
			if got != w {
				t.Errorf("%s: label %d is %v, want %q", lang, i, got, w)
			}
		}
	}
}

// The scatter's subtitle names a diagonal that was not drawn; the map showed two
// legends (55.1% / 0% and 1 / 0); a manager's headroom listed territories his
// team never sold in.
func TestTerritoryCharts(t *testing.T) {
	ts := []query.Territory{{Territory: "浙江", Potential: 1000, Captured: 551, Penetration: 0.551, Accounts: 4, Won: 3},
		{Territory: "广东", Potential: 5000, Accounts: 9}, {Territory: "上海", Potential: 800, Pipeline: 120, Accounts: 2}}
	cs := specOf(t, buildPotentialScatter("s", tr{"en"}, ts, nil))
	var diag map[string]any
	for _, s := range seriesOf(cs) {
		if s["type"] == "line" {
			diag = s
		}
	}
	if diag == nil {
		t.Fatal("the scatter draws no diagonal")
	}
	if d := diag["data"].([]any); len(d) != 2 || d[1].([]any)[0] != 5000.0 || d[1].([]any)[1] != 5000.0 {
		t.Errorf("the diagonal does not run from 0 to the largest value: %v", d)
	}
	cs = specOf(t, buildProvinceMap("m", tr{"en"}, ts, nil))
	vm := cs.O["visualMap"].([]any)[0].(map[string]any)
	if vm["calculable"] == true {
		t.Errorf("the map's visual map is calculable: its handles print a second, unformatted legend")
	}
	if txt := vm["text"].([]any); txt[0] != "55.1%" || txt[1] != "0%" {
		t.Errorf("the map's legend is %v, want 55.1%% / 0%%", txt)
	}
	var kept []string
	for _, x := range soldIn(ts) {
		kept = append(kept, x.Territory)
	}
	if strings.Join(kept, ",") != "浙江,上海" {
		t.Errorf("a manager's headroom keeps %v, want the territories with the team's deals (浙江, 上海)", kept)
	}
}

func (d *demo) csv(t *testing.T, c *http.Client, path string) (int, [][]string, string) {
	t.Helper()
	resp, err := c.Get(d.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	recs, _ := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	return resp.StatusCode, recs, string(b)
}

var longDecimal = regexp.MustCompile(`\d\.\d{5,}`)

// The pages of issue 15: CSVs, the won row, error pages for another team's rep.
func TestReviewPages(t *testing.T) {
	d := newDemo(t, 3000)
	dir := d.client(t)
	if code := d.login(t, dir, "director", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("director cannot sign in: %d", code)
	}
	m := d.client(t) // zh-CN, team A
	if code := d.login(t, m, "manager", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("manager cannot sign in: %d", code)
	}

	// CSVs: ratios to 4 decimals, stages as on the page in the page's language.
	for _, p := range []string{"/?csv=teams", "/funnel?csv=stages", "/funnel?stage=proposal&csv=reps-at-stage", "/trends?csv=conversion", "/trends?csv=days-in-stage",
		"/reps?csv=reps", "/territories?csv=territories", "/reps/" + d.repA + "?csv=metrics"} {
		for _, who := range []struct {
			name string
			c    *http.Client
		}{{"director", dir}, {"manager", m}} {
			code, recs, body := d.csv(t, who.c, p)
			if code != 200 || len(recs) < 2 {
				t.Errorf("%s %s: status %d, %d rows: %.200s", who.name, p, code, len(recs), body)
				continue
			}
			if m := longDecimal.FindString(body); m != "" {
				t.Errorf("%s %s: a ratio with more than 4 decimals: %s", who.name, p, m)
			}
			keys := []string{"lead", "qualified", "proposal", "negotiation", "won", "incomplete", "market"}
			if who.name == "manager" { // English labels of these are the keys themselves
				keys = append(keys, "strength", "weakness", "estimate", "maturing")
			}
			for _, key := range keys {
				for _, rec := range recs[1:] {
					for _, f := range rec {
						if f == key {
							t.Errorf("%s %s: a raw key %q where the page shows a label", who.name, p, key)
						}
					}
				}
			}
		}
	}
	_, recs, _ := d.csv(t, m, "/funnel?csv=stages")
	if len(recs) > 1 && (recs[1][0] != "线索" || recs[len(recs)-1][0] != "赢单") {
		t.Errorf("the manager's (zh-CN) stages CSV does not use the page's labels: %v", recs)
	}
	if last := recs[len(recs)-1]; last[2] != "–" {
		t.Errorf("the Won row's conversion to next is %q, want –", last[2])
	}
	_, body := d.page(t, dir, "/funnel?stage=proposal")
	if !strings.Contains(body, "csv=reps-at-stage") {
		t.Errorf("the reps-at-stage table has no CSV download")
	}
	if strings.Contains(body, "Proposal (Proposal)") {
		t.Errorf("a stage label is repeated")
	}
	// The overview's sparklines carry the KPI's name.
	_, body = d.page(t, dir, "/?lang=en")
	if !strings.Contains(body, `"name":"Bookings"`) || strings.Contains(body, `"name":"v"`) {
		t.Errorf("the sparklines are not named after their KPI")
	}

	// Another team's rep: one clear sentence, 403.
	for _, p := range []string{"/reps/" + d.repB, "/funnel?rep=" + d.repB, "/funnel?stage=proposal&rep=" + d.repB} {
		code, body := d.page(t, m, p)
		if code != http.StatusForbidden || !strings.Contains(body, "该销售代表不在您的团队中。") {
			t.Errorf("manager opening %s: %d, want 403 saying the rep is not in the team: %.300s", p, code, body)
		}
	}
	code, body := d.page(t, dir, "/reps/U9999?lang=en")
	if code != http.StatusNotFound || !strings.Contains(body, "There is no rep with the id U9999.") || strings.Contains(body, "not found:") {
		t.Errorf("an unknown rep: %d, want 404 with one sentence: %.400s", code, body)
	}
	if code, _ := d.page(t, m, "/reps/"+d.repA); code != 200 {
		t.Errorf("the manager's own rep: %d", code)
	}
}

// tooltipAt shows the tooltip of a chart at the first axis label that spec.partial
// notes (a maturing month, a month to date) and returns its text, with the note.
func (b *browser) tooltipAt(t *testing.T, chartID string) (text, label string) {
	t.Helper()
	type tip struct {
		Label string `json:"label"`
		Text  string `json:"text"`
	}
	js := `(async () => {
		const el = document.getElementById(%q);
		const spec = JSON.parse(document.getElementById(el.getAttribute('data-spec')).textContent);
		const labels = spec.o.xAxis[0].data, partial = spec.partial || {};
		const i = labels.findIndex(l => partial[l] !== undefined);
		if (i < 0) return {label: '', text: ''};
		const c = echarts.getInstanceByDom(el);
		c.dispatchAction({type: 'showTip', seriesIndex: spec.o.series.length - 1, dataIndex: i});
		await new Promise(r => setTimeout(r, 300));
		const tt = [...el.querySelectorAll('div')].find(d => d.style.position === 'absolute' && d.textContent.includes(labels[i]));
		return {label: labels[i], text: tt ? tt.textContent : ''};
	})()`
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[tip](fmt.Sprintf(js, chartID), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("tooltip of %s: %v", chartID, err)
	}
	return res.Text, res.Label
}

// In the browser: a maturing month's conversion tooltip shows values and says it
// is maturing; the sparkline's last, partial month says "to date" with the KPI's name.
func TestBrowserPartialTooltips(t *testing.T) {
	b := newBrowser(t)
	d := newDemo(t, 3000)
	b.signIn(t, d.ts.URL, "director")
	for _, tc := range []struct{ path, chart, want, name string }{
		{"/trends?lang=en", "chart-conversion", "still maturing", "Lead→Qualified"},
		// A range that ends mid-month: its last month is to date.
		{"/?lang=en&from=2026-01-01&to=2026-11-15", "spark-bookings", "to date", "Bookings"},
		{"/?lang=zh-CN&from=2026-01-01&to=2026-11-15", "spark-winrate", "截至目前", "赢单率"},
	} {
		if err := chromedp.Do(b.ctx, chromedp.Navigate(d.ts.URL+tc.path)); err != nil {
			t.Fatal(err)
		}
		b.waitCharts(t)
		text, label := b.tooltipAt(t, tc.chart)
		if label == "" {
			spec, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.getElementById('spec-`+tc.chart+`').textContent.slice(0, 600)`))
			t.Errorf("%s %s: no period is marked partial: %s", tc.path, tc.chart, spec)
			continue
		}
		if !strings.Contains(text, tc.want) || !strings.Contains(text, tc.name) || !regexp.MustCompile(`\d`).MatchString(strings.TrimPrefix(text, label)) || strings.Contains(text, "–") {
			t.Errorf("%s %s at %s: tooltip %q, want the value, %q and %q", tc.path, tc.chart, label, text, tc.name, tc.want)
		}
	}
	if problems, _ := b.take(); len(problems) > 0 {
		t.Errorf("console: %v", problems)
	}
}
