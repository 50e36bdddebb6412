package schemas_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// The embedded server belongs to no single process: the one that started it may
// stop first, and the server stays up for the others; it stops when the last
// one stops.
func TestEmbeddedOutlivesItsStarter(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "clickhouse")
	first, err := schemas.StartEmbedded(ctx, schemas.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := schemas.StartEmbedded(ctx, schemas.EmbeddedOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !first.Owner || second.Owner || first.PID() != second.PID() {
		t.Fatalf("the second user started its own server: pids %d, %d", first.PID(), second.PID())
	}
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	db, err := schemas.OpenAddr(ctx, second.Addr, "default", 10*time.Second, nil)
	if err != nil {
		t.Fatalf("the server went with the process that started it: %v", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("the server went with the process that started it: %v", err)
	}
	db.Close()
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	// Exited; its supervisor reaps it a moment later.
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(second.PID(), 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("the server (pid %d) runs on after its last user stopped", second.PID())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
