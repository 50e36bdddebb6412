package dashboards

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/query"
)

// trends: stage-to-stage conversion per period (maturing periods dashed), days in
// stage, and pipeline movement.
func (p *pages) trends(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	period := c.QueryParam("period")
	switch period {
	case "week", "month", "quarter":
	case "":
		period = "month"
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "period: want week, month or quarter")
	}
	ctx := c.Request().Context()
	svc := p.svc
	var (
		conv []query.ConversionPeriod
		dis  []query.StageDurations
		mv   query.Movement
		fb   *filterBar
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		conv, err = fetch(gctx, p, r, "conversion", r.f, func(ctx context.Context, f query.Filter) ([]query.ConversionPeriod, error) {
			return svc.Conversion(ctx, r.scope, f, period)
		}, period)
		return
	})
	g.Go(func() (err error) {
		dis, err = fetch(gctx, p, r, "days-in-stage", r.f, func(ctx context.Context, f query.Filter) ([]query.StageDurations, error) {
			return svc.DaysInStage(ctx, r.scope, f, "")
		})
		return
	})
	g.Go(func() error { mv = p.movement(gctx, r, r.f, period); return nil })
	g.Go(func() error { fb = p.filterBar(gctx, r, "/trends", "period"); return nil })
	if err := g.Wait(); err != nil {
		return err
	}
	v := &view{Title: r.T("nav.trends"), Nav: "trends", Filter: fb}
	for _, pr := range []string{"week", "month", "quarter"} {
		v.Links = append(v.Links, link{Label: r.T("tr." + pr), URL: r.url("/trends", "period", pr), Active: pr == period})
	}
	cp := &panel{ID: "conversion", Title: r.T("tr.conversion"), Sub: r.T("tr.conversion_sub"), Links: v.Links}
	if len(conv) > 0 {
		cp.Chart = withLinks(conversionTrend("chart-conversion", r.tr, svc.Stages(), conv, true, 380), cohortLinks(r, conv, period))
	} else {
		cp.Empty = r.T("empty")
	}
	names := transitions(r.tr, svc.Stages())
	ct := &table{ID: "conversion", Cols: []col{{Label: r.T("col.period")}, {Label: r.T("col.cohort"), Num: true}}}
	for _, n := range names {
		ct.Cols = append(ct.Cols, col{Label: n, Num: true})
	}
	ct.Cols = append(ct.Cols, col{Label: r.T("stage.lead") + "→" + r.T("stage.won"), Num: true}, col{Label: r.T("col.status")})
	cohorts := cohortLinks(r, conv, period)
	for _, pp := range conv {
		rw := row{Cells: []cell{{Text: pp.Period}, linked(count(r, pp.Cohort), cohorts[pp.Period])}}
		for i := range names {
			if i < len(pp.Stages) {
				rw.Cells = append(rw.Cells, pct(r, pp.Stages[i].Conversion))
			}
		}
		rw.Cells = append(rw.Cells, pct(r, pp.WinConversion))
		if pp.Incomplete {
			rw.Cells = append(rw.Cells, cell{Text: r.T("period.incomplete"), Class: "warn"})
			rw.Class = "incomplete"
		} else {
			rw.Cells = append(rw.Cells, cell{})
		}
		ct.Rows = append(ct.Rows, rw)
	}
	dp := &panel{ID: "days", Title: r.T("tr.days"), Sub: r.T("tr.days_sub"), Span: 6}
	dt := &table{ID: "days-in-stage", Cols: []col{{Label: r.T("col.stage")}, {Label: r.T("col.count"), Num: true}, {Label: r.T("col.median"), Num: true}, {Label: r.T("col.mean"), Num: true}, {Label: r.T("col.still_in"), Num: true}}}
	for _, d := range dis {
		dt.Rows = append(dt.Rows, row{Cells: []cell{{Text: r.Stage(d.Stage)}, count(r, d.Count), days(r, d.Median), days(r, d.Mean), count(r, d.StillIn)}})
	}
	if len(dis) > 0 {
		dp.Chart = daysChart("chart-days", r.tr, dis)
	} else {
		dp.Empty = r.T("empty")
	}
	mp := &panel{ID: "movement", Title: r.T("tr.movement"), Span: 6}
	if len(mv.Periods) > 0 {
		starts := make([]string, len(mv.Periods))
		for i, pp := range mv.Periods {
			starts[i] = pp.Period
		}
		mp.Chart = withLinks(movementChart("chart-movement", r.tr, mv), periodLinks(r, r.f, starts, period, "created", "")) // the deals opened in the period
	} else {
		mp.Empty = r.T("empty")
	}
	v.Panels = append(v.Panels, cp, dp, mp, &panel{ID: "conversion-table", Title: r.T("tr.table"), Table: ct}, &panel{ID: "days-table", Title: r.T("tr.days"), Table: dt})
	return p.render(r, v)
}

