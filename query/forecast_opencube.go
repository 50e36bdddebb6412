package query

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"
)

// The deals open today in memory. Each forecast and targets request grouped
// the open deals at its as-of day into cells (openCells): at the large sample
// 112k open deals into 13,060 cells, 35-40 ms of ClickHouse, the longest of a
// forecast's statements. At today's as-of (the default) the open deals depend
// on the publication and the day only, so they are read once per publication
// and day per every column a forecast filters or groups by (openCube; serve's
// Warm reads it), and a request adds up the cells of its filter and grouping
// in Go, with the same cells in the same order.

// openRow is the open deals of one combination of every filter and group
// column, stage, age bucket and (raw) forecast category.
type openRow struct {
	team, manager, owner, territory, product, source, segment, category string
	st                                                                  uint64
	age                                                                 uint8
	n                                                                   uint64
	amount, sq                                                          float64
}

// openCube is the deals open at the start of day asOf.
type openCube struct {
	asOf time.Time
	rows []openRow
}

// today is the start of the current day in the business time zone, the
// forecast's default as-of day (forecastPlan).
func (s *Service) today() time.Time {
	now := time.Now().In(s.loc)
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, s.loc)
}

// openToday returns the deals open at the start of today at ctx's version,
// read once per publication and day (memoized).
func (s *Service) openToday(ctx context.Context) (*openCube, error) {
	asOf := s.today()
	return memoized(ctx, s, memoOpen+day(asOf), func(ctx context.Context) (*openCube, error) {
		from, args := openFrom(Filter{}, fcPlan{asOf: asOf})
		r := "toDate('" + day(asOf) + "')"
		by := "team, manager_id, owner_id, territory, product, source, segment, forecast_category, st, age"
		q := "SELECT " + by + ", count(), sum(amount), sum(amount * amount) FROM (SELECT team, manager_id, owner_id, territory, product, source, segment, forecast_category, " +
			s.stageAt(r) + " AS st, " + ageAt(r) + " AS age, amount FROM " + from + ") GROUP BY " + by + " ORDER BY " + by
		c := &openCube{asOf: asOf}
		names := map[string]string{} // a few hundred distinct values in 100k rows: kept once
		intern := func(ps ...*string) {
			for _, p := range ps {
				if v, ok := names[*p]; ok {
					*p = v
				} else {
					names[*p] = *p
				}
			}
		}
		err := s.query(ctx, "open today", q, args, func(dr driverRows) error {
			var o openRow
			if err := dr.Scan(&o.team, &o.manager, &o.owner, &o.territory, &o.product, &o.source, &o.segment, &o.category, &o.st, &o.age, &o.n, &o.amount, &o.sq); err != nil {
				return err
			}
			intern(&o.team, &o.manager, &o.owner, &o.territory, &o.product, &o.source, &o.segment, &o.category)
			c.rows = append(c.rows, o)
			return nil
		})
		return c, err
	})
}

// cells are the open deals of c under f's filters in openCells' cells: keyed
// by cols (the product only when byProduct), summed in a fixed order, and
// sorted as openCells sorts them.
func (c *openCube) cells(f Filter, cols []string, byProduct bool) []fcOpenCell {
	in := func(vs []string, v string) bool { return len(vs) == 0 || slices.Contains(vs, v) }
	col := func(o *openRow, name string) string {
		switch name {
		case "team":
			return o.team
		case "owner_id":
			return o.owner
		case "territory":
			return o.territory
		case "product":
			return o.product
		}
		return "" // '': no key
	}
	type key struct {
		keys                       string // the key columns joined by \x00
		product, segment, category string
		st                         uint64
		age                        uint8
	}
	sums := map[key]*fcOpenCell{}
	for i := range c.rows {
		o := &c.rows[i]
		if !in(f.Team, o.team) || !in(f.Manager, o.manager) || !in(f.Rep, o.owner) || !in(f.Territory, o.territory) ||
			!in(f.Product, o.product) || !in(f.Source, o.source) || !in(f.Segment, o.segment) {
			continue
		}
		keys := make([]string, max(len(cols), 1))
		for j, name := range cols {
			keys[j] = col(o, name)
		}
		k := key{keys: strings.Join(keys, "\x00"), segment: o.segment, category: o.category, st: o.st, age: o.age}
		if byProduct {
			k.product = o.product
		}
		x := sums[k]
		if x == nil {
			x = &fcOpenCell{fcOpenDeal: fcOpenDeal{keys: keys, product: k.product, segment: o.segment, category: o.category, st: o.st, age: o.age}}
			sums[k] = x
		}
		x.n += o.n
		x.amount += o.amount
		x.sq += o.sq
	}
	out := make([]fcOpenCell, 0, len(sums))
	for _, x := range sums {
		out = append(out, *x)
	}
	slices.SortFunc(out, func(a, b fcOpenCell) int {
		return cmp.Or(slices.Compare(a.keys, b.keys), strings.Compare(a.product, b.product), strings.Compare(a.segment, b.segment),
			cmp.Compare(a.st, b.st), cmp.Compare(a.age, b.age), strings.Compare(a.category, b.category))
	})
	for i := range out {
		out[i].category = ForecastCategory(out[i].category) // after sorting by the raw one, as openCells
	}
	return out
}
