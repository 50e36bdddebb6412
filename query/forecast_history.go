package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// What a forecast learns from history (the rate history, the amount basis,
// the new-deal yield) depends on the as-of day, the period and the filter, not
// on the request. PrecomputeForecasts stores it in forecast_history for the
// current publication, today's as-of day, each period, no filter and every
// single value of each filter column; a forecast reads it from there when it
// can (storedFor) and computes it otherwise (liveHistory). Both run the same
// statements, grouped by the filter column when precomputing (migration 0023).

// fcHist is what a forecast learns from the scope's history.
type fcHist struct {
	rates         rateHist
	basis         amountBasis
	yield, yieldN float64
}

// fcHistDims are the filter columns whose single values are precomputed
// (dims: a manager's scope is a team, a rep's the owner).
var fcHistDims = []string{"team", "manager_id", "owner_id", "territory", "product", "source", "segment"}

// fcHistPeriods are the periods precomputed.
var fcHistPeriods = []string{PeriodQuarter, PeriodNextQuarter, PeriodMonth}

// Parts of forecast_history.
const (
	fcPartDone   = 0
	fcPartRate   = 1
	fcPartClosed = 2
	fcPartYield  = 3
)

// fcRow is one row of a history statement: the group's value, the key
// (segment or product), the stage rank and the numbers.
type fcRow struct {
	value, key string
	st         uint64
	nums       []float64
}

// fcKey is the filter column and value f is restricted to, "" for none; ok is
// false when f restricts more than one column or value.
func fcKey(f Filter) (dim, value string, ok bool) {
	lists := [][]string{f.Team, f.Manager, f.Rep, f.Territory, f.Product, f.Source, f.Segment}
	for i, l := range lists {
		switch {
		case len(l) == 0:
		case len(l) > 1 || dim != "":
			return "", "", false
		default:
			dim, value = fcHistDims[i], l[0]
		}
	}
	return dim, value, true
}

// fcModel fingerprints what the history depends on besides the data.
func (s *Service) fcModel() string {
	return fmt.Sprintf("v1 tz=%s stages=%s fy=%d ages=%v refs=%d hist=%d", s.tz, strings.Join(s.stages, ","), s.fyStart,
		ForecastAgeBuckets, ForecastRefWeeks, ForecastHistoryDays)
}

// storedFor is f's history for p as PrecomputeForecasts stored it for the
// version ctx reads; found is false when f has more than one filter value or
// nothing is stored.
func (s *Service) storedFor(ctx context.Context, f Filter, p fcPlan) (h fcHist, found bool, err error) {
	dim, value, ok := fcKey(f)
	if !ok {
		return h, false, nil
	}
	return s.storedHistory(ctx, p, dim, value)
}

// liveHistory computes f's history for p.
func (s *Service) liveHistory(ctx context.Context, f Filter, p fcPlan) (fcHist, error) {
	var h fcHist
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		rows, err := s.historyRows(gctx, fcPartRate, f, p, "")
		h.rates = s.ratesOf(rows)
		return err
	})
	g.Go(func() (err error) { h.basis, err = s.amountBasis(gctx, f, p); return })
	g.Go(func() error {
		rows, err := s.historyRows(gctx, fcPartYield, f, p, "")
		h.yield, h.yieldN = yieldOf(rows)
		return err
	})
	return h, g.Wait()
}

// historySQL is the statement of one part of the history, grouped by the
// column by ("" for no grouping; the group's value is the first column).
func (s *Service) historySQL(part int, f Filter, p fcPlan, by string) (string, []any) {
	v := "'' AS v"
	if by != "" {
		v = by + " AS v"
	}
	var c cond
	dims(&c, f, "")
	switch part {
	case fcPartRate:
		c.add("created_date < toDate(?) AND created_date >= toDate(?)", day(p.asOf), day(p.asOf.AddDate(0, 0, -ForecastHistoryDays)))
		c.add("NOT (closed = 1 AND close_date < toDate(?))", p.refs[len(p.refs)-1])
		// A deal without stage entries is left out (as the stage at each day
		// once did); the test reads the largest column, so after PREWHERE's
		// filters.
		return "SELECT v, segment, st, " + strings.Join(rateSums(p), ", ") + " FROM (" + s.rateSpans(p, v, c.prewhere()+" AND notEmpty(entered)") +
			") GROUP BY v, segment, st", c.args
	case fcPartClosed:
		c.add("closed = 1 AND close_date < toDate(?) AND close_date >= toDate(?)", day(p.asOf), day(p.asOf.AddDate(0, 0, -ForecastHistoryDays)))
		return "SELECT " + v + ", product, " + closedCounts + " FROM opp_closes" + c.prewhere() + " GROUP BY v, product ORDER BY v, product", c.args
	}
	c.add("created_date < toDate(?) AND created_date >= toDate(?)", day(p.asOf), p.refs[len(p.refs)-1])
	n, w := yieldTerms(p)
	return "SELECT v, '', toUInt64(0), sum(amount * n), sum(amount * w), sum(n), sum(w) FROM (SELECT " + v + ", amount, " + n + " AS n, " + w +
		" AS w FROM opp_facts" + c.prewhere() + ") GROUP BY v", c.args
}