// repMonths is a rep's bookings, won and lost per month, from the daily series
// (by rep), shaped as query.Movement for bookingsTrend.
func (p *pages) repMonths(ctx context.Context, r *request, f query.Filter, id string) (query.Movement, error) {
	out := query.Movement{Period: "month"}
	series := map[string][]query.Point{}
	for _, m := range []string{"bookings", "won", "lost"} {
		key := cacheKey(r.scope, "series", f, m, "rep")
		s, err := cached(ctx, p.s, key, "series", func(ctx context.Context) (map[string][]query.Point, error) {
			return p.svc.DailySeries(ctx, r.scope, m, "rep", f)
		})
		if err != nil {
			return out, err
		}
		series[m] = s[id]
	}
	idx := map[string]int{}
	for m, pts := range series {
		for _, pt := range pts {
			month := pt.Day.Format("2006-01") + "-01"
			i, ok := idx[month]
			if !ok {
				i = len(out.Periods)
				idx[month] = i
				out.Periods = append(out.Periods, query.MovementPeriod{Period: month})
			}
			switch m {
			case "bookings":
				out.Periods[i].WonAmount += pt.Value
			case "won":
				out.Periods[i].Won += int64(pt.Value)
			case "lost":
				out.Periods[i].Lost += int64(pt.Value)
			}
		}
	}
	sort.Slice(out.Periods, func(i, j int) bool { return out.Periods[i].Period < out.Periods[j].Period })
	return out, nil
}

func metricOf(rs query.RepScore, metric string) (query.MetricScore, bool) {
	for _, m := range rs.Metrics {
		if m.Metric == metric && m.Stage == "" {
			return m, true
		}
	}
	return query.MetricScore{}, false
}

// reps: the ranking table.
func (p *pages) reps(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var reps []query.RepScore
	var fb *filterBar
	var book, rate map[string][2]query.Delta
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		reps, err = fetch(gctx, p, r, "reps", r.f, func(ctx context.Context, f query.Filter) ([]query.RepScore, error) {
			return p.svc.Reps(ctx, r.scope, f)
		})
		return
	})
	g.Go(func() (err error) { book, rate, err = p.groupChanges(gctx, r, "rep"); return })
	g.Go(func() error { fb = p.filterBar(gctx, r, "/reps"); return nil })
	if err := g.Wait(); err != nil {
		return err
	}
	reps = append([]query.RepScore(nil), reps...)
	sort.Slice(reps, func(i, j int) bool { return reps[i].WonAmount > reps[j].WonAmount })
	v := &view{Title: r.T("nav.reps"), Nav: "reps", Filter: fb}
	t := &table{ID: "reps", Cols: []col{{Label: "#", Num: true}, {Label: r.T("col.rep")}, {Label: r.T("col.team")}, {Label: r.T("col.bookings"), Num: true}, {Label: r.T("col.deals"), Num: true},
		{Label: r.T("col.won"), Num: true}, {Label: r.T("col.winrate"), Num: true}, {Label: r.T("col.deal_size"), Num: true}, {Label: r.T("col.cycle"), Num: true},
		{Label: r.T("col.strengths"), Num: true}, {Label: r.T("col.weaknesses"), Num: true}, {Label: r.T("col.worst_stage")}}}
	t.Cols = append(t.Cols, changeCols(r)...)
	maxWon := 1.0
	for _, rs := range reps {
		maxWon = math.Max(maxWon, rs.WonAmount)
	}
	for i, rs := range reps {
		wr, _ := metricOf(rs, "win_rate")
		ds, _ := metricOf(rs, "deal_size")
		cy, _ := metricOf(rs, "cycle_time")
		name := rs.Name
		if name == "" {
			name = rs.RepID
		}
		bk := money(r, rs.WonAmount)
		bk.Bar = rs.WonAmount / maxWon
		wc := pct(r, wr.Value)
		wc.Class = verdictClass(judged(rs, wr))
		ws := cell{Text: r.Stage(rs.WorstStage)}
		won := r.dealsURL("closed", "won", "", false, "rep", rs.RepID)
		cells := []cell{count(r, int64(i+1)), {Text: name, Link: r.filterURL("/reps/" + rs.RepID), Raw: name}, {Text: rs.Team}, linked(bk, won),
			linked(count(r, rs.Deals), r.dealsURL("created", "", "", false, "rep", rs.RepID)), linked(count(r, rs.Won), won),
			linked(wc, r.dealsURL("closed", "closed", "", false, "rep", rs.RepID)), money(r, ds.Value), days(r, cy.Value),
			{Text: itoa(rs.Strengths), Class: posClass(rs.Strengths, "good")}, {Text: itoa(rs.Weaknesses), Class: posClass(rs.Weaknesses, "bad")}, ws}
		t.Rows = append(t.Rows, row{Cells: append(cells, changeCells(r, book, rate, rs.RepID)...)})
	}
	pn := &panel{ID: "ranking", Title: r.T("rp.ranking"), Sub: r.T("rp.ranking_sub"), Table: t}
	if len(reps) == 0 {
		pn.Empty = r.T("empty")
	} else {
		top := reps
		if len(top) > 25 {
			top = top[:25]
		}
		var names []string
		var vals, lows, highs []float64
		var verdicts []string
		links := map[string]string{}
		peer := 0.0
		for i := len(top) - 1; i >= 0; i-- {
			rs := top[i]
			wr, ok := metricOf(rs, "win_rate")
			if !ok || wr.N == 0 {
				continue
			}
			name := rs.Name
			if name == "" {
				name = rs.RepID
			}
			links[name] = r.filterURL("/reps/" + rs.RepID)
			names = append(names, name)
			vals, lows, highs, verdicts = append(vals, wr.Value), append(lows, wr.Low), append(highs, wr.High), append(verdicts, judged(rs, wr))
			peer = wr.Peer
		}
		if len(names) > 0 {
			v.Panels = append(v.Panels, &panel{ID: "winrates", Title: r.T("kpi.winrate") + " · " + r.T("col.interval"), Sub: r.T("rp.ranking_sub"),
				Chart: intervalChart("chart-winrates", r.tr, names, vals, lows, highs, verdicts, peer, "pct", links)})
		}
	}
	v.Panels = append(v.Panels, pn)
	return p.render(r, v)
}

