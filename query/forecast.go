package query

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// The forecast (METRICS.md, "Forecast and pacing"): won so far + Σ open deals'
// amount × P(won within the period | stage and age at the as-of day) + the
// expected bookings of deals not created yet. Every rate is estimated from the
// caller's own history (scope and filters applied) at weekly reference days
// before the as-of day, so a forecast made on a past day uses only what was
// known on that day: the backtest (Backtest, `pipelens bench forecast`) runs
// the very same code.
//
// The constants are fixed a priori, not fitted to any backtest.
const (
	// ForecastRefWeeks is how many weekly reference days the rates are
	// estimated at (a year).
	ForecastRefWeeks = 52
	// ForecastShrink is the pseudo-count pulling a stage's rate towards the
	// overall rate and a (stage, age) cell's towards its stage's.
	ForecastShrink = 10.0
	// ForecastRunRateDays is the window of the recent creation run-rate.
	ForecastRunRateDays = 91
	// ForecastHistoryDays bounds how old a deal may be to enter the history.
	ForecastHistoryDays = 3 * 365
	// forecastDraws is the number of simulated outcomes (fixed seed) when the
	// open deals are few enough; above forecastSimMax the normal approximation
	// of the sum of Bernoullis is used (it is accurate with that many deals).
	forecastDraws  = 2000
	forecastSimMax = 5000
)

// ForecastAgeBuckets are the upper bounds (days since creation, exclusive) of
// the age buckets but the last, which is open-ended.
var ForecastAgeBuckets = []int{30, 90}

// Forecast periods.
const (
	PeriodQuarter     = "quarter"
	PeriodNextQuarter = "next_quarter"
	PeriodMonth       = "month"
)

// ForecastRequest says what to forecast.
type ForecastRequest struct {
	Period  string // quarter (default), next_quarter, month
	GroupBy string // "" (the scope as a whole), team, rep, territory or product
	// AsOf is the day the forecast is made (midnight in the business zone):
	// what happened before it is known. Zero: today.
	AsOf time.Time
}

// ForecastGroup is the forecast of one group (or of the whole scope).
type ForecastGroup struct {
	Key  string `json:"key,omitempty"`
	Name string `json:"name,omitempty"`
	// Point = Won + PipelineExpected + NewExpected.
	Point float64 `json:"point"`
	P10   float64 `json:"p10"`
	P90   float64 `json:"p90"`
	// Won is the amount won in the period before the as-of day.
	Won float64 `json:"won"`
	// PipelineExpected is Σ amount × P(won within the period) over the deals
	// open at the as-of day.
	PipelineExpected float64 `json:"pipeline_expected"`
	// NewExpected is what deals created from the as-of day on are expected
	// to book within the period.
	NewExpected float64 `json:"new_expected"`
	OpenDeals   int64   `json:"open_deals"`
	OpenAmount  float64 `json:"open_amount"`
	// Weighted is the CRM-style weighted pipeline: Won + Σ open amount ×
	// the stage's default probability (StageProbability), beside the model.
	Weighted float64 `json:"weighted"`
	// CreatedPerDay is the amount created per day over the last
	// ForecastRunRateDays days (the run-rate behind NewExpected).
	CreatedPerDay float64 `json:"created_per_day"`

	// Called is the rep-called forecast from the CRM's forecast categories of
	// the open deals (nil when none of them carries one).
	Called *CalledForecast `json:"called,omitempty"`

	variance float64
	lambda   float64        // expected number of not-yet-created wins
	calls    CalledForecast // Called before it is known to hold a category
}

// CalledForecast is what the reps called through their CRM's forecast
// categories (Salesforce: Pipeline, Best Case, Commit, Closed, Omitted),
// cumulative as CRMs show them: Commit = won + open Commit deals; BestCase =
// Commit + open Best Case deals; Pipeline = BestCase + open Pipeline deals.
// Omitted and Uncategorised are the open amounts left out. Amounts are the
// deals' recorded amounts.
type CalledForecast struct {
	Commit        float64 `json:"commit"`
	BestCase      float64 `json:"best_case"`
	Pipeline      float64 `json:"pipeline"`
	Omitted       float64 `json:"omitted"`
	Uncategorised float64 `json:"uncategorised"`
	Deals         int64   `json:"deals"` // open deals with a category

	commit, best, pipe float64 // the open amount of each category alone
}

// finish sets the cumulative figures from the categories' open amounts and
// the amount won.
func (c *CalledForecast) finish(won float64) {
	c.Commit = won + c.commit
	c.BestCase = c.Commit + c.best
	c.Pipeline = c.BestCase + c.pipe
}

// open counts n open deals of category cat (ForecastCategory) and amount
// amount in all.
func (c *CalledForecast) open(cat string, amount float64, n int64) {
	switch cat {
	case "commit", "closed": // an open deal called closed: as good as committed
		c.commit += amount
	case "best_case":
		c.best += amount
	case "pipeline":
		c.pipe += amount
	case "omitted":
		c.Omitted += amount
	default:
		c.Uncategorised += amount
		return
	}
	c.Deals += n
}

