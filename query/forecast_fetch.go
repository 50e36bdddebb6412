package query

import (
	"context"
	"strings"

	"golang.org/x/sync/errgroup"
)

// fcInputs is everything a forecast reads, for all its groupings at once: the
// statements are independent, so they run at the same time and the forecast
// waits for the slowest instead of their sum.
type fcInputs struct {
	hist  fcHist
	cols  []string // the group columns the won and open rows are keyed by
	won   []fcWonRow
	open  []fcOpenDeal      // the open deals one by one, when few enough to simulate
	cells []fcOpenCell      // else in cells
	cov   Coverage          // the period's coverage (its target, for the pacing)
	names map[string]string // rep names, when grouped by rep
}

// fcWonRow is what one key (cols) won before the as-of day in the period and
// created in the run-rate window.
type fcWonRow struct {
	keys     []string
	won      float64
	created  float64
	createdN uint64
}

// fcOpenDeal is a deal open at the as-of day (category: ForecastCategory's).
type fcOpenDeal struct {
	keys                       []string
	product, segment, category string
	amount                     float64
	st                         uint64
	age                        uint8
}

// fcCols are the group columns of groupBys, each once.
func fcCols(groupBys []string) []string {
	var cols []string
	for _, by := range groupBys {
		if c := groupCol(by); by != "" && !has(cols, c) {
			cols = append(cols, c)
		}
	}
	return cols
}

// fcFetch runs the forecast's statements for f (scoped, the period's range).
// The stored history (a few rows) is read first: it says whether the open
// deals' products matter (amountBasis), and grouping the open deals without
// them ships a third of the cells (targets on 3.2M opportunities).
func (s *Service) fcFetch(ctx context.Context, sc Scope, f Filter, p fcPlan, groupBys []string) (fcInputs, error) {
	in := fcInputs{cols: fcCols(groupBys)}
	hist, stored, err := s.storedFor(ctx, f, p)
	if err != nil {
		return in, err
	}
	in.hist = hist
	byProduct := !stored || hist.basis.wonOnly
	g, gctx := errgroup.WithContext(ctx)
	if !stored {
		g.Go(func() (err error) { in.hist, err = s.liveHistory(gctx, f, p); return })
	}
	g.Go(func() (err error) { in.won, err = s.forecastWon(gctx, f, p, in.cols); return })
	g.Go(func() (err error) { in.open, in.cells, err = s.forecastOpen(gctx, f, p, in.cols, byProduct); return })
	g.Go(func() (err error) { in.cov, err = s.Coverage(gctx, sc, f); return })
	if has(groupBys, "rep") {
		g.Go(func() error {
			reps, err := s.repDims(gctx)
			in.names = map[string]string{}
			for _, r := range reps {
				in.names[r.id] = r.name
			}
			return err
		})
	}
	return in, g.Wait()
}

// keyCols is the SELECT list of the group columns (a constant key when there
// are none, so that the statement still groups).
func keyCols(cols []string) string {
	if len(cols) == 0 {
		return "'' AS g0"
	}
	return strings.Join(cols, ", ")
}

// scanKeys scans a row whose first n columns are the keys, then rest.
func scanKeys(r driverRows, n int, rest ...any) ([]string, error) {
	keys := make([]string, max(n, 1))
	dest := make([]any, 0, len(keys)+len(rest))
	for i := range keys {
		dest = append(dest, &keys[i])
	}
	return keys, r.Scan(append(dest, rest...)...)
}

// forecastWon reads, per key, the amount won in the period before the as-of
// day and the amount and number created in the run-rate window. rep_days
// holds both by owner and day: it answers owner filters grouped by team or
// rep; opp_closes and opp_facts the rest.
func (s *Service) forecastWon(ctx context.Context, f Filter, p fcPlan, cols []string) ([]fcWonRow, error) {
	runFrom, asOf := day(p.asOf.AddDate(0, 0, -ForecastRunRateDays)), day(p.asOf)
	var c cond
	var q string
	var args []any
	if s.ownerOnly(f) && !has(cols, "territory") && !has(cols, "product") {
		c.add(tokDelta)
		c.add("grain = 0 AND (day >= toDate(?) AND day < toDate(?) OR day >= toDate(?) AND day < toDate(?))", day(p.from), asOf, runFrom, asOf)
		ownerDims(&c, f)
		inWon, inCreated := "day >= toDate(?) AND day < toDate(?)", "day >= toDate(?) AND day < toDate(?)"
		q = "SELECT " + keyCols(cols) + ", sumIf(won_amount, " + inWon + "), sumIf(created_amount, " + inCreated + "), sumIf(created, " + inCreated + ") FROM rep_days" +
			c.where() + " GROUP BY " + groupList(cols) + " HAVING sumIf(won, " + inWon + ") + sumIf(created, " + inCreated + ") > 0"
		args = append([]any{day(p.from), asOf, runFrom, asOf, runFrom, asOf}, c.args...)
		args = append(args, day(p.from), asOf, runFrom, asOf)
	} else {
		// The won deals by close date from opp_closes, the created ones by
		// creation date from opp_facts: both sorted by that date, so each reads
		// its range only (one statement over opp_facts read all of it).
		var wc, cc cond
		dims(&wc, f, "")
		wc.add("won = 1 AND close_date >= toDate(?) AND close_date < toDate(?)", day(p.from), asOf)
		dims(&cc, f, "")
		cc.add("created_date >= toDate(?) AND created_date < toDate(?)", runFrom, asOf)
		k := keyCols(cols)
		q = "SELECT " + groupList(cols) + ", sum(w), sum(c), sum(n) FROM (SELECT " + k + ", amount AS w, toFloat64(0) AS c, toUInt64(0) AS n FROM opp_closes" + wc.prewhere() +
			" UNION ALL SELECT " + k + ", toFloat64(0) AS w, amount AS c, toUInt64(1) AS n FROM opp_facts" + cc.prewhere() + ") GROUP BY " + groupList(cols)
		args = append(wc.args, cc.args...)
	}
	var out []fcWonRow
	err := s.fcQuery(ctx, "forecast won", q, args, func(r driverRows) error {
		var w fcWonRow
		var err error
		w.keys, err = scanKeys(r, len(cols), &w.won, &w.created, &w.createdN)
		out = append(out, w)
		return err
	})
	return out, err
}

