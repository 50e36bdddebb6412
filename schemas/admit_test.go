package schemas_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// A burst of read statements five times the pool (20 connections) at 2 s
// each: clickhouse-go alone gives up on the rounds after the third after its 5 s dial
// timeout ("acquire conn timeout"); admitted, every statement waits its turn
// and answers.
func TestAdmitReadQueuesBeyondThePool(t *testing.T) {
	db := schemastest.OpenEmpty(t)
	if db.ReadSlots() < 2 || db.ReadSlots() > 16 {
		t.Fatalf("read slots %d: want 2 to the pool of 20 minus 4", db.ReadSlots())
	}
	burst := func(admit bool) []error {
		var wg sync.WaitGroup
		errs := make([]error, 100)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = sleep(db, admit)
			}()
		}
		wg.Wait()
		return errs
	}
	timeouts := 0
	for _, err := range burst(false) {
		if errors.Is(err, clickhouse.ErrAcquireConnTimeout) {
			timeouts++
		}
	}
	if timeouts == 0 {
		t.Fatal("without admission no statement timed out: the burst does not test anything")
	}
	t.Logf("without admission: %d of 100 statements failed with acquire conn timeout", timeouts)
	for i, err := range burst(true) {
		if err != nil {
			t.Fatalf("statement %d admitted: %v", i, err)
		}
	}
}

func sleep(db *schemas.DB, admit bool) error {
	ctx := context.Background()
	if admit {
		_, release, err := db.AdmitRead(ctx)
		if err != nil {
			return err
		}
		defer release()
	}
	rows, err := db.Conn.Query(ctx, "SELECT sleep(2)")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// TestAdmitReadOneThreadWhenBusy: a read admitted while as many reads as the
// server has cores run gets one thread; alone, and again once the others are
// released, it gets the server's own max_threads.
func TestAdmitReadOneThreadWhenBusy(t *testing.T) {
	db := schemastest.OpenEmpty(t)
	ctx := context.Background()
	threads := func() string {
		t.Helper()
		set, release, err := db.AdmitRead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		c, cancel := db.Context(ctx, "test-threads", set)
		defer cancel()
		var v string
		if err := db.Conn.QueryRow(c, "SELECT value FROM system.settings WHERE name = 'max_threads'").Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	alone := threads()
	if alone == "1" {
		t.Fatalf("the server runs statements on one thread anyway (max_threads %s): the test cannot tell", alone)
	}
	var releases []func()
	for range db.Cores() {
		_, release, err := db.AdmitRead(ctx)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	if got := threads(); got != "1" {
		t.Errorf("with %d reads running: max_threads %s, want 1", db.Cores(), got)
	}
	for _, r := range releases {
		r()
	}
	if got := threads(); got != alone {
		t.Errorf("once they are released: max_threads %s, want %s as alone", got, alone)
	}
}
