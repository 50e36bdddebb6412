// Package schemas owns pipelens's ClickHouse: the connection (an existing server or
// the embedded default), the versioned migrations of the canonical model, and the
// cluster mode of the same schema.
package schemas

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"golang.org/x/sync/semaphore"

	"github.com/pipelens/pipelens/schemas/config"
)

// DefaultDatabase is used when the URL names none and for the embedded server.
const DefaultDatabase = "pipelens"

// DB is an open ClickHouse connection with pipelens's conventions: every call
// carries a deadline, a query id and max_execution_time.
type DB struct {
	Conn     driver.Conn
	Database string
	// Cluster is the remote_servers cluster name in cluster mode ("" otherwise).
	Cluster string
	Timeout time.Duration
	// Embedded is the private server when pipelens runs one (nil with a URL).
	Embedded *Embedded
	opts     *clickhouse.Options
	shards   []string
	log      *slog.Logger
	version  string
	// reads admits the read path's statements (AdmitRead), running counts
	// those admitted and not yet released; cores is the server's max_threads.
	reads     *semaphore.Weighted
	running   atomic.Int64
	readSlots int
	cores     int
}

// Open connects as the configuration says: the URL if set, else the embedded default
// under home. It creates the database if needed; it does not migrate.
func Open(ctx context.Context, c config.ClickHouse, home string, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.Default()
	}
	var (
		opts *clickhouse.Options
		emb  *Embedded
		err  error
	)
	if c.URL != "" {
		opts, err = parseURL(string(c.URL))
		if err != nil {
			return nil, err
		}
	} else {
		emb, err = StartEmbedded(ctx, EmbeddedOptions{Dir: filepath.Join(home, "clickhouse"), Binary: c.Binary, Logger: log})
		if err != nil {
			return nil, err
		}
		opts = &clickhouse.Options{Addr: []string{emb.Addr}, Auth: clickhouse.Auth{Database: DefaultDatabase, Username: "default"}}
	}
	db, err := connect(ctx, opts, c.QueryTimeout, log)
	if err != nil {
		emb.Stop()
		return nil, err
	}
	db.Embedded = emb
	db.Cluster = c.Cluster
	db.shards = c.Shards
	return db, nil
}

// OpenAddr connects to a server at host:port (native protocol) and database db.
func OpenAddr(ctx context.Context, addr, database string, timeout time.Duration, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.Default()
	}
	return connect(ctx, &clickhouse.Options{Addr: []string{addr}, Auth: clickhouse.Auth{Database: database, Username: "default"}}, timeout, log)
}

func parseURL(raw string) (*clickhouse.Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse PIPELENS_CLICKHOUSE_URL: %w", err)
	}
	if u.Scheme != "clickhouse" && u.Scheme != "tcp" {
		return nil, fmt.Errorf("parse PIPELENS_CLICKHOUSE_URL: scheme %q: want clickhouse://user:pass@host:9000/db (native protocol)", u.Scheme)
	}
	opts, err := clickhouse.ParseDSN(raw)
	if err != nil {
		return nil, fmt.Errorf("parse PIPELENS_CLICKHOUSE_URL: %w", err)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = DefaultDatabase
	}
	return opts, nil
}

func connect(ctx context.Context, opts *clickhouse.Options, timeout time.Duration, log *slog.Logger) (*DB, error) {
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	database := opts.Auth.Database
	if database == "" {
		database = DefaultDatabase
	}
	// The handshake fails on a database that does not exist yet: create it first.
	boot := *opts
	boot.Auth.Database = "default"
	boot.DialTimeout = 5 * time.Second
	bc, err := clickhouse.Open(&boot)
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse %v: %w", opts.Addr, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := bc.Exec(cctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(database)); err != nil {
		bc.Close()
		return nil, fmt.Errorf("create database %s on %v: %w", database, opts.Addr, err)
	}
	bc.Close()

	o := *opts
	o.Auth.Database = database
	if o.DialTimeout == 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = 20
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = 10
	}
	conn, err := clickhouse.Open(&o)
	if err != nil {
		return nil, fmt.Errorf("connect to clickhouse %v: %w", o.Addr, err)
	}
	db := &DB{Conn: conn, Database: database, Timeout: timeout, opts: &o, log: log}
	v, err := conn.ServerVersion()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to clickhouse %v: %w", o.Addr, err)
	}
	db.version = v.Version.String() // "18.16.1": v.String() is the whole handshake text
	db.sizeReads(ctx)
	log.Info("clickhouse server", "addr", strings.Join(o.Addr, ","), "database", database, "version", db.version, "dialect", dialect(db.version),
		"cores", db.Cores(), "read_slots", db.readSlots, "pool", o.MaxOpenConns)
	return db, nil
}

