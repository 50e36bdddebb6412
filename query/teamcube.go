package query

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// team_days in memory (inmemory.go): the overview's cards (the range and its
// two comparison ranges), the funnel, the conversion trend, the movement's
// opened and closed deals and the total win rate, when no filter names a rep
// or a deal dimension, are sums of its rows over a range; with one deal
// dimension, of dim_days' rows of the range read per request. At the large sample
// it holds 47,628 rows per publication.

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

// cubeSumCols are the sums of team_days' (and dim_days') columns the cube
// statements read, in the order of teamDay.sums.
const cubeSumCols = "sum(created), sum(created_amount), sum(created_won), sum(created_won_amount), sum(created_lost), " +
	"sum(created_open), sumForEach(reached), sum(won), sum(won_amount), sum(lost), sum(lost_amount)"

// sums are the scan destinations of cubeSumCols.
func (t *teamDay) sums() []any {
	return []any{&t.created, &t.createdAmount, &t.createdWon, &t.createdWonAmount, &t.createdLost,
		&t.createdOpen, &t.reached, &t.won, &t.wonAmount, &t.lost, &t.lostAmount}
}

// teamCube is team_days at one publication, summed per (grain, day, team,
// manager) and sorted by (grain, day).
type teamCube struct {
	rows []teamDay
}

// cubeServes: f names no rep and at most one deal dimension (product, source,
// segment, territory), so team_days' rows (in memory) or dim_days' rows of
// that dimension answer it (cubeSums).
func (s *Service) cubeServes(f Filter) bool {
	_, _, n := dealDim(f)
	return !s.noRollup && len(f.Rep) == 0 && n <= 1
}

// dealDim is the deal dimension f selects by and its values, and n the number
// of deal dimensions it selects by.
func dealDim(f Filter) (dim string, values []string, n int) {
	for i, vs := range [][]string{f.Product, f.Source, f.Segment, f.Territory} {
		if len(vs) > 0 {
			dim, values, n = repDimDims[i], vs, n+1
		}
	}
	return dim, values, n
}

// cubeSums adds up the rows that answer f (cubeServes) over its range
// (rangeRows) per key(row): team_days' in memory, or, for a deal dimension,
// dim_days' summed over teams and managers in memory (dimCubes), or, when
// byTeam or under a team or manager filter, dim_days' rows of the range read
// per day or month, team and manager (otherwise a row's team and manager are
// empty).
func cubeSums[K comparable](ctx context.Context, s *Service, f Filter, daysOnly, byTeam bool, key func(*teamDay) K) (map[K]*teamSums, error) {
	dim, values, n := dealDim(f)
	if n == 0 {
		c, err := s.teamCube(ctx)
		if err != nil {
			return nil, err
		}
		return teamSumsBy(c, f, daysOnly, key), nil
	}
	if !byTeam && len(f.Team) == 0 && len(f.Manager) == 0 {
		d, err := s.dimCubes(ctx)
		if err != nil {
			return nil, err
		}
		out := map[K]*teamSums{}
		for _, v := range slices.Compact(slices.Sorted(slices.Values(values))) {
			if c := d.m[dimKey{dim, v}]; c != nil {
				addTeamSums(out, c, f, daysOnly, key)
			}
		}
		return out, nil
	}
	c, err := s.dimCube(ctx, f, dim, values, daysOnly, byTeam)
	if err != nil {
		return nil, err
	}
	g := f
	g.Team, g.Manager = nil, nil // the read selected them
	return teamSumsBy(c, g, daysOnly, key), nil
}

// dimCube reads the dim_days rows of dim's values that make up f's range
// (grainRange), under f's team and manager filters, summed over the values
// and, unless byTeam, over teams and managers: a few hundred rows (every row
// of a year per team, tens of thousands at the large sample, took 51-73 ms
// in a run just after an upgrade's rebuild). The pages that ask for the same
// range and filter at once share the read.
func (s *Service) dimCube(ctx context.Context, f Filter, dim string, values []string, daysOnly, byTeam bool) (*teamCube, error) {
	var c cond
	c.add(tokDelta)
	c.add("dim = ?", dim)
	c.in("value", values)
	g, args := grainRange(f, daysOnly)
	c.add(g, args...)
	c.in("team", f.Team)
	c.in("manager_id", f.Manager)
	key, cols := "grain, day", "grain, day, '', ''"
	if byTeam {
		key = "grain, day, team, manager_id"
		cols = key
	}
	q := "SELECT " + cols + ", " + cubeSumCols + " FROM dim_days" + c.where() +
		" GROUP BY " + key + " ORDER BY " + key
	return sharedRead(ctx, s, q+fmt.Sprintf("%q", c.args), func(ctx context.Context) (*teamCube, error) {
		return s.scanCube(ctx, "dim-cube", q, c.args)
	})
}

