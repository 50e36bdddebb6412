package detect

import (
	"math"
	"sort"
)

func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

// madSorted is the median absolute deviation from med of sorted values,
// computed without allocation by merging outwards from the median.
func madSorted(s []float64, med float64) float64 {
	n := len(s)
	if n == 0 {
		return math.NaN()
	}
	// Two pointers walking away from med produce |x-med| in ascending order.
	hi := sort.SearchFloat64s(s, med)
	lo := hi - 1
	k := (n - 1) / 2 // index of the lower median of the deviations
	var a, b float64
	for c := 0; c <= k+1 && c < n; c++ {
		var d float64
		switch {
		case lo < 0:
			d = s[hi] - med
			hi++
		case hi >= n:
			d = med - s[lo]
			lo--
		case med-s[lo] <= s[hi]-med:
			d = med - s[lo]
			lo--
		default:
			d = s[hi] - med
			hi++
		}
		if c == k {
			a = d
		}
		if c == k+1 {
			b = d
		}
	}
	if n%2 == 1 {
		return a
	}
	return (a + b) / 2
}
