package schemas

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/semaphore"
)

// writeReserve is the pool's connections the read gate leaves to everything
// else (loads, publications, the alert engine, sessions).
const writeReserve = 4

// serverCores is the number of cores the server runs a statement on: its
// max_threads setting. 0 when it cannot be read.
func (db *DB) serverCores(ctx context.Context) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var v string
	if err := db.Conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'max_threads'").Scan(&v); err != nil {
		db.log.Warn("read the server's max_threads", "err", err)
		return 0
	}
	return parseMaxThreads(v)
}

// parseMaxThreads reads max_threads' value as system.settings shows it: "2"
// (18.16), "auto(2)" or "'auto(2)'" (later versions). 0 when it is none of them.
func parseMaxThreads(v string) int {
	v = strings.TrimSuffix(strings.TrimPrefix(strings.Trim(v, "'"), "auto("), ")")
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// sizeReads sizes the read gate to the server: four statements per core keep
// its cores busy while results travel, and more only lengthen every one of
// them. Never more than the pool holds after writeReserve, never fewer than 2.
func (db *DB) sizeReads(ctx context.Context) {
	db.cores = db.serverCores(ctx)
	n := 4 * max(db.cores, 2)
	n = min(n, db.opts.MaxOpenConns-writeReserve)
	n = max(n, 2)
	db.reads = semaphore.NewWeighted(int64(n))
	db.readSlots = n
}

// Cores is the server's cores as its max_threads says (2 when unknown).
func (db *DB) Cores() int { return max(db.cores, 2) }

// ReadSlots is how many read statements run at once (AdmitRead).
func (db *DB) ReadSlots() int { return db.readSlots }

// AdmitRead waits for a turn to run a read statement, first come first
// served, for as long as ctx allows, and returns the settings to run it with
// and the release to call once its rows are read. Without it, a burst of
// statements larger than the pool fails after the dial timeout with
// clickhouse-go's "acquire conn timeout", though the server would have
// answered them all a moment later.
//
// While as many reads as the server has cores run already, the statement runs
// on one thread (max_threads 1): the others keep every core busy, and threads
// beyond the cores only contend. At 50 users asking for cold pages on 2 cores
// that served 47.1 and 47.7 pages a second against 39.8 and 46.8, p95 1.13
// and 1.18 s against 1.21 and 1.41 s. A statement that finds the server quiet
// keeps all its threads.
func (db *DB) AdmitRead(ctx context.Context) (clickhouse.Settings, func(), error) {
	if db.reads == nil {
		return nil, func() {}, nil
	}
	if err := db.reads.Acquire(ctx, 1); err != nil {
		return nil, nil, fmt.Errorf("wait for a free connection (%d statements run at once): %w", db.readSlots, err)
	}
	var set clickhouse.Settings
	if db.running.Add(1) > int64(db.Cores()) {
		set = clickhouse.Settings{"max_threads": 1}
	}
	return set, func() {
		db.running.Add(-1)
		db.reads.Release(1)
	}, nil
}
