package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// The findings of a hostile-input and authorisation review, each done to
// pipelens over real HTTP: a server with users, tokens, a trusted proxy
// header and uploads, served by the net/http server `pipelens serve` runs
// (with its timeouts), over the API fixture in a real ClickHouse.

// secureConfig is the configuration of the servers below: users of each role
// (passwords hashed at cost), tokens, the trusted header.
func secureConfig(cost int) *config.Config {
	hash, _ := bcrypt.GenerateFromPassword([]byte(demoPassword), cost)
	h := config.Secret(hash)
	cfg := config.Default()
	cfg.Ingest.MaxUploadMB = 1
	cfg.Auth.SessionSecret = "test-secret"
	cfg.Auth.TrustedHeader = "X-Remote-User"
	cfg.Auth.Users = []config.User{
		{Username: "director", Name: "Dora", PasswordHash: h, Role: "director"},
		{Username: "manager", Name: "Manny", PasswordHash: h, Role: "manager", Team: "East"},
		{Username: "admin", Name: "Ada", PasswordHash: h, Role: "admin"},
	}
	cfg.Auth.Tokens = []config.Token{{Name: "ci", Token: "tok-director", Role: "director"}, {Name: "ops", Token: "tok-admin", Role: "admin"}}
	return cfg
}

// serveSecure serves db with cfg through Server.httpServer (the limits of
// `pipelens serve`); tweak runs before the server starts.
func serveSecure(t *testing.T, db *schemas.DB, cfg *config.Config, tweak func(*Server)) *demo {
	t.Helper()
	q := query.New(db, time.UTC, nil)
	ing := ingest.New(db, ingest.Options{MaxUploadBytes: 1 << 20, Publish: q.Refresh}, quietLogger())
	cfg.Server.MetricsToken = "tok-metrics"
	srv := New(Options{Config: cfg, DB: db, Query: q, Ingest: ing, Logger: quietLogger(),
		Mount: []func(*Server){APIMount(q)}})
	if tweak != nil {
		tweak(srv)
	}
	ts := httptest.NewUnstartedServer(srv.Echo)
	ts.Config = srv.httpServer()
	ts.Start()
	t.Cleanup(ts.Close)
	return &demo{ts: ts, db: db, srv: srv}
}

func newSecure(t *testing.T) *demo {
	t.Helper()
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	return serveSecure(t, db, secureConfig(bcrypt.MinCost), nil)
}

func sessionOf(t *testing.T, d *demo, c *http.Client) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(d.ts.URL)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			return ck
		}
	}
	t.Fatal("no session cookie after sign-in")
	return nil
}

// withCookie asks base+path with only the session cookie ck, as someone who
// copied it would.
func withCookie(t *testing.T, base, path string, ck *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func csrfOf(t *testing.T, d *demo, c *http.Client, page string) string {
	t.Helper()
	_, body := d.page(t, c, page)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("%s has no CSRF token", page)
	}
	return m[1]
}

