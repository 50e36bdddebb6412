package query

import (
	"context"
	"maps"
)

// dim_days in memory, summed over teams and managers: per deal dimension
// (product, source, segment, territory) and value, a teamCube of its (grain,
// day) rows with empty team and manager. Under one deal dimension and no rep,
// team or manager filter, the funnel, the conversion trend, the movement's
// opened and closed deals and the series add up a range of these rows in Go,
// as they do team_days' without a filter, where each request read dim_days
// (3-7 ms of ClickHouse for 400 rows of a year). At the large sample a version
// is 36,288 rows (dim_days holds 833,281 per team and manager): the statement
// takes 34 ms alone, and serve's first Warm read it in 0.38 s beside
// team_days and cycle_days.

// dimKey is a deal dimension and one of its values.
type dimKey struct{ dim, value string }

// dimCubes is dim_days at one publication, a teamCube per dimension and value.
type dimCubes struct {
	m map[dimKey]*teamCube
}

// dimCubes returns dim_days over teams and managers at ctx's version.
func (s *Service) dimCubes(ctx context.Context) (*dimCubes, error) {
	return s.dims.get(ctx, s, "dim_days", s.readDimCubes)
}

// readDimCubes reads dim_days at ctx's version summed per dimension, value,
// grain and day: all of it, or prev's rows and those of the publications
// after since (readFn).
func (s *Service) readDimCubes(ctx context.Context, prev *dimCubes, since uint64) (*dimCubes, error) {
	where := readRows(prev != nil, since)
	q := "SELECT dim, value, grain, day, " + cubeSumCols + " FROM dim_days WHERE " + where +
		" GROUP BY dim, value, grain, day ORDER BY dim, value, grain, day"
	add := map[dimKey]*teamCube{}
	err := s.query(ctx, "dim-cubes", q, nil, func(r driverRows) error {
		var k dimKey
		var t teamDay
		if err := r.Scan(append([]any{&k.dim, &k.value, &t.grain, &t.day}, t.sums()...)...); err != nil {
			return err
		}
		c := add[k]
		if c == nil {
			c = &teamCube{}
			add[k] = c
		}
		c.rows = append(c.rows, t)
		return nil
	})
	if err != nil || prev == nil {
		return &dimCubes{m: add}, err
	}
	out := maps.Clone(prev.m)
	for k, c := range add {
		if old := out[k]; old != nil {
			c = &teamCube{rows: mergeTeamRows(old.rows, c.rows)}
		}
		out[k] = c
	}
	return &dimCubes{m: out}, nil
}
