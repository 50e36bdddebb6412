package dashboards

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/pipelens/pipelens/query"
)

// Comparisons on cards and tables (issue 15): each number against the
// previous period and the same period last year (query.Comparisons), and the
// change coloured by whether it is good news.

func init() { addMessages(compareMessages) }

var compareMessages = map[string][2]string{
	"cmp.prev":      {"vs previous period", "较上期"},
	"cmp.last_year": {"vs same period last year", "较去年同期"},
	"cmp.pp":        {"pp", "个百分点"},
	"cmp.open_now":  {"not compared: the open pipeline is today's, not the period's", "不比较：未结管道是当前值，不属于某一期间"},
	"cmp.col_prev":  {"vs prev.", "较上期"},
	"cmp.col_ly":    {"vs last year", "较去年同期"},
	"cmp.cut":       {"same elapsed days", "相同已过天数"},
	"cmp.deals":     {"the deals behind this number", "此数字对应的商机"},
}

// cmpView is one comparison under a card's value.
type cmpView struct {
	Label, Text, Class, Title string
}

// fmtUnit formats a value of a unit (query.NewDelta's units).
func (r *request) fmtUnit(unit string, v float64) string {
	switch unit {
	case "rate":
		return r.Pct(v)
	case "days":
		return r.Days(v) + " " + r.T("kpi.days")
	case "count":
		return r.Int(int64(math.Round(v)))
	case "ratio":
		return fmtf("%.1f×", v)
	}
	return r.Money(v)
}

// fmtChange formats a change: points for rates, days, × for ratios, else %.
func (r *request) fmtChange(unit string, c float64) string {
	switch unit {
	case "rate":
		return fmtf("%+.1f ", c*100) + r.T("cmp.pp")
	case "days":
		return fmtf("%+.1f ", c) + r.T("kpi.days")
	case "ratio":
		return fmtf("%+.1f×", c)
	}
	return fmtf("%+.1f%%", c*100)
}

// changeClass: good or bad news by the metric's direction; no change or none is neutral.
func changeClass(metric, unit string, c *float64) string {
	if c == nil || math.Abs(*c) < 1e-9 {
		return ""
	}
	if (*c > 0) == query.HigherIsBetter(metric, unit) {
		return "good"
	}
	return "bad"
}

// deltaText is "+12.0% · 1.2M": the change and the earlier value; an empty
// earlier period is "– (n=0)".
func (r *request) deltaText(unit string, d query.Delta) string {
	if d.Value == nil {
		return "– (n=0)"
	}
	ch := "–"
	if d.Change != nil {
		ch = r.fmtChange(unit, *d.Change)
	}
	return ch + " · " + r.fmtUnit(unit, *d.Value)
}

// rangeTitle is a delta's range with its last day (to is exclusive).
func rangeTitle(d query.Delta) string {
	to, err := time.Parse(time.DateOnly, d.To)
	if err != nil {
		return d.From + " – " + d.To
	}
	return d.From + " – " + to.AddDate(0, 0, -1).Format(time.DateOnly)
}

// compareViews are a card's two comparisons.
func (r *request) compareViews(metric, unit string, prev, ly query.Delta, cut bool) []cmpView {
	out := make([]cmpView, 0, 2)
	for _, x := range []struct {
		label string
		d     query.Delta
	}{{r.T("cmp.prev"), prev}, {r.T("cmp.last_year"), ly}} {
		title := rangeTitle(x.d)
		if cut {
			title += " (" + r.T("cmp.cut") + ")"
		}
		out = append(out, cmpView{Label: x.label, Text: r.deltaText(unit, x.d), Class: changeClass(metric, unit, x.d.Change), Title: title})
	}
	return out
}

// deltaCell is a table cell with a change ("–" when there is none).
func deltaCell(r *request, metric, unit string, d query.Delta) cell {
	c := cell{Text: "–", Class: changeClass(metric, unit, d.Change)}
	if d.Change != nil {
		c.Text, c.Raw = r.fmtChange(unit, *d.Change), num(round(*d.Change))
	}
	return c
}

// cardNums are the overview cards' numbers over one range.
type cardNums struct {
	f      query.Filter
	cov    query.Coverage // the range's own (cardNums with coverage)
	booked float64
	wr     query.WinRate
	cyc    query.CycleTime
	opened int64
}

