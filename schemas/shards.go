package schemas

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// Cluster mode: clickhouse.cluster names a remote_servers cluster and
// clickhouse.shards lists its servers, one entry per shard with the shard's
// replicas separated by commas ("ch1:9000,ch2:9000"; a single address is a shard of
// one replica). Each table is a replicated local table <name>_local on every server
// plus a Distributed table <name> over the cluster. Reads and inserts go through the
// Distributed tables; what must act on one table (mutations, RENAME, CREATE ... AS,
// per-shard computations) goes to the local tables through EachShard and EachReplica.

// ParseShards reads clickhouse.shards: the native host:port of every replica, per
// shard.
func ParseShards(shards []string) ([][]string, error) {
	var out [][]string
	for i, s := range shards {
		var reps []string
		for _, a := range strings.Split(s, ",") {
			a = strings.TrimSpace(a)
			if a == "" {
				continue
			}
			if _, _, err := net.SplitHostPort(a); err != nil {
				return nil, fmt.Errorf("clickhouse.shards[%d]: %q: want host:port, replicas of a shard separated by commas", i, a)
			}
			reps = append(reps, a)
		}
		if len(reps) == 0 {
			return nil, fmt.Errorf("clickhouse.shards[%d] is empty: want host:port, replicas of a shard separated by commas", i)
		}
		out = append(out, reps)
	}
	return out, nil
}

// Layout is the cluster's servers: the native address of every replica, per shard.
// In single-server mode it is one shard of one replica, the connected server.
func (db *DB) Layout() ([][]string, error) {
	if db.Cluster == "" {
		return [][]string{{db.Addr()}}, nil
	}
	if len(db.shards) == 0 {
		return nil, fmt.Errorf("cluster mode (clickhouse.cluster %q) needs clickhouse.shards: the native address of every replica of every shard", db.Cluster)
	}
	return ParseShards(db.shards)
}

// Local is the name of table's local table: table_local in cluster mode, table
// itself on a single server.
func (db *DB) Local(table string) string {
	if db.Cluster == "" {
		return table
	}
	return table + "_local"
}

// EachShard calls fn once per shard with a connection to one server of it, the
// first of its replicas (in clickhouse.shards order) that answers: a replica that
// is down does not fail it while another replica of its shard answers. On a single
// server it calls fn(ctx, db) once. Shards are visited in order, one at a time; the
// first error stops it. The shard's DB has db's database, timeout, logger and
// cluster (so Local names its local tables); it is closed when fn returns.
//
// Use it for what must run once per shard on local tables: mutations, INSERT ...
// SELECT between co-sharded local tables. Replication copies the changes to the
// shard's other replicas.
func (db *DB) EachShard(ctx context.Context, fn func(ctx context.Context, shard *DB) error) error {
	if db.Cluster == "" {
		return fn(ctx, db)
	}
	layout, err := db.Layout()
	if err != nil {
		return err
	}
	for i, reps := range layout {
		var errs []error
		var sdb *DB
		for _, a := range reps {
			if sdb, err = db.openAt(ctx, a); err == nil {
				break
			}
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			if ctx.Err() != nil {
				break
			}
		}
		if sdb == nil {
			return fmt.Errorf("shard %d: no replica answers: %w", i+1, errors.Join(errs...))
		}
		err := fn(ctx, sdb)
		sdb.Conn.Close()
		if err != nil {
			return fmt.Errorf("shard %d (%s): %w", i+1, sdb.Addr(), err)
		}
	}
	return nil
}

// EachReplica calls fn once per server of the cluster, shard by shard, replica by
// replica, one at a time; every replica must answer. On a single server it calls
// fn(ctx, db) once. Use it for DDL: CREATE, DROP, RENAME and ALTER act on one
// server's metadata. The replica's DB is like EachShard's and closed when fn returns.
func (db *DB) EachReplica(ctx context.Context, fn func(ctx context.Context, replica *DB) error) error {
	if db.Cluster == "" {
		return fn(ctx, db)
	}
	layout, err := db.Layout()
	if err != nil {
		return err
	}
	for i, reps := range layout {
		for _, a := range reps {
			rdb, err := db.openAt(ctx, a)
			if err != nil {
				return fmt.Errorf("shard %d replica %s: %w", i+1, a, err)
			}
			err = fn(ctx, rdb)
			rdb.Conn.Close()
			if err != nil {
				return fmt.Errorf("shard %d replica %s: %w", i+1, a, err)
			}
		}
	}
	return nil
}

// openAt connects to one server of the cluster with db's settings. The result is a
// cluster of its own one server, so Local, EachShard and EachReplica on it stay
// on it.
func (db *DB) openAt(ctx context.Context, addr string) (*DB, error) {
	sdb, err := connect(ctx, withAddr(db, addr), db.Timeout, db.log)
	if err != nil {
		return nil, err
	}
	if err := sdb.Ping(ctx); err != nil {
		sdb.Conn.Close()
		return nil, err
	}
	sdb.Cluster = db.Cluster
	sdb.shards = []string{addr}
	return sdb, nil
}

// openReplicas connects to every server of the cluster: servers holds those that
// answer, per shard (in order; a shard may be empty), down why the others do not.
// closeAll closes them.
func (db *DB) openReplicas(ctx context.Context) (servers [][]*DB, down []error, closeAll func(), err error) {
	layout, err := db.Layout()
	if err != nil {
		return nil, nil, nil, err
	}
	closeAll = func() {
		for _, reps := range servers {
			for _, r := range reps {
				r.Conn.Close()
			}
		}
	}
	for i, reps := range layout {
		servers = append(servers, nil)
		for _, a := range reps {
			r, err := db.openAt(ctx, a)
			if err != nil {
				if ctx.Err() != nil {
					closeAll()
					return nil, nil, nil, err
				}
				down = append(down, fmt.Errorf("shard %d replica %s does not answer: %w", i+1, a, err))
				continue
			}
			servers[i] = append(servers[i], r)
		}
	}
	return servers, down, closeAll, nil
}

// SyncReplicas waits until every replica that answers has fetched all the parts
// its siblings hold of the local tables of tables (SYSTEM SYNC REPLICA). Replication
// is asynchronous: a Distributed INSERT writes each block to one replica of its
// shard, and until the others fetch it, a read served by another replica misses
// it. Call it before making a load visible. A replica that does not answer is
// skipped (it fetches what it missed when it is back); a shard none of whose
// replicas answer is an error. On a single server it does nothing.
func (db *DB) SyncReplicas(ctx context.Context, tables ...string) error {
	if db.Cluster == "" || len(tables) == 0 {
		return nil
	}
	layout, err := db.Layout()
	if err != nil {
		return err
	}
	for i, reps := range layout {
		var errs []error
		answered := false
		for _, a := range reps {
			rdb, err := db.openAt(ctx, a)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", a, err))
				continue
			}
			answered = true
			for _, t := range tables {
				// SYSTEM SYNC REPLICA gives up after receive_timeout.
				qctx, cancel := rdb.Context(ctx, "sync-replica", clickhouse.Settings{"receive_timeout": int(rdb.Timeout.Seconds()) + 1})
				err = rdb.Conn.Exec(qctx, "SYSTEM SYNC REPLICA "+QuoteIdent(rdb.Local(t)))
				cancel()
				if err != nil {
					break
				}
			}
			rdb.Conn.Close()
			if err != nil {
				return fmt.Errorf("shard %d replica %s: sync replica: %w", i+1, a, err)
			}
		}
		if !answered {
			return fmt.Errorf("shard %d: no replica answers: %w", i+1, errors.Join(errs...))
		}
	}
	return nil
}
