package query

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// team_days in memory. The overview's cards (the range and its two comparison
// ranges), the funnel, the conversion trend, the movement's opened and closed
// deals and the total win rate, when no filter names a rep or a deal
// dimension, are sums of team_days' rows over a range. Each of those
// statements cost 3–4 ms of ClickHouse CPU under load, most of it analysing
// the statement, not reading its 2–4k rows. A teamCube holds team_days at one
// publication, summed per (grain, day, team, manager): 47,628 rows at the
// large sample, read once per publication and process; the reads sum its rows
// in Go.

// teamSums are team_days' columns summed.
type teamSums struct {
	created, createdWon, createdLost, createdOpen, won, lost uint64
	createdAmount, createdWonAmount, wonAmount, lostAmount   float64
	reached                                                  []uint64
}

func (a *teamSums) add(b *teamSums) {
	a.created += b.created
	a.createdWon += b.createdWon
	a.createdLost += b.createdLost
	a.createdOpen += b.createdOpen
	a.won += b.won
	a.lost += b.lost
	a.createdAmount += b.createdAmount
	a.createdWonAmount += b.createdWonAmount
	a.wonAmount += b.wonAmount
	a.lostAmount += b.lostAmount
	a.reached = padded(a.reached, len(b.reached))
	for i, x := range b.reached {
		a.reached[i] += x
	}
}

// funnel is the sums as funnelCols' row (the cohort's columns).
func (a *teamSums) funnel(stages int) funnelRow {
	return funnelRow{n: a.created, amount: a.createdAmount, won: a.createdWon, lost: a.createdLost, open: a.createdOpen,
		wonAmount: a.createdWonAmount, reached: padded(slices.Clone(a.reached), stages)}
}

// teamDay is one row of a teamCube.
type teamDay struct {
	grain         uint8
	day           time.Time // UTC midnight, as the driver reads a Date
	team, manager string
	teamSums
}

// teamCube is team_days at one publication, sorted by (grain, day).
type teamCube struct {
	rows []teamDay
}

// cubeLoad is a teamCube being read or read; done closes when c or err is set.
type cubeLoad struct {
	done chan struct{}
	c    *teamCube
	err  error
}

// cubes keeps the teamCubes of the last cubesKept versions read.
type cubes struct {
	mu sync.Mutex
	m  map[schemas.Version]*cubeLoad
}

// cubesKept: the latest publication and the one before it, which requests
// that started before the latest still read.
const cubesKept = 2

// usesTeamCube: f (ownerOnly) names no rep, so team_days' rows answer it.
func usesTeamCube(f Filter) bool { return len(f.Rep) == 0 }

