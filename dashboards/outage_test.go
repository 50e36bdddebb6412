package dashboards

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// ClickHouse gone under a running server: the API answers 503 with a message
// that says so, not 500 "internal error".
func TestClickHouseDownIs503(t *testing.T) {
	ctx := context.Background()
	emb, err := schemas.StartEmbedded(ctx, schemas.EmbeddedOptions{Dir: filepath.Join(t.TempDir(), "clickhouse")})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Stop()
	db, err := schemas.OpenAddr(ctx, emb.Addr, "pipelens", 5*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Auth.Tokens = []config.Token{{Name: "t", Token: "tok", Role: "director"}}
	q := query.New(db, time.UTC, nil)
	srv := New(Options{Config: c, DB: db, Query: q, Mount: []func(*Server){APIMount(q)}})
	ts := httptest.NewServer(srv.Echo)
	defer ts.Close()
	get := func() int {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/funnel?from=2026-01-01&to=2026-02-01", nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(); code != 200 {
		t.Fatalf("funnel with ClickHouse up: %d", code)
	}
	if err := syscall.Kill(emb.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if code := get(); code != http.StatusServiceUnavailable {
		t.Fatalf("funnel with ClickHouse down: %d, want 503", code)
	}
}