func (c *CalledForecast) add(o *CalledForecast) {
	c.commit += o.commit
	c.best += o.best
	c.pipe += o.pipe
	c.Omitted += o.Omitted
	c.Uncategorised += o.Uncategorised
	c.Deals += o.Deals
}

// categorySeparators are left out of a forecast category before it is matched.
var categorySeparators = strings.NewReplacer(" ", "", "_", "", "-", "")

// ForecastCategory maps a CRM's forecast category to commit, best_case,
// pipeline, closed or omitted ("" when it names none of them).
func ForecastCategory(v string) string {
	if v == "" {
		return ""
	}
	k := strings.ToLower(categorySeparators.Replace(strings.TrimSpace(v)))
	switch k {
	case "commit", "committed", "forecast", "承诺", "确定":
		return "commit"
	case "bestcase", "best", "upside", "最佳情况", "乐观":
		return "best_case"
	case "pipeline", "管道", "渠道", "储备":
		return "pipeline"
	case "closed", "closedwon", "已关闭", "赢单":
		return "closed"
	case "omitted", "omit", "excluded", "忽略", "排除":
		return "omitted"
	}
	return ""
}

// StageRate is P(won within the period) for deals at one stage, overall and
// per age bucket, with the history it was estimated from.
type StageRate struct {
	Stage string `json:"stage"`
	Open  int64  `json:"open"` // deal-days of history: deals open at the reference days
	Won   int64  `json:"won"`  // of which won within the window
	// OpenAmount and WonAmount are the same in amount.
	OpenAmount float64 `json:"open_amount"`
	WonAmount  float64 `json:"won_amount"`
	P          float64 `json:"p"` // won amount / open amount, shrunk towards the overall rate
	// Ages is per age bucket (ForecastAgeBuckets), each shrunk towards P.
	Ages []AgeRate `json:"ages"`
}

// AgeRate is one age bucket of a StageRate.
type AgeRate struct {
	MinDays int     `json:"min_days"`
	MaxDays int     `json:"max_days"` // 0: no upper bound
	Open    int64   `json:"open"`
	Won     int64   `json:"won"`
	P       float64 `json:"p"`
}

// Pacing is the period's gap to target and what closing it takes.
type Pacing struct {
	Target      float64 `json:"target"`
	TargetLevel string  `json:"target_level"`
	Won         float64 `json:"won"`
	// Gap is max(target − won, 0).
	Gap       float64 `json:"gap"`
	WeeksLeft float64 `json:"weeks_left"`
	// NeededPerWeek is Gap / WeeksLeft (0 when no week is left).
	NeededPerWeek float64 `json:"needed_per_week"`
	// Coverage is open pipeline / Gap; CoverageNeeded is open pipeline /
	// pipeline expected (1 / the model's yield of the open pipeline):
	// Coverage ≥ CoverageNeeded exactly when the pipeline is expected to
	// close the gap. Both 0 when the gap is 0 (TargetReached).
	Coverage       float64 `json:"coverage"`
	CoverageNeeded float64 `json:"coverage_needed"`
	TargetReached  bool    `json:"target_reached"`
	// ProbReach is P(bookings of the period ≥ target) under the forecast's
	// distribution.
	ProbReach float64 `json:"prob_reach"`
}

// Forecast is the forecast of one period.
type Forecast struct {
	Period  string          `json:"period"`
	From    string          `json:"from"`
	To      string          `json:"to"`
	AsOf    string          `json:"as_of"`
	GroupBy string          `json:"group_by,omitempty"`
	Total   ForecastGroup   `json:"total"`
	Groups  []ForecastGroup `json:"groups,omitempty"`
	Pacing  *Pacing         `json:"pacing,omitempty"`
	Stages  []StageRate     `json:"stages"`
	// NewYield is the history's won amount within the window per amount
	// created in it (run-rate × NewYield × window days = NewExpected).
	NewYield float64 `json:"new_yield"`
	// Method is "simulation" (fixed seed) or "normal" (the range's method).
	Method string `json:"method"`
	// AmountsWonOnly: the data carries amounts for won deals only, so open
	// and future deals are valued at the mean won amount of their product
	// (amountBasis).
	AmountsWonOnly bool `json:"amounts_won_only"`
	// ForecastCategories: some open deal carries a CRM forecast category;
	// then the groups' Called beside the model.
	ForecastCategories bool `json:"forecast_categories"`
	// History is false when the scope has no history before the as-of day:
	// then only Won counts.
	History bool `json:"history"`
}

// periodOf is the period containing day d (or the next quarter). Quarters are
// fiscal: they start in the fiscal year's first month (WithFiscalYear) and
// every third month after it.
func (s *Service) periodOf(period string, d time.Time) (time.Time, time.Time, error) {
	fy := max(s.fyStart, 1)
	qs := time.Date(d.Year(), d.Month()-time.Month((int(d.Month())-fy+12)%3), 1, 0, 0, 0, 0, d.Location())
	switch period {
	case "", PeriodQuarter:
		return qs, qs.AddDate(0, 3, 0), nil
	case PeriodNextQuarter:
		return qs.AddDate(0, 3, 0), qs.AddDate(0, 6, 0), nil
	case PeriodMonth:
		s := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, d.Location())
		return s, s.AddDate(0, 1, 0), nil
	}
	return time.Time{}, time.Time{}, badParam("period", "%q: want quarter, next_quarter or month", period)
}

