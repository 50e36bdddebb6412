package alerts

import (
	"math"
	"sort"
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
)

// Counts and rates are judged by their sampling distributions, not by z-scores
// of the values: a day of 10 leads where 2 are usual and a week of 4
// opportunities where 19 are usual are tail probabilities of a count model
// (negative binomial, with the overdispersion measured on the segment's own
// history), and a win rate is a two-proportion test on closed deals. Every
// evaluation tests many segments (and a few windows each), so a finding must
// clear the rule's false-alarm budget alpha divided by the number of tests
// (Bonferroni): with 17 territories judged every day, a 1-in-1000 day in
// one of them is not news.

// countBaseline is each day's expected count: the trimmed mean of the same
// weekday (same working status) in the previous weeks weeks; holidays use
// earlier holidays or, lacking them, recent days off; swapped working days
// (调休) use the ordinary working days of the previous two weeks. support is
// how many comparable days it rests on.
func countBaseline(pts []Point, vals []float64, cal detect.Calendar, weeks int) (mu []float64, support []int) {
	n := len(pts)
	mu, support = make([]float64, n), make([]int, n)
	holiday := func(d time.Time) bool { return cal.Holidays[d.Format(time.DateOnly)] }
	swapped := func(d time.Time) bool { return cal.WorkingDays[d.Format(time.DateOnly)] }
	for i, p := range pts {
		var xs []float64
		d := p.Date
		switch {
		case holiday(d):
			for j := i - 1; j >= 0 && len(xs) < 8; j-- {
				if holiday(pts[j].Date) {
					xs = append(xs, vals[j])
				}
			}
			if len(xs) < 2 {
				xs = xs[:0]
				for j := i - 1; j >= max(0, i-7*weeks) && len(xs) < 2*weeks; j-- {
					if !working(cal, pts[j].Date) && !holiday(pts[j].Date) {
						xs = append(xs, vals[j])
					}
				}
			}
		case swapped(d):
			for j := i - 1; j >= max(0, i-14); j-- {
				if working(cal, pts[j].Date) && !swapped(pts[j].Date) {
					xs = append(xs, vals[j])
				}
			}
		default:
			for j := i - 7; j >= max(0, i-7*weeks); j -= 7 {
				if holiday(pts[j].Date) || swapped(pts[j].Date) {
					continue
				}
				xs = append(xs, vals[j])
			}
		}
		support[i] = len(xs)
		mu[i] = trimmedMean(xs)
	}
	return mu, support
}

// trimmedMean drops the highest and lowest value when there are five or more:
// one planted spike or holiday in the history must not move the baseline.
func trimmedMean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) >= 5 {
		s = s[1 : len(s)-1]
	}
	var sum float64
	for _, x := range s {
		sum += x
	}
	return sum / float64(len(s))
}

// dispersion estimates variance/mean of observed counts around their
// expectations (1 for Poisson) from Pearson residuals, dropping the largest
// tenth so that earlier anomalies do not teach the detector to shrug. It is
// kept in [1, 20].
func dispersion(obs, exp []float64) float64 {
	var r2 []float64
	for i := range obs {
		if exp[i] >= 0.5 && !math.IsNaN(exp[i]) {
			d := obs[i] - exp[i]
			r2 = append(r2, d*d/exp[i])
		}
	}
	if len(r2) < 10 {
		return 1.5
	}
	sort.Float64s(r2)
	r2 = r2[:len(r2)-len(r2)/10]
	var s float64
	for _, x := range r2 {
		s += x
	}
	// The trimmed mean of χ²₁-like residuals runs low by the trimmed share of
	// the tail; 1/0.7 brings a Poisson series back to about 1.
	phi := s / float64(len(r2)) / 0.7
	return math.Min(math.Max(phi, 1), 20)
}

// countTest is the verdict of one count test.
type countTest struct {
	p                float64 // one- or two-sided tail, before the family correction
	dir              int
	actual, expected float64
	from             int // first point of the window
	week             bool
}

func tailP(r *Rule, x, mu, phi float64) (float64, int) {
	lo, up := detect.CountTail(x, mu, phi)
	dir, p := 1, up
	if lo < up {
		dir, p = -1, lo
	}
	if r.Direction == "both" {
		p = math.Min(1, 2*p)
	} else if !r.allows(dir) {
		return 1, dir
	}
	return p, dir
}

