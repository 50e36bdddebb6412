package schemas

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ErrLeaseLost means another process took a lease this one held (it was silent
// for longer than the lease's time to live): the work done under it must not be
// committed.
var ErrLeaseLost = errors.New("lease lost to another process")

// Lease is a named lock held in ClickHouse itself, so it serialises every
// process and host that shares the server: CLI loads, the watched folder,
// uploads, serve. It is a table, lease_<name>: CREATE TABLE (without IF NOT
// EXISTS) either creates it or fails, atomically, on one server. The holder
// appends a heartbeat row with its expiry (server time) every ttl/4; a waiter
// takes over a lease whose expiry passed, or whose holder was a process of the
// waiter's own host that is gone, by renaming the table away (RENAME succeeds
// for one of several racing waiters). A process killed while holding it blocks
// others for at most ttl, or not at all on its own host.
//
// In cluster mode the lease lives on the server of clickhouse.url: every process
// of a deployment must name the same one.
type Lease struct {
	db     *DB
	table  string
	holder string
	ttl    time.Duration
	log    *slog.Logger

	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	lost error
}

// AcquireLease waits until it holds the lease name (or ctx ends).
func (db *DB) AcquireLease(ctx context.Context, name string, ttl time.Duration) (*Lease, error) {
	if ttl < 4*time.Second {
		ttl = 4 * time.Second
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	l := &Lease{db: db, table: "lease_" + name, holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		ttl: ttl, log: db.log, stop: make(chan struct{}), done: make(chan struct{})}
	wait := 50 * time.Millisecond
	// A lease being released or taken over concurrently can make a CREATE or a
	// read fail for a moment (its Log files vanish under the read): retry those,
	// within a bound, before giving up.
	failures := 0
	for {
		ok, err := l.tryCreate(ctx)
		if err == nil && !ok {
			err = l.takeOverIfStale(ctx, host)
		}
		if ok {
			go l.heartbeat()
			return l, nil
		}
		if err != nil {
			if failures++; failures > 50 || ctx.Err() != nil {
				return nil, err
			}
			l.log.Debug("lease: retrying", "lease", l.table, "err", err)
		} else {
			failures = 0
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for lease %s: %w", name, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

const codeTableExists = 57

func isCode(err error, code int32) bool {
	var ex *clickhouse.Exception
	return errors.As(err, &ex) && ex.Code == code
}

func (l *Lease) tryCreate(ctx context.Context) (bool, error) {
	err := l.db.Exec(ctx, "lease-create", "CREATE TABLE "+l.table+" (holder String, host String, pid UInt32, expires DateTime) ENGINE = Log")
	if isCode(err, codeTableExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create lease %s: %w", l.table, err)
	}
	if err := l.beat(ctx); err != nil {
		return false, fmt.Errorf("write lease %s: %w", l.table, err)
	}
	return true, nil
}

func (l *Lease) beat(ctx context.Context) error {
	host, _ := os.Hostname()
	return l.db.Exec(ctx, "lease-beat", fmt.Sprintf("INSERT INTO %s (holder, host, pid, expires) SELECT %s, %s, %d, now() + %d",
		l.table, quoteString(l.holder), quoteString(host), os.Getpid(), int(l.ttl.Seconds())))
}

type leaseState struct {
	holder, host string
	pid          uint32
	live         bool // the latest expiry is still ahead
	rows         uint64
	age          int64 // seconds since the table was created (read when rows is 0)
}

// read reads the lease table alone: an error with code 60 means it is gone.
// (A scan of system.tables fails with code 60 too while another process drops
// any table, a released lease among them; a holder's Check read that as its
// lease taken: TestFreshHomeManyProcessesAtOnce in CI, 2026-12-05.)
func (l *Lease) read(ctx context.Context, table string) (leaseState, error) {
	var st leaseState
	var live uint8
	qctx, cancel := l.db.Context(ctx, "lease-read")
	defer cancel()
	err := l.db.Conn.QueryRow(qctx, "SELECT argMax(holder, expires), argMax(host, expires), argMax(pid, expires), max(expires) > now(), count() FROM "+table).
		Scan(&st.holder, &st.host, &st.pid, &live, &st.rows)
	st.live = live == 1
	return st, err
}

// age is how long ago the lease table was created, in seconds (0 when it is
// gone: released meanwhile).
func (l *Lease) age(ctx context.Context) (int64, error) {
	var age int64
	var present uint8
	qctx, cancel := l.db.Context(ctx, "lease-age")
	defer cancel()
	err := l.db.Conn.QueryRow(qctx, "SELECT toInt64(now()) - toInt64(max(metadata_modification_time)), count() > 0 FROM system.tables WHERE database = currentDatabase() AND name = ?", l.table).
		Scan(&age, &present)
	if present == 0 {
		age = 0
	}
	return age, err
}

// takeOverIfStale removes a lease whose holder is gone.
func (l *Lease) takeOverIfStale(ctx context.Context, host string) error {
	st, err := l.read(ctx, l.table)
	if isCode(err, codeUnknownTable) {
		return nil // released meanwhile: try again
	}
	if err != nil {
		return fmt.Errorf("read lease %s: %w", l.table, err)
	}
	if st.rows == 0 {
		// Never written: stale once older than the lease's time to live.
		if st.age, err = l.age(ctx); err != nil {
			return fmt.Errorf("read lease %s's age: %w", l.table, err)
		}
	}
	if !stale(st, host, l.ttl) {
		return nil
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	aside := l.table + "_stale_" + hex.EncodeToString(b[:])
	if err := l.db.Exec(ctx, "lease-takeover", "RENAME TABLE "+l.table+" TO "+aside); err != nil {
		return nil // another waiter was first
	}
	// Between the read and the rename a new holder may have taken the lease:
	// give it back if so.
	if st2, err := l.read(ctx, aside); err == nil && st2.rows > 0 && (st2.holder != st.holder || st2.live && !st.live) {
		if err := l.db.Exec(ctx, "lease-giveback", "RENAME TABLE "+aside+" TO "+l.table); err == nil {
			return nil
		}
	}
	l.log.Warn("took over a lease whose holder is gone", "lease", l.table, "holder", st.holder)
	return l.db.Exec(ctx, "lease-drop", "DROP TABLE IF EXISTS "+aside)
}

const codeUnknownTable = 60

func stale(st leaseState, host string, ttl time.Duration) bool {
	if st.rows == 0 {
		// Created by a process that died before its first heartbeat.
		return st.age > int64(ttl.Seconds())
	}
	if st.live && st.host == host && st.pid != 0 && !pidAlive(int(st.pid)) {
		return true
	}
	return !st.live
}

func pidAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func (l *Lease) heartbeat() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 4)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/2)
			err := l.Check(ctx)
			if err == nil {
				err = l.beat(ctx)
			}
			cancel()
			if err != nil && errors.Is(err, ErrLeaseLost) {
				return
			}
		}
	}
}

// Check says whether this process still holds the lease: ErrLeaseLost when not.
// Call it right before the step that commits the work done under the lease.
func (l *Lease) Check(ctx context.Context) error {
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	st, err := l.read(ctx, l.table)
	for try := 0; err != nil && !isCode(err, codeUnknownTable) && try < 3 && ctx.Err() == nil; try++ {
		time.Sleep(50 * time.Millisecond) // a passing fault: read again
		st, err = l.read(ctx, l.table)
	}
	if isCode(err, codeUnknownTable) || (err == nil && (st.holder != l.holder || !st.live)) {
		l.mu.Lock()
		l.lost = fmt.Errorf("%w: %s", ErrLeaseLost, l.table)
		l.mu.Unlock()
		return l.lost
	}
	if err != nil {
		return fmt.Errorf("check lease %s: %w", l.table, err)
	}
	return nil
}

// Release gives the lease up. It never removes a lease another process holds.
func (l *Lease) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	ctx = context.WithoutCancel(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	aside := l.table + "_released_" + hex.EncodeToString(b[:])
	if err := l.db.Exec(ctx, "lease-release", "RENAME TABLE "+l.table+" TO "+aside); err != nil {
		if isCode(err, codeUnknownTable) {
			return nil
		}
		return fmt.Errorf("release lease %s: %w", l.table, err)
	}
	st, err := l.read(ctx, aside)
	if err == nil && st.holder != l.holder {
		// Not ours any more: put it back.
		if err := l.db.Exec(ctx, "lease-giveback", "RENAME TABLE "+aside+" TO "+l.table); err == nil {
			return nil
		}
	}
	return l.db.Exec(ctx, "lease-drop", "DROP TABLE IF EXISTS "+aside)
}
