package query

import (
	"context"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// winRateRepMonths is WinRate by rep under a filter of one deal dimension
// (dimMonths): the whole months [m0, m1) of the range from rep_dim_months, the
// days around them from opp_closes, each rep named as opp_facts names it (the
// reps table's latest name, else the id; a load of reps republishes its reps'
// deals). At the large sample a year's rows are a month of closes and about
// 7k rep_dim_months rows instead of 1.19M closes.
func (s *Service) winRateRepMonths(ctx context.Context, f Filter, dim string, values []string, m0, m1 time.Time, out *WinRate) error {
	type sums struct {
		won, lost uint64
		wa, la    float64
	}
	by := map[string]*sums{}
	var mu sync.Mutex
	// Rows as winRateSQL gives them (owner, label, won, lost, amounts); the
	// names come from the reps table below.
	scan := func(r driverRows) error {
		var id, label string
		var x sums
		if err := r.Scan(&id, &label, &x.won, &x.lost, &x.wa, &x.la); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if a := by[id]; a != nil {
			a.won, a.lost, a.wa, a.la = a.won+x.won, a.lost+x.lost, a.wa+x.wa, a.la+x.la
		} else {
			by[id] = &x
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		c := dimMonthsWhere(f, dim, values, m0, m1)
		return s.query(gctx, "winrate-months", "SELECT owner_id, '', sum(won), sum(lost), sum(won_amount), sum(lost_amount) FROM rep_dim_months"+c.where()+" GROUP BY owner_id", c.args, scan)
	})
	if spans := edgeSpans(f, m0, m1); len(spans) > 0 {
		g.Go(func() error {
			var c cond
			c.add("closed = 1")
			inSpans(&c, "close_date", spans)
			dims(&c, f, "")
			return s.query(gctx, "winrate-edges", winRateSQL("owner_id", "''", c), c.args, scan)
		})
	}
	names := map[string]string{}
	g.Go(func() error {
		reps, err := s.repDims(gctx)
		for _, r := range reps {
			names[r.id] = r.name
		}
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	ids := make([]string, 0, len(by))
	for id, x := range by {
		if x.won+x.lost > 0 {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		x, name := by[id], names[id]
		if name == "" {
			name = id
		}
		out.add(WinRateGroup{Key: id, Name: name, Won: int64(x.won), Lost: int64(x.lost), WonAmount: x.wa, LostAmount: x.la})
	}
	out.Total.rates()
	return nil
}
