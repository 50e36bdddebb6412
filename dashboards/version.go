package dashboards

import (
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
)

// versionTTL bounds how long a publication by any process (pipelens ingest, the
// watched folder, another host) takes to show: each request reads the numbers
// of one publication, looked up at most this often.
const versionTTL = 500 * time.Millisecond

// versions remembers the latest publication for versionTTL.
type versions struct {
	mu  sync.Mutex
	v   schemas.Version
	at  time.Time
	err error
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
		s.versions.mu.Lock()
		if time.Since(s.versions.at) > versionTTL {
			v, err := s.opts.DB.CurrentVersion(r.Context())
			if err == nil {
				s.versions.v, s.versions.at = v, time.Now()
			}
			s.versions.err = err
		}
		v, err := s.versions.v, s.versions.err
		s.versions.mu.Unlock()
		if err == nil {
			c.SetRequest(r.WithContext(query.AsOf(r.Context(), v)))
		}
		return next(c)
	}
}
