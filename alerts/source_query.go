package alerts

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// QuerySource reads the alert engine's inputs through query: every metric from
// the registry (query.DailySeries), the org, open deals and stage norms from
// the published data, so an alert counts exactly what the pages count. alerts
// keeps no metric SQL.
type QuerySource struct {
	svc   *query.Service
	tiers config.Tiers
}

// NewQuerySource returns a Source over svc.
func NewQuerySource(svc *query.Service) *QuerySource { return &QuerySource{svc: svc} }

// NewClickHouseSource returns a Source over db with days cut in loc (a
// query.Service over db with the default stages).
func NewClickHouseSource(db *schemas.DB, loc *time.Location) *QuerySource {
	return NewQuerySource(query.New(db, loc, nil))
}

// Series implements Source.
func (q *QuerySource) Series(ctx context.Context, metric, kind string, from, to time.Time) ([]SegmentSeries, error) {
	m, err := query.LookupMetric(metric)
	if err != nil {
		return nil, err
	}
	ser, err := q.svc.DailySeries(ctx, query.Unrestricted, metric, kind, query.Filter{From: from, To: to})
	if err != nil {
		return nil, fmt.Errorf("%s by %s: %w", metric, kind, err)
	}
	var names map[string]string
	if kind == SegRep {
		ps, err := q.svc.People(ctx)
		if err != nil {
			return nil, err
		}
		names = map[string]string{}
		for _, p := range ps {
			names[p.ID] = p.Name
		}
	}
	out := make([]SegmentSeries, 0, len(ser))
	for k, pts := range ser {
		if kind == SegAll {
			k = ""
		} else if k == "" {
			continue // rows without the attribute still count in the total
		}
		s := SegmentSeries{Kind: kind, Key: k, Label: k, Points: make([]Point, len(pts))}
		if names[k] != "" {
			s.Label = names[k]
		}
		for i, p := range pts {
			s.Points[i] = Point{Date: p.Day, Sum: p.Value}
			if m.Combine == "ratio" {
				s.Points[i].Sum, s.Points[i].Num, s.Points[i].Den = p.Num, p.Num, p.Den
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Org implements Source.
func (q *QuerySource) Org(ctx context.Context) (Org, error) {
	ps, err := q.svc.People(ctx)
	if err != nil {
		return Org{}, err
	}
	o := Org{Reps: make([]Person, len(ps))}
	for i, p := range ps {
		o.Reps[i] = Person(p)
	}
	return o, nil
}

// Deals implements Source.
func (q *QuerySource) Deals(ctx context.Context, asOf time.Time) ([]Deal, error) {
	ds, err := q.svc.OpenDeals(ctx, asOf)
	if err != nil {
		return nil, err
	}
	out := make([]Deal, len(ds))
	for i, d := range ds {
		out[i] = Deal(d)
	}
	return out, nil
}

// StageNorms implements Source.
func (q *QuerySource) StageNorms(ctx context.Context, asOf time.Time) ([]StageNorm, error) {
	ns, err := q.svc.StageNorms(ctx, asOf)
	if err != nil {
		return nil, err
	}
	out := make([]StageNorm, len(ns))
	for i, n := range ns {
		out[i] = StageNorm(n)
	}
	return out, nil
}

// LastDay implements Source: the last day the metric's source covers.
func (q *QuerySource) LastDay(ctx context.Context, metric string) (time.Time, bool, error) {
	m, err := query.LookupMetric(metric)
	if err != nil {
		return time.Time{}, false, err
	}
	return q.svc.LastLoadedDay(ctx, m.Source)
}
