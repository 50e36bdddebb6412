package detect

import (
	"math"
	"time"
)

// Daily judges the last days of a daily business series (counts or amounts)
// against a multiplicative model learnt from its own history:
//
//	expected(d) = level(d) × class factor(d) × period-end factor(d)
//
// level is the median of the de-seasonalised ordinary working days of the
// four weeks before d; the class factor is the series' own for each weekday,
// for public holidays and for swapped working days (调休); the period-end
// factor is learnt for the last three working days of a month and of a
// quarter. Deviations are measured on a variance-stabilised scale (square
// root: for counts and for amounts, sums of a random number of deals), in units of the history's robust spread
// for the day's group (working days, days off, holidays), so a series' own
// noise sets what is unusual.
//
// Two tests use it: Day (one day far from its expectation) and Shift (the
// last working days together off their expectation, the most extreme day left
// out, calibrated on the history's own runs of days).
type Daily struct {
	Counts bool
	cal    Calendar
	dates  []time.Time
	x      []float64
	class  []int
	end    []int // period-end position: 0 none, 1..3 month, 4..6 quarter (last, second-last, third-last working day)
	factor [nClasses]float64
	endF   [7]float64
	endN   [7]int
	mu     []float64 // expected values (NaN where unknown)
	e      []float64 // stabilised residuals
	scale  [3]float64
	hist   int    // days [0, hist) are history; the rest are judged
	work   []bool // working day under the calendar
	ord    []bool // ordinary: a weekday working day that is no period end
}

// DailyLookback is the history day-grain seasonal and level_shift rules read
// by default: a year and a week, so that month and quarter ends have been
// seen several times.
const DailyLookback = 371 * 24 * time.Hour

const (
	nClasses     = 10 // 0..6 weekday (time.Weekday), 7 holiday, 8 swapped working day, 9 unused
	clsHoliday   = 7
	clsSwapped   = 8
	levelDays    = 28 // days of history behind a level
	minEndSample = 2
)

// Day group of a class for the spread: 0 working, 1 off, 2 holiday.
func (d *Daily) group(i int) int {
	switch c := d.class[i]; {
	case c == clsHoliday:
		return 2
	case c == clsSwapped:
		return 0
	case d.work[i]:
		return 0
	}
	return 1
}

// NewDaily fits the model on points[:len(points)-judge] and computes the
// expectations and residuals of every point.
func NewDaily(points []DailyPoint, cal Calendar, counts bool, judge int) *Daily {
	n := len(points)
	d := &Daily{Counts: counts, cal: cal, hist: max(0, n-judge)}
	d.dates, d.x = make([]time.Time, n), make([]float64, n)
	d.class, d.end = make([]int, n), make([]int, n)
	d.work, d.ord = make([]bool, n), make([]bool, n)
	for i, p := range points {
		d.dates[i], d.x[i] = p.Date, p.Value
		switch {
		case cal.holiday(p.Date):
			d.class[i] = clsHoliday
		case cal.swapped(p.Date):
			d.class[i] = clsSwapped
		default:
			d.class[i] = int(p.Date.Weekday())
		}
		d.work[i] = d.class[i] == clsSwapped || (d.class[i] != clsHoliday && d.class[i] != int(time.Saturday) && d.class[i] != int(time.Sunday))
	}
	for i := range points {
		d.end[i] = d.periodEnd(i)
		c := d.class[i]
		d.ord[i] = c >= int(time.Monday) && c <= int(time.Friday) && d.end[i] == 0 && d.work[i]
	}
	d.fit()
	return d
}

// periodEnd is 1..3 for the last three working days of a month (last = 1),
// 4..6 for those of a quarter, 0 otherwise. Days after the series are looked
// up in the calendar.
func (d *Daily) periodEnd(i int) int {
	if !d.work[i] {
		return 0
	}
	t := d.dates[i]
	k := 1
	for n, j := t.AddDate(0, 0, 1), i+1; n.Month() == t.Month(); n, j = n.AddDate(0, 0, 1), j+1 {
		w := false
		if j < len(d.dates) && d.dates[j].Equal(n) {
			w = d.work[j]
		} else {
			w = d.cal.working(n)
		}
		if w {
			k++
			if k > 3 {
				return 0
			}
		}
	}
	if t.Month()%3 == 0 {
		return k + 3
	}
	return k
}

