// Package salesgen generates daily sales series with planted anomalies, to
// measure the alert engine's detectors on data they were not tuned on. It is
// written from a description of sales series, not from ingest/gen: weekly
// rhythm, month- and quarter-end peaks, China's holidays and 调休 working
// days, growth, a slowly wandering level, yearly seasonality, overdispersed
// counts, amounts as sums of skewed deal sizes, and missing days.
//
// Planted sizes come from continuous distributions that start inside the
// natural variation (a 10% level shift, a spike of +15%, a day at 80% of
// normal are all possible), so some planted anomalies cannot be seen; they
// count as misses. Nothing natural is clipped to leave room for them.
package salesgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Kinds of planted anomalies.
const (
	Spike      = "spike"       // one working day far above normal
	Drop       = "drop"        // one working day far below normal
	LevelShift = "level_shift" // the level changes from one day on and stays
	Drift      = "drift"       // the level slides over weeks to a new one and stays
)

// Kinds lists the planted kinds in report order.
var Kinds = []string{Spike, Drop, LevelShift, Drift}

// Detection windows, declared before measuring: an alert counts for a planted
// anomaly when the evaluation that opens it falls on a day in
// [Start, Start+window], for drifts [Start, End+window].
const (
	OutlierWindow = 2  // spikes and drops: the day itself or the two after
	ShiftWindow   = 14 // level shifts and drifts: within two weeks
)

// Days is the length of a generated series; anomalies are planted from day
// WarmUp on (the engine judges on 16 weeks of history) and until 40 days
// before the end.
const (
	Days   = 600
	WarmUp = 150
)

// Anomaly is one planted anomaly.
type Anomaly struct {
	Kind       string
	Start, End time.Time // days changed (End: last day of a spike or drop, or of a drift's slide; a shift's start)
	Size       float64   // relative change of the expected value: +0.8 is 80% more, −0.5 half
	Detect     [2]time.Time
	// Visibility is the planted change in units of the series' own sampling
	// noise, as a detector that knew the true expected values and the noise law
	// would see it: a spike's or drop's change of the day over the day's
	// standard deviation; a shift's or drift's summed change over its detection
	// window over that window's standard deviation. The wander of the level is
	// not counted, so it overstates how visible an anomaly is; below about 3 no
	// detector can tell the anomaly from an ordinary day.
	Visibility float64
}

// Series is one generated daily series. Dates holds the days present in the
// export (missing days are absent); Values the day's count or amount.
type Series struct {
	Name      string
	Metric    string // count or amount
	Dates     []time.Time
	Values    []float64
	Anomalies []Anomaly
	// Truth holds, for each present day, what the generator knows and no
	// detector may read: the day's expected value (level, season, calendar
	// and wander) without the planted anomalies, except shifts and drifts
	// whose detection window has passed (they are the new normal then), and
	// its standard deviation. Only the oracle reference (OracleJudge) reads
	// it.
	Truth []DayTruth
}

// DayTruth is one day's expected value without the planted anomalies (as
// Series.Truth says) and the standard deviation of its value around it, in
// the series' units.
type DayTruth struct{ Base, SD float64 }

// Generate returns n series with anomalies of one kind planted (three per
// series), reproducibly from seed.
func Generate(seed uint64, kind string, n int) ([]Series, error) {
	ok := false
	for _, k := range Kinds {
		ok = ok || k == kind
	}
	if !ok {
		return nil, fmt.Errorf("salesgen: kind %q: want one of %v", kind, Kinds)
	}
	r := rand.New(rand.NewPCG(seed, kindStream(kind)))
	out := make([]Series, n)
	for i := range out {
		out[i] = newShape(r).series(r, fmt.Sprintf("s%d-%s-%d", seed, kind, i), kind)
	}
	return out, nil
}

