package schemas_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pipelens/pipelens/deploy"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// TestClusterSchema runs the schema in cluster mode on two real local servers
// configured with deploy/clickhouse/cluster.xml: rows inserted through the
// Distributed table land on both shards and read back the same from either server.
func TestClusterSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var ports []int
	for range 2 {
		p, err := schemas.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, p)
	}
	addrs := []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])), net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))}
	remote, err := deploy.RemoteServers(addrs)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i, p := range ports {
		e, err := schemas.StartEmbedded(ctx, schemas.EmbeddedOptions{Dir: filepath.Join(dir, fmt.Sprintf("shard%d", i+1)), TCPPort: p, ExtraConfig: remote})
		if err != nil {
			t.Fatalf("start shard %d: %v", i+1, err)
		}
		t.Cleanup(func() { e.Stop() })
	}
	cfg := config.ClickHouse{URL: config.Secret("clickhouse://default@" + addrs[0] + "/pipelens"), Cluster: "pipelens", Shards: addrs, QueryTimeout: time.Minute}
	db, err := schemas.Open(ctx, cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("cluster migrate: %v", err)
	}
	if r, err := db.Migrate(ctx); err != nil || len(r.Applied) != 0 {
		t.Fatalf("second cluster migrate: applied %v, err %v; want nothing", r.Applied, err)
	}

	const n = 1000
	want := 0.0
	var rows [][]any
	now := time.Now().UTC().Truncate(time.Second)
	for i := range n {
		amt := float64(i%97) * 10.5
		want += amt
		rows = append(rows, []any{fmt.Sprintf("opp-%04d", i), "owner", "negotiation", amt, now, uint64(1), now})
	}
	if err := db.InsertRows(ctx, "test-insert", "INSERT INTO opportunities (opportunity_id, owner_id, stage, amount, created_at, run_id, loaded_at)", rows...); err != nil {
		t.Fatalf("insert through the Distributed table: %v", err)
	}

	var perShard []uint64
	for i, a := range addrs {
		sdb, err := schemas.OpenAddr(ctx, a, "pipelens", time.Minute, nil)
		if err != nil {
			t.Fatal(err)
		}
		var cnt uint64
		var sum float64
		if err := sdb.Conn.QueryRow(ctx, "SELECT count(), sum(amount) FROM opportunities").Scan(&cnt, &sum); err != nil {
			t.Fatalf("read through shard %d: %v", i+1, err)
		}
		if cnt != n || sum != want {
			t.Errorf("shard %d reads count %d sum %.1f through the Distributed table, want %d and %.1f", i+1, cnt, sum, n, want)
		}
		var local uint64
		if err := sdb.Conn.QueryRow(ctx, "SELECT count() FROM opportunities_local").Scan(&local); err != nil {
			t.Fatal(err)
		}
		perShard = append(perShard, local)
		sdb.Close()
	}
	if perShard[0]+perShard[1] != n || perShard[0] == 0 || perShard[1] == 0 {
		t.Errorf("rows per shard %v: want both shards used, %d in all", perShard, n)
	}
}