// cardNums computes the cards' numbers over f at once, through the cache:
// with coverage the range's coverage (its bookings, pipeline and target),
// else its bookings alone (a comparison range's).
func (p *pages) cardNums(ctx context.Context, r *request, f query.Filter, coverage bool) (cardNums, error) {
	out := cardNums{f: f}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		if !coverage {
			out.booked, err = fetch(gctx, p, r, "bookings", f, func(ctx context.Context, f query.Filter) (float64, error) {
				return p.svc.Bookings(ctx, r.scope, f)
			})
			return
		}
		out.cov, err = fetch(gctx, p, r, "coverage", f, func(ctx context.Context, f query.Filter) (query.Coverage, error) {
			return p.svc.Coverage(ctx, r.scope, f)
		})
		out.booked = out.cov.Won
		return
	})
	g.Go(func() (err error) {
		// By team, as the overview's teams table and its changes ask for the
		// same ranges: one computation, whose total the cards read.
		out.wr, err = fetch(gctx, p, r, "winrate", f, func(ctx context.Context, f query.Filter) (query.WinRate, error) {
			return p.svc.WinRate(ctx, r.scope, f, "team")
		}, "team")
		return
	})
	g.Go(func() (err error) {
		out.cyc, err = fetch(gctx, p, r, "cycle", f, func(ctx context.Context, f query.Filter) (query.CycleTime, error) {
			return p.svc.CycleTime(ctx, r.scope, f, "")
		})
		return
	})
	g.Go(func() (err error) {
		out.opened, err = fetch(gctx, p, r, "opened", f, func(ctx context.Context, f query.Filter) (int64, error) {
			return p.svc.Opened(ctx, r.scope, f)
		})
		return
	})
	return out, g.Wait()
}

// cardUnits: each compared card's unit (query.NewDelta).
var cardUnits = map[string]string{"bookings": "amount", "win_rate": "rate", "cycle_time": "days", "velocity": "amount"}

// value is a card's number over the range (nil: undefined) and how many deals it counts.
func (c cardNums) value(card string, now time.Time) (*float64, int64) {
	closed := c.wr.Total.Won + c.wr.Total.Lost
	switch card {
	case "bookings":
		v := c.booked
		return &v, c.wr.Total.Won
	case "win_rate":
		return winRateValue(c.wr)
	case "cycle_time":
		return cycleValue(c.cyc)
	case "velocity":
		return query.Velocity(c.opened, elapsedDays(c.f, now), c.wr.Total.Won, c.wr.Total.Lost, c.wr.Total.WonAmount), closed
	}
	return nil, 0
}

// elapsedDays is the days of f up to today: a range running past today
// (this quarter) has opened deals on its elapsed days only.
func elapsedDays(f query.Filter, now time.Time) int {
	end := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, f.To.Location())
	if f.To.Before(end) {
		end = f.To
	}
	return int(end.Sub(f.From).Hours()/24 + 0.5)
}

// cardCompare is a card's comparisons: cur against prev and ly.
func (r *request) cardCompare(card string, cur, prev, ly cardNums, cut bool, now time.Time) []cmpView {
	unit := cardUnits[card]
	v, _ := cur.value(card, now)
	pv, pn := prev.value(card, now)
	lv, ln := ly.value(card, now)
	return r.compareViews(card, unit, query.NewDelta(prev.f, unit, v, pv, pn), query.NewDelta(ly.f, unit, v, lv, ln), cut)
}

// notCompared is a card without comparisons, saying why.
func (r *request) notCompared(why string) []cmpView {
	return []cmpView{{Label: r.T("cmp.prev"), Text: "–", Title: why}, {Label: r.T("cmp.last_year"), Text: "–", Title: why}}
}

// groupDeltas compares each group's number (by key) with the comparison ranges' groups.
func groupDeltas(unit string, cmp query.Comparisons, cur, prev, ly query.WinRate, val func(g query.WinRateGroup) (*float64, int64)) map[string][2]query.Delta {
	index := func(w query.WinRate) map[string]query.WinRateGroup {
		m := make(map[string]query.WinRateGroup, len(w.Groups))
		for _, g := range w.Groups {
			m[g.Key] = g
		}
		return m
	}
	pm, lm := index(prev), index(ly)
	out := make(map[string][2]query.Delta, len(cur.Groups))
	for _, g := range cur.Groups {
		v, _ := val(g)
		pv, pn := val(pm[g.Key])
		lv, ln := val(lm[g.Key])
		out[g.Key] = [2]query.Delta{query.NewDelta(cmp.Previous, unit, v, pv, pn), query.NewDelta(cmp.LastYear, unit, v, lv, ln)}
	}
	return out
}

