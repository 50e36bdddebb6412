package dashboards

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
)

// forecast answers GET /api/v1/forecast?period=quarter|next_quarter|month&group_by=team|rep
// (and as_of=YYYY-MM-DD to see a forecast as it was made on a past day), under
// the caller's scope and the usual filters; from and to do not apply: the
// period decides.
func (a *api) forecast(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	req, err := forecastRequest(c, a.svc.Location())
	if err != nil {
		return apiError(err)
	}
	v, err := a.svc.Forecast(c.Request().Context(), sc, f, req)
	return reply(c, v, err)
}

// targetSplit answers GET /api/v1/targets/split?year=2027&amount=1000000&group_by=team|rep|territory
// &periods=seasonal|even|manual&groups=history|even|capacity|potential&weights=1,2,3,4:
// a proposed split of a yearly target (not stored; POST /api/v1/targets stores one).
func (a *api) targetSplit(c echo.Context) error {
	sc, f, err := a.request(c)
	if err != nil {
		return err
	}
	req := query.SplitRequest{GroupBy: c.QueryParam("group_by"), Periods: c.QueryParam("periods"), Groups: c.QueryParam("groups")}
	if req.Year, err = strconv.Atoi(c.QueryParam("year")); err != nil {
		return apiError(&query.ParamError{Param: "year", Msg: "want a year"})
	}
	if req.Amount, err = strconv.ParseFloat(c.QueryParam("amount"), 64); err != nil {
		return apiError(&query.ParamError{Param: "amount", Msg: "want a number"})
	}
	if req.Weights, err = parseWeights(c.QueryParam("weights")); err != nil {
		return apiError(err)
	}
	v, err := a.svc.SplitTarget(c.Request().Context(), sc, f, req)
	return reply(c, v, err)
}

func forecastRequest(c echo.Context, loc *time.Location) (query.ForecastRequest, error) {
	req := query.ForecastRequest{Period: c.QueryParam("period"), GroupBy: c.QueryParam("group_by")}
	if s := strings.TrimSpace(c.QueryParam("as_of")); s != "" {
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil || t.Year() < 1971 || t.Year() > 2105 {
			return req, &query.ParamError{Param: "as_of", Msg: "want a date YYYY-MM-DD"}
		}
		req.AsOf = t
	}
	return req, nil
}

// withForecast adds GET /forecast and its schemas to the OpenAPI document.
func withForecast(doc obj) obj {
	schemas := doc["components"].(obj)["schemas"].(obj)
	group := obj{"key": str, "name": str, "point": number, "p10": number, "p90": number, "won": number,
		"pipeline_expected": number, "new_expected": number, "open_deals": integer, "open_amount": number,
		"weighted": number, "created_per_day": number,
		"called": props(nil, obj{"commit": number, "best_case": number, "pipeline": number, "omitted": number, "uncategorised": number, "deals": integer})}
	schemas["ForecastGroup"] = props([]string{"point", "p10", "p90", "won", "pipeline_expected", "new_expected"}, group)
	schemas["Forecast"] = props([]string{"period", "from", "to", "as_of", "total", "stages", "method"}, obj{
		"period": enum(query.PeriodQuarter, query.PeriodNextQuarter, query.PeriodMonth), "from": date, "to": date, "as_of": date,
		"group_by": str, "total": ref("ForecastGroup"), "groups": arr(ref("ForecastGroup")),
		"pacing": props(nil, obj{"target": number, "target_level": str, "won": number, "gap": number, "weeks_left": number,
			"needed_per_week": number, "coverage": number, "coverage_needed": number, "target_reached": boolean, "prob_reach": number}),
		"stages": arr(props(nil, obj{"stage": str, "open": integer, "won": integer, "p": number,
			"ages": arr(props(nil, obj{"min_days": integer, "max_days": integer, "open": integer, "won": integer, "p": number}))})),
		"new_yield": number, "method": enum("simulation", "normal"), "forecast_categories": boolean, "history": boolean,
	})
	fc := op("Forecast and pacing",
		"Bookings expected in the period: won so far + open deals × P(won within the period | stage, age) + deals not created yet, "+
			"with a p10–p90 range, the components, the CRM-style weighted pipeline beside, and the gap to target (pacing, when a target is in scope). "+
			"from and to do not apply: the period does. See query/METRICS.md, Forecast.", "Forecast",
		param("period", "The period (default quarter: the one containing as_of).", enum(query.PeriodQuarter, query.PeriodNextQuarter, query.PeriodMonth)),
		param("group_by", "Also per team, rep, territory or product.", enum("team", "rep", "territory", "product")),
		param("as_of", "The day the forecast is made, YYYY-MM-DD (default today): only what was known before it counts.", date))
	doc["paths"].(obj)["/forecast"] = fc
	period := props(nil, obj{"start": date, "end": date, "share": number, "amount": number})
	schemas["TargetSplit"] = props([]string{"year", "amount", "quarters", "months", "groups"}, obj{"year": integer, "amount": number,
		"group_by": str, "periods": str, "groups_by": str, "basis": number, "quarters": arr(period), "months": arr(period),
		"groups": arr(props(nil, obj{"key": str, "name": str, "booked": number, "weight": number, "share": number, "amount": number,
			"quarters": arr(number), "months": arr(number)}))})
	doc["paths"].(obj)["/targets/split"] = op("Target split proposal",
		"A yearly target split into teams, reps or territories and into quarters and months, in whole cents that add up exactly at every level "+
			"(not stored; POST /targets stores one). from and to do not apply. See query/METRICS.md, Target split.", "TargetSplit",
		obj{"name": "year", "in": "query", "required": true, "description": "The target's year.", "schema": integer},
		obj{"name": "amount", "in": "query", "required": true, "description": "The yearly target of the scope.", "schema": number},
		param("group_by", "Split among teams (default), reps or territories.", enum("team", "rep", "territory")),
		param("periods", "Months by last year's seasonality (default), evenly, or by hand (weights).", enum(query.SplitSeasonal, query.SplitEven, query.SplitManual)),
		param("groups", "Shares by last year's bookings (default), evenly, reps per group, or market potential (territories).",
			enum(query.SplitHistory, query.SplitEven, query.SplitCapacity, query.SplitPotential)),
		param("weights", "With periods=manual: 4 quarter or 12 month weights, comma separated.", str))
	return doc
}

