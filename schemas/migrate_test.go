package schemas_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestMain(m *testing.M) { schemastest.Main(m) }

func tableList(t *testing.T, db *schemas.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", db.Database)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var n, e string
		if err := rows.Scan(&n, &e); err != nil {
			t.Fatal(err)
		}
		out[n] = e
	}
	return out
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	db := schemastest.OpenEmpty(t)
	ctx := context.Background()
	r1, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("first migrate: %v", err)
	}
	if len(r1.Applied) == 0 {
		t.Fatal("first migrate applied nothing")
	}
	before := tableList(t, db)
	for _, want := range []string{"accounts", "reps", "opportunities", "opportunity_snapshots", "stage_events", "leads", "activities", "targets", "market", "ingest_runs", "ingest_rejects", "schema_migrations"} {
		if _, ok := before[want]; !ok {
			t.Errorf("table %s missing after migrate; have %v", want, before)
		}
	}
	r2, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(r2.Applied) != 0 || r2.From != r1.To {
		t.Fatalf("second migrate applied %v (from %d, first ended at %d): want nothing", r2.Applied, r2.From, r1.To)
	}
	after := tableList(t, db)
	if len(after) != len(before) {
		t.Fatalf("tables changed on second migrate: %v -> %v", before, after)
	}
	var n uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if int(n) != len(r1.Applied) {
		t.Fatalf("schema_migrations has %d rows, want %d", n, len(r1.Applied))
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	db := schemastest.Open(t)
	ctx := context.Background()
	if err := db.Exec(ctx, "test", "INSERT INTO schema_migrations (version, name, checksum, applied_at) SELECT 9999, '9999_future.sql', 'x', now()"); err != nil {
		t.Fatal(err)
	}
	_, err := db.Migrate(ctx)
	if !errors.Is(err, schemas.ErrSchemaNewer) {
		t.Fatalf("migrate on a newer schema: got %v, want ErrSchemaNewer", err)
	}
}

// A home created before version 7 has ReplacingMergeTree(run_id) raw tables, whose
// merges can replace a published row by one of a failed load: migrating turns
// them into MergeTree and keeps every row, also the versions a merge would fold.
func TestMigrateConvertsReplacingRawTables(t *testing.T) {
	db := schemastest.OpenEmpty(t)
	ctx := context.Background()
	if err := db.Exec(ctx, "test", `CREATE TABLE accounts (account_id String, name String, territory String, region String, country String,
    city String, industry String, segment String, employees UInt32, revenue Float64, parent_id String, source_system String,
    run_id UInt64, loaded_at DateTime) ENGINE = ReplacingMergeTree(run_id) ORDER BY account_id`); err != nil {
		t.Fatal(err)
	}
	for _, run := range []uint64{1, 2} {
		if err := db.InsertRows(ctx, "test", "INSERT INTO accounts (account_id, name, run_id)", []any{"a1", "v" + string(rune('0'+run)), run}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if e := tableList(t, db)["accounts"]; e != "MergeTree" {
		t.Fatalf("accounts engine after migrate: %s, want MergeTree", e)
	}
	if err := db.Exec(ctx, "test", "OPTIMIZE TABLE accounts FINAL"); err != nil {
		t.Fatal(err)
	}
	var n uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM accounts WHERE account_id = 'a1'").Scan(&n); err != nil || n != 2 {
		t.Fatalf("rows of a1 after conversion and a merge: %d (%v), want both versions", n, err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
}

// Migrate on a home whose other processes create and drop tables meanwhile
// (leases come and go) never fails: on 18.16 a scan of system.tables fails
// while a table is dropped, and the raw-engine check took that failure for a
// missing table ("table accounts is missing and no finished copy accounts__mt
// exists", seen in TestConcurrentLoadsWhileServing).
func TestMigrateWhileTablesComeAndGo(t *testing.T) {
	db := schemastest.OpenEmpty(t)
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defer tablesComeAndGo(db)()
	for i := 0; i < 40; i++ {
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate %d while tables come and go: %v", i, err)
		}
	}
}

// tablesComeAndGo creates and drops tables on db until the returned func is
// called, as other processes' leases come and go.
func tablesComeAndGo(db *schemas.DB) (stop func()) {
	ctx := context.Background()
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			n := fmt.Sprintf("lease_churn_%d", i%5)
			_ = db.Conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+n+" (x UInt8) ENGINE = MergeTree ORDER BY x")
			_ = db.Conn.Exec(ctx, "DROP TABLE IF EXISTS "+n)
		}
	}()
	return func() { close(quit); <-done }
}
