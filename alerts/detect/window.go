package detect

import (
	"math"
	"sort"
)

// slidingWindow keeps the last n values both in arrival order and sorted,
// so that quantiles of the recent past cost a binary search.
type slidingWindow struct {
	n      int
	ring   []float64
	head   int
	sorted []float64
}

func newSlidingWindow(n int) *slidingWindow {
	return &slidingWindow{n: n, ring: make([]float64, 0, n), sorted: make([]float64, 0, n)}
}

func (w *slidingWindow) len() int   { return len(w.sorted) }
func (w *slidingWindow) full() bool { return len(w.sorted) == w.n }

func (w *slidingWindow) push(v float64) {
	if len(w.ring) < w.n {
		w.ring = append(w.ring, v)
	} else {
		old := w.ring[w.head]
		w.ring[w.head] = v
		w.head = (w.head + 1) % w.n
		i := sort.SearchFloat64s(w.sorted, old)
		copy(w.sorted[i:], w.sorted[i+1:])
		w.sorted = w.sorted[:len(w.sorted)-1]
	}
	i := sort.SearchFloat64s(w.sorted, v)
	w.sorted = append(w.sorted, 0)
	copy(w.sorted[i+1:], w.sorted[i:])
	w.sorted[i] = v
}

// quantile is the linearly interpolated q-quantile (0 <= q <= 1).
func (w *slidingWindow) quantile(q float64) float64 {
	return quantileSorted(w.sorted, q)
}

// last returns the value pushed k steps ago (0 = newest).
func (w *slidingWindow) last(k int) float64 {
	n := len(w.ring)
	if n < w.n {
		return w.ring[n-1-k]
	}
	return w.ring[(w.head-1-k+2*w.n)%w.n]
}

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
