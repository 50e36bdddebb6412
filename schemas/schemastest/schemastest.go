// Package schemastest gives tests a real ClickHouse: the embedded default, started
// once per test binary, with a fresh migrated database per test. Tests never mock
// ClickHouse. Set PIPELENS_TEST_CLICKHOUSE_URL to use an existing server instead.
package schemastest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

var (
	once    sync.Once
	server  *schemas.Embedded
	addr    string
	home    string
	openErr error
)

// Addr starts (once) the shared embedded server and returns its native address.
func Addr(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv("PIPELENS_TEST_CLICKHOUSE_URL"); u != "" {
			addr = strings.TrimPrefix(strings.Split(strings.TrimPrefix(u, "clickhouse://"), "/")[0], "default@")
			return
		}
		home, openErr = os.MkdirTemp("", "pipelens-test-ch-")
		if openErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		server, openErr = schemas.StartEmbedded(ctx, schemas.EmbeddedOptions{Dir: filepath.Join(home, "clickhouse"), Logger: quiet()})
		if openErr == nil {
			addr = server.Addr
		}
	})
	if openErr != nil {
		t.Fatalf("start embedded clickhouse for tests: %v", openErr)
	}
	return addr
}

// Stop ends the shared server; call it from TestMain after m.Run.
func Stop() {
	if server != nil {
		server.Stop()
		os.RemoveAll(home)
	}
}

// Main is a TestMain that stops the shared server after the tests.
func Main(m interface{ Run() int }) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Open returns a connection to a fresh, migrated database that is dropped when
// the test ends.
func Open(t testing.TB) *schemas.DB {
	t.Helper()
	db := OpenEmpty(t)
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return db
}

// OpenEmpty is Open without migrating.
func OpenEmpty(t testing.TB) *schemas.DB {
	t.Helper()
	a := Addr(t)
	name := fmt.Sprintf("test_%s_%d", sanitize(t.Name()), time.Now().UnixNano()%1e9)
	ctx := context.Background()
	db, err := schemas.OpenAddr(ctx, a, name, 120*time.Second, quiet())
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() {
		_ = db.Exec(context.Background(), "test-drop", "DROP DATABASE IF EXISTS "+schemas.QuoteIdent(name))
		db.Close()
	})
	return db
}

// Config returns a ClickHouse config pointing at the shared server's database of db.
func Config(t testing.TB, db *schemas.DB) config.ClickHouse {
	return config.ClickHouse{URL: config.Secret("clickhouse://default@" + Addr(t) + "/" + db.Database), QueryTimeout: 120 * time.Second}
}

func sanitize(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
	if len(s) > 40 {
		s = s[:40]
	}
	return strings.ToLower(s)
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
