package dashboards

import (
	"context"
	"math"
	"sort"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/query"
)

// fetch runs one cached query method under the request's scope.
func fetch[T any](ctx context.Context, p *pages, r *request, metric string, f query.Filter, fn func(ctx context.Context, f query.Filter) (T, error), extra ...string) (T, error) {
	return cached(ctx, p.s, cacheKey(r.scope, metric, f, extra...), metric, func(ctx context.Context) (T, error) { return fn(ctx, f) })
}

// overview is the director's page: bookings vs target, coverage, win rate, cycle
// time and velocity with sparklines, conversion trend, the week's anomalies,
// teams side by side, territories with most headroom.
func (p *pages) overview(c echo.Context) error {
	r, err := p.start(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	svc := p.svc
	f := r.f
	// Sparklines look back 12 months from the end of the range, whatever its length.
	sf := query.Filter{From: monthStart(f.To.AddDate(0, -11, -1)), To: f.To}
	sf.Team, sf.Manager, sf.Rep, sf.Territory, sf.Product, sf.Source, sf.Segment = f.Team, f.Manager, f.Rep, f.Territory, f.Product, f.Source, f.Segment
	cmp := svc.Comparisons(f)
	var (
		cur, prev, ly cardNums
		teams         query.WinRate
		bookD, rateD  map[string][2]query.Delta
		spark         query.Movement
		conv          []query.ConversionPeriod
		terrs         []query.Territory
		cycles        = make([]query.CycleTime, 6)
		evs           []alerts.Event
		fb            *filterBar
		fp            *panel
		coach         *panel
	)
	g, gctx := errgroup.WithContext(ctx)
	// The cards over the range and its two comparison ranges (query.Comparisons).
	for _, x := range []struct {
		f   query.Filter
		dst *cardNums
	}{{f, &cur}, {cmp.Previous, &prev}, {cmp.LastYear, &ly}} {
		x := x
		g.Go(func() (err error) { *x.dst, err = p.cardNums(gctx, r, x.f, x.dst == &cur); return })
	}
	g.Go(func() (err error) {
		teams, err = fetch(gctx, p, r, "winrate", f, func(ctx context.Context, f query.Filter) (query.WinRate, error) {
			return svc.WinRate(ctx, r.scope, f, "team")
		}, "team")
		return
	})
	g.Go(func() (err error) { bookD, rateD, err = p.groupChanges(gctx, r, "team"); return })
	g.Go(func() error { spark = p.movement(gctx, r, sf, "month"); return nil })
	g.Go(func() (err error) {
		conv, err = fetch(gctx, p, r, "conversion", f, func(ctx context.Context, f query.Filter) ([]query.ConversionPeriod, error) {
			return svc.Conversion(ctx, r.scope, f, "month")
		}, "month")
		return
	})
	g.Go(func() (err error) {
		// The headroom chart draws potential against what was won: no white space.
		terrs, err = fetch(gctx, p, r, "territory-headroom", f, func(ctx context.Context, f query.Filter) ([]query.Territory, error) {
			return svc.TerritoryHeadroom(ctx, r.scope, f)
		})
		return
	})
	for i := range cycles {
		i := i
		mf := sf
		mf.From = monthStart(f.To.AddDate(0, -(len(cycles) - i), 0))
		mf.To = mf.From.AddDate(0, 1, 0)
		g.Go(func() (err error) {
			cycles[i], err = fetch(gctx, p, r, "cycle", mf, func(ctx context.Context, f query.Filter) (query.CycleTime, error) {
				return svc.CycleTime(ctx, r.scope, f, "")
			})
			return
		})
	}
	g.Go(func() error { evs = p.recentEvents(gctx, r, 7, 5); return nil })
	g.Go(func() error { fb = p.filterBar(gctx, r, "/"); return nil })
	g.Go(func() error { fp = p.forecastPanel(gctx, r); return nil })
	g.Go(func() error { coach = p.coachingOverviewPanel(gctx, r); return nil })
	if err := g.Wait(); err != nil {
		return err
	}

	v := &view{Title: r.T("nav.overview"), Nav: "overview", Filter: fb}
	// KPIs.
	var months []string
	var sBook, sWin, sVel, sOpen []float64
	for _, pp := range spark.Periods {
		months = append(months, pp.Period[:7])
		sBook = append(sBook, pp.WonAmount)
		sWin = append(sWin, ratio(float64(pp.Won), float64(pp.Won+pp.Lost)))
		sOpen = append(sOpen, pp.OpenedAmount)
	}
	// The last month of the sparklines is partial when the range ends inside it.
	partial := len(months) > 0 && f.To.After(monthStart(f.To)) && months[len(months)-1] == f.To.Format("2006-01")
	var cycLabels []string
	var sCyc []float64
	for i, ct := range cycles {
		m := monthStart(f.To.AddDate(0, -(len(cycles) - i), 0)).Format("2006-01")
		cycLabels = append(cycLabels, m)
		sCyc = append(sCyc, ct.Total.Median)
		// Velocity of the month (query.Velocity).
		for _, pp := range spark.Periods {
			if pp.Period[:7] == m {
				ms, _ := time.Parse("2006-01", m)
				v := query.Velocity(pp.Opened, int(ms.AddDate(0, 1, 0).Sub(ms).Hours()/24), pp.Won, pp.Lost, pp.WonAmount)
				sVel = append(sVel, deref(v))
			}
		}
	}
	cov, wr, cyc, now := cur.cov, cur.wr, cur.cyc, time.Now().In(svc.Location())
	booked := cov.Won
	bk := kpi{Label: r.T("kpi.bookings"), Value: r.Money(booked), Progress: -1, Link: r.dealsURL("closed", "won", "", false),
		Compare: r.cardCompare("bookings", cur, prev, ly, cmp.Cut, now), Spark: sparkline("spark-bookings", r.tr, r.T("kpi.bookings"), months, sBook, partial, colMain, "money")}
	if cov.Target > 0 {
		a := booked / cov.Target
		bk.Progress = math.Min(a, 1)
		bk.ProgressLabel = r.Pct(a) + " " + r.T("kpi.of_target") + " " + r.Money(cov.Target)
		if cov.Prorated {
			bk.ProgressLabel += " " + r.T("kpi.prorated")
		}
		bk.Class = classBy(a, 0.9, 0.7)
	} else if cov.Status == "not_comparable" {
		bk.Sub = r.T("kpi.untargeted")
	} else {
		bk.Sub = r.T("kpi.no_target")
	}
	cv := kpi{Label: r.T("kpi.coverage"), Value: "–", Sub: r.T("kpi.coverage_sub") + ": " + r.Money(cov.Pipeline) + " / " + r.Money(cov.Remaining), Progress: -1,
		Link: r.dealsURL("open", "open", "", false), Compare: r.notCompared(r.T("cmp.open_now")),
		Spark: sparkline("spark-pipeline", r.tr, r.T("spark.opened"), months, sOpen, partial, palette[5], "money")}
	switch cov.Status {
	case "ok":
		cv.Value, cv.Class = fmtf("%.1f×", *cov.Coverage), classBy(*cov.Coverage, 3, 2)
	case "target_met":
		// Nothing left to book: open pipeline is upside, not coverage.
		cv.Sub = r.T("kpi.target_met") + ": " + r.Money(cov.Pipeline) + " " + r.T("kpi.open_upside")
	case "not_comparable":
		cv.Sub = r.T("kpi.untargeted")
	case "ended":
		// Nothing is still to close in a range that has ended.
		cv.Sub = r.T("kpi.cov_ended")
	default:
		cv.Sub = r.T("kpi.no_target")
	}
	wk := kpi{Label: r.T("kpi.winrate"), Value: r.Pct(wr.Total.WinRate), Sub: r.T("kpi.winrate_sub") + ": " + r.Int(wr.Total.Won) + " / " + r.Int(wr.Total.Won+wr.Total.Lost), Progress: -1,
		Link: r.dealsURL("closed", "closed", "", false), Compare: r.cardCompare("win_rate", cur, prev, ly, cmp.Cut, now),
		Spark: sparkline("spark-winrate", r.tr, r.T("kpi.winrate"), months, sWin, partial, colGood, "pct")}
	ck := kpi{Label: r.T("kpi.cycle"), Value: r.Days(cyc.Total.Median) + " " + r.T("kpi.days"), Sub: r.T("kpi.cycle_sub") + " (n=" + r.Int(cyc.Total.Count) + ")", Progress: -1,
		Link: r.dealsURL("closed", "won", "", false), Compare: r.cardCompare("cycle_time", cur, prev, ly, cmp.Cut, now),
		Spark: sparkline("spark-cycle", r.tr, r.T("kpi.cycle"), cycLabels, sCyc, false, palette[2], "days")}
	// Nothing closed in the selection: no rate and no cycle, not 0.
	if wr.Total.Won+wr.Total.Lost == 0 {
		wk.Value = "–"
	}
	if cyc.Total.Count == 0 {
		ck.Value = "–"
	}
	vk := kpi{Label: r.T("kpi.velocity"), Value: "–", Sub: r.T("kpi.velocity_sub"), Progress: -1,
		Link: r.dealsURL("created", "", "", false), Compare: r.cardCompare("velocity", cur, prev, ly, cmp.Cut, now),
		Spark: sparkline("spark-velocity", r.tr, r.T("kpi.velocity"), cycLabels, sVel, false, palette[3], "money")}
	if vel, _ := cur.value("velocity", now); vel != nil {
		vk.Value = r.Money(*vel) + " " + r.T("kpi.per_day")
	}
	// The same numbers by email on a schedule, with the page's filter.
	sub := []link{{Label: r.T("ov.subscribe") + " →", URL: r.filterURL("/subscriptions")}}
	v.Panels = append(v.Panels, &panel{ID: "kpis", KPIs: []kpi{bk, cv, wk, ck, vk}, Links: sub}, fp)

	// Conversion trend and anomalies.
	cp := &panel{ID: "conversion", Title: r.T("ov.conversion"), Sub: r.T("ov.conversion_sub"), Span: 8}
	if len(conv) > 0 {
		cp.Chart = withLinks(conversionTrend("chart-conversion", r.tr, p.svc.Stages(), conv, true, 320), cohortLinks(r, conv, "month"))
		cp.Links = []link{{Label: r.T("nav.trends") + " →", URL: r.filterURL("/trends")}}
	} else {
		cp.Empty = r.T("empty")
	}
	v.Panels = append(v.Panels, cp)
	ap := &panel{ID: "anomalies", Title: r.T("ov.anomalies"), Span: 4, Links: []link{{Label: r.T("nav.alerts") + " →", URL: "/alerts"}}}
	for _, e := range evs {
		w := alertWords(r, e) // the reader's language, acknowledged as such, coloured by good or bad news
		ap.Items = append(ap.Items, item{Title: w.title, Text: w.withDrivers(), Link: "/alerts?event=" + e.ID, Class: w.news, Badge: w.status})
	}
	if len(ap.Items) == 0 {
		ap.Empty = r.T("ov.no_anomalies")
	}
	v.Panels = append(v.Panels, ap)

	// Teams side by side.
	targets := cov.TeamTargets // the same target of the range as the cards
	tp := &panel{ID: "teams", Title: r.T("ov.teams"), Sub: r.T("ov.teams_sub"), Span: 7}
	groups := append([]query.WinRateGroup(nil), teams.Groups...)
	sort.Slice(groups, func(i, j int) bool { return groups[i].WonAmount > groups[j].WonAmount })
	tt := &table{ID: "teams", Cols: []col{{Label: r.T("col.team")}, {Label: r.T("col.bookings"), Num: true}, {Label: r.T("col.target"), Num: true}, {Label: r.T("col.attainment"), Num: true},
		{Label: r.T("col.won"), Num: true}, {Label: r.T("col.lost"), Num: true}, {Label: r.T("col.winrate"), Num: true}}}
	tt.Cols = append(tt.Cols, changeCols(r)...)
	chartLinks := map[string]string{}
	var names []string
	var bs, ts, ws []float64
	for _, g := range groups {
		name := g.Name
		if name == "" {
			name = g.Key
		}
		tg := targets[g.Key]
		names, bs, ts, ws = append(names, name), append(bs, g.WonAmount), append(ts, tg), append(ws, g.WinRate)
		attain := cell{Text: "–"}
		if tg > 0 {
			attain = cell{Text: r.Pct(g.WonAmount / tg), Raw: num(round(g.WonAmount / tg)), Class: classBy(g.WonAmount/tg, 0.9, 0.7), Bar: math.Min(g.WonAmount/tg, 1)}
		}
		won := r.dealsURL("closed", "won", "", false, "team", g.Key)
		chartLinks[name] = won
		tt.Rows = append(tt.Rows, row{Cells: []cell{{Text: name, Link: r.filterURL("/funnel", "team", g.Key)}, linked(money(r, g.WonAmount), won), money(r, tg), attain,
			linked(count(r, g.Won), won), linked(count(r, g.Lost), r.dealsURL("closed", "lost", "", false, "team", g.Key)),
			linked(pct(r, g.WinRate), r.dealsURL("closed", "closed", "", false, "team", g.Key))}})
		tt.Rows[len(tt.Rows)-1].Cells = append(tt.Rows[len(tt.Rows)-1].Cells, changeCells(r, bookD, rateD, g.Key)...)
	}
	if len(names) > 0 {
		tp.Chart = withLinks(teamsChart("chart-teams", r.tr, names, bs, ts, ws), chartLinks)
	} else {
		tp.Empty = r.T("empty")
	}
	v.Panels = append(v.Panels, tp)

	hp := &panel{ID: "headroom", Title: r.T("ov.headroom"), Sub: r.T("ov.headroom_sub"), Span: 5, Links: []link{{Label: r.T("nav.territories") + " →", URL: r.filterURL("/territories")}}}
	if !r.scope.SeesAll() {
		terrs = soldIn(terrs)
	}
	if len(terrs) > 0 {
		links := map[string]string{}
		for _, t := range terrs {
			links[t.Territory] = r.dealsURL("open", "open", "", false, "territory", t.Territory) // the deals that may take up the headroom
		}
		hp.Chart = headroomChart("chart-headroom", r.tr, terrs, 8, links)
	} else {
		hp.Empty = r.T("empty")
	}
	v.Panels = append(v.Panels, hp)
	v.Panels = append(v.Panels, &panel{ID: "teams-table", Title: r.T("ov.teams"), Table: tt})
	v.Panels = append(v.Panels, coach)
	return p.render(r, v)
}

// soldIn keeps the territories where the scope has deals: won or lost in the
// range, or open. query's Accounts counts the territory's accounts, whoever
// sells there (accounts have no team), so a manager's "most headroom" would list
// territories his team never sold in.
func soldIn(ts []query.Territory) []query.Territory {
	out := make([]query.Territory, 0, len(ts))
	for _, t := range ts {
		if t.Won+t.Lost > 0 || t.Pipeline > 0 || t.Captured > 0 {
			out = append(out, t)
		}
	}
	return out
}

// movement is query.Movement, or nothing when it fails: movement has a known
// failure with a rep filter (query: any(owner_id) shadows the WHERE column), and
// the pages show the other numbers rather than an error.
func (p *pages) movement(ctx context.Context, r *request, f query.Filter, period string) query.Movement {
	mv, err := fetch(ctx, p, r, "movement", f, func(ctx context.Context, f query.Filter) (query.Movement, error) {
		return p.svc.Movement(ctx, r.scope, f, period)
	}, period)
	if err != nil && ctx.Err() == nil {
		p.s.log.Warn("movement", "err", err)
	}
	return mv
}

func monthStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// classBy grades a value: good at or above good, bad below bad.
func classBy(v, good, bad float64) string {
	switch {
	case v >= good:
		return "good"
	case v < bad:
		return "bad"
	}
	return "warn"
}

func dirClass(d int) string {
	if d < 0 {
		return "bad"
	}
	return "good"
}

func money(r *request, v float64) cell {
	return cell{Text: r.Money(v), Raw: num(math.Round(v*100) / 100), Money: true}
}
func count(r *request, v int64) cell  { return cell{Text: r.Int(v), Raw: itoa(int(v))} }
func pct(r *request, v float64) cell  { return cell{Text: r.Pct(v), Raw: num(round(v))} }
func days(r *request, v float64) cell { return cell{Text: r.Days(v), Raw: num(round(v))} }

// recentEvents lists alert events of the last n days in the caller's scope and
// the page's filter (at most limit), for a side panel: without them the page
// still says something.
func (p *pages) recentEvents(ctx context.Context, r *request, days, limit int) []alerts.Event {
	evs, err := p.listEvents(ctx, r, days, 200, "")
	if err != nil {
		p.s.log.Warn("list alert events", "err", err)
	}
	out := evs[:0:0]
	for _, e := range evs {
		if eventInFilter(e, r.f) {
			out = append(out, e)
		}
	}
	return out[:min(len(out), limit)]
}

// listEvents lists alert events of the last n days in the caller's scope;
// with an id, that event alone.
func (p *pages) listEvents(ctx context.Context, r *request, days, limit int, id string) ([]alerts.Event, error) {
	if p.s.opts.DB == nil {
		return nil, nil
	}
	q := alerts.EventQuery{Since: time.Now().AddDate(0, 0, -days), Limit: limit, ID: id}
	switch r.scope.Role {
	case query.RoleManager:
		q.Team = r.scope.Team
	case query.RoleRep:
		return nil, nil
	}
	key := cacheKey(r.scope, "alerts", query.Filter{}, itoa(days), itoa(limit), q.ID)
	return cached(ctx, p.s, key, "alerts", func(ctx context.Context) ([]alerts.Event, error) {
		// A metric's anomalies first, then deal alerts: a director with 2,000
		// stuck deals across the org still sees the team whose win rate fell.
		q.Deals = "none"
		evs, err := alerts.ListEvents(ctx, p.s.opts.DB, q)
		if err != nil || len(evs) >= limit {
			return evs, err
		}
		q.Deals, q.Limit = "only", limit-len(evs)
		deals, err := alerts.ListEvents(ctx, p.s.opts.DB, q)
		return append(evs, deals...), err
	})
}

func deref(v *float64) float64 {
	if v == nil {
		return 0
	}
	return *v
}
