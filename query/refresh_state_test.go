package query

import (
	"context"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// serve starts without rebuilding the serving tables (a minute at millions of
// deals) when nothing they depend on changed, and rebuilds when a run commits.
func TestRefreshIfStale(t *testing.T) {
	db := schemastest.Open(t)
	ctx := context.Background()
	s := New(db, time.UTC, nil)
	commit := func(id uint64) {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Second)
		if err := db.InsertRows(ctx, "t", "INSERT INTO ingest_runs (run_id, status, started_at, finished_at, updated_ns)",
			[]any{id, "committed", now, now, uint64(time.Now().UnixNano())}); err != nil {
			t.Fatal(err)
		}
	}
	commit(1)
	if did, err := s.RefreshIfStale(ctx); err != nil || !did {
		t.Fatalf("first check: rebuilt %v, err %v; want a rebuild", did, err)
	}
	if did, err := s.RefreshIfStale(ctx); err != nil || did {
		t.Fatalf("nothing changed: rebuilt %v, err %v; want no rebuild", did, err)
	}
	commit(2)
	if did, err := s.RefreshIfStale(ctx); err != nil || !did {
		t.Fatalf("after a new committed run: rebuilt %v, err %v; want a rebuild", did, err)
	}
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if did, _ := s.RefreshIfStale(ctx); did {
		t.Fatal("Refresh did not record what it was built from")
	}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	if did, err := New(db, shanghai, nil).RefreshIfStale(ctx); err != nil || !did {
		t.Fatalf("another time zone: rebuilt %v, err %v; want a rebuild (days fall differently)", did, err)
	}
}
