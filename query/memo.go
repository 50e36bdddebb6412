package query

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
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
		s.memo.dropReads() // a request's reads, not what Warm reads
		if len(s.memo.m) >= memoMax {
			s.memo.m = map[string]any{}
		}
	}
	s.memo.m[key] = out
	s.memo.mu.Unlock()
	return out, nil
}

// Forget drops what memoized and sharedRead keep (benchmarks time uncached
// requests with it; a load needs no call: keys carry the version). It keeps
// what a process reads once per publication before requests ask: the tables
// in memory (inmemory.go) and the lists Warm reads, as it computes
// forecast_history once per publication.
func (s *Service) Forget() {
	if s.memo != nil {
		s.memo.mu.Lock()
		s.memo.dropReads()
		s.memo.mu.Unlock()
	}
	if s.shared != nil {
		s.shared.mu.Lock()
		s.shared.m = map[string]*sharedCall{}
		s.shared.mu.Unlock()
	}
}

// shared lets the concurrent callers of one read share its statement: the
// statements a page issues at once that read the same rows (the cards' win
// rate by team, opened deals and bookings over one range) run once, and a
// caller arriving within sharedFor of the answer reads it too. Keyed like
// memoized by the version a request reads, so no answer outlives a load; reads
// outside a request's version run alone.
type shared struct {
	mu sync.Mutex
	m  map[string]*sharedCall
}

type sharedCall struct {
	done chan struct{}
	val  any
	err  error
	at   time.Time
}

// sharedFor is how long a shared answer serves later callers: long enough for
// the statements of one page, short against anything a person would see.
const sharedFor = 2 * time.Second

// sharedRead is fn's answer for key under ctx's version, computed once for the
// callers that ask while it runs or within sharedFor after. fn runs detached
// from the first caller's cancellation (its deadline is the statement's own):
// a caller that leaves does not fail the others; each caller waits on its own
// context. The answer is shared: callers must not modify it.
func sharedRead[T any](ctx context.Context, s *Service, key string, fn func(context.Context) (T, error)) (T, error) {
	v, ok := VersionOf(ctx)
	if !ok || s.shared == nil {
		return fn(ctx)
	}
	key = v.String() + "|" + key
	now := time.Now()
	sh := s.shared
	sh.mu.Lock()
	c, hit := sh.m[key]
	if hit {
		select {
		case <-c.done:
			hit = c.err == nil && now.Sub(c.at) < sharedFor
		default:
		}
	}
	if !hit {
		for k, x := range sh.m { // drop the answers that serve no one now
			select {
			case <-x.done:
				if now.Sub(x.at) >= sharedFor {
					delete(sh.m, k)
				}
			default:
			}
		}
		c = &sharedCall{done: make(chan struct{})}
		sh.m[key] = c
		go func() {
			c.val, c.err = fn(context.WithoutCancel(ctx))
			c.at = time.Now()
			close(c.done)
		}()
	}
	sh.mu.Unlock()
	var zero T
	select {
	case <-c.done:
	case <-ctx.Done():
		return zero, ctx.Err()
	}
	if c.err != nil {
		return zero, c.err
	}
	return c.val.(T), nil
}

// The keys of the lists Warm reads.
const (
	memoReps    = "reps"
	memoTargets = "booking targets"
	memoMarket  = "market"
	memoOpen    = "open deals at " // and the day (openToday)
)

// warmKeys are the memoized keys Forget keeps (and those of openToday).
var warmKeys = []string{memoReps, memoTargets, memoMarket}

// dropReads deletes the entries of requests' reads, keeping what Warm reads
// (warmKeys, openToday's). Call with mu held.
func (m *memo) dropReads() {
	for k := range m.m {
		if _, key, _ := strings.Cut(k, "|"); !slices.Contains(warmKeys, key) && !strings.HasPrefix(key, memoOpen) {
			delete(m.m, k)
		}
	}
}

// Warm reads, for the latest publication, what is kept per publication and
// requests read whatever their range and filters: the reps, the bookings
// targets, the market table and the deals open today (memoized), team_days,
// dim_days, cycle_days, rep_days and rep_activity_days in memory
// (inmemory.go). serve calls it every few seconds (when they are kept, a few
// map reads), so the requests after a publication find them.
func (s *Service) Warm(ctx context.Context) error {
	v, err := s.db.CurrentVersion(ctx)
	if err != nil || v.Pub == 0 {
		return err
	}
	ctx = AsOf(ctx, v)
	var g errgroup.Group
	g.Go(func() error { _, err := s.repDims(ctx); return err })
	g.Go(func() error { _, err := s.bookingTargets(ctx); return err })
	g.Go(func() error { _, err := s.marketRows(ctx); return err })
	if !s.noRollup {
		g.Go(func() error { _, err := s.openToday(ctx); return err })
		g.Go(func() error { _, err := s.teamCube(ctx); return err })
		g.Go(func() error { _, err := s.dimCubes(ctx); return err })
		g.Go(func() error { _, err := s.cycleCube(ctx); return err })
		g.Go(func() error { _, err := s.repCube(ctx); return err })
		g.Go(func() error { _, err := s.actCube(ctx); return err })
	}
	return g.Wait()
}