func kindStream(kind string) uint64 {
	var h uint64 = 1469598103934665603
	for _, c := range kind {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// shape is one series' character: its volume, rhythm and noise.
type shape struct {
	start      time.Time
	amount     bool
	level      float64    // expected deals (counts: the count) per ordinary working day at the start
	dealMedian float64    // amounts: median deal size
	dealSigma  float64    // amounts: log-sd of deal sizes
	weekday    [7]float64 // by time.Weekday
	holiday    float64    // factor on public holidays
	monthEnd   float64    // extra on the last working day of a month
	quarterEnd float64    // extra on the last working day of a quarter
	growth     float64    // per year, log scale
	yearAmp    float64    // yearly seasonality amplitude
	yearPhase  float64
	wanderSD   float64 // daily step of the AR(1) log-level wander
	phi        float64 // count overdispersion: variance = phi × mean
	missing    float64 // chance a day is missing from the export
}

func uniform(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

func newShape(r *rand.Rand) *shape {
	s := &shape{
		start:      time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(200)),
		amount:     r.IntN(2) == 1,
		level:      math.Exp(uniform(r, math.Log(4), math.Log(150))),
		dealMedian: math.Exp(uniform(r, math.Log(5e3), math.Log(2e5))),
		dealSigma:  uniform(r, 0.5, 1.1),
		holiday:    uniform(r, 0.02, 0.3),
		monthEnd:   uniform(r, 0.1, 0.8),
		quarterEnd: uniform(r, 0.4, 1.5),
		growth:     uniform(r, -0.15, 0.5),
		yearAmp:    uniform(r, 0, 0.15),
		yearPhase:  uniform(r, 0, 2*math.Pi),
		wanderSD:   uniform(r, 0.004, 0.02),
		phi:        uniform(r, 1, 2.5),
		missing:    uniform(r, 0, 0.02),
	}
	for d := time.Monday; d <= time.Friday; d++ {
		s.weekday[d] = math.Max(0.5, 1+0.12*r.NormFloat64())
	}
	s.weekday[time.Saturday] = uniform(r, 0.05, 0.4)
	s.weekday[time.Sunday] = uniform(r, 0.02, 0.3)
	return s
}

// expected is day i's expected value before the wander and anomalies: level,
// growth, yearly season, weekday or holiday, month- and quarter-end.
func (s *shape) expected(i int, d time.Time) float64 {
	t := float64(i) / 365
	m := s.level * math.Exp(s.growth*t) * (1 + s.yearAmp*math.Sin(2*math.Pi*t+s.yearPhase))
	switch {
	case isHoliday(d):
		m *= s.holiday
	case isSwapped(d):
		m *= 0.85 * s.weekday[time.Friday] // a weekend day worked in exchange: a quieter working day
	default:
		m *= s.weekday[d.Weekday()]
	}
	if lastWorkingDay(d) {
		if d.Month()%3 == 0 {
			m *= 1 + s.quarterEnd
		} else {
			m *= 1 + s.monthEnd
		}
	}
	return m
}

// draw is one day's observed value around mean m (deals per day for amounts).
func (s *shape) draw(r *rand.Rand, m float64) float64 {
	n := negBinomial(r, m, s.phi)
	if !s.amount {
		return float64(n)
	}
	var sum float64
	for range n {
		sum += s.dealMedian * math.Exp(s.dealSigma*r.NormFloat64())
	}
	return math.Round(sum*100) / 100
}

// negBinomial draws a count with mean m and variance phi·m (Gamma–Poisson).
func negBinomial(r *rand.Rand, m, phi float64) int {
	if m <= 0 {
		return 0
	}
	lam := m
	if phi > 1 {
		k := m / (phi - 1) // Gamma shape; scale m/k
		lam = gamma(r, k) * m / k
	}
	return poisson(r, lam)
}

// gamma draws Gamma(k, 1) (Marsaglia–Tsang).
func gamma(r *rand.Rand, k float64) float64 {
	if k < 1 {
		return gamma(r, k+1) * math.Pow(r.Float64(), 1/k)
	}
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}

func poisson(r *rand.Rand, lam float64) int {
	if lam > 60 {
		// Normal approximation with continuity correction: fine at this size.
		return max(0, int(math.Round(lam+math.Sqrt(lam)*r.NormFloat64())))
	}
	l, k, p := math.Exp(-lam), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// series draws the days, plants three anomalies of kind and drops missing days.
func (s *shape) series(r *rand.Rand, name, kind string) Series {
	out := Series{Name: name, Metric: "count"}
	if s.amount {
		out.Metric = "amount"
	}
	logMul := make([]float64, Days) // planted change of the log expected value
	spikeMul := make([]float64, Days)
	for i := range spikeMul {
		spikeMul[i] = 1
	}
	dates := make([]time.Time, Days)
	for i := range dates {
		dates[i] = s.start.AddDate(0, 0, i)
	}
	// accepted is the planted log change a day's truth includes: a shift's or
	// a drift's once its detection window has passed, when it is the series'
	// new normal.
	accepted := make([]float64, Days)
	for _, day := range plantDays(r, dates) {
		before := append([]float64(nil), logMul...)
		a := s.plant(r, kind, day, dates, logMul, spikeMul)
		for i, d := range dates {
			if d.After(a.Detect[1]) {
				accepted[i] += logMul[i] - before[i]
			}
		}
		out.Anomalies = append(out.Anomalies, a)
	}
	wander := 0.0
	mean := make([]float64, Days) // the day's expected deals, anomalies included
	unit := 1.0                   // the value of one expected deal
	if s.amount {
		unit = s.dealMedian * math.Exp(s.dealSigma*s.dealSigma/2)
	}
	for i, d := range dates {
		wander = 0.98*wander + s.wanderSD*r.NormFloat64()
		ex := s.expected(i, d)
		base := ex * math.Exp(wander+accepted[i])
		m := ex * math.Exp(wander+logMul[i])
		mean[i] = m
		v := s.draw(r, m) * spikeMul[i]
		if s.amount {
			v = math.Round(v*100) / 100
		} else {
			v = math.Round(v)
		}
		if spikeMul[i] == 1 && r.Float64() < s.missing {
			continue // the export skipped the day (a planted day is always present)
		}
		out.Dates = append(out.Dates, d)
		out.Values = append(out.Values, v)
		out.Truth = append(out.Truth, DayTruth{Base: base * unit, SD: math.Sqrt(s.variance(base)) * unit})
	}
	for k := range out.Anomalies {
		out.Anomalies[k].Visibility = s.visibility(out.Anomalies[k], dates, mean)
	}
	return out
}

// variance is the variance of a day's value at mean m deals, relative to the
// mean deal size squared: counts phi·m; amounts, sums of a negative-binomial
// number of log-normal deals, m·(e^{σ²} − 1 + phi).
func (s *shape) variance(m float64) float64 {
	if !s.amount {
		return s.phi * m
	}
	return m * (math.Exp(s.dealSigma*s.dealSigma) - 1 + s.phi)
}

// visibility is a's change of the expected values over its days, in units of
// their standard deviation (Anomaly.Visibility). mean holds the days' expected
// deals with a already in them.
func (s *shape) visibility(a Anomaly, dates []time.Time, mean []float64) float64 {
	i := int(a.Start.Sub(dates[0]).Hours()/24 + 0.5)
	switch a.Kind {
	case Spike, Drop:
		return math.Abs(a.Size) * mean[i] / math.Sqrt(s.variance(mean[i]))
	}
	// The planted log change at day j (a level shift's from the start, a
	// drift's sliding in until End) and the days before it.
	m := math.Log1p(a.Size)
	n := math.Max(1, math.Round(a.End.Sub(a.Start).Hours()/24))
	var change, v float64
	for j := i; j < len(dates) && !dates[j].After(a.Detect[1]); j++ {
		f := m
		if a.Kind == Drift {
			f = m * math.Min(1, float64(j-i+1)/n)
		}
		change += mean[j] * (1 - math.Exp(-f))
		v += s.variance(mean[j])
	}
	return math.Abs(change) / math.Sqrt(v)
}

// plantDays picks three working days at least 60 days apart between WarmUp
// and 40 days before the end.
func plantDays(r *rand.Rand, dates []time.Time) []int {
	var days []int
	for len(days) < 3 {
		days = days[:0]
		for try := 0; try < 200 && len(days) < 3; try++ {
			i := WarmUp + r.IntN(len(dates)-40-WarmUp)
			if !working(dates[i]) {
				continue
			}
			far := true
			for _, j := range days {
				far = far && (i-j >= 60 || j-i >= 60)
			}
			if far {
				days = append(days, i)
			}
		}
	}
	return days
}

// plant changes the expected values (logMul) or the day's value (spikeMul) from
// day i on and returns the anomaly with its detection window.
func (s *shape) plant(r *rand.Rand, kind string, i int, dates []time.Time, logMul, spikeMul []float64) Anomaly {
	a := Anomaly{Kind: kind, Start: dates[i], End: dates[i]}
	sign := 1.0
	if r.IntN(2) == 0 {
		sign = -1
	}
	switch kind {
	case Spike:
		// +15% to several times normal: log-normal around +80%.
		a.Size = math.Max(0.15, math.Exp(math.Log(0.8)+0.7*r.NormFloat64()))
		spikeMul[i] = 1 + a.Size
	case Drop:
		// The day keeps 0% to 85% of its normal value.
		keep := uniform(r, 0, 0.85)
		a.Size = keep - 1
		spikeMul[i] = keep
	case LevelShift:
		m := sign * uniform(r, 0.1, 0.7)
		a.Size = math.Exp(m) - 1
		for j := i; j < len(logMul); j++ {
			logMul[j] += m
		}
	case Drift:
		m := sign * uniform(r, 0.15, 0.8)
		n := 20 + r.IntN(26)
		a.Size = math.Exp(m) - 1
		a.End = dates[min(i+n, len(dates)-1)]
		for j := i; j < len(logMul); j++ {
			logMul[j] += m * math.Min(1, float64(j-i+1)/float64(n))
		}
	}
	w := OutlierWindow
	if kind == LevelShift || kind == Drift {
		w = ShiftWindow
	}
	a.Detect = [2]time.Time{a.Start, a.End.AddDate(0, 0, w)}
	return a
}
