package query

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Bookings (won amount by close date) for attainment and coverage. rep_days
// holds them per owner, team and close day (and month), territory_days per
// deal territory: a request filtered at most by owner attributes reads those
// few thousand rows instead of scanning opp_facts, and so does one filtered by
// territory when it only needs territory targets. One product, source, segment
// or territory filter with rep, team and company targets reads rep_dim_months'
// whole months and opp_closes' other days; any other filter reads opp_closes.
// Every path gives the same numbers (TestBookingsRollupsMatchFacts).

// period is a target's [start, end).
type period struct{ start, end time.Time }

// bookingScopes says which kinds of target rows need their bookings.
// noTerritory: a territory target without an id, whose deals territory_days
// does not hold (it leaves out deals without a territory).
type bookingScopes struct{ owners, territories, noTerritory bool }

func (b *bookingScopes) add(scope, id string) {
	if scope == "territory" {
		b.territories = true
		b.noTerritory = b.noTerritory || id == ""
	} else {
		b.owners = true
	}
}

// pkey is a period (index) and a rep, team or territory id.
type pkey struct {
	p  int
	id string
}

// bookings is the won amount of each period by owner, team, territory and in
// all.
type bookings struct {
	owner, team, territory map[pkey]float64
	total                  map[int]float64
}

func newBookings() bookings {
	return bookings{owner: map[pkey]float64{}, team: map[pkey]float64{}, territory: map[pkey]float64{}, total: map[int]float64{}}
}

// of is what a target of the scope and id booked in period p.
func (b bookings) of(p int, scope, id string) float64 {
	switch scope {
	case "rep":
		return b.owner[pkey{p, id}]
	case "team":
		return b.team[pkey{p, id}]
	case "territory":
		return b.territory[pkey{p, id}]
	}
	return b.total[p]
}

// periodBookings reads the bookings of each period under f, from the
// pre-aggregates when they hold what need asks for under f.
func (s *Service) periodBookings(ctx context.Context, f Filter, periods []period, need bookingScopes) (bookings, error) {
	switch {
	case need.noTerritory || has(f.Territory, ""):
	case s.ownerOnly(f), s.placeOnly(f) && len(f.Segment) == 0 && !need.owners:
		return s.rollupBookings(ctx, f, periods, need)
	case !need.territories:
		if dim, values, _, _, ok := s.dimMonths(f); ok {
			return s.dimBookings(ctx, f, dim, values, periods)
		}
	}
	return s.factsBookings(ctx, f, periods)
}

// dimBookings is periodBookings for owner and company targets under a filter
// of one deal dimension (dimMonths): each period's whole months from
// rep_dim_months, its other days from opp_closes, in one statement.
func (s *Service) dimBookings(ctx context.Context, f Filter, dim string, values []string, periods []period) (bookings, error) {
	var parts []string
	var args []any
	for i, p := range periods {
		pf := Filter{From: p.start, To: p.end}
		spans := []daySpan{{p.start, p.end}}
		if m0, m1, ok := wholeMonths(pf); ok {
			c := dimMonthsWhere(f, dim, values, m0, m1)
			parts = append(parts, fmt.Sprintf("SELECT toUInt32(%d) AS pi, owner_id, team, sum(won_amount) AS booked FROM rep_dim_months%s GROUP BY owner_id, team", i, c.where()))
			args = append(args, c.args...)
			spans = edgeSpans(pf, m0, m1)
		}
		if len(spans) > 0 {
			var c cond
			c.add("won = 1")
			inSpans(&c, "close_date", spans)
			dims(&c, f, "")
			parts = append(parts, fmt.Sprintf("SELECT toUInt32(%d) AS pi, owner_id, team, sum(amount) AS booked FROM opp_closes%s GROUP BY owner_id, team", i, c.prewhere()))
			args = append(args, c.args...)
		}
	}
	out := newBookings()
	err := s.query(ctx, "bookings-dims", strings.Join(parts, " UNION ALL "), args, out.addOwners)
	return out, err
}

// addOwners adds a row (period index, owner, team, won amount) to the owners',
// teams' and total bookings.
func (b bookings) addOwners(r driverRows) error {
	var pi uint32
	var owner, team string
	var a float64
	if err := r.Scan(&pi, &owner, &team, &a); err != nil {
		return err
	}
	p := int(pi)
	b.owner[pkey{p, owner}] += a
	b.team[pkey{p, team}] += a
	b.total[p] += a
	return nil
}

