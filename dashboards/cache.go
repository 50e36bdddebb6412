package dashboards

import (
	"context"
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
	mu    sync.Mutex
	gen   uint64
	items map[string]cacheItem
	group singleflight.Group
}

type cacheItem struct {
	v   any
	gen uint64
	exp time.Time
}

func newCache() *cache { return &cache{items: map[string]cacheItem{}} }

func (c *cache) clear() {
	c.mu.Lock()
	c.gen++
	c.items = map[string]cacheItem{}
	c.mu.Unlock()
}

// cached returns the value under key, computing it once when missing.
func cached[T any](ctx context.Context, s *Server, key string, metric string, fn func(context.Context) (T, error)) (T, error) {
	c := s.cache
	if v, ok := query.VersionOf(ctx); ok {
		key = v.String() + "|" + key
	}
	now := time.Now()
	c.mu.Lock()
	it, ok := c.items[key]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Before(it.exp) {
		return it.v.(T), nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		t0 := time.Now()
		v, err := fn(ctx)
		s.metrics.observeQuery(metric, time.Since(t0))
		if err != nil {
			return v, err
		}
		c.mu.Lock()
		if c.gen == gen {
			if len(c.items) > 20000 {
				c.items = map[string]cacheItem{}
			}
			c.items[key] = cacheItem{v: v, gen: gen, exp: time.Now().Add(cacheTTL)}
		}
		c.mu.Unlock()
		return v, nil
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
