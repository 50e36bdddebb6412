package schemas_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/clustertest"
)

// TestClusterReplicated runs the schema in cluster mode on a real cluster of two
// shards of two replicas with ZooKeeper (deploy/clickhouse's layout): the local
// tables are replicated, rows inserted through the Distributed tables land on both
// shards and on both replicas of each, a stopped replica neither loses an insert
// nor a read, and it catches up when it comes back.
func TestClusterReplicated(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := clustertest.StartCluster(t)
	t.Logf("zookeeper and %d servers answered in %s", c.Replicas(), c.StartupTime.Round(time.Millisecond))

	db, err := schemas.Open(ctx, c.Config, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Now()
	r1, err := db.Migrate(ctx)
	if err != nil {
		t.Fatalf("cluster migrate: %v", err)
	}
	t.Logf("migrated %d migrations on %d replicas in %s", len(r1.Applied), c.Replicas(), time.Since(t0).Round(time.Millisecond))
	if len(r1.Applied) == 0 {
		t.Fatal("cluster migrate applied nothing")
	}

	// Every replica has the same tables: <name>_local replicated, <name> Distributed.
	var first map[string]string
	for i := range c.Replicas() {
		tables := serverTables(ctx, t, c.Addr(i))
		for name, engine := range tables {
			switch {
			case name == "schema_migrations" || strings.HasPrefix(name, "lease_"):
			case strings.HasSuffix(name, "_local"):
				if !strings.HasPrefix(engine, "Replicated") {
					t.Errorf("server %d: %s has engine %s, want a replicated one", i, name, engine)
				}
				if tables[strings.TrimSuffix(name, "_local")] != "Distributed" {
					t.Errorf("server %d: %s has no Distributed table over it", i, name)
				}
			case engine != "Distributed":
				t.Errorf("server %d: %s has engine %s, want Distributed over %s_local", i, name, engine, name)
			}
		}
		if tables["opportunities_local"] == "" {
			t.Fatalf("server %d has no opportunities_local: %v", i, tables)
		}
		if first == nil {
			first = tables
		} else if fmt.Sprint(tables) != fmt.Sprint(first) {
			t.Errorf("server %d tables differ from server 0's:\n%v\n%v", i, tables, first)
		}
	}
	if r2, err := db.Migrate(ctx); err != nil || len(r2.Applied) != 0 || r2.From != r1.To {
		t.Fatalf("second cluster migrate: applied %v (from %d), err %v; want nothing from %d", r2.Applied, r2.From, err, r1.To)
	}
	if got := db.Local("opportunities"); got != "opportunities_local" {
		t.Errorf("Local(opportunities) = %s in cluster mode", got)
	}

	const batch = 1000
	loaded := 0
	insert := func(db *schemas.DB) {
		t.Helper()
		var rows [][]any
		now := time.Now().UTC().Truncate(time.Second)
		for i := range batch {
			rows = append(rows, []any{fmt.Sprintf("opp-%06d", loaded+i), "owner", "negotiation", float64((loaded+i)%97) * 10.5, now, uint64(1), now})
		}
		if err := db.InsertRows(ctx, "test-insert", "INSERT INTO opportunities (opportunity_id, owner_id, stage, amount, created_at, run_id, loaded_at)", rows...); err != nil {
			t.Fatalf("insert through the Distributed table of %s: %v", db.Addr(), err)
		}
		loaded += batch
	}
	insert(db)
	perServer := waitReplicated(ctx, t, c, loaded)
	t.Logf("after %d rows: local rows per server %v", loaded, perServer)
	for i := range c.Replicas() {
		if n := distributedCount(ctx, t, c.Addr(i)); n != uint64(loaded) {
			t.Errorf("server %d reads %d rows through the Distributed table, want %d", i, n, loaded)
		}
	}

	// Server 0 (shard 1, replica 1) crashes in the middle of a load of three
	// batches, loaded through server 2 (shard 2): shard 1's rows go to its other
	// replica, and nothing is lost or doubled. Replication is asynchronous: rows
	// that reached only server 0 would be missing until it is back, so the
	// load waits for its replicas (SyncReplicas) before server 0 stops.
	db2, err := schemas.Open(ctx, c.ConfigAt(2), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	insert(db2)
	if err := db2.SyncReplicas(ctx, "opportunities"); err != nil {
		t.Fatalf("SyncReplicas: %v", err)
	}
	if counts := localCounts(ctx, t, c); counts[0] != counts[1] || counts[2] != counts[3] || counts[0]+counts[2] != uint64(loaded) {
		t.Fatalf("after SyncReplicas: local rows per server %v, want the same on both replicas of a shard and %d in all", counts, loaded)
	}
	c.KillReplica(0)
	insert(db2)
	insert(db2)
	if err := db2.SyncReplicas(ctx, "opportunities"); err != nil {
		t.Fatalf("SyncReplicas with replica 0 down: %v", err)
	}
	if n := distributedCount(ctx, t, c.Addr(1)); n != uint64(loaded) {
		t.Errorf("with replica 0 down, shard 1's other replica reads %d rows through the Distributed table, want %d", n, loaded)
	}
	var perShard []uint64
	err = db2.EachShard(ctx, func(ctx context.Context, shard *schemas.DB) error {
		if shard.Addr() == c.Addr(0) {
			return fmt.Errorf("EachShard chose the stopped replica")
		}
		var n uint64
		err := shard.Conn.QueryRow(ctx, "SELECT count() FROM "+shard.Local("opportunities")).Scan(&n)
		perShard = append(perShard, n)
		return err
	})
	if err != nil {
		t.Fatalf("EachShard with a replica down: %v", err)
	}
	if len(perShard) != 2 || perShard[0]+perShard[1] != uint64(loaded) || perShard[0] == 0 || perShard[1] == 0 {
		t.Errorf("EachShard with replica 0 down counts %v local rows, want both shards used and %d in all", perShard, loaded)
	}
	if err := db2.EachReplica(ctx, func(context.Context, *schemas.DB) error { return nil }); err == nil {
		t.Error("EachReplica with a replica down: no error")
	}
	if r, err := db2.Migrate(ctx); err != nil || len(r.Applied) != 0 {
		t.Errorf("Migrate with a replica down and nothing to do: applied %v, err %v; want nothing and no error", r.Applied, err)
	}

	// Back up, replica 0 fetches what it missed from its sibling.
	t2 := time.Now()
	c.StartReplica(0)
	perServer = waitReplicated(ctx, t, c, loaded)
	t.Logf("replica 0 restarted and caught up in %s; after %d rows: local rows per server %v", time.Since(t2).Round(time.Millisecond), loaded, perServer)
	for i := range c.Replicas() {
		if n := distributedCount(ctx, t, c.Addr(i)); n != uint64(loaded) {
			t.Errorf("server %d reads %d rows through the Distributed table, want %d", i, n, loaded)
		}
	}
	var visited []string
	if err := db2.EachReplica(ctx, func(_ context.Context, r *schemas.DB) error { visited = append(visited, r.Addr()); return nil }); err != nil || len(visited) != 4 {
		t.Errorf("EachReplica visited %v, err %v; want all 4", visited, err)
	}
	if r3, err := db2.Migrate(ctx); err != nil || len(r3.Applied) != 0 {
		t.Fatalf("migrate after the restart: applied %v, err %v; want nothing", r3.Applied, err)
	}
}

// waitReplicated waits until both replicas of each shard hold the same rows of
// opportunities_local and the shards together hold want, and returns the local
// counts per server.
func waitReplicated(ctx context.Context, t *testing.T, c *clustertest.Cluster, want int) []uint64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts := localCounts(ctx, t, c)
		perShard := map[int]uint64{}
		ok := true
		for i := range c.Replicas() {
			s := c.ShardOf(i)
			if prev, seen := perShard[s]; seen && prev != counts[i] {
				ok = false
			}
			perShard[s] = counts[i]
		}
		total := uint64(0)
		for _, n := range perShard {
			total += n
		}
		if ok && total == uint64(want) {
			for _, n := range perShard {
				if n == 0 {
					t.Errorf("a shard holds no rows: %v", counts)
				}
			}
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas did not converge within 60s: local rows per server %v, want %d in all, the same on both replicas of a shard", counts, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// localCounts counts the rows of opportunities_local on each server.
func localCounts(ctx context.Context, t *testing.T, c *clustertest.Cluster) []uint64 {
	t.Helper()
	counts := make([]uint64, c.Replicas())
	for i := range c.Replicas() {
		db, err := schemas.OpenAddr(ctx, c.Addr(i), clustertest.Database, time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Conn.QueryRow(ctx, "SELECT count() FROM opportunities_local").Scan(&counts[i])
		db.Close()
		if err != nil {
			t.Fatalf("server %d: %v", i, err)
		}
	}
	return counts
}

func distributedCount(ctx context.Context, t *testing.T, addr string) uint64 {
	t.Helper()
	db, err := schemas.OpenAddr(ctx, addr, clustertest.Database, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n uint64
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM opportunities").Scan(&n); err != nil {
		t.Fatalf("count through the Distributed table of %s: %v", addr, err)
	}
	return n
}

func serverTables(ctx context.Context, t *testing.T, addr string) map[string]string {
	t.Helper()
	db, err := schemas.OpenAddr(ctx, addr, clustertest.Database, time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", clustertest.Database)
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