func daysBetween(a, b time.Time) int {
	// Calendar days, whatever daylight saving does to the hours between.
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return int(time.Date(by, bm, bd, 12, 0, 0, 0, time.UTC).Sub(time.Date(ay, am, ad, 12, 0, 0, 0, time.UTC)).Hours() / 24)
}

// StageProbability is the default probability of each open stage, the CRM's
// weighted-pipeline convention: for the default stages the values of
// Salesforce's defaults that ingest maps to them (lead 10%, qualified 25%,
// proposal 50%, negotiation 90%); for a configured pipeline of k stages,
// i/(k+1).
func (s *Service) StageProbability() []float64 {
	if strings.Join(s.stages, ",") == strings.Join(DefaultStages, ",") {
		return []float64{0.10, 0.25, 0.50, 0.90}
	}
	out := make([]float64, len(s.stages))
	for i := range out {
		out[i] = float64(i+1) / float64(len(s.stages)+1)
	}
	return out
}

// stageAt is the SQL of an opp_facts row's open stage rank at the start of
// day r (a Date expression): the stage of its latest entry before r, else the
// first stage.
func (s *Service) stageAt(r string) string {
	return "greatest(toUInt64(1), arrayReduce('max', arrayMap((e, i) -> if(e > toDateTime(0) AND toDate(e, " + s.tz + ") < " + r +
		", toUInt64(toUnixTimestamp(e)) * 256 + i, toUInt64(0)), entered, arrayEnumerate(entered))) % 256)"
}

// ageAt is the SQL of the age bucket (0-based) of a deal at day r.
func ageAt(r string) string {
	age := "(toInt64(toRelativeDayNum(" + r + ")) - toInt64(toRelativeDayNum(created_date)))"
	var b strings.Builder
	b.WriteString("multiIf(")
	for i, lim := range ForecastAgeBuckets {
		fmt.Fprintf(&b, "%s < %d, %d, ", age, lim, i)
	}
	fmt.Fprintf(&b, "%d)", len(ForecastAgeBuckets))
	return b.String()
}

type fcPlan struct {
	period         string // PeriodQuarter, PeriodNextQuarter or PeriodMonth
	asOf, from, to time.Time
	lo, hi         int // the window is [asOf+lo, asOf+hi) days
	refs           []string
}

func (s *Service) forecastPlan(req ForecastRequest) (fcPlan, error) {
	d := req.AsOf
	if d.IsZero() {
		d = s.today()
	}
	from, to, err := s.periodOf(req.Period, d)
	if err != nil {
		return fcPlan{}, err
	}
	period := req.Period
	if period == "" {
		period = PeriodQuarter
	}
	p := fcPlan{period: period, asOf: d, from: from, to: to, lo: max(daysBetween(d, from), 0), hi: daysBetween(d, to)}
	for j := 0; j < ForecastRefWeeks; j++ {
		p.refs = append(p.refs, day(d.AddDate(0, 0, -p.hi-7*j)))
	}
	return p, nil
}

// ceil7 is the SQL of ⌈x/7⌉ for x > 0, and of a number ≤ 0 for x ≤ 0 (all the
// ranges of j need: they clamp j to 0..51).
func ceil7(x string) string { return "intDiv(" + x + " + 6, 7)" }

// d0Minus is the SQL of days(r_0) − days(col), signed.
func (p fcPlan) d0Minus(col string) string {
	return "(toInt64(toRelativeDayNum(toDate('" + p.refs[0] + "'))) - toInt64(toRelativeDayNum(" + col + ")))"
}

// Forecast forecasts the bookings of a period under the caller's scope and
// filters (f.From and f.To are ignored: the period decides).
func (s *Service) Forecast(ctx context.Context, sc Scope, f Filter, req ForecastRequest) (Forecast, error) {
	fcs, err := s.forecasts(ctx, sc, f, req, []string{req.GroupBy})
	if len(fcs) == 0 {
		return Forecast{}, err
	}
	return fcs[0], err
}

