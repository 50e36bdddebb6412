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
// and day per every column a forecast filters or groups by (openToday, 86,176
// rows read in 0.6 s at the large sample; serve's Warm reads it), and a
// request adds up the cells of its filter and grouping in Go, with the same
// cells in the same order. Strings are kept as codes into the cube's names,
// so that a request hashes numbers.

// The string columns of an openRow, indexes into its cols.
const (
	ocTeam = iota
	ocManager
	ocOwner
	ocTerritory
	ocProduct
	ocSource
	ocSegment
	ocCategory
	ocCols
)

// openRow is the open deals of one combination of every filter and group
// column, stage, age bucket and (raw) forecast category.
type openRow struct {
	cols       [ocCols]uint32 // codes into openCube.names
	st         uint64
	age        uint8
	n          uint64
	amount, sq float64
}

// openCube is the deals open at the start of day asOf.
type openCube struct {
	asOf  time.Time
	names []string // code -> value
	rows  []openRow
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
		var codes interned[string]
		var vals [ocCols]string
		dest := []any{}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		var o openRow
		dest = append(dest, &o.st, &o.age, &o.n, &o.amount, &o.sq)
		err := s.query(ctx, "open today", q, args, func(dr driverRows) error {
			if err := dr.Scan(dest...); err != nil {
				return err
			}
			for i, v := range vals {
				o.cols[i] = uint32(codes.code(v))
			}
			c.rows = append(c.rows, o)
			return nil
		})
		c.names = codes.list
		return c, err
	})
}

// fcColNames are the group columns a forecast's cells can be keyed by
// (groupCol's), each at most once (fcCols), and their openRow columns (-1:
// the constant key).
var fcColNames = [...]struct {
	name string
	col  int
}{{"team", ocTeam}, {"owner_id", ocOwner}, {"territory", ocTerritory}, {"product", ocProduct}, {"''", -1}}

// cells are the open deals of c under f's filters in openCells' cells: keyed
// by cols (fcColNames; the product only when byProduct), summed in a fixed
// order, and sorted as openCells sorts them.
func (c *openCube) cells(f Filter, cols []string, byProduct bool) []fcOpenCell {
	// allowed[col][code]: the filter admits the value (nil: no filter on col).
	var allowed [ocCols][]bool
	for col, vs := range map[int][]string{ocTeam: f.Team, ocManager: f.Manager, ocOwner: f.Rep, ocTerritory: f.Territory,
		ocProduct: f.Product, ocSource: f.Source, ocSegment: f.Segment} {
		if len(vs) == 0 {
			continue
		}
		allowed[col] = make([]bool, len(c.names))
		for code, name := range c.names {
			allowed[col][code] = slices.Contains(vs, name)
		}
	}
	keyCol := make([]int, len(cols))
	for j, name := range cols {
		keyCol[j] = -1
		for _, k := range fcColNames {
			if k.name == name {
				keyCol[j] = k.col
			}
		}
	}
	const none = ^uint32(0) // a key without a column: ""
	type key struct {
		keys                       [len(fcColNames)]uint32
		product, segment, category uint32
		st                         uint64
		age                        uint8
	}
	sums := map[key]*fcOpenCell{}
	var order []*fcOpenCell
	name := func(code uint32) string {
		if code == none {
			return ""
		}
		return c.names[code]
	}
rows:
	for i := range c.rows {
		o := &c.rows[i]
		for col, a := range allowed {
			if a != nil && !a[o.cols[col]] {
				continue rows
			}
		}
		k := key{product: none, segment: o.cols[ocSegment], category: o.cols[ocCategory], st: o.st, age: o.age}
		for j := range k.keys {
			k.keys[j] = none
		}
		for j, col := range keyCol {
			if col >= 0 {
				k.keys[j] = o.cols[col]
			}
		}
		if byProduct {
			k.product = o.cols[ocProduct]
		}
		x := sums[k]
		if x == nil {
			keys := make([]string, max(len(cols), 1))
			for j := range keyCol {
				keys[j] = name(k.keys[j])
			}
			x = &fcOpenCell{fcOpenDeal: fcOpenDeal{keys: keys, product: name(k.product), segment: name(k.segment), category: name(k.category), st: o.st, age: o.age}}
			sums[k] = x
			order = append(order, x)
		}
		x.n += o.n
		x.amount += o.amount
		x.sq += o.sq
	}
	slices.SortFunc(order, func(a, b *fcOpenCell) int {
		return cmp.Or(slices.Compare(a.keys, b.keys), strings.Compare(a.product, b.product), strings.Compare(a.segment, b.segment),
			cmp.Compare(a.st, b.st), cmp.Compare(a.age, b.age), strings.Compare(a.category, b.category))
	})
	out := make([]fcOpenCell, len(order))
	for i, x := range order {
		out[i] = *x
		out[i].category = ForecastCategory(x.category) // after sorting by the raw one, as openCells
	}
	return out
}