func (d *Daily) fit() {
	n := len(d.x)
	for c := range d.factor {
		d.factor[c] = 1
	}
	for k := range d.endF {
		d.endF[k] = 1
	}
	// Pass 0: levels of raw ordinary days; pass 1: of de-seasonalised ones.
	var level []float64
	for pass := 0; pass < 2; pass++ {
		level = d.levels()
		ratios := make([][]float64, nClasses)
		ends := make([][]float64, 7)
		for i := 0; i < d.hist; i++ {
			if math.IsNaN(level[i]) || level[i] <= 0 {
				continue
			}
			r := d.x[i] / level[i]
			if d.end[i] == 0 {
				ratios[d.class[i]] = append(ratios[d.class[i]], r)
			} else if pass == 1 {
				ends[d.end[i]] = append(ends[d.end[i]], r/d.factor[d.class[i]])
			}
		}
		for c := range ratios {
			if len(ratios[c]) >= 2 {
				d.factor[c] = medianOf(ratios[c])
				if c <= int(time.Saturday) {
					d.factor[c] = shrunk(d.factor[c], ratios[c])
				}
			}
		}
		if len(ratios[clsHoliday]) < 3 {
			d.factor[clsHoliday] = math.Min(d.factor[time.Saturday], d.factor[time.Sunday])
		}
		if len(ratios[clsSwapped]) < 2 {
			d.factor[clsSwapped] = d.factor[time.Friday]
		}
		for k := 1; k <= 6; k++ {
			d.endN[k] = len(ends[k])
			if m := len(ends[k]); m >= minEndSample {
				// The median of the few period ends seen; Z widens its
				// spread by the median's own uncertainty.
				d.endF[k] = shrunk(medianOf(ends[k]), ends[k])
			} else if k > 3 && d.endN[k-3] >= minEndSample {
				// A quarter end seen less than twice: at least a month end.
				d.endF[k] = d.endF[k-3]
			}
		}
	}
	d.mu, d.e = make([]float64, n), make([]float64, n)
	for i := range d.x {
		d.mu[i] = level[i] * d.factor[d.class[i]] * d.endF[d.end[i]]
		d.e[i] = d.g(d.x[i]) - d.g(d.mu[i])
		if math.IsNaN(d.mu[i]) {
			d.e[i] = math.NaN()
		}
	}
	var res [3][]float64
	for i := 0; i < d.hist; i++ {
		if !math.IsNaN(d.e[i]) {
			g := d.group(i)
			res[g] = append(res[g], math.Abs(d.e[i]))
		}
	}
	for g := range res {
		floor := 1e-9
		if d.Counts {
			floor = 0.5 // a Poisson count's spread on the square-root scale
		}
		s := floor
		if len(res[g]) >= 5 {
			s = math.Max(floor, 1.4826*medianOf(res[g]))
		}
		d.scale[g] = s
	}
	// Days off and holidays have fewer deals, not a steadier square root:
	// for compound Poisson sums the spread of √x does not fall with volume.
	d.scale[1] = math.Max(d.scale[1], d.scale[0])
	d.scale[2] = math.Max(d.scale[2], d.scale[1])
	if len(res[2]) < 3 {
		d.scale[2] *= 2
	}
}

// levels is, for each day, the median de-seasonalised value of the ordinary
// working days among the levelDays days before it. Judged days all keep the
// level of the history's last levelDays days: a window that shrank towards
// the history's end would rest on a few days, and an anomaly among them would
// set the level.
func (d *Daily) levels() []float64 {
	n := len(d.x)
	out := make([]float64, n)
	frozen := d.levelBefore(d.hist)
	for i := range out {
		if i >= d.hist {
			out[i] = frozen
			continue
		}
		out[i] = d.levelBefore(i)
	}
	return out
}

// levelBefore is the median de-seasonalised value of the ordinary working
// days in [h−levelDays, h), NaN with fewer than five.
func (d *Daily) levelBefore(h int) float64 {
	var buf []float64
	for j := max(0, h-levelDays); j < h; j++ {
		if d.ord[j] {
			buf = append(buf, d.x[j]/d.factor[d.class[j]])
		}
	}
	if len(buf) < 5 {
		return math.NaN()
	}
	return medianOf(buf)
}

// g is the variance-stabilising transform.
func (d *Daily) g(x float64) float64 {
	if d.Counts {
		return math.Sqrt(math.Max(x, 0) + 0.375)
	}
	return math.Sqrt(math.Max(x, 0))
}

// Expected is point i's expected value (NaN when the history is too short).
func (d *Daily) Expected(i int) float64 { return d.mu[i] }

// Z is point i's residual in units of its group's spread; holidays, and
// quarter and month ends whose factor rests on fewer than two earlier ones,
// count half.
func (d *Daily) Z(i int) float64 {
	if math.IsNaN(d.e[i]) {
		return 0
	}
	z := d.e[i] / d.scale[d.group(i)]
	if k := d.end[i]; k > 0 && d.endN[k] < minEndSample {
		z /= 2
	} else if k > 0 {
		// The factor is the median of endN[k] days: its error adds π/2/n of
		// a day's variance.
		z /= math.Sqrt(1 + math.Pi/2/float64(d.endN[k]))
	}
	if d.class[i] == clsHoliday {
		// Holidays differ among themselves (春节 is not 端午): half weight.
		z /= 2
	}
	return z
}

