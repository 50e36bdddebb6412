package dashboards

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// ClickHouse gone under a running server: every route that needs it (the API,
// the pages, the uploads, the page forms) answers 503 with a message that says
// so, not 500 "internal error"; health stays 200, readiness 503.
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
	hash, _ := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.MinCost)
	c.Auth.Users = []config.User{{Username: "admin", PasswordHash: config.Secret(hash), Role: "admin"}}
	c.Auth.SessionSecret = "test-secret"
	q := query.New(db, time.UTC, nil)
	ing := ingest.New(db, ingest.Options{MaxUploadBytes: 1 << 20, Publish: q.Refresh}, quietLogger())
	srv := New(Options{Config: c, DB: db, Query: q, Ingest: ing, Logger: quietLogger(), Mount: []func(*Server){APIMount(q)}})
	ts := httptest.NewServer(srv.Echo)
	defer ts.Close()
	d := &demo{ts: ts, db: db, srv: srv}
	browser := d.client(t)
	if code := d.login(t, browser, "admin", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	_, page := d.page(t, browser, "/imports")
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the imports page has no CSRF token")
	}
	tok := m[1]
	upload := func(path string) (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("csrf", tok)
		fw, _ := mw.CreateFormFile("file", "reps.csv")
		_, _ = fw.Write([]byte(repsCSV))
		mw.Close()
		return &buf, mw.FormDataContentType()
	}
	type route struct {
		family, method, path string
		bearer               bool // else the browser session
	}
	routes := []route{
		{"API", "GET", "/api/v1/funnel?from=2026-01-01&to=2026-02-01", true},
		{"API", "GET", "/api/v1/reps?from=2026-01-01&to=2026-02-01", true},
		{"API", "GET", "/api/v1/imports", true},
		{"API", "GET", "/api/v1/imports/1", true},
		{"upload", "POST", "/api/v1/imports?source=canonical", true},
		{"upload", "POST", "/imports?source=canonical", false},
		{"page", "GET", "/", false},
		{"page", "GET", "/funnel", false},
		{"page", "GET", "/trends", false},
		{"page", "GET", "/reps", false},
		{"page", "GET", "/territories", false},
		{"page", "GET", "/alerts", false},
		{"page", "GET", "/imports", false},
		{"page", "GET", "/imports/1", false},
		{"page", "POST", "/alerts/ev1/ack", false},
	}
	do := func(r route) (int, string) {
		var body io.Reader
		ct := ""
		switch {
		case r.family == "upload":
			body, ct = upload(r.path)
		case r.method == "POST":
			body, ct = strings.NewReader(url.Values{"csrf": {tok}}.Encode()), "application/x-www-form-urlencoded"
		}
		req, _ := http.NewRequest(r.method, ts.URL+r.path, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		cl := browser
		if r.bearer {
			req.Header.Set("Authorization", "Bearer tok")
		} else {
			req.Header.Set("Accept", "text/html")
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, _ := do(routes[0]); code != 200 {
		t.Fatalf("funnel with ClickHouse up: %d", code)
	}
	if err := syscall.Kill(emb.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	for _, r := range routes {
		code, body := do(r)
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s %s %s with ClickHouse down: %d, want 503: %.300s", r.family, r.method, r.path, code, body)
			continue
		}
		if !strings.Contains(body, "database does not answer") {
			t.Errorf("%s %s %s with ClickHouse down says no more than: %.300s", r.family, r.method, r.path, body)
		}
	}
	// The probes: alive, not ready.
	for p, want := range map[string]int{"/healthz": 200, "/readyz": http.StatusServiceUnavailable} {
		if code := get(t, ts, "", p, nil); code != want {
			t.Errorf("%s with ClickHouse down: %d, want %d", p, code, want)
		}
	}
}