// groupBookings and groupWinRate are a win-rate group's bookings and win rate.
func groupBookings(g query.WinRateGroup) (*float64, int64) { v := g.WonAmount; return &v, g.Won }
func groupWinRate(g query.WinRateGroup) (*float64, int64) {
	return query.Defined(g.WinRate, g.Won+g.Lost), g.Won + g.Lost
}

// groupedCompare fetches the win rate by group over the two comparison ranges of f at once.
func (p *pages) groupedCompare(ctx context.Context, r *request, cmp query.Comparisons, groupBy string) (prev, ly query.WinRate, err error) {
	g, gctx := errgroup.WithContext(ctx)
	for _, x := range []struct {
		f   query.Filter
		dst *query.WinRate
	}{{cmp.Previous, &prev}, {cmp.LastYear, &ly}} {
		x := x
		g.Go(func() (err error) {
			*x.dst, err = fetch(gctx, p, r, "winrate", x.f, func(ctx context.Context, f query.Filter) (query.WinRate, error) {
				return p.svc.WinRate(ctx, r.scope, f, groupBy)
			}, groupBy)
			return
		})
	}
	return prev, ly, g.Wait()
}

// linked is c linking to the deals behind it.
func linked(c cell, url string) cell {
	c.Link = url
	return c
}

// periodLinks link each period of a trend (by its first day) to its deals
// on basis and status (dealsURL) within the period and the trend's range rf:
// created for a conversion cohort. set adds pairs (rep, id).
func periodLinks(r *request, rf query.Filter, starts []string, period, basis, status string, set ...string) map[string]string {
	links := make(map[string]string, len(starts))
	for _, s := range starts {
		from, err := time.ParseInLocation(time.DateOnly, s, rf.From.Location())
		if err != nil {
			continue
		}
		to := from.AddDate(0, 1, 0)
		switch period {
		case "week":
			to = from.AddDate(0, 0, 7)
		case "quarter":
			to = from.AddDate(0, 3, 0)
		}
		if from.Before(rf.From) {
			from = rf.From
		}
		if to.After(rf.To) {
			to = rf.To
		}
		links[s] = r.dealsURL(basis, status, "", false, append([]string{"from", from.Format(time.DateOnly), "to", to.Format(time.DateOnly), "preset", ""}, set...)...)
	}
	return links
}

// cohortLinks are periodLinks of a conversion trend's cohorts.
func cohortLinks(r *request, conv []query.ConversionPeriod, period string) map[string]string {
	starts := make([]string, len(conv))
	for i, c := range conv {
		starts[i] = c.Period
	}
	return periodLinks(r, r.f, starts, period, "created", "")
}

// comparison is what compare=true adds to a card endpoint's answer
// (/winrate, /cycle, /coverage): the card's number over the two comparison
// ranges and the change.
type comparison struct {
	Previous *query.Delta `json:"previous,omitempty"`
	LastYear *query.Delta `json:"last_year,omitempty"`
	// CompareCut: the range runs past today; the comparisons cover its elapsed days.
	CompareCut bool `json:"compare_cut,omitempty"`
}

// compare computes val over the comparison ranges of f at once and compares
// cur with them; nothing when the request does not ask (compare=true).
func (a *api) compare(c echo.Context, f query.Filter, unit string, cur *float64, val func(ctx context.Context, f query.Filter) (*float64, int64, error)) (comparison, error) {
	on, err := boolParam(c, "compare")
	if err != nil || !on {
		return comparison{}, err
	}
	cmp := a.svc.Comparisons(f)
	ds := make([]query.Delta, 2)
	g, gctx := errgroup.WithContext(c.Request().Context())
	for i, cf := range []query.Filter{cmp.Previous, cmp.LastYear} {
		i, cf := i, cf
		g.Go(func() error {
			v, n, err := val(gctx, cf)
			ds[i] = query.NewDelta(cf, unit, cur, v, n)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return comparison{}, err
	}
	return comparison{Previous: &ds[0], LastYear: &ds[1], CompareCut: cmp.Cut}, nil
}

// winRateValue, cycleValue: the card's number of an answer (nil: nothing closed) and its n.
func winRateValue(w query.WinRate) (*float64, int64) {
	n := w.Total.Won + w.Total.Lost
	return query.Defined(w.Total.WinRate, n), n
}

func cycleValue(ct query.CycleTime) (*float64, int64) {
	return query.Defined(ct.Total.Median, ct.Total.Count), ct.Total.Count
}

// groupChanges are, per group of win rate's groupBy, the bookings and win-rate
// changes of r's range against its comparison ranges, fetched at once.
func (p *pages) groupChanges(ctx context.Context, r *request, groupBy string) (book, rate map[string][2]query.Delta, err error) {
	cmp := p.svc.Comparisons(r.f)
	var cur, prev, ly query.WinRate
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		cur, err = fetch(gctx, p, r, "winrate", r.f, func(ctx context.Context, f query.Filter) (query.WinRate, error) {
			return p.svc.WinRate(ctx, r.scope, f, groupBy)
		}, groupBy)
		return
	})
	g.Go(func() (err error) { prev, ly, err = p.groupedCompare(gctx, r, cmp, groupBy); return })
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	return groupDeltas("amount", cmp, cur, prev, ly, groupBookings), groupDeltas("rate", cmp, cur, prev, ly, groupWinRate), nil
}