// judged is the scorecard's judgement of m: its verdict, or, for a win rate that
// clears the peers but is explained by stage conversions (query moves the verdict
// to ExplainedBy so the weakness is claimed once), the verdict of those stages.
// A rep whose win-rate interval lies wholly below the peers is then red, not
// neutral, and nothing is recomputed here.
func judged(rs query.RepScore, m query.MetricScore) string {
	if m.Verdict != "" || len(m.ExplainedBy) == 0 {
		return m.Verdict
	}
	for _, x := range rs.Metrics {
		if x.Metric == "conversion" && x.Stage == m.ExplainedBy[0] {
			return x.Verdict
		}
	}
	return ""
}

func verdictClass(v string) string {
	switch v {
	case "strength":
		return "good"
	case "weakness":
		return "bad"
	}
	return ""
}

func posClass(n int, c string) string {
	if n > 0 {
		return c
	}
	return "muted"
}

// scorecard: one rep against the peers: radar, metrics with intervals, coaching
// hints, and the rep's trend.
func (p *pages) scorecard(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	ctx := c.Request().Context()
	var (
		rs query.RepScore
		mv query.Movement
		fb *filterBar
	)
	tf := r.f
	tf.From = monthStart(tf.To.AddDate(-1, 0, 0))
	tf.Rep = []string{id}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		rs, err = fetch(gctx, p, r, "rep", r.f, func(ctx context.Context, f query.Filter) (query.RepScore, error) {
			return p.svc.Rep(ctx, r.scope, f, id)
		}, id)
		return
	})
	g.Go(func() (err error) { mv, err = p.repMonths(gctx, r, tf, id); return })
	g.Go(func() error { fb = p.filterBar(gctx, r, "/reps/"+id); return nil })
	if err := g.Wait(); err != nil {
		if errors.Is(err, query.ErrNotFound) {
			// Another team's rep, an unknown id, or a rep without deals here.
			if cerr := p.checkRep(ctx, r, id); cerr != nil {
				return cerr
			}
			return echo.NewHTTPError(http.StatusNotFound, sentence(r.T("err.rep_no_deals"))).WithInternal(err)
		}
		return err
	}
	name := rs.Name
	if name == "" {
		name = rs.RepID
	}
	v := &view{Title: r.T("rp.scorecard") + " · " + name, Nav: "reps", Filter: fb}
	v.Crumbs = []link{{Label: r.T("nav.reps"), URL: r.filterURL("/reps")}, {Label: name, URL: r.url("/reps/" + id)}}
	cmp, err := p.repCompare(ctx, r, id, rs)
	if err != nil {
		return err
	}
	v.Panels = append(v.Panels, &panel{ID: "summary", KPIs: []kpi{
		{Label: r.T("col.bookings"), Value: r.Money(rs.WonAmount), Sub: rs.Team + " · " + rs.Territory, Progress: -1,
			Link: r.dealsURL("closed", "won", "", false, "rep", id), Compare: cmp["bookings"]},
		{Label: r.T("col.deals"), Value: r.Int(rs.Deals), Sub: r.T("col.won") + " " + r.Int(rs.Won) + " · " + r.T("col.lost") + " " + r.Int(rs.Lost), Progress: -1,
			Link: r.dealsURL("created", "", "", false, "rep", id), Compare: cmp["deals"]},
		{Label: r.T("col.strengths"), Value: itoa(rs.Strengths), Class: posClass(rs.Strengths, "good"), Progress: -1, Compare: cmp["strengths"]},
		{Label: r.T("col.weaknesses"), Value: itoa(rs.Weaknesses), Class: posClass(rs.Weaknesses, "bad"), Progress: -1, Sub: r.T("col.worst_stage") + ": " + r.Stage(rs.WorstStage),
			Compare: cmp["weaknesses"]},
	}})
	rp := &panel{ID: "radar", Title: r.T("rp.radar"), Sub: r.T("rp.radar_sub"), Span: 6}
	if rp.Chart = radarChart("chart-radar", r.tr, rs.Metrics); rp.Chart == nil {
		rp.Empty = r.T("empty")
	}
	hp := &panel{ID: "hints", Title: r.T("rp.hints"), Span: 6}
	for _, m := range rs.Metrics {
		if m.Verdict != "weakness" {
			continue
		}
		h := m.HintEN
		if r.lang == "zh-CN" {
			h = m.HintZH
		}
		title := r.T("m." + m.Metric)
		if m.Stage != "" {
			title += " · " + r.Stage(m.Stage)
		}
		hp.Items = append(hp.Items, item{Title: title, Text: h, Class: "bad", Badge: fmtValue(r, m) + " vs " + fmtPeer(r, m)})
	}
	for _, m := range rs.Metrics {
		if m.Verdict == "strength" {
			title := r.T("m." + m.Metric)
			if m.Stage != "" {
				title += " · " + r.Stage(m.Stage)
			}
			hp.Items = append(hp.Items, item{Title: title, Text: r.T("v.strength"), Class: "good", Badge: fmtValue(r, m) + " vs " + fmtPeer(r, m)})
		}
	}
	if len(hp.Items) == 0 {
		hp.Empty = r.T("rp.no_hints")
	}
	mt := &table{ID: "metrics", Cols: []col{{Label: r.T("col.metric")}, {Label: r.T("col.stage")}, {Label: "n", Num: true}, {Label: r.T("col.value"), Num: true},
		{Label: r.T("col.interval"), Num: true}, {Label: r.T("col.peer"), Num: true}, {Label: r.T("col.verdict")}}}
	for _, m := range rs.Metrics {
		vc := cell{}
		if m.Verdict != "" {
			vc = cell{Text: r.T("v." + m.Verdict), Class: verdictClass(m.Verdict)}
		}
		mt.Rows = append(mt.Rows, row{Cells: []cell{{Text: r.T("m." + m.Metric)}, {Text: r.Stage(m.Stage)}, linked(count(r, m.N), metricDeals(r, id, m)),
			{Text: fmtValue(r, m), Raw: num(round(m.Value))}, {Text: fmtRange(r, m), Raw: num(round(m.Low)) + ".." + num(round(m.High))},
			{Text: fmtPeer(r, m), Raw: num(round(m.Peer))}, vc}})
	}
	tp := &panel{ID: "trend", Title: r.T("rp.trend"), Sub: r.T("rp.trend_sub")}
	if len(mv.Periods) > 0 {
		starts := make([]string, len(mv.Periods))
		for i, pp := range mv.Periods {
			starts[i] = pp.Period
		}
		// A month's bar opens the rep's deals won in it.
		tp.Chart = withLinks(bookingsTrend("chart-trend", r.tr, mv), periodLinks(r, tf, starts, "month", "closed", "won", "rep", id))
	} else {
		tp.Empty = r.T("empty")
	}
	v.Panels = append(v.Panels, rp, hp, tp, &panel{ID: "metrics", Title: r.T("rp.metrics"), Table: mt})
	v.Panels = append(v.Panels, p.coachingScorecardPanels(ctx, r, rs)...)
	return p.render(r, v)
}