// forecasts is Forecast for each grouping of groupBys (req.GroupBy is
// ignored), estimating the rates, yield and amount basis once for all.
func (s *Service) forecasts(ctx context.Context, sc Scope, f Filter, req ForecastRequest, groupBys []string) ([]Forecast, error) {
	p, err := s.forecastPlan(req)
	if err != nil {
		return nil, err
	}
	for _, by := range groupBys {
		switch by {
		case "", "team", "rep", "territory", "product":
		default:
			return nil, badParam("group_by", "%q: want team, rep, territory or product", by)
		}
	}
	f.From, f.To = p.from, p.to
	if f, err = s.scope(sc, f); err != nil {
		return nil, err
	}
	base := Forecast{Period: req.Period, From: day(p.from), To: day(p.to), AsOf: day(p.asOf), Stages: []StageRate{}}
	if base.Period == "" {
		base.Period = PeriodQuarter
	}
	in, err := s.fcFetch(ctx, sc, f, p, groupBys)
	if err != nil {
		return nil, err
	}
	base.AmountsWonOnly = in.hist.basis.wonOnly
	rates, hist := s.ratesFrom(in.hist.rates, in.hist.basis)
	base.Stages, base.History = rates.stages, hist
	base.NewYield = in.hist.yield
	// Each grouping simulates on its own (seeded) stream from the shared,
	// read-only inputs: the groupings of one request use the cores at once.
	out := make([]Forecast, len(groupBys))
	var g errgroup.Group
	for i, by := range groupBys {
		g.Go(func() (err error) {
			out[i], err = s.forecastGrouped(p, base, by, in, rates)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// forecastGrouped applies the shared estimates to the state at the as-of day,
// grouped by by, with the range and the pacing.
func (s *Service) forecastGrouped(p fcPlan, out Forecast, by string, in fcInputs, rates fcRates) (Forecast, error) {
	out.GroupBy = by
	groups, deals, err := s.forecastNow(p, by, in, rates)
	if err != nil {
		return out, err
	}
	if by == "rep" {
		for i := range groups {
			groups[i].Name = in.names[groups[i].Key]
		}
	}
	var totals []float64
	out.Method, totals = distribution(groups, deals, &out.Total)
	out.ForecastCategories = out.Total.Called != nil
	if by != "" {
		out.Groups = groups
	}
	out.Pacing = pacing(in.cov, p, out.Total, totals)
	return out, nil
}

// forecastRates estimates P(won within the window | stage, age bucket) from
// the deals open at each reference day.
// fcRates are the rates a forecast applies: pooled over the scope (stages,
// what the API shows) and per segment, each segment's (stage, age) cell
// shrunk towards the pooled cell.
type fcRates struct {
	stages []StageRate
	seg    map[string][][]float64
}

// p is P(won within the window) of a deal of segment seg at stage rank st
// (1-based) and age bucket age.
func (r fcRates) p(seg string, st uint64, age uint8) float64 {
	a := min(int(age), len(r.stages[st-1].Ages)-1)
	if cells, ok := r.seg[seg]; ok {
		return cells[st-1][a]
	}
	return r.stages[st-1].Ages[a].P
}

// rateHist is the history behind the rates: the (stage, age bucket) cells,
// pooled and per segment.
type rateHist struct {
	cells [][]rateCell
	bySeg map[string][][]rateCell
}

// ratesFrom estimates P(won within the window | stage, age bucket) from the
// history, pooled and per segment, and says whether there was any history.
func (s *Service) ratesFrom(h rateHist, basis amountBasis) (fcRates, bool) {
	k, nb := len(s.stages), len(ForecastAgeBuckets)+1
	out := fcRates{seg: map[string][][]float64{}}
	var hist bool
	out.stages, hist = shrinkRates(s.stages, h.cells, !basis.wonOnly)
	m := meanAmount(h.cells, !basis.wonOnly)
	for seg, g := range h.bySeg {
		ps := make([][]float64, k)
		for i := range g {
			ps[i] = make([]float64, nb)
			for j, c := range g[i] {
				ps[i][j] = c.shrunk(out.stages[i].Ages[j].P, m)
			}
		}
		out.seg[seg] = ps
	}
	return out, hist
}

// meanAmount is the mean amount of a deal-day over the cells (the unit of the
// shrinkage's pseudo-count), 0 for count rates.
func meanAmount(cells [][]rateCell, byAmount bool) float64 {
	if !byAmount {
		return 0
	}
	var all rateCell
	for i := range cells {
		for j := range cells[i] {
			cells[i][j].addTo(&all)
		}
	}
	return ratio(all.amt, all.n)
}

// amountBasis says how an open deal's amount enters the forecast. Some exports
// carry an amount for won deals only (Maven's close_value: 0 for every lost and
// open deal): there an open deal's amount, where present, was learnt when it
// was won, and the absent ones are not zero but unknown. Then (wonOnly) rates
// are count rates and every deal open at the as-of day, and every deal not
// created yet, is valued at the mean amount won per deal of its product before
// the as-of day, shrunk towards the overall mean with ForecastShrink deals.
type amountBasis struct {
	wonOnly bool
	mean    map[string]float64 // product -> shrunk mean won amount
	all     float64            // overall mean won amount
}

// ForecastWonOnlyMinLost is how many deals lost before the as-of day, none of
// them with an amount, make the amounts "won deals only".
const ForecastWonOnlyMinLost = 20

// amountBasis reads the deals closed in the history window from opp_closes
// (sorted by close date): first the totals, numbers only; the means per
// product, which read every deal's product, only when the amounts are of won
// deals only (most exports record lost amounts, and then nothing else is read).
func (s *Service) amountBasis(ctx context.Context, f Filter, p fcPlan) (amountBasis, error) {
	var c cond
	dims(&c, f, "")
	c.add("closed = 1 AND close_date < toDate(?) AND close_date >= toDate(?)", day(p.asOf), day(p.asOf.AddDate(0, 0, -ForecastHistoryDays)))
	var l, la, w uint64
	var wa float64
	err := s.fcQuery(ctx, "forecast amount totals", "SELECT "+closedCounts+" FROM opp_closes"+c.prewhere(), c.args, func(r driverRows) error { return r.Scan(&l, &la, &w, &wa) })
	if err != nil || !wonOnly(float64(l), float64(la), wa) {
		return amountBasis{}, err
	}
	rows, err := s.historyRows(ctx, fcPartClosed, f, p, "")
	return basisOf(rows), err
}

// wonOnly says whether amounts are of won deals only: enough deals lost, none
// of them with an amount, and won deals with some.
func wonOnly(lost, lostWithAmount, wonAmount float64) bool {
	return lost >= ForecastWonOnlyMinLost && lostWithAmount == 0 && wonAmount > 0
}

// value is the amount a deal of product with recorded amount counts for.
func (b amountBasis) value(product string, amount float64) float64 {
	if !b.wonOnly {
		return amount
	}
	if m, ok := b.mean[product]; ok {
		return m
	}
	return b.all
}

// rateCell is the history of one (stage, age bucket): deal-days open at the
// reference days (n) and their amount, and of those the won within the window
// (x) and their amount.
type rateCell struct{ n, x, amt, wonAmt float64 }

func (c *rateCell) addTo(t *rateCell) {
	t.n += c.n
	t.x += c.x
	t.amt += c.amt
	t.wonAmt += c.wonAmt
}

// shrunk is the cell's amount-weighted rate pulled towards prior with a weight
// of ForecastShrink deals of mean amount m: (won amount + K·m·prior) / (amount
// + K·m). The forecast is of amounts, so a rate is the share of the open amount
// that is won (big deals win at their own rate). With no amount anywhere (m =
// 0) the count rate, shrunk the same way.
func (c rateCell) shrunk(prior, m float64) float64 {
	if m > 0 {
		return (c.wonAmt + ForecastShrink*m*prior) / (c.amt + ForecastShrink*m)
	}
	return (c.x + ForecastShrink*prior) / (c.n + ForecastShrink)
}

// shrinkRates turns the cells into rates (count rates unless byAmount):
// overall = Σ won amount / Σ amount;
// stage = its cells together, shrunk towards overall; cell = shrunk towards
// its stage (rateCell.shrunk). It reports whether there was any history.
func shrinkRates(stages []string, cells [][]rateCell, byAmount bool) ([]StageRate, bool) {
	var all rateCell
	for i := range cells {
		for j := range cells[i] {
			cells[i][j].addTo(&all)
		}
	}
	m := meanAmount(cells, byAmount) // 0: count rates
	overall := ratio(all.x, all.n)
	if m > 0 {
		overall = ratio(all.wonAmt, all.amt)
	}
	out := make([]StageRate, len(stages))
	for i, st := range stages {
		var sc rateCell
		for j := range cells[i] {
			cells[i][j].addTo(&sc)
		}
		ps := sc.shrunk(overall, m)
		sr := StageRate{Stage: st, Open: int64(sc.n), Won: int64(sc.x), OpenAmount: sc.amt, WonAmount: sc.wonAmt, P: ps}
		for j, c := range cells[i] {
			ar := AgeRate{Open: int64(c.n), Won: int64(c.x), P: c.shrunk(ps, m)}
			if j > 0 {
				ar.MinDays = ForecastAgeBuckets[j-1]
			}
			if j < len(ForecastAgeBuckets) {
				ar.MaxDays = ForecastAgeBuckets[j]
			}
			sr.Ages = append(sr.Ages, ar)
		}
		out[i] = sr
	}
	return out, all.n > 0
}

// yieldTerms are the SQL of a deal's terms in the new-deal yield: n, at how
// many reference days r it was created in [r, r+hi), and w, at how many of
// those it was won within [r+lo, r+hi). The yield is Σ amount·w / Σ amount·n
// (and Σ w / Σ n by count, historySQL). How many there are is arithmetic on
// its dates (as in rateSpans: r_j ≤ created < r_j + hi ⇔ ⌈(d0 − created)/7⌉ ≤
// j < ⌈(d0 − created + hi)/7⌉), so no row is joined with its reference days.
func yieldTerms(p fcPlan) (n, w string) {
	jlo := "greatest(0, " + ceil7(p.d0Minus("created_date")) + ")"
	jhi := fmt.Sprintf("least(%d, %s)", len(p.refs), ceil7(fmt.Sprintf("(%s + %d)", p.d0Minus("created_date"), p.hi)))
	// Won within [r+lo, r+hi) ⇔ ⌈(d0 − close + lo)/7⌉ ≤ j < ⌈(d0 − close + hi)/7⌉.
	wlo := ceil7(fmt.Sprintf("(%s + %d)", p.d0Minus("close_date"), p.lo))
	whi := ceil7(fmt.Sprintf("(%s + %d)", p.d0Minus("close_date"), p.hi))
	n = fmt.Sprintf("toUInt64(greatest(0, %s - %s))", jhi, jlo)
	w = fmt.Sprintf("if(won = 1, toUInt64(greatest(0, least(%s, %s) - greatest(%s, %s))), toUInt64(0))", jhi, whi, jlo, wlo)
	return n, w
}

type forecastDeal struct {
	group  int
	amount float64
	p      float64
}

func groupCol(by string) string {
	switch by {
	case "team", "territory", "product":
		return by
	case "rep":
		return "owner_id"
	}
	return "''"
}

// forecastNow applies the rates to the scope's state at the as-of day (in's
// rows, keyed by in.cols), grouped by by.
func (s *Service) forecastNow(p fcPlan, by string, in fcInputs, rates fcRates) ([]ForecastGroup, []forecastDeal, error) {
	col := -1 // the key's place in in.cols; -1: the whole scope
	for i, c := range in.cols {
		if c == groupCol(by) {
			col = i
		}
	}
	key := func(keys []string) string {
		if col < 0 {
			return ""
		}
		return keys[col]
	}
	idx := map[string]int{}
	var groups []ForecastGroup
	g := func(key string) *ForecastGroup {
		i, ok := idx[key]
		if !ok {
			i = len(groups)
			idx[key] = i
			groups = append(groups, ForecastGroup{Key: key})
		}
		return &groups[i]
	}
	// Won so far and the recent creation run-rate, per group.
	for _, w := range in.won {
		x := g(key(w.keys))
		x.Won += w.won
		x.CreatedPerDay += w.created / ForecastRunRateDays
		x.lambda += float64(w.createdN) / ForecastRunRateDays * float64(p.hi) * in.hist.yieldN
	}
	for i := range groups {
		x := &groups[i]
		x.NewExpected = x.CreatedPerDay * float64(p.hi) * in.hist.yield
		if in.hist.basis.wonOnly {
			x.NewExpected = x.lambda * in.hist.basis.all
		}
	}
	// The deals open at the as-of day: one by one in a fixed order (the
	// simulation's), or in cells when they are too many to simulate.
	dflt := s.StageProbability()
	var deals []forecastDeal
	for _, d := range in.open {
		k := key(d.keys)
		amount := in.hist.basis.value(d.product, d.amount)
		pr, err := rates.checkedP(d.segment, d.st, d.age)
		if err != nil {
			return nil, nil, err
		}
		g(k).addOpen(d.category, d.amount, amount, amount*amount, 1, pr, dflt[d.st-1])
		deals = append(deals, forecastDeal{group: idx[k], amount: amount, p: pr})
	}
	for _, c := range in.cells {
		pr, err := rates.checkedP(c.segment, c.st, c.age)
		if err != nil {
			return nil, nil, err
		}
		sum, sq := c.amount, c.sq
		if in.hist.basis.wonOnly {
			v := in.hist.basis.value(c.product, 0)
			sum, sq = v*float64(c.n), v*v*float64(c.n)
		}
		g(key(c.keys)).addOpen(c.category, c.amount, sum, sq, int64(c.n), pr, dflt[c.st-1])
	}
	for i := range groups {
		x := &groups[i]
		if x.calls.Deals > 0 {
			c := x.calls
			c.finish(x.Won)
			x.Called = &c
		}
		x.Point = x.Won + x.PipelineExpected + x.NewExpected
		x.Weighted += x.Won
		if x.lambda > 0 {
			m := x.NewExpected / x.lambda
			x.variance += x.lambda * m * m
		}
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Key < groups[j].Key })
	remap := make([]int, len(groups))
	for i, x := range groups {
		remap[idx[x.Key]] = i
	}
	for i := range deals {
		deals[i].group = remap[deals[i].group]
	}
	return groups, deals, nil
}

// checkedP is p for a stage rank read from the data, which must be in range.
func (r fcRates) checkedP(seg string, st uint64, age uint8) (float64, error) {
	if st < 1 || int(st) > len(r.stages) {
		return 0, fmt.Errorf("stage rank %d out of 1..%d", st, len(r.stages))
	}
	return r.p(seg, st, age), nil
}

// addOpen counts n open deals of category cat with recorded amount recorded in
// all, valued (amountBasis) at sum in all and sq in squares, each won with
// probability pr, at a stage of default probability dflt.
func (x *ForecastGroup) addOpen(cat string, recorded, sum, sq float64, n int64, pr, dflt float64) {
	x.calls.open(cat, recorded, n)
	x.OpenDeals += n
	x.OpenAmount += sum
	x.PipelineExpected += sum * pr
	x.Weighted += recorded * dflt
	x.variance += sq * pr * (1 - pr)
}

// distribution fills each group's and the total's p10 and p90 and returns the
// method: a simulation with a fixed seed (every deal won or not, a Poisson
// number of new wins of the group's mean new amount) when the open deals are
// few, else the normal approximation of the sum. With a simulation it returns
// the simulated totals too (sorted), which probAtLeast counts.
func distribution(groups []ForecastGroup, deals []forecastDeal, total *ForecastGroup) (string, []float64) {
	for _, x := range groups {
		total.calls.add(&x.calls)
		total.Won += x.Won
		total.PipelineExpected += x.PipelineExpected
		total.NewExpected += x.NewExpected
		total.OpenDeals += x.OpenDeals
		total.OpenAmount += x.OpenAmount
		total.Weighted += x.Weighted
		total.CreatedPerDay += x.CreatedPerDay
		total.variance += x.variance
		total.lambda += x.lambda
	}
	total.Point = total.Won + total.PipelineExpected + total.NewExpected
	if total.calls.Deals > 0 {
		c := total.calls
		c.finish(total.Won)
		total.Called = &c
	}
	if total.OpenDeals > forecastSimMax { // then forecastOpen read them in cells
		for i := range groups {
			normalRange(&groups[i])
		}
		normalRange(total)
		return "normal", nil
	}
	draws := simulate(groups, deals, forecastDraws)
	for i := range groups {
		groups[i].P10, groups[i].P90 = quantile(draws.groups[i], 0.1), quantile(draws.groups[i], 0.9)
	}
	total.P10, total.P90 = quantile(draws.total, 0.1), quantile(draws.total, 0.9)
	return "simulation", draws.total
}

const z90 = 1.2815515655446004 // Φ⁻¹(0.9)

func normalRange(x *ForecastGroup) {
	sd := math.Sqrt(x.variance)
	x.P10 = math.Max(x.Point-z90*sd, x.Won)
	x.P90 = x.Point + z90*sd
}

type draws struct {
	groups [][]float64
	total  []float64
}

// simulate draws n outcomes with a fixed seed. A deal is won when the next
// uniform draw is below its probability: rng.Float64() < p, compared as the
// same 53 bits of the same source (u & (2^53-1) < ceil(p·2^53), exact since
// p·2^53 is), without a call through rand.Rand's interface per deal and draw.
func simulate(groups []ForecastGroup, deals []forecastDeal, n int) draws {
	src := rand.NewPCG(16, 2026)
	rng := rand.New(src)
	d := draws{groups: make([][]float64, len(groups)), total: make([]float64, n)}
	for i := range groups {
		d.groups[i] = make([]float64, n)
	}
	const bits53 = 1<<53 - 1
	type simDeal struct {
		below  uint64
		group  int
		amount float64
	}
	sim := make([]simDeal, len(deals))
	for j, dl := range deals {
		sim[j] = simDeal{uint64(math.Ceil(dl.p * (1 << 53))), dl.group, dl.amount}
	}
	// One draw's sums per group, in the same order of additions as into
	// d.groups, but in one small slice.
	acc := make([]float64, len(groups))
	for k := 0; k < n; k++ {
		for i, x := range groups {
			v := x.Won
			if x.lambda > 0 {
				v += float64(poisson(rng, x.lambda)) * x.NewExpected / x.lambda
			}
			acc[i] = v
		}
		for _, dl := range sim {
			if src.Uint64()&bits53 < dl.below {
				acc[dl.group] += dl.amount
			}
		}
		for i, v := range acc {
			d.groups[i][k] = v
			d.total[k] += v
		}
	}
	return d
}

// poisson draws from Poisson(l): Knuth's product of uniforms for small l, a
// rounded normal for large.
func poisson(rng *rand.Rand, l float64) int {
	if l > 50 {
		return max(0, int(math.Round(l+math.Sqrt(l)*rng.NormFloat64())))
	}
	lim, k, prod := math.Exp(-l), 0, rng.Float64()
	for prod > lim {
		k++
		prod *= rng.Float64()
	}
	return k
}

// quantile is the q-quantile of v (sorted in place), by linear interpolation.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	pos := q * float64(len(v)-1)
	i := int(pos)
	if i+1 >= len(v) {
		return v[len(v)-1]
	}
	return v[i] + (pos-float64(i))*(v[i+1]-v[i])
}

// probAtLeast is P(total ≥ t) under the forecast's distribution: the share
// of the simulated totals (distribution's), or the normal approximation's
// without them.
func probAtLeast(total ForecastGroup, totals []float64, t float64) float64 {
	if t <= total.Won {
		return 1
	}
	if totals == nil { // then forecastOpen read them in cells
		sd := math.Sqrt(total.variance)
		if sd == 0 {
			if total.Point >= t {
				return 1
			}
			return 0
		}
		return 0.5 * math.Erfc((t-total.Point)/(sd*math.Sqrt2))
	}
	hit := 0
	for _, v := range totals {
		if v >= t-1e-9 {
			hit++
		}
	}
	return float64(hit) / float64(len(totals))
}

// pacing is the gap to the period's target from the period's coverage (cov);
// nil when no target is in scope.
func pacing(cov Coverage, p fcPlan, total ForecastGroup, totals []float64) *Pacing {
	if cov.TargetLevel == "" {
		return nil
	}
	pc := &Pacing{Target: cov.Target, TargetLevel: cov.TargetLevel, Won: total.Won}
	pc.Gap = math.Max(pc.Target-pc.Won, 0)
	start := p.asOf
	if p.from.After(start) {
		start = p.from
	}
	pc.WeeksLeft = float64(max(daysBetween(start, p.to), 0)) / 7
	pc.TargetReached = pc.Gap == 0
	if !pc.TargetReached {
		pc.NeededPerWeek = ratio(pc.Gap, pc.WeeksLeft)
		pc.Coverage = total.OpenAmount / pc.Gap
		pc.CoverageNeeded = ratio(total.OpenAmount, total.PipelineExpected)
	}
	pc.ProbReach = probAtLeast(total, totals, pc.Target)
	return pc
}

// BacktestPoint is a forecast made on a past day against what happened.
type BacktestPoint struct {
	Quarter string  `json:"quarter"` // first day of the quarter
	AsOf    string  `json:"as_of"`
	Week    int     `json:"week"` // weeks into the quarter
	Actual  float64 `json:"actual"`
	Model   float64 `json:"model"`
	P10     float64 `json:"p10"`
	P90     float64 `json:"p90"`
	// RunRate: at the quarter's start the previous quarter's bookings, later
	// the bookings so far / the elapsed share of the quarter's days.
	RunRate float64 `json:"run_rate"`
	// Weighted: won so far + Σ amount × StageProbability of the stage each
	// deal open at the as-of day was at (a deal's probability as of a past day
	// is not kept: opportunities hold only the latest).
	Weighted float64 `json:"weighted"`
	// The model's parts: won before the as-of day, expected from the open
	// pipeline, expected from deals not created yet.
	Won              float64 `json:"won"`
	PipelineExpected float64 `json:"pipeline_expected"`
	NewExpected      float64 `json:"new_expected"`
}

// BacktestQuarters is the quarters a backtest can use: complete (their end
// on or before the last close date in the scope) and with at least a quarter
// of history before them (deals created earlier; a deal without a creation
// date, 1970-01-01, does not start the history).
func (s *Service) BacktestQuarters(ctx context.Context, sc Scope, f Filter) ([]time.Time, error) {
	f.From, f.To = time.Date(1971, 1, 1, 0, 0, 0, 0, s.loc), time.Date(2105, 1, 1, 0, 0, 0, 0, s.loc)
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	var c cond
	dims(&c, f, "")
	var first, last time.Time
	var n uint64
	err = s.query(ctx, "backtest span", "SELECT minIf(created_date, created_date > toDate('1970-01-01')), maxIf(close_date, closed = 1), count() FROM opp_facts"+c.prewhere(), c.args, func(r driverRows) error {
		return r.Scan(&first, &last, &n)
	})
	if err != nil || n == 0 {
		return nil, err
	}
	first = time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, s.loc)
	last = time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, s.loc)
	q, _, _ := s.periodOf(PeriodQuarter, first)
	var out []time.Time
	for q = q.AddDate(0, 3, 0); !q.AddDate(0, 3, 0).After(last.AddDate(0, 0, 1)); q = q.AddDate(0, 3, 0) {
		out = append(out, q)
	}
	return out, nil
}