// bookingsSQL is factsBookings' statement over the won deals of opp_closes
// (closes.go, sorted by close date), per period index pi (its arguments: the
// periods' starts, ends and starts again, then c's). c holds won = 1, the range
// and dims' filters; they go to PREWHERE, read before the ARRAY JOIN and before
// the visibility rule (cond.prewhere): only the range's won deals are joined.
func bookingsSQL(c cond) string {
	return "SELECT pi, owner_id, team, territory, sum(amount) FROM opp_closes ARRAY JOIN arrayFilter(i -> close_date >= toDate(arrayElement(?, i)) AND close_date < toDate(arrayElement(?, i)), arrayEnumerate(?)) AS pi" +
		c.prewhere() + " GROUP BY pi, owner_id, team, territory"
}

// wonSQL is wonInRange's statement under any filter: the won deals of
// opp_closes. c holds won = 1, the range and dims' filters.
func wonSQL(c cond) string { return "SELECT sum(amount) FROM opp_closes" + c.prewhere() }

// factsBookings reads the won deals of opp_closes: every filter, every scope.
func (s *Service) factsBookings(ctx context.Context, f Filter, periods []period) (bookings, error) {
	starts := make([]string, len(periods))
	ends := make([]string, len(periods))
	for i, p := range periods {
		starts[i], ends[i] = day(p.start), day(p.end)
	}
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	out := newBookings()
	args := append([]any{starts, ends, starts}, c.args...)
	err := s.query(ctx, "bookings", bookingsSQL(c), args, func(r driverRows) error {
		var pi uint32
		var owner, team, territory string
		var a float64
		if err := r.Scan(&pi, &owner, &team, &territory, &a); err != nil {
			return err
		}
		p := int(pi) - 1
		out.owner[pkey{p, owner}] += a
		out.team[pkey{p, team}] += a
		out.territory[pkey{p, territory}] += a
		out.total[p] += a
		return nil
	})
	return out, err
}

// rollupBookings reads rep_days (owners, teams, the total) and territory_days
// (territories), one UNION ALL branch per period over its whole months and
// edge days. f holds no product, source or segment filter; with a territory
// filter need has territories only (periodBookings).
func (s *Service) rollupBookings(ctx context.Context, f Filter, periods []period, need bookingScopes) (bookings, error) {
	out := newBookings()
	if need.owners {
		q, args := periodUnion(periods, "owner_id, team", "rep_days", func(c *cond) { ownerDims(c, f) })
		if err := s.query(ctx, "bookings", q, args, out.addOwners); err != nil {
			return out, err
		}
	}
	if need.territories {
		q, args := periodUnion(periods, "territory", "territory_days", func(c *cond) { c.in("territory", f.Territory) })
		err := s.query(ctx, "bookings", q, args, func(r driverRows) error {
			var pi uint32
			var territory string
			var a float64
			if err := r.Scan(&pi, &territory, &a); err != nil {
				return err
			}
			out.territory[pkey{int(pi), territory}] += a
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// periodUnion is one statement summing won_amount of a (grain, day) delta
// table by keys for each period: SELECT period index, keys, sum.
func periodUnion(periods []period, keys, table string, filter func(*cond)) (string, []any) {
	parts := make([]string, len(periods))
	var args []any
	for i, p := range periods {
		var c cond
		c.add(tokDelta)
		g, gargs := grainRange(Filter{From: p.start, To: p.end}, false)
		c.add(g, gargs...)
		filter(&c)
		parts[i] = fmt.Sprintf("SELECT toUInt32(%d) AS pi, %s, sum(won_amount) AS booked FROM %s%s GROUP BY %s", i, keys, table, c.where(), keys)
		args = append(args, c.args...)
	}
	return strings.Join(parts, " UNION ALL "), args
}

// wonInRange is the won amount closed in [f.From, f.To) under f, from rep_days
// (repDayTeams) or territory_days where f allows, else from opp_closes.
func (s *Service) wonInRange(ctx context.Context, f Filter) (float64, error) {
	var won float64
	scan := func(r driverRows) error { return r.Scan(&won) }
	switch {
	case has(f.Territory, ""): // territory_days leaves out deals without one
	case s.teamsServe(f):
		// The rows the cards' win rate and opened deals read too.
		ts, err := s.repDayTeams(ctx, f)
		for _, t := range ts {
			won += t.wonAmount
		}
		return won, err
	case s.placeOnly(f) && len(f.Segment) == 0: // a territory filter
		// territory_days has rep_days' grain and day columns; the owner
		// filters are empty when it is read.
		c := repDaysWhere(f, false)
		c.in("territory", f.Territory)
		err := s.query(ctx, "coverage-won", "SELECT sum(won_amount) FROM territory_days"+c.where(), c.args, scan)
		return won, err
	}
	var c cond
	c.add("won = 1")
	dateRange(&c, "close_date", f)
	dims(&c, f, "")
	err := s.query(ctx, "coverage-won", wonSQL(c), c.args, scan)
	return won, err
}