func fmtMetric(r *request, metric string, v float64) string {
	switch metric {
	case "conversion", "win_rate":
		return r.Pct(v)
	case "deal_size":
		return r.Money(v)
	case "cycle_time", "days_in_stage":
		return r.Days(v) + " " + r.T("kpi.days")
	}
	return fmtf("%.1f", v)
}

func fmtValue(r *request, m query.MetricScore) string { return fmtMetric(r, m.Metric, m.Value) }
func fmtPeer(r *request, m query.MetricScore) string  { return fmtMetric(r, m.Metric, m.Peer) }
func fmtRange(r *request, m query.MetricScore) string {
	if m.Low == 0 && m.High == 0 {
		return "–"
	}
	return fmtMetric(r, m.Metric, m.Low) + " – " + fmtMetric(r, m.Metric, m.High)
}

// territories: potential vs captured on a map, a scatter and a treemap, with the
// white-space accounts in the table.
func (p *pages) territories(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	var ts []query.Territory
	var fb *filterBar
	var book, rate map[string][2]query.Delta
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		ts, err = fetch(gctx, p, r, "territories", r.f, func(ctx context.Context, f query.Filter) ([]query.Territory, error) {
			return p.svc.Territories(ctx, r.scope, f)
		})
		return
	})
	g.Go(func() (err error) { book, rate, err = p.groupChanges(gctx, r, "territory"); return })
	g.Go(func() error { fb = p.filterBar(gctx, r, "/territories"); return nil })
	if err := g.Wait(); err != nil {
		return err
	}
	v := &view{Title: r.T("nav.territories"), Nav: "territories", Filter: fb}
	// The table's names open the territory's funnel; the charts' points its deals:
	// the won deals (captured) on the map and the scatter, the open ones (what
	// may take up the headroom) on the treemap.
	links, won, open := map[string]string{}, map[string]string{}, map[string]string{}
	var onMap []query.Territory
	for _, t := range ts {
		links[t.Territory] = r.filterURL("/funnel", "territory", t.Territory)
		won[t.Territory] = r.dealsURL("closed", "won", "", false, "territory", t.Territory)
		open[t.Territory] = r.dealsURL("open", "open", "", false, "territory", t.Territory)
		if chinaProvinces[t.Territory] {
			onMap = append(onMap, t)
		}
	}
	if len(onMap) > 0 {
		v.Panels = append(v.Panels, &panel{ID: "map", Title: r.T("te.map"), Sub: r.T("te.map_sub"), Span: 6, Chart: provinceMap("chart-map", r.tr, onMap, won)})
	}
	sp := &panel{ID: "scatter", Title: r.T("te.scatter"), Sub: r.T("te.scatter_sub"), Span: 6}
	hp := &panel{ID: "treemap", Title: r.T("te.treemap"), Sub: r.T("ov.headroom_sub"), Span: 6}
	if len(ts) > 0 {
		sp.Chart = potentialScatter("chart-scatter", r.tr, ts, won)
		hp.Chart = headroomTreemap("chart-treemap", r.tr, ts, open)
	} else {
		sp.Empty, hp.Empty = r.T("empty"), r.T("empty")
	}
	if len(onMap) > 0 {
		v.Panels = append(v.Panels, sp, hp)
		hp.Span = 12
	} else {
		v.Panels = append(v.Panels, sp, hp)
	}
	t := &table{ID: "territories", Cols: []col{{Label: "#", Num: true}, {Label: r.T("col.territory")}, {Label: r.T("col.potential"), Num: true}, {Label: r.T("col.captured"), Num: true},
		{Label: r.T("col.penetration"), Num: true}, {Label: r.T("col.headroom"), Num: true}, {Label: r.T("col.accounts"), Num: true}, {Label: r.T("col.white_space"), Num: true},
		{Label: r.T("col.winrate"), Num: true}, {Label: r.T("col.pipeline"), Num: true}, {Label: r.T("col.source")}}}
	t.Cols = append(t.Cols, changeCols(r)...)
	for _, x := range ts {
		pen := pct(r, x.Penetration)
		pen.Bar = math.Min(x.Penetration, 1)
		ws := count(r, x.WhiteSpace)
		if x.Accounts > 0 {
			ws.Text += " (" + r.Pct(float64(x.WhiteSpace)/float64(x.Accounts)) + ")"
		}
		cells := []cell{count(r, int64(x.Rank)), {Text: x.Territory, Link: links[x.Territory]}, money(r, x.Potential), linked(money(r, x.Captured), won[x.Territory]), pen,
			money(r, x.Headroom), count(r, x.Accounts), ws, linked(pct(r, x.WinRate), r.dealsURL("closed", "closed", "", false, "territory", x.Territory)),
			linked(money(r, x.Pipeline), open[x.Territory]), {Text: potentialSource(r, x.PotentialSource)}}
		t.Rows = append(t.Rows, row{Cells: append(cells, changeCells(r, book, rate, x.Territory)...)})
	}
	v.Panels = append(v.Panels, &panel{ID: "territories-table", Title: r.T("te.table"), Table: t})
	v.Panels = append(v.Panels, p.tierSharePanel(ctx, r)) // account tiers: dashboards/tiers.go
	return p.render(r, v)
}