// teamCube returns team_days at ctx's version, reading it once per version.
// The read runs detached from the first caller's cancellation (a caller that
// leaves does not fail the others); a failed read is not kept.
func (s *Service) teamCube(ctx context.Context) (*teamCube, error) {
	v, err := s.Version(ctx)
	if err != nil {
		return nil, err
	}
	s.cubes.mu.Lock()
	l, ok := s.cubes.m[v]
	if !ok {
		if len(s.cubes.m) >= cubesKept {
			oldest := v
			for k := range s.cubes.m {
				if k.Pub < oldest.Pub {
					oldest = k
				}
			}
			delete(s.cubes.m, oldest)
		}
		l = &cubeLoad{done: make(chan struct{})}
		s.cubes.m[v] = l
		go func() {
			l.c, l.err = s.readTeamCube(AsOf(context.WithoutCancel(ctx), v))
			if l.err != nil {
				s.cubes.mu.Lock()
				if s.cubes.m[v] == l {
					delete(s.cubes.m, v)
				}
				s.cubes.mu.Unlock()
			}
			close(l.done)
		}()
	}
	s.cubes.mu.Unlock()
	select {
	case <-l.done:
		return l.c, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readTeamCube reads team_days at ctx's version, summed per key (an incremental
// publication adds rows for keys earlier ones wrote).
func (s *Service) readTeamCube(ctx context.Context) (*teamCube, error) {
	q := "SELECT grain, day, team, manager_id, sum(created), sum(created_amount), sum(created_won), sum(created_won_amount), sum(created_lost), " +
		"sum(created_open), sumForEach(reached), sum(won), sum(won_amount), sum(lost), sum(lost_amount) FROM team_days WHERE " + tokDelta +
		" GROUP BY grain, day, team, manager_id ORDER BY grain, day, team, manager_id"
	c := &teamCube{}
	t0 := time.Now()
	defer func() { s.log.Debug("team_days read into memory", "rows", len(c.rows), "took", time.Since(t0)) }()
	err := s.query(ctx, "team-cube", q, nil, func(r driverRows) error {
		var t teamDay
		if err := r.Scan(&t.grain, &t.day, &t.team, &t.manager, &t.created, &t.createdAmount, &t.createdWon, &t.createdWonAmount, &t.createdLost,
			&t.createdOpen, &t.reached, &t.won, &t.wonAmount, &t.lost, &t.lostAmount); err != nil {
			return err
		}
		c.rows = append(c.rows, t)
		return nil
	})
	return c, err
}

// dayOf is t's calendar date as the driver reads a Date: UTC midnight.
func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// span calls fn for the rows of grain g with day in [from, to).
func (c *teamCube) span(g uint8, from, to time.Time, fn func(*teamDay)) {
	from, to = dayOf(from), dayOf(to)
	i := sort.Search(len(c.rows), func(i int) bool {
		r := &c.rows[i]
		return r.grain > g || r.grain == g && !r.day.Before(from)
	})
	for ; i < len(c.rows) && c.rows[i].grain == g && c.rows[i].day.Before(to); i++ {
		fn(&c.rows[i])
	}
}

// teamSumsBy adds up the rows of c that make up f's range (grainRange's rows:
// whole months at grain 1, the days around them at grain 0; days only with
// daysOnly) under f's team and manager filters, per key(row).
func teamSumsBy[K comparable](c *teamCube, f Filter, daysOnly bool, key func(*teamDay) K) map[K]*teamSums {
	out := map[K]*teamSums{}
	add := func(r *teamDay) {
		if len(f.Team) > 0 && !slices.Contains(f.Team, r.team) || len(f.Manager) > 0 && !slices.Contains(f.Manager, r.manager) {
			return
		}
		k := key(r)
		a := out[k]
		if a == nil {
			a = &teamSums{}
			out[k] = a
		}
		a.add(&r.teamSums)
	}
	if m0, m1, ok := wholeMonths(f); ok && !daysOnly {
		c.span(1, m0, m1, add)
		c.span(0, f.From, m0, add)
		c.span(0, m1, f.To, add)
	} else {
		c.span(0, f.From, f.To, add)
	}
	return out
}

// periodOf is the start of the period (week, month, quarter) holding day, as
// periodExpr computes it.
func periodOf(period string, d time.Time) time.Time {
	switch period {
	case Week:
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case Quarter:
		return time.Date(d.Year(), (d.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
	}
	return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// teamPeriods are f's team_days sums per period (periodOf), in order.
func (s *Service) teamPeriods(ctx context.Context, f Filter, period string) ([]time.Time, map[time.Time]*teamSums, error) {
	c, err := s.teamCube(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := teamSumsBy(c, f, period == Week, func(r *teamDay) time.Time { return periodOf(period, r.day) })
	keys := slices.SortedFunc(maps.Keys(out), func(a, b time.Time) int { return a.Compare(b) })
	return keys, out, nil
}

// teamTotal is f's team_days sums over its range.
func (s *Service) teamTotal(ctx context.Context, f Filter) (teamSums, error) {
	c, err := s.teamCube(ctx)
	if err != nil {
		return teamSums{}, err
	}
	var t teamSums
	if a := teamSumsBy(c, f, false, func(*teamDay) bool { return true })[true]; a != nil {
		t = *a
	}
	return t, nil
}
