package detect

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// noisy is a deterministic series: level plus Gaussian noise of sd 1.
func noisy(n int, level float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = level + r.NormFloat64()
	}
	return xs
}

func streamScores(xs []float64) []float64 {
	s := NewStream()
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = s.Update(t0.Add(time.Duration(i)*5*time.Minute), x)
	}
	return out
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

func TestStreamFlagsSpike(t *testing.T) {
	xs := noisy(1500, 50, 1)
	xs[1000] += 25
	sc := streamScores(xs)
	if i := argmax(sc[100:]) + 100; i != 1000 {
		t.Errorf("highest score at row %d (%.3f), want the spike at 1000 (%.3f)", i, sc[i], sc[1000])
	}
	if sc[1000] < 0.7 {
		t.Errorf("spike scores %.3f, want >= 0.7: a 25-sigma spike would not stand out", sc[1000])
	}
	for _, x := range sc {
		if x < 0 || x > 1 || math.IsNaN(x) {
			t.Fatalf("score %v outside [0,1]", x)
		}
	}
}

func TestStreamFlagsLevelShiftOnce(t *testing.T) {
	xs := noisy(2000, 50, 2)
	for i := 1200; i < len(xs); i++ {
		xs[i] += 20
	}
	sc := streamScores(xs)
	if i := argmax(sc[100:]) + 100; i < 1200 || i > 1203 {
		t.Errorf("highest score at row %d, want the start of the shift at 1200", i)
	}
	// The rows after the first alarm of the shift must stay quiet: one email,
	// not one per row.
	first := argmax(sc[1200:1204]) + 1200
	for i := first + 1; i < first+50; i++ {
		if sc[i] > sc[first]/2 {
			t.Fatalf("row %d scores %.3f after the alarm at %d (%.3f): the shift would alert repeatedly", i, sc[i], first, sc[first])
		}
	}
}

// On plain noise, a new all-time high or low still scores about 0.5 (NAB
// rewards such range breakouts), but nothing approaches a real spike.
func TestStreamIsQuietOnNoise(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		sc := streamScores(noisy(3000, 10, seed))
		var high int
		for i, x := range sc {
			if x > 0.65 {
				t.Fatalf("seed %d: row %d of plain noise scores %.3f: noise would raise alerts", seed, i, x)
			}
			if x >= 0.5 {
				high++
			}
		}
		if high > 15 {
			t.Errorf("seed %d: %d rows of 3000 of plain noise score >= 0.5", seed, high)
		}
	}
}

func TestRobustZ(t *testing.T) {
	xs := noisy(200, 100, 4)
	xs[150] = 130
	z := RobustZ(xs, 60)
	if z[150] < 10 {
		t.Errorf("spike z = %.2f, want >= 10", z[150])
	}
	for i, v := range z {
		if i != 150 && math.Abs(v) > 6 {
			t.Errorf("row %d z = %.2f on plain noise", i, v)
		}
	}
	flat := RobustZ([]float64{5, 5, 5, 5, 5, 6}, 0)
	if math.IsInf(flat[5], 0) || flat[5] <= 0 {
		t.Errorf("a change after flat history gives z = %v, want finite and positive", flat[5])
	}
}

func TestLevelShift(t *testing.T) {
	xs := noisy(120, 10, 5)
	for i := 70; i < len(xs); i++ {
		xs[i] -= 6
	}
	c, ok := LevelShift(xs, 10, 0)
	if !ok || c.Index < 68 || c.Index > 72 {
		t.Errorf("LevelShift = %+v, %v; want a drop found at 70", c, ok)
	}
	if c.After >= c.Before {
		t.Errorf("shift reported as %+v, want a drop", c)
	}
	if c, ok := LevelShift(noisy(120, 10, 6), 10, 0); ok {
		t.Errorf("LevelShift on plain noise = %+v: would alert on nothing", c)
	}
}

