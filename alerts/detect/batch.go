package detect

import (
	"math"
	"sort"
	"time"
)

// spread is a robust standard deviation of sorted values around med.
func spread(sorted []float64, med float64) float64 {
	s := 1.4826 * madSorted(sorted, med)
	if s == 0 {
		var sum float64
		for _, v := range sorted {
			sum += math.Abs(v - med)
		}
		s = 1.2533 * sum / float64(len(sorted))
	}
	return math.Max(s, 1e-3*math.Max(math.Abs(med), 1e-9))
}

// Calendar marks the days that do not follow the weekday pattern. Keys are
// dates as "2006-01-02" in the business time zone. The caller supplies it,
// e.g. China's public holidays and the weekend days worked in exchange (调休).
type Calendar struct {
	Holidays    map[string]bool // days off: 春节, 国庆, national holidays
	WorkingDays map[string]bool // weekend days that are working days
}

func (c Calendar) holiday(d time.Time) bool { return lookupDay(c.Holidays, d) }

// swapped reports whether d is a weekend day worked in exchange (调休).
func (c Calendar) swapped(d time.Time) bool { return lookupDay(c.WorkingDays, d) }

// lookupDay looks d up in a set of "2006-01-02" keys without formatting (the
// detectors ask for every point and its neighbours).
func lookupDay(m map[string]bool, d time.Time) bool {
	if len(m) == 0 {
		return false
	}
	y, mo, day := d.Date()
	var b [10]byte
	put := func(at, v, n int) {
		for i := at + n - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, int(mo), 2)
	b[7] = '-'
	put(8, day, 2)
	return m[string(b[:])]
}