// scanCube reads q's rows (team_days' key and sums, in key order) into a
// teamCube.
func (s *Service) scanCube(ctx context.Context, purpose, q string, args []any) (*teamCube, error) {
	c := &teamCube{}
	err := s.query(ctx, purpose, q, args, func(r driverRows) error {
		var t teamDay
		if err := r.Scan(append([]any{&t.grain, &t.day, &t.team, &t.manager}, t.sums()...)...); err != nil {
			return err
		}
		c.rows = append(c.rows, t)
		return nil
	})
	return c, err
}

// teamCube returns team_days at ctx's version.
func (s *Service) teamCube(ctx context.Context) (*teamCube, error) {
	return s.cubes.get(ctx, s, "team_days", s.readTeamCube)
}

// readTeamCube reads team_days at ctx's version summed per key (an
// incremental publication adds rows for keys earlier ones wrote): all of it,
// or prev's rows and those of the publications after since.
func (s *Service) readTeamCube(ctx context.Context, prev *teamCube, since uint64) (*teamCube, error) {
	where := readRows(prev != nil, since)
	q := "SELECT grain, day, team, manager_id, " + cubeSumCols + " FROM team_days WHERE " + where +
		" GROUP BY grain, day, team, manager_id ORDER BY grain, day, team, manager_id"
	c, err := s.scanCube(ctx, "team-cube", q, nil)
	if err != nil || prev == nil {
		return c, err
	}
	c.rows = mergeTeamRows(prev.rows, c.rows)
	return c, nil
}

// mergeTeamRows is a cube's rows old and add (both in key order) as one, the
// rows of equal keys added up; old is not modified.
func mergeTeamRows(old, add []teamDay) []teamDay {
	return mergeRows(old, add, func(a, b *teamDay) int {
		return cmp.Or(cmp.Compare(a.grain, b.grain), a.day.Compare(b.day), strings.Compare(a.team, b.team), strings.Compare(a.manager, b.manager))
	}, func(dst, src *teamDay) {
		dst.reached = slices.Clone(dst.reached) // shared with old
		dst.add(&src.teamSums)
	})
}

// teamSumsBy adds up the rows of c that make up f's range (rangeRows) under
// f's team and manager filters, per key(row).
func teamSumsBy[K comparable](c *teamCube, f Filter, daysOnly bool, key func(*teamDay) K) map[K]*teamSums {
	out := map[K]*teamSums{}
	addTeamSums(out, c, f, daysOnly, key)
	return out
}

// addTeamSums adds c's rows of f's range under f's team and manager filters
// to out, per key(row) (teamSumsBy).
func addTeamSums[K comparable](out map[K]*teamSums, c *teamCube, f Filter, daysOnly bool, key func(*teamDay) K) {
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
	rangeRows(c.rows, func(r *teamDay) (uint8, time.Time) { return r.grain, r.day }, f, daysOnly, add)
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

// teamPeriods are f's team_days (or dim_days) sums per period (periodOf), in order.
func (s *Service) teamPeriods(ctx context.Context, f Filter, period string) ([]time.Time, map[time.Time]*teamSums, error) {
	out, err := cubeSums(ctx, s, f, period == Week, false, func(r *teamDay) time.Time { return periodOf(period, r.day) })
	if err != nil {
		return nil, nil, err
	}
	keys := slices.SortedFunc(maps.Keys(out), func(a, b time.Time) int { return a.Compare(b) })
	return keys, out, nil
}

// teamTotal is f's team_days (or dim_days) sums over its range.
func (s *Service) teamTotal(ctx context.Context, f Filter) (teamSums, error) {
	sums, err := cubeSums(ctx, s, f, false, false, func(*teamDay) bool { return true })
	if err != nil {
		return teamSums{}, err
	}
	var t teamSums
	if a := sums[true]; a != nil {
		t = *a
	}
	return t, nil
}