// forecastPanelWait is how long the overview waits for its forecast: on a
// large warehouse a forecast takes seconds until serve has stored the day's
// forecast history (30 s after a publication, query.PrecomputeForecasts), or
// with more than one filter value, and the other panels should not wait for
// it. The computation goes on (the page cache
// shares it) and the next load shows it.
var forecastPanelWait = 2 * time.Second

// forecastPanel is the overview's forecast of this quarter: the range, its
// parts, and the pacing to target.
func (p *pages) forecastPanel(ctx context.Context, r *request) *panel {
	// The forecast is of this quarter whatever the page's range: the key
	// leaves the range out, so every range shares one computation.
	f := r.f
	f.From, f.To = time.Time{}, time.Time{}
	wctx, cancel := context.WithTimeout(ctx, forecastPanelWait)
	defer cancel()
	fc, err := fetch(wctx, p, r, "forecast", f, func(ctx context.Context, f query.Filter) (query.Forecast, error) {
		return p.svc.Forecast(ctx, r.scope, f, query.ForecastRequest{Period: query.PeriodQuarter})
	}, query.PeriodQuarter, time.Now().In(p.svc.Location()).Format(time.DateOnly))
	pn := &panel{ID: "forecast", Title: r.T("fc.title") + " " + fc.From + " – " + fc.To, Sub: r.T("fc.sub")}
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		pn.Title, pn.Empty = r.T("fc.title"), r.T("fc.computing")
		return pn
	case err != nil:
		p.s.log.Warn("forecast on the overview", "err", err)
		pn.Title, pn.Empty = r.T("fc.title"), r.T("fc.unavailable")
		return pn
	}
	t := fc.Total
	rng := kpi{Label: r.T("fc.point"), Value: r.Money(t.Point), Progress: -1,
		Sub: r.T("fc.range") + ": " + r.Money(t.P10) + " – " + r.Money(t.P90)}
	parts := kpi{Label: r.T("fc.parts"), Value: r.Money(t.Won), Progress: -1,
		Sub: r.T("fc.won") + " + " + r.Money(t.PipelineExpected) + " " + r.T("fc.pipeline") + " + " + r.Money(t.NewExpected) + " " + r.T("fc.new")}
	wtd := kpi{Label: r.T("fc.weighted"), Value: r.Money(t.Weighted), Progress: -1, Sub: r.T("fc.weighted_sub")}
	if c := t.Called; c != nil {
		// The reps' own calls replace the CRM-style weighting beside the model.
		wtd = kpi{Label: r.T("fc.called"), Value: r.Money(c.Commit), Progress: -1,
			Sub: r.T("fc.called_commit") + " · " + r.T("fc.called_best") + " " + r.Money(c.BestCase) + " · " + r.T("fc.called_pipeline") + " " + r.Money(c.Pipeline)}
	}
	pn.KPIs = []kpi{rng, parts, wtd}
	if pc := fc.Pacing; pc != nil {
		gap := kpi{Label: r.T("fc.gap"), Value: r.Money(pc.Gap), Progress: -1,
			Sub: r.Money(pc.NeededPerWeek) + " " + r.T("fc.per_week") + " · " + r.T("fc.prob") + " " + r.Pct(pc.ProbReach)}
		if pc.Target > 0 {
			gap.Progress = min(t.Point/pc.Target, 1)
			gap.ProgressLabel = r.T("fc.point") + " " + r.Pct(t.Point/pc.Target) + " " + r.T("kpi.of_target") + " " + r.Money(pc.Target)
			gap.Class = classBy(pc.ProbReach, 0.6, 0.3)
		}
		cov := kpi{Label: r.T("fc.coverage"), Value: fmtf("%.1f× / %.1f×", pc.Coverage, pc.CoverageNeeded), Progress: -1, Sub: r.T("fc.coverage_sub")}
		if pc.TargetReached {
			gap.Value, gap.Class, cov.Value = r.T("fc.reached"), "good", "–"
		} else if pc.CoverageNeeded > 0 {
			cov.Class = classBy(pc.Coverage/pc.CoverageNeeded, 1, 0.8)
		}
		pn.KPIs = append(pn.KPIs, gap, cov)
	} else {
		pn.KPIs = append(pn.KPIs, kpi{Label: r.T("fc.gap"), Value: "–", Progress: -1, Sub: r.T("kpi.no_target")})
	}
	pn.Table = p.pacingTable(wctx, r)
	return pn
}