// working reports whether d is a working day under the calendar.
func (c Calendar) working(d time.Time) bool {
	if c.holiday(d) {
		return false
	}
	if c.swapped(d) {
		return true
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// DailyPoint is one day's value of a metric; Date is midnight (or any time)
// of that day in the business time zone.
type DailyPoint struct {
	Date  time.Time
	Value float64
}

// DayKind says which comparable days an expectation was built from.
type DayKind int

const (
	Workday    DayKind = iota // an ordinary working day: same weekday in earlier weeks
	DayOff                    // weekend: same weekday in earlier weeks
	Holiday                   // public holiday: earlier holidays, else days off
	MonthEnd                  // last working day of a month
	QuarterEnd                // last working day of a quarter
)

// Expectation is a day's value against its seasonal baseline, built from
// earlier days only.
type Expectation struct {
	Date     time.Time
	Value    float64
	Baseline float64 // expected value; NaN when no comparable day exists yet
	Scale    float64 // robust spread of the comparable days
	Z        float64 // (Value − Baseline) / Scale; 0 without a baseline
	Kind     DayKind
	Support  int // comparable days behind the baseline
}

// SeasonalBaseline compares each day with comparable earlier days: ordinary
// days with the same weekday of the last weeks weeks (holidays and swapped
// working days excluded), holidays with earlier holidays, and month- and
// quarter-ends with earlier ones, scaled by how those ran against their own
// weekday baseline. Points must be in date order, one per day.
func SeasonalBaseline(points []DailyPoint, cal Calendar, weeks int) []Expectation {
	if weeks <= 0 {
		weeks = 8
	}
	out := make([]Expectation, len(points))
	kinds := make([]DayKind, len(points))
	swapped := make([]bool, len(points)) // 调休: a weekend day worked
	working := make([]bool, len(points))
	for i, p := range points {
		kinds[i] = dayKind(p.Date, cal)
		swapped[i], working[i] = cal.swapped(p.Date), cal.working(p.Date)
	}
	// weekdayBase is the plain weekday expectation of day i, from ordinary
	// earlier days of the same weekday and working status.
	weekdayBase := func(i int) (base, scale float64, n int) {
		var vals []float64
		d := points[i].Date
		work := working[i]
		for j := i - 1; j >= 0 && len(vals) < weeks; j-- {
			pj := points[j].Date
			if d.Sub(pj) > time.Duration(weeks+2)*7*24*time.Hour {
				break
			}
			if kinds[j] == Holiday || swapped[j] {
				continue
			}
			if work && swapped[i] {
				// A swapped working day behaves like an ordinary workday.
				if !working[j] {
					continue
				}
			} else if pj.Weekday() != d.Weekday() {
				continue
			}
			vals = append(vals, points[j].Value)
		}
		if len(vals) == 0 {
			return math.NaN(), 0, 0
		}
		sort.Float64s(vals)
		med := quantileSorted(vals, 0.5)
		return med, spread(vals, med), len(vals)
	}
	ratio := map[DayKind][]float64{}
	// Few comparable days give a shaky spread; the recent residuals of all
	// days are a floor under it.
	var resid []float64
	for i, p := range points {
		e := Expectation{Date: p.Date, Value: p.Value, Kind: kinds[i]}
		base, scale, n := weekdayBase(i)
		switch e.Kind {
		case Holiday:
			var hs []float64
			for j := i - 1; j >= 0; j-- {
				if kinds[j] == Holiday {
					hs = append(hs, points[j].Value)
				}
			}
			if len(hs) >= 2 {
				sort.Float64s(hs)
				base = quantileSorted(hs, 0.5)
				scale, n = spread(hs, base), len(hs)
			} else {
				base, scale, n = offDayBase(points, kinds, cal, i, weeks)
			}
		case MonthEnd, QuarterEnd:
			if rs := ratio[e.Kind]; len(rs) > 0 && !math.IsNaN(base) {
				cp := append([]float64(nil), rs...)
				f := medianOf(cp)
				base *= f
				scale *= math.Max(f, 1)
				n = min(n, len(rs))
			}
		}
		if e.Kind == MonthEnd || e.Kind == QuarterEnd {
			if wb, _, m := weekdayBase(i); m > 0 && wb != 0 {
				ratio[e.Kind] = append(ratio[e.Kind], p.Value/wb)
			}
		}
		if len(resid) >= 7 {
			recent := append([]float64(nil), resid[max(0, len(resid)-7*weeks):]...)
			for k := range recent {
				recent[k] = math.Abs(recent[k])
			}
			scale = math.Max(scale, 1.4826*medianOf(recent))
		}
		e.Baseline, e.Scale, e.Support = base, scale, n
		if n > 0 && !math.IsNaN(base) {
			e.Z = (p.Value - base) / scale
			resid = append(resid, p.Value-base)
		} else {
			e.Baseline = math.NaN()
		}
		out[i] = e
	}
	return out
}

// offDayBase is the expectation of a holiday without holiday history: the
// recent ordinary days off.
func offDayBase(points []DailyPoint, kinds []DayKind, cal Calendar, i, weeks int) (float64, float64, int) {
	var vals []float64
	for j := i - 1; j >= 0 && len(vals) < 2*weeks; j-- {
		if kinds[j] == DayOff {
			vals = append(vals, points[j].Value)
		}
	}
	if len(vals) == 0 {
		return math.NaN(), 0, 0
	}
	sort.Float64s(vals)
	med := quantileSorted(vals, 0.5)
	return med, spread(vals, med), len(vals)
}

func dayKind(d time.Time, cal Calendar) DayKind {
	if cal.holiday(d) {
		return Holiday
	}
	if !cal.working(d) {
		return DayOff
	}
	// Last working day of the month: no working day follows within it.
	last := true
	for n := d.AddDate(0, 0, 1); n.Month() == d.Month(); n = n.AddDate(0, 0, 1) {
		if cal.working(n) {
			last = false
			break
		}
	}
	if !last {
		return Workday
	}
	if d.Month()%3 == 0 {
		return QuarterEnd
	}
	return MonthEnd
}

// Change is a detected change point: the series behaves differently from
// Index on.
type Change struct {
	Index  int     // first point of the new regime
	Before float64 // level (LevelShift) or slope per point (TrendChange) before
	After  float64 // ... and from Index on
	Score  float64 // strength: robust z of the shift, or F statistic of the break
}

// LevelShift finds the strongest single shift in level, with at least
// minSegment points on each side. It reports it when the medians of the two
// sides differ by more than minZ robust standard deviations of the
// within-side noise (minZ <= 0 means 4).
func LevelShift(series []float64, minSegment int, minZ float64) (Change, bool) {
	n := len(series)
	if minSegment < 2 {
		minSegment = 2
	}
	if minZ <= 0 {
		minZ = 4
	}
	if n < 2*minSegment {
		return Change{}, false
	}
	// CUSUM: the split that maximises the weighted mean difference.
	var total float64
	for _, x := range series {
		total += x
	}
	best, bestK := -1.0, -1
	var left float64
	for k := 1; k < n; k++ {
		left += series[k-1]
		if k < minSegment || n-k < minSegment {
			continue
		}
		d := left/float64(k) - (total-left)/float64(n-k)
		stat := math.Abs(d) * math.Sqrt(float64(k)*float64(n-k)/float64(n))
		if stat > best {
			best, bestK = stat, k
		}
	}
	if bestK < 0 {
		return Change{}, false
	}
	a := append([]float64(nil), series[:bestK]...)
	b := append([]float64(nil), series[bestK:]...)
	sort.Float64s(a)
	sort.Float64s(b)
	ma, mb := quantileSorted(a, 0.5), quantileSorted(b, 0.5)
	sa, sb := spread(a, ma), spread(b, mb)
	noise := math.Sqrt((sa*sa*float64(len(a)) + sb*sb*float64(len(b))) / float64(n))
	c := Change{Index: bestK, Before: ma, After: mb, Score: math.Abs(mb-ma) / noise}
	return c, c.Score >= minZ
}

// TrendChange finds the strongest single break in a linear trend (two lines
// fitted left and right of the break, at least minSegment points each). It
// reports it when the F statistic of two lines against one exceeds minF
// (minF <= 0 means 20) and the slopes differ in sign or by half the larger.
func TrendChange(series []float64, minSegment int, minF float64) (Change, bool) {
	n := len(series)
	if minSegment < 3 {
		minSegment = 3
	}
	if minF <= 0 {
		minF = 20
	}
	if n < 2*minSegment || n < 6 {
		return Change{}, false
	}
	// Prefix sums of x, x², y, y², xy let each candidate be fitted in O(1).
	px := make([]float64, n+1)
	pxx := make([]float64, n+1)
	py := make([]float64, n+1)
	pyy := make([]float64, n+1)
	pxy := make([]float64, n+1)
	for i, y := range series {
		x := float64(i)
		px[i+1] = px[i] + x
		pxx[i+1] = pxx[i] + x*x
		py[i+1] = py[i] + y
		pyy[i+1] = pyy[i] + y*y
		pxy[i+1] = pxy[i] + x*y
	}
	fit := func(a, b int) (slope, sse float64) {
		m := float64(b - a)
		Sx, Sxx := px[b]-px[a], pxx[b]-pxx[a]
		Sy, Syy, Sxy := py[b]-py[a], pyy[b]-pyy[a], pxy[b]-pxy[a]
		vx := Sxx - Sx*Sx/m
		cxy := Sxy - Sx*Sy/m
		vy := Syy - Sy*Sy/m
		if vx <= 0 {
			return 0, math.Max(vy, 0)
		}
		slope = cxy / vx
		return slope, math.Max(vy-cxy*cxy/vx, 0)
	}
	_, sse1 := fit(0, n)
	best := Change{Score: -1}
	for k := minSegment; k <= n-minSegment; k++ {
		s1, e1 := fit(0, k)
		s2, e2 := fit(k, n)
		sse2 := e1 + e2
		den := sse2 / float64(n-4)
		var f float64
		if den > 0 {
			f = ((sse1 - sse2) / 2) / den
		} else if sse1 > 0 {
			f = math.Inf(1)
		}
		if f > best.Score {
			best = Change{Index: k, Before: s1, After: s2, Score: f}
		}
	}
	if best.Score < minF {
		return best, false
	}
	differ := best.Before*best.After < 0 ||
		math.Abs(best.After-best.Before) > 0.5*math.Max(math.Abs(best.Before), math.Abs(best.After))
	return best, differ
}