// closedCounts are the closed deals' numbers the amount basis reads: lost,
// lost with an amount, won, and won amount.
const closedCounts = "countIf(won = 0), countIf(won = 0 AND amount != 0), countIf(won = 1), sumIf(amount, won = 1)"

var fcPartNames = map[int]string{fcPartRate: "forecast rates", fcPartClosed: "forecast amount basis", fcPartYield: "forecast new yield"}

// historyRows runs one part's statement.
func (s *Service) historyRows(ctx context.Context, part int, f Filter, p fcPlan, by string) ([]fcRow, error) {
	q, args := s.historySQL(part, f, p, by)
	var out []fcRow
	err := s.fcQuery(ctx, fcPartNames[part], q, args, func(r driverRows) error {
		var x fcRow
		dest := []any{&x.value, &x.key, &x.st}
		var nums []any
		switch part {
		case fcPartRate:
			for range len(ForecastAgeBuckets) + 1 {
				nums = append(nums, new(uint64), new(uint64), new(float64), new(float64))
			}
		case fcPartClosed:
			dest = dest[:2]
			nums = []any{new(uint64), new(uint64), new(uint64), new(float64)}
		default:
			nums = []any{new(float64), new(float64), new(uint64), new(uint64)}
		}
		if err := r.Scan(append(dest, nums...)...); err != nil {
			return err
		}
		for _, n := range nums {
			switch n := n.(type) {
			case *uint64:
				x.nums = append(x.nums, float64(*n))
			case *float64:
				x.nums = append(x.nums, *n)
			}
		}
		out = append(out, x)
		return nil
	})
	return out, err
}

// ratesOf is the rate history of a part's rows (one group's).
func (s *Service) ratesOf(rows []fcRow) rateHist {
	k, nb := len(s.stages), len(ForecastAgeBuckets)+1
	grid := func() [][]rateCell {
		g := make([][]rateCell, k)
		for i := range g {
			g[i] = make([]rateCell, nb)
		}
		return g
	}
	h := rateHist{cells: grid(), bySeg: map[string][][]rateCell{}}
	for _, x := range rows {
		if x.st < 1 || int(x.st) > k || len(x.nums) != 4*nb {
			continue
		}
		if h.bySeg[x.key] == nil {
			h.bySeg[x.key] = grid()
		}
		for i := range nb {
			n := x.nums[4*i:]
			one := rateCell{n: n[0], x: n[1], amt: n[2], wonAmt: n[3]}
			one.addTo(&h.cells[x.st-1][i])
			one.addTo(&h.bySeg[x.key][x.st-1][i])
		}
	}
	return h
}

// yieldOf is the new-deal yield of a part's rows, by amount and by count.
func yieldOf(rows []fcRow) (float64, float64) {
	var t [4]float64
	for _, x := range rows {
		for i := range min(4, len(x.nums)) {
			t[i] += x.nums[i]
		}
	}
	return ratio(t[1], t[0]), ratio(t[3], t[2])
}

// basisOf is the amount basis of the closed deals' rows, one per product.
func basisOf(rows []fcRow) amountBasis {
	var lost, lostWithAmount, won, wonAmount float64
	for _, x := range rows {
		lost, lostWithAmount, won, wonAmount = lost+x.nums[0], lostWithAmount+x.nums[1], won+x.nums[2], wonAmount+x.nums[3]
	}
	b := amountBasis{wonOnly: wonOnly(lost, lostWithAmount, wonAmount)}
	if !b.wonOnly {
		return b
	}
	b.all = wonAmount / won
	b.mean = map[string]float64{}
	for _, x := range rows {
		b.mean[x.key] = (x.nums[3] + ForecastShrink*b.all) / (x.nums[2] + ForecastShrink)
	}
	return b
}

// storedHistory reads the history PrecomputeForecasts stored for the version
// ctx reads, p and the filter column dim = value; found is false when there
// is none (not computed, or for another model).
func (s *Service) storedHistory(ctx context.Context, p fcPlan, dim, value string) (fcHist, bool, error) {
	v, err := s.Version(ctx)
	if err != nil {
		return fcHist{}, false, err
	}
	q := "SELECT run, part, key, st, nums FROM forecast_history WHERE as_of = ? AND period = ? AND dim = ? AND (value = ? OR part = 0) AND pub = ? AND model = ?"
	runs := map[uint64]map[int][]fcRow{} // run → part → rows; a done run has part 0
	err = s.fcQuery(ctx, "forecast history", q, []any{day(p.asOf), p.period, dim, value, v.Pub, s.fcModel()}, func(r driverRows) error {
		var run uint64
		var part uint8
		var x fcRow
		if err := r.Scan(&run, &part, &x.key, &x.st, &x.nums); err != nil {
			return err
		}
		if runs[run] == nil {
			runs[run] = map[int][]fcRow{}
		}
		runs[run][int(part)] = append(runs[run][int(part)], x)
		return nil
	})
	if err != nil {
		return fcHist{}, false, err
	}
	// Any done run will do (two serve processes may both have computed it):
	// the highest.
	var split map[int][]fcRow
	var best uint64
	for run, parts := range runs {
		if _, done := parts[fcPartDone]; done && (split == nil || run > best) {
			split, best = parts, run
		}
	}
	if split == nil {
		return fcHist{}, false, nil
	}
	h := fcHist{rates: s.ratesOf(split[fcPartRate]), basis: basisOf(split[fcPartClosed])}
	h.yield, h.yieldN = yieldOf(split[fcPartYield])
	return h, true, nil
}

