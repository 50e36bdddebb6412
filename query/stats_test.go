package query

import (
	"math"
	"testing"
)

// TestBetaQuantile: betaQuantile's Newton steps, stopped early, land within
// 1e-12 plus 1e-10 of the distance to the nearer end of the quantile found by
// bisection to adjacent floats, for the counts a
// scorecard sees (a handful of deals to tens of thousands of activities) and
// peer rates from 1% to 99%.
func TestBetaQuantile(t *testing.T) {
	bisect := func(q, a, b float64) float64 {
		lo, hi := 0.0, 1.0
		for {
			mid := (lo + hi) / 2
			if mid <= lo || mid >= hi {
				break // adjacent floats
			}
			if regIncBeta(mid, a, b) < q {
				lo = mid
			} else {
				hi = mid
			}
		}
		return (lo + hi) / 2
	}
	worst := 0.0
	for _, n := range []float64{0, 1, 2, 3, 7, 10, 40, 120, 200, 1051, 2845, 4692, 30000, 100000} {
		for _, share := range []float64{0, 0.001, 0.01, 0.13, 0.3, 0.5, 0.87, 0.999, 1} {
			for _, p := range []float64{0.01, 0.12, 0.5, 0.65, 0.99} {
				x := math.Round(n * share)
				a := PriorStrength*math.Min(math.Max(p, 0.01), 0.99) + x
				b := PriorStrength*(1-math.Min(math.Max(p, 0.01), 0.99)) + n - x
				for _, q := range []float64{(1 - confidence) / 2, (1 + confidence) / 2} {
					got, want := betaQuantile(q, a, b), bisect(q, a, b)
					d := math.Abs(got - want)
					worst = math.Max(worst, d/math.Max(math.Min(want, 1-want), 1e-2))
					if !(d <= 1e-12+1e-10*math.Min(want, 1-want)) {
						t.Errorf("quantile %.3f of Beta(%g, %g): %.15f, bisection %.15f", q, a, b, got, want)
					}
				}
			}
		}
	}
	t.Logf("largest difference from bisection, relative where the quantile is 1%% or more from an end: %.3g", worst)
}
