package query

import (
	"context"
	"time"
)

// Point is one day of a series.
type Point struct {
	Day   time.Time `json:"day"`
	Value float64   `json:"value"`
}

// Series metrics for DailySeries.
var SeriesMetrics = []string{"leads", "opportunities", "pipeline_created", "bookings", "won", "lost", "activities"}

// DailySeries is a metric per business day in [from, to) for each segment of
// segmentKind ("" = one segment "all"; else team, manager, rep, territory,
// product, source or segment), zero-filled, for the alert engine's detectors.
// leads: leads created; opportunities: opportunities created; pipeline_created:
// their amount; bookings: won amount by close date; won, lost: deals closed;
// activities: activities logged. Every filter of f applies; leads and
// activities can be cut and filtered by team, manager, rep, territory (the
// owner's) and source (leads only), and a filter that does not apply to them is
// an error, never ignored.
func (s *Service) DailySeries(ctx context.Context, sc Scope, metric, segmentKind string, f Filter) (map[string][]Point, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	seg := "'all'"
	if segmentKind != "" {
		k, _, err := groupExpr(segmentKind)
		if err != nil {
			return nil, badParam("segment_kind", "%q: want team, manager, rep, territory, product, source or segment", segmentKind)
		}
		seg = k
	}
	var q string
	var c cond
	switch metric {
	case "opportunities", "pipeline_created":
		dateRange(&c, "created_date", f)
		dims(&c, f, "")
		v := "count()"
		if metric == "pipeline_created" {
			v = "sum(amount)"
		}
		q = "SELECT " + seg + " AS g, created_date AS d, toFloat64(" + v + ") FROM opp_facts" + c.where() + " GROUP BY g, d"
	case "bookings", "won", "lost":
		c.add("closed = 1")
		dateRange(&c, "close_date", f)
		dims(&c, f, "")
		v := map[string]string{"bookings": "sumIf(amount, won = 1)", "won": "countIf(won = 1)", "lost": "countIf(won = 0)"}[metric]
		q = "SELECT " + seg + " AS g, close_date AS d, toFloat64(" + v + ") FROM opp_facts" + c.where() + " GROUP BY g, d"
	case "leads":
		switch segmentKind {
		case "product", "segment":
			return nil, badParam("segment_kind", "leads cannot be cut by %s", segmentKind)
		case "rep":
			seg = "owner_id"
		}
		if err := notApplicable("leads", f, "product", "segment"); err != nil {
			return nil, err
		}
		dateRange(&c, "created_date", f)
		ownerDims(&c, f)
		c.in("territory", f.Territory)
		c.in("source", f.Source)
		q = "SELECT " + seg + " AS g, created_date AS d, toFloat64(count()) FROM " + leadsTable(s.tz) + c.where() + " GROUP BY g, d"
	case "activities":
		switch segmentKind {
		case "", "team", "manager", "rep", "territory":
		default:
			return nil, badParam("segment_kind", "activities cannot be cut by %s", segmentKind)
		}
		if segmentKind == "rep" {
			seg = "owner_id"
		}
		acts := latest("activities", "activity_id", "activity_id, rep_id AS owner_id, occurred_at")
		reps := latest("reps", "rep_id", "rep_id AS owner_id, team, manager_id, territory")
		tbl := "(SELECT owner_id, team, manager_id, territory, toDate(occurred_at, " + s.tz + ") AS created_date FROM " + acts + " AS a GLOBAL ALL LEFT JOIN " + reps + " AS r USING owner_id)"
		if err := notApplicable("activities", f, "product", "source", "segment"); err != nil {
			return nil, err
		}
		dateRange(&c, "created_date", f)
		ownerDims(&c, f)
		c.in("territory", f.Territory)
		q = "SELECT " + seg + " AS g, created_date AS d, toFloat64(count()) FROM " + tbl + c.where() + " GROUP BY g, d"
	default:
		return nil, badParam("metric", "%q: want leads, opportunities, pipeline_created, bookings, won, lost or activities", metric)
	}
	days := int(f.To.Sub(f.From).Hours()/24 + 0.5)
	if days > 3700 {
		return nil, badParam("from", "a daily series spans at most ten years")
	}
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
	err = s.query(ctx, "series-"+metric, q, c.args, func(r driverRows) error {
		var g string
		var dd time.Time
		var v float64
		if err := r.Scan(&g, &dd, &v); err != nil {
			return err
		}
		p := ensure(g)
		i := int(time.Date(dd.Year(), dd.Month(), dd.Day(), 0, 0, 0, 0, time.UTC).Sub(time.Date(f.From.Year(), f.From.Month(), f.From.Day(), 0, 0, 0, 0, time.UTC)).Hours() / 24)
		if i >= 0 && i < len(p) {
			p[i].Value = v
		}
		return nil
	})
	return out, err
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
