package query

import (
	"context"
	"time"
)

// fcQuery is s.query for the forecast's statements, logging each one's
// purpose and duration at debug level (where a slow forecast spends its time).
func (s *Service) fcQuery(ctx context.Context, purpose, q string, args []any, scan func(driverRows) error) error {
	t0 := time.Now()
	err := s.query(ctx, purpose, q, args, scan)
	s.log.Debug("forecast statement", "purpose", purpose, "took", time.Since(t0).Round(time.Millisecond), "err", err)
	return err
}
