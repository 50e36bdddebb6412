package detect

import (
	"math"
	"sort"
)

// medianOf sorts xs in place and returns its median (NaN when empty).
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	sort.Float64s(xs)
	return quantileSorted(xs, 0.5)
}