// potentialSource is query's "market" or "estimate" in the page's language.
func potentialSource(r *request, src string) string {
	if m := r.T("psrc." + src); m != "psrc."+src {
		return m
	}
	return src
}

// chinaProvinces are the region names of static/echarts/china.js.
var chinaProvinces = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Split("北京 天津 上海 重庆 河北 山西 辽宁 吉林 黑龙江 江苏 浙江 安徽 福建 江西 山东 河南 湖北 湖南 广东 海南 四川 贵州 云南 陕西 甘肃 青海 台湾 内蒙古 广西 西藏 宁夏 新疆 香港 澳门", " ") {
		m[n] = true
	}
	return m
}()

type alertView struct {
	alerts.Event
	Chart     *chartView
	Title     string
	When      string
	Acked     string
	Snoozed   string
	CanAct    bool
	Direction string
	// Link opens what the event is about (a deal alert's deal).
	Link string
	// Drivers explain the event, a sentence each.
	Drivers []string
	// Values and status in the reader's language and the metric's unit,
	// each after its label (a deal alert's say what they are: now and
	// before, pushes, days in stage and usual; no expected value, no label).
	ActualLabel, ExpectedLabel string
	ActualText, ExpectedText   string
	StatusText, StatusClass    string
	// ChartError says why the event has no chart (logged too): a missing
	// chart must not look like a quiet series.
	ChartError string
}