// changeCols are a table's comparison columns: bookings and win rate, each
// against the previous period and last year.
func changeCols(r *request) []col {
	return []col{{Label: r.T("col.bookings") + " " + r.T("cmp.col_prev"), Num: true}, {Label: r.T("col.bookings") + " " + r.T("cmp.col_ly"), Num: true},
		{Label: r.T("col.winrate") + " " + r.T("cmp.col_prev"), Num: true}, {Label: r.T("col.winrate") + " " + r.T("cmp.col_ly"), Num: true}}
}

// changeCells are a row's comparison cells (changeCols).
func changeCells(r *request, book, rate map[string][2]query.Delta, key string) []cell {
	b, w := book[key], rate[key]
	return []cell{deltaCell(r, "bookings", "amount", b[0]), deltaCell(r, "bookings", "amount", b[1]),
		deltaCell(r, "win_rate", "rate", w[0]), deltaCell(r, "win_rate", "rate", w[1])}
}

// repCompare is the comparisons of a rep's scorecard cards: the scorecard
// asked again over each comparison range of r's range (a rep without deals there has
// no numbers: "– (n=0)").
func (p *pages) repCompare(ctx context.Context, r *request, id string, cur query.RepScore) (map[string][]cmpView, error) {
	cmp := p.svc.Comparisons(r.f)
	var prev, ly *query.RepScore
	g, gctx := errgroup.WithContext(ctx)
	for _, x := range []struct {
		f   query.Filter
		dst **query.RepScore
	}{{cmp.Previous, &prev}, {cmp.LastYear, &ly}} {
		x := x
		g.Go(func() error {
			rs, err := fetch(gctx, p, r, "rep", x.f, func(ctx context.Context, f query.Filter) (query.RepScore, error) {
				return p.svc.Rep(ctx, r.scope, f, id)
			}, id)
			if errors.Is(err, query.ErrNotFound) {
				return nil // no deals over that range
			}
			*x.dst = &rs
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	val := func(rs *query.RepScore, card string) (*float64, int64) {
		if rs == nil {
			return nil, 0
		}
		v := map[string]float64{"bookings": rs.WonAmount, "deals": float64(rs.Deals), "strengths": float64(rs.Strengths), "weaknesses": float64(rs.Weaknesses)}[card]
		return &v, rs.Deals
	}
	out := map[string][]cmpView{}
	for card, unit := range map[string]string{"bookings": "amount", "deals": "count", "strengths": "count", "weaknesses": "count"} {
		cv, _ := val(&cur, card)
		pv, pn := val(prev, card)
		lv, ln := val(ly, card)
		out[card] = r.compareViews(card, unit, query.NewDelta(cmp.Previous, unit, cv, pv, pn), query.NewDelta(cmp.LastYear, unit, cv, lv, ln), cmp.Cut)
	}
	return out, nil
}

// metricDeals links a scorecard metric's n to the rep's deals it counts: the
// cohort reaching the stage for a stage conversion, the closed deals for the
// win rate, the won ones for deal size and cycle time ("" for activities).
func metricDeals(r *request, id string, m query.MetricScore) string {
	switch m.Metric {
	case "conversion":
		return r.dealsURL("created", "", m.Stage, true, "rep", id)
	case "win_rate":
		return r.dealsURL("closed", "closed", "", false, "rep", id)
	case "deal_size", "cycle_time":
		return r.dealsURL("closed", "won", "", false, "rep", id)
	}
	return ""
}