func TestTrendChange(t *testing.T) {
	xs := noisy(100, 20, 7)
	for i := 50; i < len(xs); i++ {
		xs[i] += 0.8 * float64(i-50)
	}
	c, ok := TrendChange(xs, 10, 0)
	if !ok || c.Index < 45 || c.Index > 55 {
		t.Errorf("TrendChange = %+v, %v; want a break near 50", c, ok)
	}
	line := noisy(100, 20, 8)
	for i := range line {
		line[i] += 0.5 * float64(i)
	}
	if c, ok := TrendChange(line, 10, 0); ok {
		t.Errorf("TrendChange on a straight trend = %+v: would alert on a steady trend", c)
	}
}

func TestRateAnomaly(t *testing.T) {
	for _, tc := range []struct {
		succ, trials int
		anomalous    bool
		tooFew       bool
	}{
		{3, 10, false, true},      // 30% on 10 deals: could be luck
		{300, 1000, true, false},  // 30% on 1000 deals: a real drop
		{490, 1000, false, false}, // within noise of 50%
		{600, 1000, true, false},  // a real rise
		{0, 0, false, true},       // nothing happened
	} {
		j := RateAnomaly(tc.succ, tc.trials, 5000, 10000)
		if j.Anomalous != tc.anomalous || j.TooFew != tc.tooFew {
			t.Errorf("RateAnomaly(%d/%d vs 50%%) = anomalous %v, too few %v; want %v, %v (%+v)",
				tc.succ, tc.trials, j.Anomalous, j.TooFew, tc.anomalous, tc.tooFew, j)
		}
	}
	if j := RateAnomaly(300, 1000, 5000, 10000); j.Direction != -1 {
		t.Errorf("300/1000 vs 50%%: direction %d, want -1 (a drop)", j.Direction)
	}
}

func TestSeasonalBaseline(t *testing.T) {
	cal := Calendar{
		// 国庆 2024: Oct 1–7 off, Sep 29 (Sun) and Oct 12 (Sat) worked.
		Holidays:    map[string]bool{},
		WorkingDays: map[string]bool{"2024-09-29": true, "2024-10-12": true},
	}
	for d := 1; d <= 7; d++ {
		cal.Holidays[fmt.Sprintf("2024-10-%02d", d)] = true
	}
	r := rand.New(rand.NewPCG(9, 9))
	var pts []DailyPoint
	start := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	for d := start; d.Before(time.Date(2024, 11, 30, 0, 0, 0, 0, time.UTC)); d = d.AddDate(0, 0, 1) {
		v := 100.0
		switch dayKind(d, cal) {
		case DayOff:
			v = 20
		case Holiday:
			v = 10
		case MonthEnd, QuarterEnd:
			v = 250
		}
		pts = append(pts, DailyPoint{Date: d, Value: v + 3*r.NormFloat64()})
	}
	// An ordinary Wednesday that collapses.
	bad := time.Date(2024, 11, 13, 0, 0, 0, 0, time.UTC)
	for i := range pts {
		if pts[i].Date.Equal(bad) {
			pts[i].Value = 40
		}
	}
	ex := SeasonalBaseline(pts, cal, 6)
	for _, e := range ex {
		if e.Date.Before(time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC)) {
			continue // let every kind of day build history
		}
		switch {
		case e.Date.Equal(bad):
			if e.Z > -8 {
				t.Errorf("collapsed Wednesday %s: z %.1f (baseline %.1f), want a clear drop", e.Date.Format(time.DateOnly), e.Z, e.Baseline)
			}
		case math.Abs(e.Z) > 6:
			t.Errorf("%s (kind %d) value %.0f vs baseline %.0f: z %.1f, a normal day of its kind would alert",
				e.Date.Format(time.DateOnly), e.Kind, e.Value, e.Baseline, e.Z)
		}
	}
}

func BenchmarkStream(b *testing.B) {
	xs := noisy(10000, 50, 10)
	ts := make([]time.Time, len(xs))
	for i := range ts {
		ts[i] = t0.Add(time.Duration(i) * 5 * time.Minute)
	}
	b.ReportAllocs()
	for b.Loop() {
		s := NewStream()
		for i, x := range xs {
			s.Update(ts[i], x)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/point")
}