// alerts: recent anomalies with their series, acknowledge and snooze.
func (p *pages) alerts(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	evs, err := p.alertEvents(ctx, r)
	if err != nil {
		// The events are this page: an empty list would say all is well.
		return err
	}
	v := &view{Title: r.T("nav.alerts"), Nav: "alerts"}
	pn := &panel{ID: "alerts", Title: r.T("al.title")}
	canAct := r.scope.Role != query.RoleRep
	var mu = make(chan struct{}, 4)
	views := make([]alertView, len(evs))
	g, gctx := errgroup.WithContext(ctx)
	for i, e := range evs {
		i, e := i, e
		w := alertWords(r, e)
		av := alertView{Event: e, CanAct: canAct, Title: w.title,
			ActualText: alerts.FormatEventValue(r.lang, e, e.Actual), ExpectedText: alerts.FormatEventValue(r.lang, e, e.Expected),
			StatusText: w.status, StatusClass: w.statusClass, Direction: w.news}
		av.Summary, av.Drivers = w.summary, w.drivers
		av.ActualLabel, av.ExpectedLabel = dealValueLabels(r, e)
		av.When = r.T("al.since") + " " + e.Since.Format(time.DateOnly)
		if e.Status == "firing" && !e.LastSeenAt.IsZero() {
			// An episode stays open until its rule has not found it for
			// resolve_after: say when it was last found.
			av.When += " · " + r.T("al.last_found") + " " + e.LastSeenAt.In(p.svc.Location()).Format(time.DateOnly)
		}
		if !e.AckedAt.IsZero() {
			av.Acked = r.T("al.acked") + " " + e.AckedBy
		}
		if e.SnoozedUntil.After(time.Now()) {
			av.Snoozed = r.T("al.snoozed") + " " + e.SnoozedUntil.Format(time.DateOnly)
		}
		views[i] = av
		if alerts.AccountAlert(e.Kind) {
			continue // its accounts are its drivers; no series to draw
		}
		g.Go(func() error {
			mu <- struct{}{}
			defer func() { <-mu }()
			p.drawAlert(gctx, r, &views[i], "chart-alert-"+itoa(i))
			return nil
		})
	}
	_ = g.Wait()
	pn.Alerts = views
	if len(views) == 0 {
		pn.Empty = r.T("al.none")
	}
	v.Panels = append(v.Panels, pn)
	return p.render(r, v)
}

// drawAlert draws an event's chart on its card: a deal alert's own history
// (and its heading then names and links the deal), any other event's metric
// from query's registry. A chart that cannot be drawn leaves the card saying
// why (and is logged): a missing chart must not look like a quiet series.
func (p *pages) drawAlert(ctx context.Context, r *request, v *alertView, chartID string) {
	e := v.Event
	from, to := alertRange(r, e, p.svc.Location())
	var pts []query.Point
	var since string
	var err error
	var st seriesStyle
	if id := alerts.DealID(e); id != "" {
		var name string
		pts, since, name, err = p.dealSeries(ctx, r, e, id, from, to)
		if name != "" {
			// The heading names the deal; the line below it, whose deal it is.
			v.Title = alerts.MetricName(r.lang, e.Metric, e.Kind) + " · " + name
			v.Link = "/deals/" + url.PathEscape(id)
			v.Summary = alerts.SegmentName(r.lang, e)
			if e.Team != "" {
				v.Summary += " · " + e.Team
			}
		}
		st = dealChartStyle(e)
		if e.Kind == "stuck_deal" {
			st.ExpectedLabel = r.T("al.usual")
		}
	} else {
		pts, since, err = p.alertSeries(ctx, r, e, query.Filter{From: from, To: to})
		st = alertChartStyle(e)
	}
	if err != nil {
		p.s.log.Warn("alert chart", "event", e.ID, "metric", e.Metric, "segment_kind", e.SegmentKind, "err", err)
		v.ChartError = r.T("al.no_chart") + ": " + err.Error()
		return
	}
	v.Chart = seriesChart(chartID, r.tr, pts, since, st)
}

// alertText is how an alert event reads wherever it is shown (the Alerts page,
// the overview): its title (segment and metric in the reader's language), a
// summary with its drivers explained, its status (an acknowledged event that
// still fires says acknowledged; an open one its rule no longer found, quiet)
// and whether it is good or bad news.
type alertText struct {
	title, summary, status, statusClass, news string
	drivers                                   []string // one sentence each
}

// withDrivers is the summary followed by the drivers' sentences, for a list
// with one line per event (the overview).
func (w alertText) withDrivers() string {
	return strings.Join(append([]string{w.summary}, w.drivers...), " ")
}

func alertWords(r *request, e alerts.Event) alertText {
	w := alertText{title: alerts.SegmentName(r.lang, e) + " · " + alerts.MetricName(r.lang, e.Metric, e.Kind),
		summary: alerts.Describe(r.lang, e), status: r.T("al." + e.Status), statusClass: e.Status, news: "bad"}
	w.drivers = alerts.DriverSentences(r.lang, e)
	if alerts.Good(e.Metric, e.Kind, e.Direction) {
		w.news = "good"
	}
	switch {
	case !e.AckedAt.IsZero() && e.Status == "firing":
		w.status, w.statusClass = r.T("al.acknowledged"), "acknowledged"
	case e.Quiet():
		// Open until resolve_after, but not found at the rule's latest
		// evaluation: not "firing".
		w.status, w.statusClass = r.T("al.quiet"), "quiet"
	}
	return w
}

