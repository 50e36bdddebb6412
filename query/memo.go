package query

import (
	"context"
	"sync"
)

// memo keeps small reads every page repeats (the reps, the bookings targets)
// per publication: keyed by the version a request reads (AsOf), so a load by
// any process makes new keys at once, and a request reading an older version
// still gets that version's rows. Reads outside a request's version (no AsOf:
// the alert engine, publications) are not kept.
type memo struct {
	mu sync.Mutex
	m  map[string]any
}

// memoMax bounds the entries: a few small reads times the versions still read.
const memoMax = 64

// memoized returns fn's answer for ctx's version, reading it once per version
// and key. The answer is shared: callers must not modify it.
func memoized[T any](ctx context.Context, s *Service, key string, fn func(context.Context) (T, error)) (T, error) {
	v, ok := VersionOf(ctx)
	if !ok || s.memo == nil {
		return fn(ctx)
	}
	key = v.String() + "|" + key
	s.memo.mu.Lock()
	x, hit := s.memo.m[key]
	s.memo.mu.Unlock()
	if hit {
		return x.(T), nil
	}
	out, err := fn(ctx)
	if err != nil {
		return out, err
	}
	s.memo.mu.Lock()
	if len(s.memo.m) >= memoMax {
		s.memo.m = map[string]any{}
	}
	s.memo.m[key] = out
	s.memo.mu.Unlock()
	return out, nil
}

// Forget drops what memoized keeps (benchmarks time uncached requests with it;
// a load needs no call: keys carry the version).
func (s *Service) Forget() {
	if s.memo == nil {
		return
	}
	s.memo.mu.Lock()
	s.memo.m = map[string]any{}
	s.memo.mu.Unlock()
}
