package dashboards

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// revocationRefresh bounds how long another serve process may still accept a
// session after it was signed out: the shared list is re-read at most this often.
const revocationRefresh = 5 * time.Second

// revocations is the list of signed-out sessions. The process that signs a
// session out refuses it at once; the others learn it from ClickHouse
// (session_revocations) within revocationRefresh.
type revocations struct {
	db    *schemas.DB
	log   *slog.Logger
	every time.Duration

	mu     sync.Mutex
	ids    map[string]time.Time // session id → when its cookie expires
	loaded time.Time            // last (attempted) read of the shared list
}

func newRevocations(db *schemas.DB, log *slog.Logger) *revocations {
	return &revocations{db: db, log: log, every: revocationRefresh, ids: map[string]time.Time{}}
}

// revoke ends a session in this process at once and records it for the others.
func (r *revocations) revoke(ctx context.Context, id, user string, expires time.Time) error {
	r.mu.Lock()
	r.ids[id] = expires
	r.mu.Unlock()
	if r.db == nil {
		return nil
	}
	return r.db.InsertRows(ctx, "dashboards-logout", "INSERT INTO session_revocations (session_id, username, revoked_at, expires_at)",
		[]any{id, user, time.Now().UTC().Truncate(time.Second), expires.UTC()})
}

// revoked says whether the session id was signed out, here or by another process.
func (r *revocations) revoked(ctx context.Context, id string) bool {
	r.refresh(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[id]
	return ok
}

// refresh re-reads the shared list when it is older than every. One request
// reads it; the others meanwhile use what is known. A failed read (ClickHouse
// down) keeps the known list and is retried a second later: the pages answer 503
// then anyway, and this process's own sign-outs still hold.
func (r *revocations) refresh(ctx context.Context) {
	if r.db == nil {
		return
	}
	now := time.Now()
	r.mu.Lock()
	if now.Sub(r.loaded) < r.every {
		r.mu.Unlock()
		return
	}
	r.loaded = now
	r.mu.Unlock()
	ids, err := r.read(ctx)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.loaded = now.Add(time.Second - r.every)
		r.log.Warn("read signed-out sessions", "err", err)
		return
	}
	for id, exp := range r.ids {
		if exp.Before(now) {
			delete(r.ids, id)
		}
	}
	for id, exp := range ids {
		r.ids[id] = exp
	}
}

func (r *revocations) read(ctx context.Context) (map[string]time.Time, error) {
	qctx, cancel := r.db.ContextTimeout(ctx, "dashboards-revocations", 2*time.Second)
	defer cancel()
	rows, err := r.db.Conn.Query(qctx, "SELECT session_id, max(expires_at) FROM session_revocations WHERE expires_at > now() GROUP BY session_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var exp time.Time
		if err := rows.Scan(&id, &exp); err != nil {
			return nil, err
		}
		out[id] = exp
	}
	return out, rows.Err()
}
