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
