package dashboards

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/pipelens/pipelens/query"
)

// cacheTTL bounds how long an entry is kept. Keys carry the publication a
// request reads (asOf), so a load by any process makes new keys at once.
const cacheTTL = 2 * time.Minute

// cache keeps query results per (scope, metric, filter). Dashboards are read far
// more often than the data changes, and fifty people opening the overview on
// Monday morning should cost ClickHouse one query per number, not fifty.
type cache struct {
	mu     sync.Mutex
	gen    uint64
	items  map[string]cacheItem
	latest uint64    // the newest publication an entry was stored for
	swept  time.Time // when expired entries were last removed
	group  singleflight.Group
	// computing, in tests, runs as a shared computation starts.
	computing func(key string)
	// inflight counts the computations running per key.
	inflight map[string]int
}

type cacheState int

const (
	cacheMiss      cacheState = iota
	cacheHit                  // stored and fresh
	cacheComputing            // not stored, and a computation is running
)

// lookup says whether key is stored (and returns it), being computed, or
// neither, with the cache's generation.
func (c *cache) lookup(key string) (any, uint64, cacheState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[key]; ok && time.Now().Before(it.exp) {
		return it.v, c.gen, cacheHit
	}
	if c.inflight[key] > 0 {
		return nil, c.gen, cacheComputing
	}
	return nil, c.gen, cacheMiss
}

// running adds d to key's running computations.
func (c *cache) running(key string, d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight == nil {
		c.inflight = map[string]int{}
	}
	if c.inflight[key] += d; c.inflight[key] <= 0 {
		delete(c.inflight, key)
	}
}

type cacheItem struct {
	v   any
	gen uint64
	pub uint64
	exp time.Time
}

// cacheMax bounds the entries; at the bound expired ones go first, then all.
const cacheMax = 20000

// store keeps v under key for pub. An entry of an older publication than the
// newest seen is useless (new requests read the newest), so a new publication
// drops them all and they are not stored; expired entries are swept at most
// every 10 s. The cache then holds what one publication's readers asked for
// within cacheTTL: memory stays flat however long serve runs.
func (c *cache) store(key string, v any, gen, pub uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || pub < c.latest {
		return
	}
	if pub > c.latest {
		c.latest = pub
		for k, it := range c.items {
			if it.pub < pub {
				delete(c.items, k)
			}
		}
	}
	if now.Sub(c.swept) > 10*time.Second || len(c.items) >= cacheMax {
		c.swept = now
		for k, it := range c.items {
			if !now.Before(it.exp) {
				delete(c.items, k)
			}
		}
		if len(c.items) >= cacheMax {
			c.items = map[string]cacheItem{}
		}
	}
	c.items[key] = cacheItem{v: v, gen: gen, pub: pub, exp: now.Add(cacheTTL)}
}

func newCache() *cache { return &cache{items: map[string]cacheItem{}} }

func (c *cache) clear() {
	c.mu.Lock()
	c.gen++
	c.items = map[string]cacheItem{}
	c.mu.Unlock()
}

// computeTimeout bounds a shared computation: it no longer ends with the
// request that started it.
const computeTimeout = 60 * time.Second

// cached returns the value under key, computing it once when missing. The
// computation is shared by every request that wants the key meanwhile, so it
// runs detached from the request that started it (its values, not its
// cancellation): that request leaving fails nobody else. A request that
// leaves stops waiting; the computation goes on for the others.
func cached[T any](ctx context.Context, s *Server, key string, metric string, fn func(context.Context) (T, error)) (T, error) {
	c := s.cache
	var pub uint64
	if v, ok := query.VersionOf(ctx); ok {
		key, pub = v.String()+"|"+key, v.Pub
	}
	var zero T
	v, gen, state := c.lookup(key)
	switch state {
	case cacheHit:
		return v.(T), nil
	case cacheMiss:
		// Wait for the request's turn, unless another request is computing
		// the key already (then join it). The value may have been stored
		// while this request waited: look again.
		if err := takeTurn(ctx); err != nil {
			return zero, err
		}
		var again cacheState
		if v, gen, again = c.lookup(key); again == cacheHit {
			return v.(T), nil
		}
	}
	ch := c.group.DoChan(key, func() (res any, err error) {
		c.running(key, 1)
		defer c.running(key, -1)
		// A panic in DoChan's goroutine would end the process, not the request.
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("compute %s: panic: %v", metric, p)
			}
		}()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), computeTimeout)
		defer cancel()
		if c.computing != nil {
			c.computing(key)
		}
		t0 := time.Now()
		v, err := fn(cctx)
		s.metrics.observeQuery(metric, time.Since(t0))
		if err != nil {
			return v, err
		}
		c.store(key, v, gen, pub, time.Now())
		return v, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	}
}