// Band is the expected range of point i at z standard units.
func (d *Daily) Band(i int, z float64) (lo, hi float64) {
	if math.IsNaN(d.mu[i]) {
		return math.NaN(), math.NaN()
	}
	s := d.scale[d.group(i)] * z
	inv := func(y float64) float64 {
		if d.Counts {
			return math.Max(y*math.Abs(y)-0.375, 0)
		}
		return math.Max(y*math.Abs(y), 0)
	}
	c := d.g(d.mu[i])
	return inv(c - s), inv(c + s)
}

// ShiftRun is the verdict of the shift test.
type ShiftRun struct {
	Days  []int   // the working days of the run, oldest first
	Z     float64 // standardised mean residual of the run without its most extreme day
	Dir   int
	Found bool
}

// Shift tests whether the last k working days (k = 4, 7 and 10) sit off their
// expectation together. The sum of their residuals, without the most extreme
// one (that is a day's news, not a shift), is compared with the same sums over
// the history's own runs, so slow natural wander does not count. The longest
// run whose standardised sum reaches minZ is returned; else the strongest.
func (d *Daily) Shift(minZ float64) ShiftRun {
	var work []int
	for i := range d.x {
		if d.group(i) == 0 && d.class[i] != clsSwapped && !math.IsNaN(d.e[i]) {
			work = append(work, i)
		}
	}
	best := ShiftRun{}
	for _, k := range []int{4, 7, 10} {
		if len(work) < k {
			continue
		}
		tail := work[len(work)-k:]
		if tail[k-1] < d.hist {
			continue
		}
		sd := d.runSpread(work, k)
		z := trimmedSum(d.e, tail) / sd
		r := ShiftRun{Days: tail, Z: z, Dir: sign(z), Found: math.Abs(z) >= minZ}
		if r.Found || (!best.Found && math.Abs(z) > math.Abs(best.Z)) {
			best = r
		}
	}
	return best
}

// runSpread is the robust spread of trimmed sums of k consecutive history
// working days, each run judged as the last days are: against the level of
// the levelDays days before a history end as far before the run's last day as
// the judged days reach beyond the history, so the level's drift while it
// stands still is part of the spread. It is at least √(k−1) times the
// single-day spread.
func (d *Daily) runSpread(work []int, k int) float64 {
	cut := len(d.x) - d.hist
	var hw []int
	for _, i := range work {
		if i < d.hist {
			hw = append(hw, i)
		}
	}
	levels := map[int]float64{}
	res := make([]float64, len(d.x))
	var sums []float64
	for s := 0; s+k <= len(hw); s++ {
		run := hw[s : s+k]
		h := run[k-1] + 1 - cut
		if h <= 0 || run[0] < h {
			continue
		}
		lvl, ok := levels[h]
		if !ok {
			lvl = d.levelBefore(h)
			levels[h] = lvl
		}
		if math.IsNaN(lvl) {
			continue
		}
		for _, i := range run {
			res[i] = d.g(d.x[i]) - d.g(lvl*d.factor[d.class[i]]*d.endF[d.end[i]])
		}
		sums = append(sums, math.Abs(trimmedSum(res, run)))
	}
	floor := d.scale[0] * math.Sqrt(float64(k-1))
	if len(sums) < 10 {
		return 1.5 * floor
	}
	return math.Max(floor, 1.4826*medianOf(sums))
}

// trimmedSum sums e over idx without its largest absolute value.
func trimmedSum(e []float64, idx []int) float64 {
	var sum, worst float64
	for _, i := range idx {
		sum += e[i]
		if math.Abs(e[i]) > math.Abs(worst) {
			worst = e[i]
		}
	}
	return sum - worst
}

func sign(x float64) int {
	if x < 0 {
		return -1
	}
	return 1
}

// shrunk pulls a factor learnt as the median of the ratios rs towards 1 by its
// own sampling error (positive-part James–Stein): a weekday or period-end
// factor the history cannot tell from 1 stays near 1 instead of scaling the
// day's expectation by the noise of a few days. A factor far from 1 against
// its error (a weekend's, a real month-end peak's) keeps its value.
func shrunk(f float64, rs []float64) float64 {
	dev := make([]float64, len(rs))
	for i, r := range rs {
		dev[i] = math.Abs(r - f)
	}
	// The median's standard error: √(π/2) σ/√n, σ from the MAD.
	se := 1.2533 * 1.4826 * medianOf(dev) / math.Sqrt(float64(len(rs)))
	d := f - 1
	if d == 0 {
		return f
	}
	return 1 + d*math.Max(0, 1-se*se/(d*d))
}
