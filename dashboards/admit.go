package dashboards

import (
	"context"
	"fmt"
	"sync"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/semaphore"
)

// admission lets a bounded number of requests compute numbers at once, first
// come first served. A request takes its turn at its first cache miss and
// keeps it until it has answered, so the statements of the requests being
// computed share the server, and a request that came later waits for them
// instead of slowing every one of them down: under a burst of cold pages the
// first ones finish in their own time and nothing times out. Cache hits never
// wait.
type admission struct {
	sem   *semaphore.Weighted
	slots int
}

func newAdmission(slots int) *admission {
	slots = max(slots, 1)
	return &admission{sem: semaphore.NewWeighted(int64(slots)), slots: slots}
}

// turn is one request's place: taken at most once, given back when the request
// ends. A computation the request started may outlive it (cached) and miss the
// cache again; after the end it computes without a turn, since it waits for
// nothing the request holds.
type turn struct {
	a *admission
	// ctx is the request's: a caller's shorter wait (a panel that shows
	// "computing" after a moment) must not give up the turn the rest of the
	// page waits for anyway, nor leave its computation unstarted.
	ctx  context.Context
	mu   sync.Mutex
	held bool
	done bool
}

type turnKey struct{}

// take waits for the request's turn unless it holds one or has ended.
func (t *turn) take(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held || t.done {
		return nil
	}
	if t.ctx != nil {
		ctx = t.ctx
	}
	if err := t.a.sem.Acquire(ctx, 1); err != nil {
		return fmt.Errorf("wait for a turn to compute (%d requests compute at once): %w", t.a.slots, err)
	}
	t.held = true
	return nil
}

func (t *turn) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held {
		t.a.sem.Release(1)
	}
	t.held, t.done = false, true
}

// admit gives each request a turn to take at its first cache miss.
func (s *Server) admit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		t := &turn{a: s.admission, ctx: r.Context()}
		defer t.end()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), turnKey{}, t)))
		return next(c)
	}
}

// takeTurn waits for ctx's request's turn (nothing outside a request).
func takeTurn(ctx context.Context) error {
	if t, ok := ctx.Value(turnKey{}).(*turn); ok {
		return t.take(ctx)
	}
	return nil
}

// computeSlots is server.max_computing_requests, by default the ClickHouse
// server's cores: a cold page runs some twenty statements, enough to keep a
// core busy each.
func computeSlots(o Options) int {
	if n := o.Config.Server.MaxComputingRequests; n > 0 {
		return n
	}
	if o.DB != nil {
		return o.DB.Cores()
	}
	return 2
}
