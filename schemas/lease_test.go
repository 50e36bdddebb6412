package schemas_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// The publish lease serialises every writer that shares the server: a second
// process waits while the first holds it, and takes it at once when the holder
// is a dead process of its own host, or when a holder elsewhere stopped
// renewing it. A holder whose lease was taken learns it before it commits.
func TestLease(t *testing.T) {
	db := schemastest.Open(t)
	ctx := context.Background()

	a, err := db.AcquireLease(ctx, "t1", 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Second)
	if _, err := db.AcquireLease(wctx, "t1", 4*time.Second); err == nil {
		t.Fatal("a second holder got a lease that is held")
	}
	cancel()
	got := make(chan error, 1)
	go func() {
		b, err := db.AcquireLease(ctx, "t1", 4*time.Second)
		if err == nil {
			err = b.Release(ctx)
		}
		got <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := a.Check(ctx); err != nil {
		t.Fatalf("the holder lost its lease while another waited: %v", err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter did not get the lease after its release")
	}

	host, _ := os.Hostname()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, host string
		pid        int
		expires    string
	}{
		{"dead process of this host", host, dead.Process.Pid, "now() + 600"},
		{"silent holder elsewhere", "elsewhere", 4242, "now() - 1"},
		{"created, never written", "", 0, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := fmt.Sprintf("t%d", time.Now().UnixNano())
			if err := db.Exec(ctx, "test", "CREATE TABLE lease_"+name+" (holder String, host String, pid UInt32, expires DateTime) ENGINE = Log"); err != nil {
				t.Fatal(err)
			}
			if c.expires != "" {
				q := fmt.Sprintf("INSERT INTO lease_%s (holder, host, pid, expires) SELECT 'x', '%s', %d, %s", name, c.host, c.pid, c.expires)
				if err := db.Exec(ctx, "test", q); err != nil {
					t.Fatal(err)
				}
			} else {
				time.Sleep(5 * time.Second) // older than the ttl
			}
			wctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			l, err := db.AcquireLease(wctx, name, 4*time.Second)
			if err != nil {
				t.Fatalf("the lease of a gone holder was not taken over: %v", err)
			}
			_ = l.Release(ctx)
		})
	}

	// Taken over behind the holder's back (it was silent too long): Check says so.
	l, err := db.AcquireLease(ctx, "t2", 4*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "test", "RENAME TABLE lease_t2 TO lease_t2_gone"); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "test", "CREATE TABLE lease_t2 (holder String, host String, pid UInt32, expires DateTime) ENGINE = Log"); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(ctx, "test", "INSERT INTO lease_t2 (holder, host, pid, expires) SELECT 'other', 'elsewhere', 1, now() + 60"); err != nil {
		t.Fatal(err)
	}
	if err := l.Check(ctx); !errors.Is(err, schemas.ErrLeaseLost) {
		t.Fatalf("Check after a take-over: %v, want ErrLeaseLost", err)
	}
	_ = l.Release(ctx)
	var holder string
	if err := db.Conn.QueryRow(ctx, "SELECT argMax(holder, expires) FROM lease_t2").Scan(&holder); err != nil || holder != "other" {
		t.Fatalf("releasing a lost lease removed the new holder's: %q %v", holder, err)
	}
}

// A holder's Check while other tables are created and dropped (another
// process releasing its lease drops one): on 18.16 a scan of system.tables
// then fails with code 60, which Check once read as its own lease gone
// (TestFreshHomeManyProcessesAtOnce in CI, 2026-12-05).
func TestLeaseCheckWhileTablesComeAndGo(t *testing.T) {
	db := schemastest.Open(t)
	ctx := context.Background()
	l, err := db.AcquireLease(ctx, "churn", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release(ctx) }()
	defer tablesComeAndGo(db)()
	for i := 0; i < 300; i++ {
		if err := l.Check(ctx); err != nil {
			t.Fatalf("check %d while tables come and go: %v", i, err)
		}
	}
}