// dialect names the path pipelens takes on a server of version v. The SQL is
// the same on every version, with the same answers (parity/ compares them on
// 18.16 and current ClickHouse); what depends on the version is how migrations
// drop tables (runStep).
func dialect(v string) string {
	if atomicDrops(v) {
		return "current (20.10 and later): Atomic databases, DROP waits for the drop"
	}
	return "before 20.10 (18.16 here): Ordinary databases"
}

// ServerVersion is the server's version, e.g. "18.16.1".
func (db *DB) ServerVersion() string { return db.version }

// Addr is the first server address.
func (db *DB) Addr() string { return db.opts.Addr[0] }

// Context returns ctx with the deadline, query id and max_execution_time pipelens
// puts on every statement. purpose becomes part of the query id.
func (db *DB) Context(ctx context.Context, purpose string, settings ...clickhouse.Settings) (context.Context, context.CancelFunc) {
	return db.ContextTimeout(ctx, purpose, db.Timeout, settings...)
}

// ContextTimeout is Context with its own timeout (long loads, migrations).
func (db *DB) ContextTimeout(ctx context.Context, purpose string, timeout time.Duration, settings ...clickhouse.Settings) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	s := clickhouse.Settings{"max_execution_time": int(timeout.Seconds()) + 1}
	if db.Cluster != "" {
		s["insert_distributed_sync"] = 1
	}
	for _, m := range settings {
		for k, v := range m {
			s[k] = v
		}
	}
	return clickhouse.Context(ctx, clickhouse.WithQueryID(QueryID(purpose)), clickhouse.WithSettings(s)), cancel
}

// BatchContext is ContextTimeout for a native INSERT batch, with a release
// function in place of cancel. clickhouse-go's batch.Send watches its context from
// a goroutine and closes the TCP connection if the context is cancelled; when that
// goroutine runs late (a busy machine), a cancel right after Send closes a
// connection already back in the pool and in someone else's hands ("use of closed
// network connection"). release stops the deadline timer and the watch on ctx
// without closing Done, so a finished batch never touches its connection again;
// the deadline and ctx's own cancellation still abort a running batch.
func (db *DB) BatchContext(ctx context.Context, purpose string, timeout time.Duration) (context.Context, func()) {
	qctx, cancel := db.ContextTimeout(context.WithoutCancel(ctx), purpose, timeout)
	cancel() // only its values (query id, settings) are kept; Done comes from bc
	bc := &batchCtx{Context: context.WithoutCancel(qctx), deadline: time.Now().Add(timeout), done: make(chan struct{})}
	timer := time.AfterFunc(timeout, func() { bc.fire(context.DeadlineExceeded) })
	stopWatch := context.AfterFunc(ctx, func() { bc.fire(context.Cause(ctx)) })
	return bc, func() {
		timer.Stop()
		stopWatch()
	}
}

// batchCtx is a context whose Done closes at its deadline or when its parent is
// cancelled, and never because its user is finished with it.
type batchCtx struct {
	context.Context // values only: WithoutCancel
	deadline        time.Time
	done            chan struct{}
	once            sync.Once
	mu              sync.Mutex
	err             error
}

func (c *batchCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *batchCtx) Done() <-chan struct{}       { return c.done }
func (c *batchCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *batchCtx) fire(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		close(c.done)
	})
}

// QueryID is a unique id naming what a statement is for, so it can be found in
// system.query_log and killed.
func QueryID(purpose string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	p := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, strings.ToLower(purpose))
	return "pipelens-" + p + "-" + hex.EncodeToString(b[:])
}

// Exec runs one statement with the usual deadline.
func (db *DB) Exec(ctx context.Context, purpose, query string, args ...any) error {
	ctx, cancel := db.Context(ctx, purpose)
	defer cancel()
	return db.Conn.Exec(ctx, query, args...)
}

// InsertRows inserts a few rows through a native batch. insert names the columns
// ("INSERT INTO t (a, b)"): 18.16 needs the list, and an INSERT ... VALUES sent with
// Exec waits forever there for a data block.
func (db *DB) InsertRows(ctx context.Context, purpose, insert string, rows ...[]any) error {
	ctx, release := db.BatchContext(ctx, purpose, db.Timeout)
	defer release()
	b, err := db.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	defer b.Close()
	for _, r := range rows {
		if err := b.Append(r...); err != nil {
			return err
		}
	}
	return b.Send()
}

// Ping checks the server answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return db.Conn.Ping(ctx)
}

// Close closes the connection and stops the embedded server if this process owns it.
func (db *DB) Close() error {
	if db == nil {
		return nil
	}
	err := db.Conn.Close()
	if db.Embedded != nil {
		err = errors.Join(err, db.Embedded.Stop())
	}
	return err
}

// QuoteIdent quotes a ClickHouse identifier.
func QuoteIdent(s string) string {
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "`", "\\`") + "`"
}

func pingNative(ctx context.Context, addr string, timeout time.Duration) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: timeout, Auth: clickhouse.Auth{Database: "default", Username: "default"}})
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return conn.Ping(ctx)
}
