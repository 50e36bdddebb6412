package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
)

// TestForecastOpenCells: the open deals read in cells (what a forecast reads
// above forecastSimMax open deals) give each group of each grouping the same
// open deals, amounts, weighted pipeline, expected pipeline, variance and
// called forecast as the deals read one by one, on a generated sample, with
// and without a filter (one the won statement answers from rep_days, one it
// answers from opp_facts), with the cells' products and, amounts not being
// of won deals only, without.
func TestForecastOpenCells(t *testing.T) {
	ctx := context.Background()
	sm := loadSample(t, gen.Config{Seed: 7, NoAnomalies: true})
	s := sm.svc
	asOf, _ := time.Parse(time.DateOnly, sm.truth.AsOf)
	groupBys := []string{"", "team", "rep", "territory", "product"}
	filters := []Filter{{}, {Segment: []string{"enterprise"}}, {}}
	for k, f0 := range filters {
		p, err := s.forecastPlan(ForecastRequest{Period: PeriodQuarter, AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		f := f0
		f.From, f.To = p.from, p.to
		in, err := s.fcFetch(ctx, Unrestricted, f, p, groupBys)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.open) == 0 || len(in.cells) != 0 {
			t.Fatalf("%v: %d deals one by one, %d cells: want the sample's few open deals one by one", f0, len(in.open), len(in.cells))
		}
		if k == 0 { // the last filter: the team of the first open deal (cols: team first)
			filters[2] = Filter{Team: []string{in.open[0].keys[0]}}
		}
		// Without the products (what a forecast reads when amounts are not
		// of won deals only) the cells give the same.
		for _, byProduct := range []bool{true, in.hist.basis.wonOnly} {
			byCells := in
			byCells.open = nil
			if byCells.cells, err = s.openCells(ctx, f, p, in.cols, byProduct); err != nil {
				t.Fatal(err)
			}
			rates, _ := s.ratesFrom(in.hist.rates, in.hist.basis)
			for _, by := range groupBys {
				a, _, err := s.forecastNow(p, by, in, rates)
				if err != nil {
					t.Fatal(err)
				}
				b, _, err := s.forecastNow(p, by, byCells, rates)
				if err != nil {
					t.Fatal(err)
				}
				if len(a) != len(b) {
					t.Fatalf("%v by %q: %d groups one by one, %d from cells", f0, by, len(a), len(b))
				}
				for i := range a {
					x, y := a[i], b[i]
					same := x.Key == y.Key && x.OpenDeals == y.OpenDeals && closeTo(y.OpenAmount, x.OpenAmount) && closeTo(y.PipelineExpected, x.PipelineExpected) &&
						closeTo(y.Weighted, x.Weighted) && closeTo(y.variance, x.variance) && closeTo(y.Point, x.Point) && closeTo(y.calls.commit, x.calls.commit) &&
						closeTo(y.calls.best, x.calls.best) && closeTo(y.calls.Uncategorised, x.calls.Uncategorised) && y.calls.Deals == x.calls.Deals
					if !same {
						t.Errorf("%v by %q group %q: one by one %+v, from cells %+v", f0, by, x.Key, x, y)
					}
				}
			}
			t.Logf("%v: %d open deals in %d cells (products: %v)", f0, len(in.open), len(byCells.cells), byProduct)
		}
	}
}

// TestOpenFromEqualsOpenAt: the open deals the forecast reads (opp_open and
// the deals closed on or after the day from opp_facts) are the opp_facts rows
// open at the day, the day after the export, at its date, a quarter before it
// and a month after the sample's first day, with and without a filter.
func TestOpenFromEqualsOpenAt(t *testing.T) {
	ctx := context.Background()
	sm := loadSample(t, gen.Config{Seed: 11, NoAnomalies: true})
	s := sm.svc
	export, _ := time.Parse(time.DateOnly, sm.truth.AsOf)
	first, _ := time.Parse(time.DateOnly, sm.truth.From)
	for _, asOf := range []time.Time{export.AddDate(0, 0, 1), export, export.AddDate(0, -3, 0), first.AddDate(0, 1, 0)} {
		for _, f := range []Filter{{}, {Segment: []string{"enterprise"}}} {
			p := fcPlan{asOf: asOf}
			from, args := openFrom(f, p)
			var a, b [3]float64
			q := "SELECT toFloat64(count()), sum(amount), toFloat64(sum(length(entered) + length(forecast_category))) FROM "
			if err := s.query(ctx, "test", q+from, args, func(r driverRows) error { return r.Scan(&a[0], &a[1], &a[2]) }); err != nil {
				t.Fatal(err)
			}
			var c cond
			dims(&c, f, "")
			r := "toDate('" + day(asOf) + "')"
			c.add("created_date < " + r + " AND NOT (closed = 1 AND close_date < " + r + ")") // open at the day
			if err := s.query(ctx, "test", q+"opp_facts"+c.where(), c.args, func(r driverRows) error { return r.Scan(&b[0], &b[1], &b[2]) }); err != nil {
				t.Fatal(err)
			}
			if a[0] != b[0] || !closeTo(a[1], b[1]) || a[2] != b[2] || a[0] == 0 {
				t.Errorf("%s %v: open deals, amount, entries+categories %v; from opp_facts %v", day(asOf), f.Segment, a, b)
			}
		}
	}
}

// TestOpenTodayEqualsOpenCells: the deals open today, read once into memory
// (openToday) and added up per request, give the cells openCells' statement
// gives: the same cells in the same order, counts and amounts, under each
// filter column, for each grouping a forecast uses, with and without products.
func TestOpenTodayEqualsOpenCells(t *testing.T) {
	ctx := context.Background()
	s := loadSample(t, gen.Config{Seed: 5, NoAnomalies: true}).svc
	v, err := s.db.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ctx = AsOf(ctx, v)
	c, err := s.openToday(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var team, rep, manager, territory, product, source, segment string
	if err := s.db.Conn.QueryRow(ctx, "SELECT any(team), any(owner_id), any(manager_id), any(territory), any(product), any(source), any(segment) FROM opp_open").
		Scan(&team, &rep, &manager, &territory, &product, &source, &segment); err != nil {
		t.Fatal(err)
	}
	p := fcPlan{asOf: s.today()}
	total := 0
	for _, f := range []Filter{{}, {Team: []string{team}}, {Rep: []string{rep}}, {Manager: []string{manager}}, {Territory: []string{territory}},
		{Product: []string{product}, Segment: []string{segment}}, {Source: []string{source, "nobody's"}}} {
		for _, cols := range [][]string{nil, {"''"}, {"team"}, {"owner_id"}, {"team", "owner_id", "territory", "product"}} {
			for _, byProduct := range []bool{false, true} {
				want, err := s.openCells(ctx, f, p, cols, byProduct)
				if err != nil {
					t.Fatal(err)
				}
				got := c.cells(f, cols, byProduct)
				if len(got) != len(want) || len(want) == 0 {
					t.Fatalf("%+v %v %v: %d cells, the statement's %d", f, cols, byProduct, len(got), len(want))
				}
				for i := range want {
					g, w := got[i], want[i]
					if fmt.Sprint(g.keys) != fmt.Sprint(w.keys) || g.product != w.product || g.segment != w.segment || g.category != w.category ||
						g.st != w.st || g.age != w.age || g.n != w.n || !closeTo(g.amount, w.amount) || !closeTo(g.sq, w.sq) {
						t.Fatalf("%+v %v %v: cell %d %+v, the statement's %+v", f, cols, byProduct, i, g, w)
					}
				}
				total += len(want)
			}
		}
	}
	t.Logf("%d cells compared, %d open deal rows in memory", total, len(c.rows))
}