// alertEvents is the events the Alerts page lists: the last 30 days' (at
// most 50), or with ?event=ID that event alone (an email's link), within the
// reader's scope; an event the reader may not see is not found.
func (p *pages) alertEvents(ctx context.Context, r *request) ([]alerts.Event, error) {
	id := r.q.Get("event")
	if id == "" {
		return p.listEvents(ctx, r, 30, 50, "")
	}
	evs, err := p.listEvents(ctx, r, 90, 1, id)
	if err != nil {
		return nil, err
	}
	if len(evs) == 1 {
		return evs, nil
	}
	return nil, echo.NewHTTPError(http.StatusNotFound, r.T("al.not_found")+": "+id)
}

// alertRange is the days an event's chart draws: the link's from/to when the
// URL has them (an email's link covers the anomaly's start and the day it was
// seen), else eight weeks before the anomaly's start for context through the
// day after it was last seen. The range always holds the start and the last
// day judged (to is exclusive).
func alertRange(r *request, e alerts.Event, loc *time.Location) (from, to time.Time) {
	from = e.Since.AddDate(0, 0, -60)
	to = e.LastSeenAt.AddDate(0, 0, 1)
	if !e.PeriodTo.IsZero() && e.PeriodTo.After(e.Since) {
		to = e.PeriodTo.AddDate(0, 0, 1)
	}
	if r.q.Get("from") != "" && r.q.Get("to") != "" && r.f.From.Before(r.f.To) {
		from, to = r.f.From, r.f.To
		if e.Since.Before(from) {
			from = e.Since
		}
		if !e.PeriodTo.IsZero() && to.Before(e.PeriodTo) {
			to = e.PeriodTo
		}
	}
	from = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	to = time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, loc)
	return from, to
}

// alertSeries is the series an event's chart draws over f and the label of
// the day its anomaly starts on that chart: the event's metric from query's
// registry, cut as the event was. A rate or a mean (win rate, stage
// conversion, days in stage) is drawn per week (weeks ending on the last day;
// weeks with nothing to divide are left out) from the days' numerators and
// denominators (rates as fractions, drawn in percent). Deal alerts draw
// their deal's history (dealSeries); one whose key names no deal shows its
// rep's bookings here.
func (p *pages) alertSeries(ctx context.Context, r *request, e alerts.Event, f query.Filter) ([]query.Point, string, error) {
	kind := e.SegmentKind
	if kind == alerts.SegAll {
		kind = ""
	}
	seg := e.Segment
	if kind == "" {
		seg = "all"
	}
	metric := e.Metric
	if metric == "deals" {
		metric = alerts.MetricBookings
	}
	m, err := query.LookupMetric(metric)
	if err != nil {
		return nil, "", err
	}
	key := cacheKey(r.scope, "series", f, m.Name, kind)
	ser, err := cached(ctx, p.s, key, "series", func(ctx context.Context) (map[string][]query.Point, error) {
		return p.svc.DailySeries(ctx, r.scope, m.Name, kind, f)
	})
	if err != nil {
		return nil, "", err
	}
	pts, ok := ser[seg]
	if !ok {
		// No row of the segment in the range: every day is zero.
		pts = zeroDays(f)
	}
	since := e.Since.Format(time.DateOnly)
	if m.Combine != "ratio" {
		return pts, since, nil
	}
	var out []query.Point
	for end := len(pts); end-7 >= 0; end -= 7 {
		var num, den float64
		for _, x := range pts[end-7 : end] {
			num, den = num+x.Num, den+x.Den
		}
		if den > 0 {
			out = append([]query.Point{{Day: pts[end-7].Day, Value: num / den, Num: num, Den: den}}, out...)
		}
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("nothing to divide for %s in %s..%s", m.Name, f.From.Format(time.DateOnly), f.To.Format(time.DateOnly))
	}
	// The anomaly's start, on the week that holds it.
	for _, x := range out {
		if !x.Day.After(e.Since) {
			since = x.Day.Format(time.DateOnly)
		}
	}
	return out, since, nil
}

// dealValueLabels are the labels of an event's two values on its card: a
// deal alert's say what they are (now and before for a cut; pushes, with no
// second value, for a pushed close date; days in stage and the usual for a
// stuck deal), any other event's are actual and expected.
func dealValueLabels(r *request, e alerts.Event) (actual, expected string) {
	switch e.Kind {
	case "amount_cut":
		return r.T("al.now"), r.T("al.before")
	case "pushed_close":
		return r.T("al.pushes"), ""
	case "stuck_deal":
		return r.T("al.in_stage"), r.T("al.usual")
	}
	return r.T("al.actual"), r.T("al.expected")
}

