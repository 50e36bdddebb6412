package schemas_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// A batch's context must not close its connection after the batch is done:
// release leaves Done open, while the deadline and the parent still end it.
func TestBatchContext(t *testing.T) {
	db := schemastest.Open(t)
	ctx, release := db.BatchContext(context.Background(), "t", time.Minute)
	release()
	select {
	case <-ctx.Done():
		t.Fatal("release closed Done: clickhouse-go would close the pooled connection")
	case <-time.After(50 * time.Millisecond):
	}
	if _, ok := ctx.Deadline(); !ok || ctx.Err() != nil {
		t.Fatalf("deadline %v, err %v", ok, ctx.Err())
	}

	ctx, release = db.BatchContext(context.Background(), "t", 20*time.Millisecond)
	defer release()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the deadline did not end the batch context")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("err %v, want deadline exceeded", ctx.Err())
	}

	parent, cancel := context.WithCancel(context.Background())
	ctx, release = db.BatchContext(parent, "t", time.Minute)
	defer release()
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("cancelling the parent did not end the batch context")
	}

	// many small batches in a row, each released at once, on a busy connection pool
	for i := range 200 {
		if err := db.InsertRows(context.Background(), "t", "INSERT INTO accounts (account_id, run_id, loaded_at)", []any{"a", uint64(i), time.Now()}); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
}