// ForecastHistoryQuiet is how long serve lets a publication stand before it
// computes its forecasts' history (19 s of ClickHouse CPU on 3.2M
// opportunities): under a stream of loads each computation would be stale
// before it ended. Meanwhile forecasts compute their history per request.
const ForecastHistoryQuiet = 30 * time.Second

// PrecomputeForecasts stores the forecasts' history for the current
// publication and today's as-of day (each period; no filter and every single
// value of each filter column), unless it is stored already or the
// publication committed less than quiet ago, and deletes what was stored for
// earlier publications or days. It stops when another publication commits
// meanwhile. It says whether it computed anything.
func (s *Service) PrecomputeForecasts(ctx context.Context, quiet time.Duration) (bool, error) {
	today := time.Now().In(s.loc)
	return s.precomputeForecasts(ctx, time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, s.loc), quiet)
}

// precomputeForecasts is PrecomputeForecasts for the as-of day asOf.
func (s *Service) precomputeForecasts(ctx context.Context, asOf time.Time, quiet time.Duration) (bool, error) {
	v, err := s.db.CurrentVersion(ctx)
	if err != nil || v.Pub == 0 {
		return false, err
	}
	ctx = AsOf(ctx, v)
	have, err := s.historyDone(ctx, asOf, v.Pub)
	if err != nil || len(have) == len(fcHistPeriods)*(len(fcHistDims)+1) {
		return false, err
	}
	if quiet > 0 {
		var at time.Time
		if err := s.scalar(ctx, "forecast-history-age", "SELECT max(published_at) FROM publications WHERE pub = "+u(v.Pub), &at); err != nil || time.Since(at) < quiet {
			return false, err
		}
	}
	computed := false
	for _, period := range fcHistPeriods {
		p, err := s.forecastPlan(ForecastRequest{Period: period, AsOf: asOf})
		if err != nil {
			return computed, err
		}
		for _, dim := range append([]string{""}, fcHistDims...) {
			if have[period+"|"+dim] {
				continue
			}
			if now, err := s.db.CurrentVersion(ctx); err != nil || now.Pub != v.Pub {
				return computed, err
			}
			if err := s.storeHistory(ctx, p, v.Pub, dim); err != nil {
				return computed, err
			}
			computed = true
		}
	}
	if computed {
		err = s.mutate(ctx, "forecast_history", "pub < "+u(v.Pub)+" OR as_of < '"+day(asOf)+"' OR model != "+quote(s.fcModel()), false)
	}
	return computed, err
}

// historyDone is the periods and columns ("period|dim") whose history is
// stored for pub and asOf.
func (s *Service) historyDone(ctx context.Context, asOf time.Time, pub uint64) (map[string]bool, error) {
	have := map[string]bool{}
	q := "SELECT DISTINCT period, dim FROM forecast_history WHERE as_of = ? AND pub = ? AND model = ? AND part = 0"
	err := s.fcQuery(ctx, "forecast history done", q, []any{day(asOf), pub, s.fcModel()}, func(r driverRows) error {
		var period, dim string
		err := r.Scan(&period, &dim)
		have[period+"|"+dim] = true
		return err
	})
	return have, err
}

// storeHistory computes p's history for every value of dim ("" none) and
// stores it under a new run, then the run's done row.
func (s *Service) storeHistory(ctx context.Context, p fcPlan, pub uint64, dim string) error {
	run := rand.Uint64()
	model, now := s.fcModel(), time.Now()
	var rows [][]any
	for _, part := range []int{fcPartRate, fcPartClosed, fcPartYield} {
		got, err := s.historyRows(ctx, part, Filter{}, p, dim)
		if err != nil {
			return err
		}
		for _, x := range got {
			rows = append(rows, []any{model, pub, day(p.asOf), p.period, dim, x.value, run, uint8(part), x.key, x.st, x.nums, now})
		}
	}
	insert := "INSERT INTO forecast_history (model, pub, as_of, period, dim, value, run, part, key, st, nums, computed_at)"
	if len(rows) > 0 {
		if err := s.db.InsertRows(ctx, "forecast-history", insert, rows...); err != nil {
			return fmt.Errorf("store forecast history: %w", err)
		}
	}
	err := s.db.InsertRows(ctx, "forecast-history-done", insert, []any{model, pub, day(p.asOf), p.period, dim, "", run, uint8(fcPartDone), "", uint64(0), []float64{}, now})
	if err != nil {
		return fmt.Errorf("store forecast history: %w", err)
	}
	return nil
}
