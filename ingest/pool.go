package ingest

import (
	"math/bits"
	"sync"
)

// slicePool recycles the column buffers of chunks: a load allocates them once
// instead of once a chunk, which keeps the garbage collector (and the zeroing of
// fresh memory) out of the hot path. Buffers are pooled by capacity in classes a
// quarter of a power of two apart, so a get never returns one that is too small
// and wastes at most a quarter.
type slicePool[T any] struct {
	classes [4 * 48]sync.Pool
}

// classUp is the smallest class whose size is >= n, and that size.
func classUp(n int) (int, int) {
	if n <= 8 {
		return 4 * 3, 8
	}
	e := bits.Len(uint(n-1)) - 1 // 2^e < n <= 2^(e+1)
	step := 1 << (e - 2)
	q := (n - 1<<e + step - 1) / step // 1..4
	return 4*e + q, 1<<e + q*step
}

// classDown is the largest class whose size is <= n (n >= 8).
func classDown(n int) int {
	e := bits.Len(uint(n)) - 1
	return 4*e + (n-1<<e)/(1<<(e-2))
}

// get returns an empty slice with room for n values.
func (p *slicePool[T]) get(n int) []T {
	c, size := classUp(n)
	if c < len(p.classes) {
		if v, ok := p.classes[c].Get().(*[]T); ok {
			return (*v)[:0]
		}
	}
	return make([]T, 0, size)
}

// put gives s back. The caller must hold no view into it.
func (p *slicePool[T]) put(s []T) {
	if cap(s) < 8 {
		return
	}
	if c := classDown(cap(s)); c < len(p.classes) {
		p.classes[c].Put(&s)
	}
}

var (
	bytePool  slicePool[byte]
	int32Pool slicePool[int32]
)