func groupList(cols []string) string {
	if len(cols) == 0 {
		return "g0"
	}
	return strings.Join(cols, ", ")
}

// fcOpenCell is the open deals of one key, product, segment, stage, age
// bucket and category (ForecastCategory's): how many, their amount and the sum
// of its squares.
type fcOpenCell struct {
	fcOpenDeal
	n  uint64
	sq float64
}

// forecastOpen reads the deals open at the as-of day: in cells (the forecast
// needs only their sums when it does not simulate: forecastSimMax; at today's
// as-of from openToday in memory), then, when they are few enough to
// simulate, one by one in a fixed order (the simulation's). Shipping a hundred
// thousand deals to add them up cost more than adding them up.
func (s *Service) forecastOpen(ctx context.Context, f Filter, p fcPlan, cols []string, byProduct bool) ([]fcOpenDeal, []fcOpenCell, error) {
	var today *openCube
	if p.asOf.Equal(s.today()) && !s.noRollup {
		var err error
		if today, err = s.openToday(ctx); err != nil {
			return nil, nil, err
		}
	}
	var cells []fcOpenCell
	var err error
	if today != nil && today.asOf.Equal(p.asOf) { // else midnight passed between the two
		cells = today.cells(f, cols, byProduct)
	} else {
		cells, err = s.openCells(ctx, f, p, cols, byProduct)
	}
	var n uint64
	for _, c := range cells {
		n += c.n
	}
	if err != nil || n > forecastSimMax {
		return nil, cells, err
	}
	deals, err := s.openDeals(ctx, f, p, cols)
	return deals, nil, err
}

// openDealCols are the columns the forecast reads of an open deal.
const openDealCols = "opportunity_id, team, manager_id, owner_id, territory, product, source, segment, amount, entered, created_date, forecast_category"

// openFrom is the subquery of the deals open at the as-of day (created before
// it, not closed before it) under f: those open now from opp_open, the others
// (closed on or after the day) from opp_closes, sorted by close date, which
// reads only the granules of those closes (0033; from opp_facts, sorted by
// creation date, that read every row's flags and dates: 88 ms of 3.5M rows at
// the large sample). A row of opp_closes is closed (ingest settles a won
// deal's flags), so open at the day there is a close on or after it of a deal
// created before it.
func openFrom(f Filter, p fcPlan) (string, []any) {
	asOf := "toDate('" + day(p.asOf) + "')"
	var o, c cond
	dims(&o, f, "")
	o.add("created_date < " + asOf)
	dims(&c, f, "")
	c.add("close_date >= " + asOf + " AND created_date < " + asOf)
	return "(SELECT " + openDealCols + " FROM opp_open" + o.prewhere() + " UNION ALL SELECT " + openDealCols +
		" FROM opp_closes" + c.prewhere() + ")", append(o.args, c.args...)
}

// openCells reads the open deals in cells, in a fixed order; without
// byProduct every cell's product is "".
func (s *Service) openCells(ctx context.Context, f Filter, p fcPlan, cols []string, byProduct bool) ([]fcOpenCell, error) {
	asOf := "toDate('" + day(p.asOf) + "')"
	from, args := openFrom(f, p)
	prod := "''"
	if byProduct {
		prod = "product"
	}
	dimsOf := keyCols(cols) + ", " + prod + " AS prod, segment, " + s.stageAt(asOf) + " AS st, " + ageAt(asOf) + " AS age, forecast_category"
	by := groupList(cols) + ", prod, segment, st, age, forecast_category"
	q := "SELECT " + dimsOf + ", count(), sum(amount), sum(amount * amount) FROM " + from + " GROUP BY " + by + " ORDER BY " + by
	var cells []fcOpenCell
	err := s.fcQuery(ctx, "forecast open cells", q, args, func(r driverRows) error {
		var x fcOpenCell
		var err error
		x.keys, err = scanKeys(r, len(cols), &x.product, &x.segment, &x.st, &x.age, &x.category, &x.n, &x.amount, &x.sq)
		x.category = ForecastCategory(x.category)
		cells = append(cells, x)
		return err
	})
	return cells, err
}

// openDeals reads the open deals one by one, in the simulation's order.
func (s *Service) openDeals(ctx context.Context, f Filter, p fcPlan, cols []string) ([]fcOpenDeal, error) {
	asOf := "toDate('" + day(p.asOf) + "')"
	from, args := openFrom(f, p)
	q := "SELECT " + keyCols(cols) + ", product, segment, amount, " + s.stageAt(asOf) + " AS st, " + ageAt(asOf) + " AS age, forecast_category FROM " + from +
		" ORDER BY opportunity_id"
	var out []fcOpenDeal
	err := s.fcQuery(ctx, "forecast open", q, args, func(r driverRows) error {
		var d fcOpenDeal
		var err error
		d.keys, err = scanKeys(r, len(cols), &d.product, &d.segment, &d.amount, &d.st, &d.age, &d.category)
		d.category = ForecastCategory(d.category)
		out = append(out, d)
		return err
	})
	return out, err
}