// Backtest forecasts the quarter starting at quarter as of week weeks into it,
// from what was known then, with the two baselines and the actual bookings.
func (s *Service) Backtest(ctx context.Context, sc Scope, f Filter, quarter time.Time, week int) (BacktestPoint, error) {
	asOf := quarter.AddDate(0, 0, 7*week)
	fc, err := s.Forecast(ctx, sc, f, ForecastRequest{Period: PeriodQuarter, AsOf: asOf})
	if err != nil {
		return BacktestPoint{}, err
	}
	end := quarter.AddDate(0, 3, 0)
	bp := BacktestPoint{Quarter: day(quarter), AsOf: day(asOf), Week: week, Model: fc.Total.Point, P10: fc.Total.P10, P90: fc.Total.P90, Weighted: fc.Total.Weighted,
		Won: fc.Total.Won, PipelineExpected: fc.Total.PipelineExpected, NewExpected: fc.Total.NewExpected}
	f.From, f.To = quarter.AddDate(0, -3, 0), end
	if f, err = s.scope(sc, f); err != nil {
		return bp, err
	}
	var c cond
	dims(&c, f, "")
	c.add("won = 1")
	var actual, prev, sofar float64
	q := "SELECT sumIf(amount, close_date >= toDate(?) AND close_date < toDate(?)), sumIf(amount, close_date >= toDate(?) AND close_date < toDate(?)), sumIf(amount, close_date >= toDate(?) AND close_date < toDate(?)) FROM opp_facts" + c.prewhere()
	args := append([]any{day(quarter), day(end), day(quarter.AddDate(0, -3, 0)), day(quarter), day(quarter), day(asOf)}, c.args...)
	if err := s.query(ctx, "backtest actual", q, args, func(r driverRows) error { return r.Scan(&actual, &prev, &sofar) }); err != nil {
		return bp, err
	}
	bp.Actual = actual
	if week == 0 {
		bp.RunRate = prev
	} else {
		bp.RunRate = sofar * float64(daysBetween(quarter, end)) / float64(daysBetween(quarter, asOf))
	}
	return bp, nil
}