// pacingTable is the pacing one level down: per team for those who see every
// team, per rep for a manager; nil for a rep, or while the figures are not
// ready within the panel's wait.
func (p *pages) pacingTable(ctx context.Context, r *request) *table {
	level := "team"
	switch r.scope.Role {
	case query.RoleRep:
		return nil
	case query.RoleManager:
		level = "rep"
	}
	f := r.f // this quarter's, whatever the range (see forecastPanel)
	f.From, f.To = time.Time{}, time.Time{}
	tv, err := fetch(ctx, p, r, "targets", f, func(ctx context.Context, f query.Filter) (query.TargetsView, error) {
		return p.svc.Targets(ctx, r.scope, f, query.PeriodQuarter, time.Time{})
	}, query.PeriodQuarter, time.Now().In(p.svc.Location()).Format(time.DateOnly))
	if err != nil {
		return nil
	}
	t := &table{ID: "pacing", Cols: []col{{Label: r.T("tg.level." + level)}, {Label: r.T("tg.target"), Num: true}, {Label: r.T("fc.won"), Num: true},
		{Label: r.T("fc.point"), Num: true}, {Label: r.T("fc.gap"), Num: true}, {Label: r.T("fc.needed_week"), Num: true},
		{Label: r.T("fc.coverage_short"), Num: true}, {Label: r.T("fc.prob_short"), Num: true}}}
	for _, l := range tv.Levels {
		if l.Level != level {
			continue
		}
		name := l.Name
		if name == "" {
			name = l.Key
		}
		if !l.HasTarget {
			t.Rows = append(t.Rows, row{Cells: []cell{{Text: name}, {Text: "–"}, money(r, l.Won), money(r, l.Forecast), {Text: "–"}, {Text: "–"}, {Text: "–"}, {Text: "–"}}})
			continue
		}
		prob := pct(r, l.ProbReach)
		prob.Class = classBy(l.ProbReach, 0.6, 0.3)
		cov := cell{Text: fmtf("%.1f×", l.Coverage), Raw: num(round(l.Coverage))}
		if l.Gap == 0 {
			cov = cell{Text: "–"}
		}
		t.Rows = append(t.Rows, row{Cells: []cell{{Text: name}, money(r, l.Target), money(r, l.Won), money(r, l.Forecast), money(r, l.Gap),
			money(r, l.NeededPerWeek), cov, prob}})
	}
	if len(t.Rows) == 0 {
		return nil
	}
	t.CSV = r.url("/", "csv", "pacing")
	return t
}

var forecastMessages = map[string][2]string{
	"unit.currency":      {"Amounts in %s", "金额单位：%s"},
	"fc.needed_week":     {"Needed per week", "每周需完成"},
	"fc.coverage_short":  {"Coverage", "覆盖倍数"},
	"fc.prob_short":      {"Chance to reach", "达成概率"},
	"fc.called":          {"Reps' call", "销售自报预测"},
	"fc.called_commit":   {"commit (won + Commit)", "承诺（已赢单 + 承诺）"},
	"fc.called_best":     {"best case", "最佳情况"},
	"fc.called_pipeline": {"pipeline", "全部管道"},
}

func init() {
	addMessages(forecastMessages)
}
