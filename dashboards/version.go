package dashboards

import (
	"context"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
)

// versions looks up the latest publication for requests. A request never
// reads a publication older than the latest one committed before it arrived
// (once `pipelens ingest` has exited, the next page shows its rows), and at
// most one lookup runs at a time: requests arriving while one runs share the
// next one.
type versions struct {
	mu      sync.Mutex
	running bool
	next    *lookup // starts when the running one ends; joined by requests arriving meanwhile
}

type lookup struct {
	done chan struct{}
	v    schemas.Version
	err  error
}

// get returns a publication committed no earlier than the call.
func (vs *versions) get(ctx context.Context, db *schemas.DB) (schemas.Version, error) {
	vs.mu.Lock()
	if vs.next == nil {
		vs.next = &lookup{done: make(chan struct{})}
	}
	l := vs.next
	if !vs.running {
		vs.running, vs.next = true, nil
		go vs.run(l, db)
	}
	vs.mu.Unlock()
	select {
	case <-l.done:
		return l.v, l.err
	case <-ctx.Done():
		return schemas.Version{}, ctx.Err()
	}
}

// run performs l and then the lookup requests queued meanwhile, if any.
func (vs *versions) run(l *lookup, db *schemas.DB) {
	for l != nil {
		l.v, l.err = db.CurrentVersion(context.Background())
		close(l.done)
		vs.mu.Lock()
		l, vs.next = vs.next, nil
		vs.running = l != nil
		vs.mu.Unlock()
	}
}

// asOf fixes the publication a request reads (query.AsOf): every number of a
// page comes from the same loads, and cache keys carry it, so a publication
// invalidates the cache in every serving process.
func (s *Server) asOf(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.opts.DB == nil {
			return next(c)
		}
		r := c.Request()
		if v, err := s.versions.get(r.Context(), s.opts.DB); err == nil {
			c.SetRequest(r.WithContext(query.AsOf(r.Context(), v)))
		}
		return next(c)
	}
}