// countJudge tests the count series of a day-grain rule twice: each of the last
// Window days against its weekday baseline (a spike or a collapse on one day),
// and the last seven days' sum against the same seven weekdays of earlier
// weeks (a week of small numbers that each look ordinary). It returns the
// stronger finding with its p-value, multiplied by the number of tests made.
func (e *evaluator) countJudge(r *Rule, a *Anomaly, pts []Point, vals, expected []float64) (float64, bool) {
	n := len(pts)
	mu, sup := countBaseline(pts, vals, e.cal, 8)
	for i := range expected {
		if sup[i] >= 2 {
			expected[i] = mu[i]
		}
	}
	hist := max(0, n-7) // the history the dispersion is learnt from ends before the tested week
	var obs, exp []float64
	for i := 0; i < hist; i++ {
		if sup[i] >= 4 {
			obs, exp = append(obs, vals[i]), append(exp, mu[i])
		}
	}
	phiDay := dispersion(obs, exp)
	// Weekly sums: the same residual model on rolling seven-day windows.
	obs, exp = obs[:0], exp[:0]
	for i := 6; i < hist; i++ {
		var s, m float64
		ok := true
		for j := i - 6; j <= i; j++ {
			if sup[j] < 4 {
				ok = false
				break
			}
			s, m = s+vals[j], m+mu[j]
		}
		if ok {
			obs, exp = append(obs, s), append(exp, m)
		}
	}
	phiWeek := math.Max(dispersion(obs, exp), phiDay)

	// Weighted Bonferroni: a third of the budget for the single days (one
	// independent test a day), two thirds for the seven-day sum (its windows
	// overlap, so it gets about one independent chance a week).
	var best *countTest
	bestP := 1.0
	consider := func(t countTest, weight float64) {
		if q := math.Min(1, t.p/weight); best == nil || q < bestP {
			best, bestP = &t, q
		}
	}
	for i := n - 1; i >= max(0, n-r.Window); i-- {
		if sup[i] < 2 {
			continue
		}
		x, m := vals[i], mu[i]
		if math.Max(m, x) < r.MinVolume || (x < m && m < r.MinVolume) || math.Abs(x-m) < r.MinChange*m {
			continue
		}
		p, dir := tailP(r, x, m, phiDay)
		consider(countTest{p: p, dir: dir, actual: x, expected: m, from: i}, 1/(3*float64(r.Window)))
	}
	if n >= 7 {
		// The week is judged without its most unusual day: a week that is only
		// unusual for one day is that day's news (the single-day test), not a
		// sustained move, and must not echo a spike for the seven days its
		// window holds it.
		var s, m float64
		ok := true
		skip, worst := -1, -1.0
		for j := n - 7; j < n; j++ {
			if sup[j] < 2 {
				ok = false
			}
			if z := math.Abs(vals[j]-mu[j]) / math.Sqrt(math.Max(mu[j], 1)); z > worst {
				skip, worst = j, z
			}
		}
		for j := n - 7; j < n; j++ {
			if j != skip {
				s, m = s+vals[j], m+mu[j]
			}
		}
		if ok && math.Max(m, s) >= 2*r.MinVolume && !(s < m && m < 2*r.MinVolume) && math.Abs(s-m) >= 2*r.MinChange*m {
			p, dir := tailP(r, s, m, phiWeek)
			consider(countTest{p: p, dir: dir, actual: s, expected: m, from: n - 7, week: true}, 2.0/3)
		}
	}
	if best == nil {
		return 1, false
	}
	p := bestP
	if p > r.alpha {
		return p, false
	}
	a.Direction = best.dir
	a.Kind = "spike"
	if best.dir < 0 {
		a.Kind = "drop"
	}
	a.Actual, a.Expected = best.actual, best.expected
	a.Score = pScore(p)
	since := best.from
	if best.week {
		// The move began at the first working day of the window from which
		// every working day sits on the anomalous side.
		a.Actual, a.Expected = best.actual/6, best.expected/6
		for j := n - 1; j >= best.from; j-- {
			if !working(e.cal, pts[j].Date) {
				continue
			}
			if (vals[j]-mu[j])*float64(best.dir) <= 0 {
				break
			}
			since = j
		}
		a.Grain = "week"
	} else {
		for j := best.from - 1; j >= max(0, best.from-14); j-- {
			if sup[j] < 2 || (vals[j]-mu[j])*float64(best.dir) <= 0 {
				break
			}
			lo, up := detect.CountTail(vals[j], mu[j], phiDay)
			if math.Min(lo, up) > 0.01 {
				break
			}
			since = j
		}
	}
	a.Since = pts[since].Date
	return p, true
}

// pScore turns a p-value into a positive score (the equivalent one-sided z),
// so that findings of different tests sort together.
func pScore(p float64) float64 {
	p = math.Max(p, 1e-300)
	// Bisection on the normal tail: fine for a score.
	lo, hi := 0.0, 40.0
	for range 60 {
		mid := (lo + hi) / 2
		if detect.NormalTail(mid) > p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// rateJudge looks for a lasting change of a rate (won/closed, moved on/entered)
// that began within the last Window days: week by week, the rate since a
// candidate Monday against the rate before it (see detect.RateShift). Both
// sides need MinVolume trials, and the new level must hold in both halves of
// its span.
func rateJudge(r *Rule, a *Anomaly, pts []Point, expected []float64) (float64, bool) {
	w := pts
	if r.Grain == "day" {
		w = weekly(pts)
	}
	ts := make([]detect.Trials, len(w))
	for i, p := range w {
		ts[i] = detect.Trials{Num: p.Num, Den: p.Den}
	}
	back := r.Window
	if r.Grain == "day" {
		back = (r.Window + 6) / 7
	}
	res := detect.RateShift(ts, back, r.MinVolume)
	if !res.Found || !res.Persistent {
		return 1, false
	}
	dir := 1
	if res.Z < 0 {
		dir = -1
	}
	p := res.P
	if r.Direction != "both" {
		p /= 2
	}
	if p > r.alpha || !r.allows(dir) || math.Abs(res.After-res.Before) < r.MinChange*res.Before {
		return p, false
	}
	since := w[res.Index].Date
	for i := range expected {
		expected[i] = res.Before
	}
	a.Kind, a.Direction = "rate", dir
	a.Actual, a.Expected = res.After, res.Before
	// The expected range is what the old rate gives for the new volume.
	sd := math.Sqrt(res.Dispersion * res.Before * (1 - res.Before) / res.DenAfter)
	a.Low, a.High = math.Max(0, res.Before-1.96*sd), math.Min(1, res.Before+1.96*sd)
	a.Score = pScore(p)
	a.Volume = res.DenAfter
	a.Since = since
	return p, true
}