// Finding 1: a cookie copied before sign-out kept working for its 12 hours.
func TestSignOutEndsTheSessionEverywhere(t *testing.T) {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	cfg := secureConfig(bcrypt.MinCost)
	a := serveSecure(t, db, cfg, nil)
	// Another serve process over the same warehouse, with the same secret.
	b := serveSecure(t, db, cfg, func(s *Server) { s.auth.revoked.every = 100 * time.Millisecond })
	const api = "/api/v1/funnel?from=2024-01-01&to=2024-04-01"

	c := a.client(t)
	if code := a.login(t, c, "director", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	stolen := sessionOf(t, a, c)
	if withCookie(t, a.ts.URL, api, stolen) != 200 || withCookie(t, b.ts.URL, api, stolen) != 200 {
		t.Fatal("a fresh session is refused")
	}
	tok := csrfOf(t, a, c, "/imports")
	resp, err := c.PostForm(a.ts.URL+"/logout", url.Values{"csrf": {tok}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	if code := withCookie(t, a.ts.URL, api, stolen); code != http.StatusUnauthorized {
		t.Errorf("the server that signed the session out still takes a copy of its cookie: %d, want 401", code)
	}
	if code, _ := a.page(t, &http.Client{Jar: jarWith(t, a, stolen), CheckRedirect: noRedirect}, "/funnel"); code != http.StatusSeeOther {
		t.Errorf("a page still opens with the signed-out cookie: %d, want a redirect to sign in", code)
	}
	deadline := time.Now().Add(3 * time.Second)
	for withCookie(t, b.ts.URL, api, stolen) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("another serve process still takes the signed-out cookie 3 s later")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Other sessions of the same user go on.
	c2 := a.client(t)
	a.login(t, c2, "director", demoPassword)
	if code := withCookie(t, a.ts.URL, api, sessionOf(t, a, c2)); code != 200 {
		t.Errorf("signing out one session ended another: %d", code)
	}

	// A changed password ends the sessions signed in with the old one.
	old := sessionOf(t, a, c2)
	changed := secureConfig(bcrypt.MinCost)
	hash, _ := bcrypt.GenerateFromPassword([]byte("new-pass"), bcrypt.MinCost)
	changed.Auth.Users[0].PasswordHash = config.Secret(hash)
	d := serveSecure(t, db, changed, nil)
	if code := withCookie(t, d.ts.URL, api, old); code != http.StatusUnauthorized {
		t.Errorf("a session signed in with the old password survives the password change: %d, want 401", code)
	}
	c3 := d.client(t)
	if code := d.login(t, c3, "director", "new-pass"); code != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", code)
	}
	if code := withCookie(t, d.ts.URL, api, sessionOf(t, d, c3)); code != 200 {
		t.Errorf("a session with the new password is refused: %d", code)
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func jarWith(t *testing.T, d *demo, ck *http.Cookie) http.CookieJar {
	jar := d.client(t).Jar
	u, _ := url.Parse(d.ts.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: ck.Name, Value: ck.Value, Path: "/"}})
	return jar
}

// multipartUpload builds an upload of body named name, with the fields first.
func multipartUpload(t *testing.T, name string, body []byte, fields ...string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		_ = mw.WriteField(fields[i], fields[i+1])
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(body)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func countRows(t *testing.T, db *schemas.DB, sql string) uint64 {
	t.Helper()
	var n uint64
	if err := db.Conn.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

const repsCSV = "rep_id,name,email,role,manager_id,team,territory,lang,active,hired_on,source_system\n" +
	"X1,Xi,x1@example.com,rep,,Zeta,North,en,1,2024-01-01,test\nX2,Xu,x2@example.com,rep,,Zeta,North,en,1,2024-01-01,test\n"

// Finding 2: a user named by the trusted proxy header was not CSRF-checked, so
// any page on the web could make a signed-in director's browser upload.
func TestTrustedHeaderWritesNeedCSRF(t *testing.T) {
	d := newSecure(t)
	runs := func() uint64 { return countRows(t, d.db, "SELECT count() FROM ingest_runs") }
	before := runs()
	send := func(hdr map[string]string, fields ...string) (int, string) {
		body, ct := multipartUpload(t, "reps.csv", []byte(repsCSV), fields...)
		req, _ := http.NewRequest(http.MethodPost, d.ts.URL+"/api/v1/imports?source=canonical", body)
		req.Header.Set("Content-Type", ct)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	for _, hdr := range []map[string]string{
		{"X-Remote-User": "director"},
		{"X-Remote-User": "director", "Origin": "http://evil.example"},
		{"X-Remote-User": "director", "Sec-Fetch-Site": "cross-site"},
		{"X-Remote-User": "director", "Origin": "null"},
	} {
		if code, b := send(hdr); code != http.StatusForbidden {
			t.Errorf("an upload by a proxied user with %v and no CSRF token: %d %s, want 403", hdr, code, b)
		}
	}
	if n := runs(); n != before {
		t.Fatalf("refused uploads stored %d runs", n-before)
	}
	// From our own pages: the token, or the browser saying same-origin.
	host := strings.TrimPrefix(d.ts.URL, "http://")
	if code, b := send(map[string]string{"X-Remote-User": "director", "Origin": "http://" + host}); code != 200 {
		t.Errorf("a same-origin upload by a proxied user: %d %s", code, b)
	}
	c := d.client(t)
	req, _ := http.NewRequest(http.MethodGet, d.ts.URL+"/imports", nil)
	req.Header.Set("X-Remote-User", "director")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("the imports page of a proxied user has no CSRF token: %d", resp.StatusCode)
	}
	if code, b := send(map[string]string{"X-Remote-User": "director"}, "csrf", string(m[1])); code != 200 {
		t.Errorf("an upload by a proxied user with the page's token: %d %s", code, b)
	}
	// Form posts on the pages too.
	req, _ = http.NewRequest(http.MethodPost, d.ts.URL+"/logout", nil)
	req.Header.Set("X-Remote-User", "director")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site form post by a proxied user: %d, want 403", resp.StatusCode)
	}
	// Bearer tokens are not sent by browsers on their own: no token needed.
	if code, b := send(map[string]string{"Authorization": "Bearer tok-director"}); code != 200 {
		t.Errorf("an upload with a bearer token: %d %s", code, b)
	}
}

// dial opens a raw connection to d.
func dial(t *testing.T, d *demo) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedWithin says whether the server closes conn within wait (reading and
// dropping whatever it answers first).
func closedWithin(conn net.Conn, wait time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	_, err := io.Copy(io.Discard, conn)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// drip writes one byte of b every gap until stop closes or a write fails.
func drip(conn net.Conn, b []byte, gap time.Duration, stop <-chan struct{}) {
	for i := range b {
		select {
		case <-stop:
			return
		case <-time.After(gap):
		}
		if _, err := conn.Write(b[i : i+1]); err != nil {
			return
		}
	}
}

// Finding 3: an anonymous client sending its body slowly held a connection
// (and a goroutine) open indefinitely.
func TestSlowClientsAreCutOff(t *testing.T) {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	d := serveSecure(t, db, secureConfig(bcrypt.MinCost), func(s *Server) {
		s.limits.ReadHeader = 500 * time.Millisecond
		s.limits.Body = time.Second
		s.limits.UploadIdle = time.Second
	})
	host := strings.TrimPrefix(d.ts.URL, "http://")

	t.Run("headers", func(t *testing.T) {
		conn := dial(t, d)
		fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\n", host)
		if !closedWithin(conn, 3*time.Second) {
			t.Error("a client that never ends its headers keeps the connection")
		}
	})
	t.Run("form body", func(t *testing.T) {
		conn := dial(t, d)
		fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nusername=", host)
		stop := make(chan struct{})
		defer close(stop)
		go drip(conn, bytes.Repeat([]byte("a"), 990), 200*time.Millisecond, stop)
		if !closedWithin(conn, 4*time.Second) {
			t.Error("an anonymous sign-in whose body arrives a byte at a time keeps the connection")
		}
	})
	t.Run("body never read", func(t *testing.T) {
		// The route refuses the caller before reading: the server must still
		// not wait for the rest of the body forever.
		conn := dial(t, d)
		fmt.Fprintf(conn, "POST /api/v1/imports HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000000\r\n\r\n--x", host)
		stop := make(chan struct{})
		defer close(stop)
		go drip(conn, bytes.Repeat([]byte("a"), 1000), 200*time.Millisecond, stop)
		if !closedWithin(conn, 4*time.Second) {
			t.Error("an anonymous upload that trickles keeps the connection")
		}
	})
	t.Run("upload that pauses", func(t *testing.T) {
		conn := dial(t, d)
		fmt.Fprintf(conn, "POST /api/v1/imports HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer tok-director\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 100000\r\n\r\n--x\r\n", host)
		if !closedWithin(conn, 4*time.Second) {
			t.Error("an upload that stops sending keeps the connection")
		}
	})
	t.Run("steady upload outlasts the body limit", func(t *testing.T) {
		// 3 s of sending, chunk by chunk: longer than limits.Body, never idle
		// for limits.UploadIdle. A large upload on a slow link looks like this.
		body, ct := multipartUpload(t, "reps.csv", []byte(repsCSV+strings.Repeat("\n", 3000)))
		pr, pw := io.Pipe()
		go func() {
			b := body.Bytes()
			step := len(b)/15 + 1
			for i := 0; i < len(b); i += step {
				time.Sleep(200 * time.Millisecond)
				if _, err := pw.Write(b[i:min(len(b), i+step)]); err != nil {
					return
				}
			}
			pw.Close()
		}()
		req, _ := http.NewRequest(http.MethodPost, d.ts.URL+"/api/v1/imports?source=canonical", pr)
		req.ContentLength = int64(body.Len())
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Authorization", "Bearer tok-director")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("a steady upload is cut off after %v: %v", time.Since(t0), err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("a steady upload taking %v: %d %s", time.Since(t0), resp.StatusCode, b)
		}
	})
	t.Run("large form", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, d.ts.URL+"/login", bytes.NewReader(bytes.Repeat([]byte("a"), 2<<20)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 2 MiB sign-in form: %d, want 413", resp.StatusCode)
		}
	})
	// And the server still serves.
	if code := get(t, d.ts, "tok-director", "/api/v1/funnel?from=2024-01-01&to=2024-04-01", nil); code != 200 {
		t.Errorf("after the slow clients: %d", code)
	}
}

// Finding 4: a wrong password for a known user took 78 ms, for an unknown
// one 2 ms, so the time of the answer told which user names exist.
func TestSignInTimeHidesUserNames(t *testing.T) {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	d := serveSecure(t, db, secureConfig(bcrypt.DefaultCost), nil)
	c := d.client(t)
	tok := csrfOf(t, d, c, "/login")
	try := func(user string) time.Duration {
		t0 := time.Now()
		resp, err := c.PostForm(d.ts.URL+"/login", url.Values{"csrf": {tok}, "username": {user}, "password": {"wrong"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a wrong password for %s: %d", user, resp.StatusCode)
		}
		return time.Since(t0)
	}
	var known, unknown []time.Duration
	for i := range 4 {
		known = append(known, try([]string{"director", "manager", "admin", "director"}[i]))
		unknown = append(unknown, try(fmt.Sprintf("nobody%d", i)))
	}
	median := func(ds []time.Duration) time.Duration {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return (ds[1] + ds[2]) / 2
	}
	k, u := median(known), median(unknown)
	t.Logf("median sign-in failure: known user %v, unknown user %v", k, u)
	if u < k/2 || k < u/2 {
		t.Errorf("a wrong password takes %v for a known user and %v for an unknown one: the time tells user names apart", k, u)
	}
}

// Finding 5: next=/%09/evil.example sent the browser to /\t/evil.example,
// which browsers read as //evil.example.
func TestSignInRedirectStaysLocal(t *testing.T) {
	for _, c := range []struct {
		next, want string
	}{
		{"/funnel?team=East", "/funnel?team=East"},
		{"/reps/%E5%BC%A0", "/reps/%E5%BC%A0"},
		{"", "/"},
		{"//evil.example", "/"},
		{"/\t/evil.example", "/"},
		{"/%09/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\\evil.example", "/"},
		{"/%5Cevil.example", "/"},
		{"/%2F/evil.example", "/"},
		{"/%2f%2fevil.example", "/"},
		{"/%252F/evil.example", "/"},
		{"https://evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"/\x00/evil.example", "/"},
		{"/%00", "/"},
		{"/\u2028/evil.example", "/"},
		{"evil.example", "/"},
	} {
		if got := safeNext(c.next); got != c.want {
			t.Errorf("safeNext(%q) = %q, want %q", c.next, got, c.want)
		}
	}
	// Over HTTP, as the finding was made: the form's next, and the sign-in
	// page's own link.
	d := newSecure(t)
	for _, next := range []string{"/\t/evil.example", "/%09/evil.example", "/\\/evil.example", "/%2F%2Fevil.example"} {
		c := d.client(t)
		tok := csrfOf(t, d, c, "/login?next="+url.QueryEscape(next))
		resp, err := c.PostForm(d.ts.URL+"/login", url.Values{"csrf": {tok}, "username": {"director"}, "password": {demoPassword}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
			t.Errorf("sign-in with next=%q: %d Location %q, want /", next, resp.StatusCode, loc)
		}
		_, body := d.page(t, c, "/login?next="+url.QueryEscape(next))
		if strings.Contains(body, "evil.example") {
			t.Errorf("the sign-in page carries next=%q on", next)
		}
	}
}

// Finding 6: five sign-ins a minute per IP, successes included, so colleagues
// behind one NAT locked each other out, and anyone could lock a user out.
func TestSignInLimitIsPerUserAndIP(t *testing.T) {
	d := newSecure(t)
	signIn := func(user, pass string) int { return d.login(t, d.client(t), user, pass) }
	for i := range 8 {
		if code := signIn("manager", demoPassword); code != http.StatusSeeOther {
			t.Fatalf("sign-in %d of a colleague behind the same address: %d (successes count against the limit)", i+1, code)
		}
	}
	var codes []int
	for range 7 {
		codes = append(codes, signIn("director", "guess"))
	}
	if codes[4] != http.StatusUnauthorized || codes[5] != http.StatusTooManyRequests || codes[6] != http.StatusTooManyRequests {
		t.Errorf("wrong passwords for one user from one address are not limited after five: %v", codes)
	}
	if code := signIn("director", demoPassword); code != http.StatusTooManyRequests {
		t.Errorf("the right password once the user is limited from this address: %d, want 429", code)
	}
	// The guesses at the director do not lock out the colleagues behind the
	// same address.
	if code := signIn("manager", demoPassword); code != http.StatusSeeOther {
		t.Errorf("a colleague behind the same address after someone's wrong passwords: %d", code)
	}
	// Guessing across many user names from one address meets the per-address bound.
	limited := false
	for i := range loginLimitIP + 2 {
		if signIn(fmt.Sprintf("user%d", i), "guess") == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Errorf("%d wrong sign-ins for different users from one address are not limited", loginLimitIP+2)
	}
}

// Finding 7: /metrics answered anyone (1,297 series); /healthz answered 401
// to a probe that sent an unknown token.
func TestMetricsNeedAdminAndHealthIgnoresCredentials(t *testing.T) {
	d := newSecure(t)
	for _, c := range []struct {
		token string
		code  int
	}{
		{"", http.StatusUnauthorized},
		{"tok-director", http.StatusForbidden},
		{"nope", http.StatusUnauthorized},
		{"tok-admin", http.StatusOK},
		{"tok-metrics", http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, d.ts.URL+"/metrics", nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("/metrics with token %q: %d, want %d", c.token, resp.StatusCode, c.code)
		}
		if c.code == 200 && !bytes.Contains(b, []byte("pipelens_http_request_duration_seconds")) {
			t.Errorf("/metrics with token %q lacks the request histogram", c.token)
		}
		if c.code != 200 && bytes.Contains(b, []byte("go_goroutines")) {
			t.Errorf("/metrics with token %q shows series", c.token)
		}
	}
	c := d.client(t)
	d.login(t, c, "admin", demoPassword)
	if resp, err := c.Get(d.ts.URL + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("an admin session cannot read /metrics: %v %v", err, resp.Status)
	} else {
		resp.Body.Close()
	}
	// The metrics token reads /metrics only.
	if code := get(t, d.ts, "tok-metrics", "/api/v1/funnel", nil); code != http.StatusUnauthorized {
		t.Errorf("the metrics token reads the API: %d", code)
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		for _, tok := range []string{"", "nope", "tok-director"} {
			if code := get(t, d.ts, tok, p, nil); code != 200 {
				t.Errorf("%s with token %q: %d, want 200", p, tok, code)
			}
		}
	}
}

// Finding 8: the OpenAPI document did not list the imports endpoints.
func TestOpenAPIListsImports(t *testing.T) {
	d := newSecure(t)
	resp, err := http.Get(d.ts.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]any `json:"content"`
			} `json:"requestBody"`
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	up, ok := doc.Paths["/imports"]["post"]
	if !ok || up.RequestBody == nil || up.RequestBody.Content["multipart/form-data"] == nil {
		t.Error("the OpenAPI document has no multipart POST /imports (upload)")
	}
	for _, code := range []string{"200", "202", "413", "422", "503"} {
		if _, ok := up.Responses[code]; !ok {
			t.Errorf("POST /imports does not document %s", code)
		}
	}
	if _, ok := doc.Paths["/imports"]["get"]; !ok {
		t.Error("the OpenAPI document has no GET /imports (recent runs)")
	}
	if _, ok := doc.Paths["/imports/{id}"]["get"]; !ok {
		t.Error("the OpenAPI document has no GET /imports/{id} (a run's status)")
	}
	// Every reference resolves.
	b, _ := json.Marshal(doc)
	for _, m := range regexp.MustCompile(`#/components/schemas/(\w+)`).FindAllStringSubmatch(string(b), -1) {
		if _, ok := doc.Components.Schemas[m[1]]; !ok {
			t.Errorf("the OpenAPI document refers to a missing schema %s", m[1])
		}
	}
}

// deepJSON is n nested arrays.
func deepJSON(n int) []byte {
	return append(bytes.Repeat([]byte("["), n), bytes.Repeat([]byte("]"), n)...)
}

// Finding 9: the upload door answered 500 "internal error" where
// `pipelens ingest` explains what is wrong with the file.
func TestUploadErrorsOfTheFileAre4xx(t *testing.T) {
	d := newSecure(t)
	ing := d.srv.opts.Ingest
	xlsx := append([]byte("PK\x03\x04"), bytes.Repeat([]byte("broken"), 100)...)
	parquet := append(append([]byte("PAR1"), bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 64)...), []byte("\x10\x00\x00\x00PAR1")...)
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"broken.xlsx", xlsx},
		{"deep.json", deepJSON(100_000)},
		{"corrupt.parquet", parquet},
		{"empty.csv", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			// What the CLI says about the same file.
			path := filepath.Join(t.TempDir(), c.name)
			if err := os.WriteFile(path, c.body, 0o644); err != nil {
				t.Fatal(err)
			}
			_, cliErr := ing.LoadFiles(context.Background(), []string{path}, ingest.LoadOptions{})
			if cliErr == nil {
				t.Fatalf("pipelens ingest loads %s", c.name)
			}
			body, ct := multipartUpload(t, c.name, c.body)
			req, _ := http.NewRequest(http.MethodPost, d.ts.URL+"/api/v1/imports", body)
			req.Header.Set("Content-Type", ct)
			req.Header.Set("Authorization", "Bearer tok-director")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Error string `json:"error"`
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			_ = json.Unmarshal(b, &got)
			t.Logf("%s: %d %q", c.name, resp.StatusCode, got.Error)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("upload of %s: %d %s, want a 4xx", c.name, resp.StatusCode, b)
			}
			if got.Error != cliErr.Error() {
				t.Errorf("upload of %s says\n  %q\nwhere pipelens ingest says\n  %q", c.name, got.Error, cliErr.Error())
			}
		})
	}
	// A NUL or control byte in the file name: raw in the part's header, or
	// percent-encoded (RFC 2231 filename*).
	for _, disp := range []string{`filename="a` + "\x00" + `b.csv"`, `filename="x` + "\x1b" + `[31m.csv"`, `filename*=UTF-8''a%00b.csv`, `filename*=UTF-8''reps%0A.csv`} {
		body := "--x\r\nContent-Disposition: form-data; name=\"file\"; " + disp + "\r\nContent-Type: text/csv\r\n\r\n" + repsCSV + "\r\n--x--\r\n"
		req, _ := http.NewRequest(http.MethodPost, d.ts.URL+"/api/v1/imports?source=canonical", strings.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("Authorization", "Bearer tok-director")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "file name") {
			t.Errorf("an upload with %q: %d %s, want 400 about the file name", disp, resp.StatusCode, b)
		}
	}
}

// Finding 10: the page cache computed a shared value with its first caller's
// context, so that caller leaving failed every request waiting for the value.
func TestCachedValueOutlivesItsFirstCaller(t *testing.T) {
	d := newSecure(t)
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", code)
	}
	d.srv.Invalidate()
	started, release := make(chan string, 1), make(chan struct{})
	var once sync.Once
	d.srv.cache.computing = func(key string) {
		once.Do(func() {
			started <- key
			<-release
		})
	}
	const page = "/?from=2024-01-01&to=2024-04-01"
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, d.ts.URL+page, nil)
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		first <- err
	}()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first request computes nothing")
	}
	second := make(chan int, 1)
	go func() {
		code, _ := d.page(t, c, page)
		second <- code
	}()
	time.Sleep(300 * time.Millisecond) // the second request waits for the shared value
	cancel()                           // the first one leaves
	<-first
	time.Sleep(300 * time.Millisecond) // the server notices
	close(release)
	select {
	case code := <-second:
		if code != 200 {
			t.Errorf("a request waiting for a value the first (cancelled) request was computing: %d, want 200", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the second request never ends")
	}
}