// dealSeries is a deal alert's own history over [from, to), day by day, as
// its email draws it: the deal's amount (a cut), the days from each day to
// the close date expected then (a pushed close date), or its days in its
// current stage (a stuck deal), from the deal's detail (its moves between
// exports and its stages). It returns the deal's name too.
func (p *pages) dealSeries(ctx context.Context, r *request, e alerts.Event, id string, from, to time.Time) ([]query.Point, string, string, error) {
	d, err := p.svc.DealDetail(ctx, r.scope, id, time.Time{})
	if err != nil {
		return nil, "", "", err
	}
	loc := p.svc.Location()
	day := func(s string) time.Time {
		t, _ := time.ParseInLocation(time.DateOnly, s[:min(len(s), 10)], loc)
		return t
	}
	amount, closeDay := d.Deal.Amount, day(d.Deal.CloseDate)
	if len(d.Moves) > 0 {
		amount, closeDay = d.Moves[0].OldAmount, day(d.Moves[0].OldClose)
	}
	var entered time.Time
	for _, st := range d.Stages {
		if st.Current {
			entered = day(st.Entered)
		}
	}
	var pts []query.Point
	k := 0
	for t := from; t.Before(to); t = t.AddDate(0, 0, 1) {
		for ; k < len(d.Moves) && !day(d.Moves[k].Date).After(t); k++ {
			amount, closeDay = d.Moves[k].NewAmount, day(d.Moves[k].NewClose)
		}
		v := amount
		switch e.Kind {
		case "pushed_close":
			v = closeDay.Sub(t).Hours() / 24
		case "stuck_deal":
			v = 0
			if !entered.IsZero() && t.After(entered) {
				v = t.Sub(entered).Hours() / 24
			}
		}
		pts = append(pts, query.Point{Day: t, Value: math.Round(v)})
	}
	return pts, e.Since.Format(time.DateOnly), d.Deal.Name, nil
}

// dealChartStyle is how a deal alert's chart reads: its amount in money, or
// days; a stuck deal's usual days in stage as the dashed expected line.
func dealChartStyle(e alerts.Event) seriesStyle {
	st := seriesStyle{Unit: "days", Expected: math.NaN()}
	switch e.Kind {
	case "amount_cut":
		st.Unit = "money"
	case "stuck_deal":
		st.Expected = e.Expected
	}
	return st
}

// alertChartStyle is how an event's chart reads: the axis unit of its metric,
// the expected level as a dashed line (not over a rep's bookings drawn for
// a deal alert whose deal is not known; dealChartStyle for the others), and the anomalous span shaded lightly in the colour of
// its news (red bad, green good).
func alertChartStyle(e alerts.Event) seriesStyle {
	st := seriesStyle{Unit: "num", Expected: math.NaN(), Good: alerts.Good(e.Metric, e.Kind, e.Direction)}
	metric := e.Metric
	if metric == "deals" {
		metric = alerts.MetricBookings
	} else if e.Grain == "day" || e.Kind == "level_shift" {
		st.Expected = e.Expected
	}
	if m, err := query.LookupMetric(metric); err == nil {
		st.Unit = map[string]string{"count": "num", "amount": "money", "rate": "pct", "days": "days"}[m.Unit]
		if m.Combine == "ratio" {
			st.Expected = e.Expected // the weekly ratio is on the same scale
		}
	}
	if e.Kind == "trend_change" {
		st.Expected = math.NaN() // slopes, not levels
	}
	return st
}

// zeroDays is a zero series over f.
func zeroDays(f query.Filter) []query.Point {
	var out []query.Point
	for d := f.From; d.Before(f.To); d = d.AddDate(0, 0, 1) {
		out = append(out, query.Point{Day: d})
	}
	return out
}

func (p *pages) alertAck(c echo.Context) error {
	return p.alertAction(c, func(ctx context.Context, id, actor string) error {
		return alerts.Ack(ctx, p.s.opts.DB, id, actor, c.FormValue("note"))
	})
}

func (p *pages) alertSnooze(c echo.Context) error {
	return p.alertAction(c, func(ctx context.Context, id, actor string) error {
		return alerts.Snooze(ctx, p.s.opts.DB, id, time.Now().AddDate(0, 0, 7), actor, c.FormValue("note"))
	})
}

func (p *pages) alertAction(c echo.Context, do func(ctx context.Context, id, actor string) error) error {
	sc, _ := ScopeOf(c)
	if sc.Role == query.RoleRep {
		return echo.NewHTTPError(http.StatusForbidden, "reps cannot acknowledge alerts")
	}
	id := c.Param("id")
	if sc.Role == query.RoleManager {
		evs, err := alerts.ListEvents(c.Request().Context(), p.s.opts.DB, alerts.EventQuery{Team: sc.Team, ID: id, Since: time.Now().AddDate(0, 0, -90), Limit: 1})
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return echo.NewHTTPError(http.StatusForbidden, "this alert is not your team's")
		}
	}
	if err := do(c.Request().Context(), id, sc.Name); err != nil {
		if errors.Is(err, alerts.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "no alert "+id)
		}
		return err
	}
	p.s.cache.clear()
	return c.Redirect(http.StatusSeeOther, "/alerts?notice=al.done#"+id)
}
