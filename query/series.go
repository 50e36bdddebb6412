package query

import (
	"context"
	"time"
)

// Point is one day of a series. Value is the day's figure: a count or amount,
// or for a ratio metric (rates, means) Num/Den, 0 when Den is 0 (nothing to
// divide: Den says so). Num and Den let days add up to weeks and ranges.
type Point struct {
	Day   time.Time `json:"day"`
	Value float64   `json:"value"`
	Num   float64   `json:"num,omitempty"`
	Den   float64   `json:"den,omitempty"`
}

// SeriesMetrics is the metrics DailySeries computes: every metric of the
// registry, with the older names it still accepts.
var SeriesMetrics = func() []string {
	var out []string
	for _, m := range Metrics() {
		out = append(out, m.Name)
		out = append(out, m.Aliases...)
	}
	return out
}()

// DailySeries is a metric of the registry (Metrics, LookupMetric) per business
// day in [from, to) for each segment of segmentKind ("" or "all" = one segment
// "all"; else one of the metric's segment kinds: team, manager, rep (keyed by
// rep id), territory, product, source or segment), zero-filled, for the alert
// engine's detectors and the Alerts page. Every filter of f applies; a filter
// or a segment kind the metric cannot take (leads have no product, activities
// no product or source) is an error, never ignored.
func (s *Service) DailySeries(ctx context.Context, sc Scope, metric, segmentKind string, f Filter) (map[string][]Point, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	m, err := LookupMetric(metric)
	if err != nil {
		return nil, err
	}
	if segmentKind == "all" {
		segmentKind = ""
	}
	if !m.Allows(segmentKind) {
		if _, _, err := groupExpr(segmentKind); err != nil {
			return nil, badParam("segment_kind", "%q: want all, team, manager, rep, territory, product, source or segment", segmentKind)
		}
		return nil, badParam("segment_kind", "%s cannot be cut by %s", m.Name, segmentKind)
	}
	seg, _, _ := groupExpr(segmentKind)
	if err := notApplicable(m.Name, f, filtersRefused(m)...); err != nil {
		return nil, err
	}
	days := int(f.To.Sub(f.From).Hours()/24 + 0.5)
	if days > 3700 {
		return nil, badParam("from", "a daily series spans at most ten years")
	}
	var c cond
	q := s.seriesSQL(m, seg, f, &c)
	out := map[string][]Point{}
	ensure := func(g string) []Point {
		p := out[g]
		if p == nil {
			p = make([]Point, days)
			for i := range p {
				p[i].Day = f.From.AddDate(0, 0, i)
			}
			out[g] = p
		}
		return p
	}
	if segmentKind == "" {
		ensure("all")
	}
	start := time.Date(f.From.Year(), f.From.Month(), f.From.Day(), 0, 0, 0, 0, time.UTC)
	set := func(g string, dd time.Time, num, den float64) {
		p := ensure(g)
		i := int(time.Date(dd.Year(), dd.Month(), dd.Day(), 0, 0, 0, 0, time.UTC).Sub(start).Hours() / 24)
		if i >= 0 && i < len(p) {
			p[i].Value, _ = m.Value(num, den)
			if m.Combine == "ratio" {
				p[i].Num, p[i].Den = num, den
			}
		}
	}
	if m.cube != nil && s.cubeServes(f) && (segmentKind == "" || segmentKind == "team" || segmentKind == "manager") {
		return out, s.cubeSeries(ctx, m, segmentKind, f, set)
	}
	err = s.query(ctx, "series-"+m.Name, q, c.args, func(r driverRows) error {
		var g string
		var dd time.Time
		var num, den float64
		if err := r.Scan(&g, &dd, &num, &den); err != nil {
			return err
		}
		set(g, dd, num, den)
		return nil
	})
	return out, err
}

// cubeSeries is DailySeries from team_days' (or dim_days') day rows (cubeSums)
// for a metric they hold (m.cube), cut by team or manager id or not at all:
// set gets each segment's day whose deals the metric counts (den > 0), as the
// statement over opp_facts or opp_closes gives them.
func (s *Service) cubeSeries(ctx context.Context, m Metric, segmentKind string, f Filter, set func(g string, d time.Time, num, den float64)) error {
	type key struct {
		g string
		d time.Time
	}
	sums, err := cubeSums(ctx, s, f, true, segmentKind != "", func(r *teamDay) key {
		switch segmentKind {
		case "team":
			return key{r.team, r.day}
		case "manager":
			return key{r.manager, r.day}
		}
		return key{"all", r.day}
	})
	if err != nil {
		return err
	}
	for k, a := range sums {
		if num, den := m.cube(a); den > 0 {
			set(k.g, k.d, num, den)
		}
	}
	return nil
}

// notApplicable is the error for a filter a series of what cannot be cut by.
func notApplicable(what string, f Filter, names ...string) error {
	for _, n := range names {
		if len(map[string][]string{"product": f.Product, "source": f.Source, "segment": f.Segment}[n]) > 0 {
			return badParam(n, "%s cannot be filtered by %s", what, n)
		}
	}
	return nil
}
