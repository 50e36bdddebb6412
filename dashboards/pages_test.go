package dashboards

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// demo is a server over generated data, as `pipelens demo` serves it.
type demo struct {
	ts           *httptest.Server
	db           *schemas.DB
	srv          *Server
	teamA, teamB string
	repA, repB   string // a rep of each team
}

const demoPassword = "demo-pass"

// newDemo loads a generated sample (seed 1, n opportunities) into a fresh test
// database and serves it with users of every role.
func newDemo(t *testing.T, n int) *demo {
	t.Helper()
	return newDemoSize(t, "", n)
}

// newDemoSize is newDemo with the generator's organisation size ("small",
// "medium" or "large": how many teams and reps) and n opportunities.
func newDemoSize(t *testing.T, size string, n int) *demo {
	t.Helper()
	return newDemoConfig(t, gen.Config{Seed: 1, Size: size, Opportunities: n})
}

// newDemoConfig is newDemo with the generator's whole configuration (an
// export date of today, for pages about the present quarter).
func newDemoConfig(t *testing.T, gc gen.Config) *demo {
	t.Helper()
	ctx := context.Background()
	db := schemastest.Open(t)
	dir := t.TempDir()
	if _, err := gen.WriteDir(ctx, gc, dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	order := map[string]int{"reps.csv": 0, "accounts.csv": 1, "market.csv": 2, "targets.csv": 3, "opportunities.csv": 4, "opportunity_snapshots.csv": 5, "stage_events.csv": 6, "leads.csv": 7, "activities.csv": 8}
	sort.Slice(files, func(i, j int) bool { return order[filepath.Base(files[i])] < order[filepath.Base(files[j])] })
	q := query.New(db, time.UTC, nil)
	ing := ingest.New(db, ingest.Options{MaxUploadBytes: 1 << 20, Publish: q.Refresh}, nil)
	if _, err := ing.LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"}); err != nil {
		t.Fatal(err)
	}
	d := &demo{db: db}
	// Two teams and a rep of each, from the reps export.
	f, err := os.Open(filepath.Join(dir, "reps.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := csv.NewReader(f).ReadAll()
	f.Close()
	for _, r := range recs[1:] {
		role, team := r[3], r[5]
		if role != "rep" || team == "" {
			continue
		}
		switch {
		case d.teamA == "":
			d.teamA, d.repA = team, r[0]
		case d.teamB == "" && team != d.teamA:
			d.teamB, d.repB = team, r[0]
		}
	}
	if d.teamB == "" {
		t.Fatal("the sample has fewer than two teams")
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.MinCost)
	h := config.Secret(hash)
	cfg := config.Default()
	cfg.Ingest.MaxUploadMB = 1
	cfg.CRM.RecordURLs = map[string]string{"gen": "https://crm.example.com/r/{id}/view"}
	cfg.Auth.SessionSecret = "test-secret"
	cfg.Auth.Users = []config.User{
		{Username: "director", Name: "Dora Director", PasswordHash: h, Role: "director"},
		{Username: "manager", Name: "Manny", PasswordHash: h, Role: "manager", Team: d.teamA, Lang: "zh-CN"},
		{Username: "rep", Name: "Rita", PasswordHash: h, Role: "rep", Team: d.teamA, Rep: d.repA},
		{Username: "admin", Name: "Ada", PasswordHash: h, Role: "admin"},
	}
	cfg.Auth.Tokens = []config.Token{{Name: "ci", Token: "tok-director", Role: "director"}, {Name: "m", Token: "tok-manager", Role: "manager", Team: d.teamA}}
	d.srv = New(Options{Config: cfg, DB: db, Query: q, Ingest: ing,
		Mount: []func(*Server){APIMount(q)}})
	d.ts = httptest.NewServer(d.srv.Echo)
	t.Cleanup(d.ts.Close)
	insertAlertEvents(t, db, d.teamA, d.teamB)
	return d
}

// insertAlertEvents writes two open anomalies, one per team, as the alert
// engine would: the first found at its rule's latest evaluation (firing), the
// second last found two days before it (quiet).
func insertAlertEvents(t *testing.T, db *schemas.DB, teamA, teamB string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	since := now.AddDate(0, 0, -5).Truncate(24 * time.Hour)
	for i, team := range []string{teamA, teamB} {
		seen := now.AddDate(0, 0, -2*i)
		err := db.InsertRows(context.Background(), "test-alerts", `INSERT INTO alert_events (event_id, key, rule, metric, grain, segment_kind, segment, segment_label, team, detector, kind, direction,
    actual, expected, score, since, period_from, period_to, summary, drivers, recipients, status, opened_at, last_seen_at, notified_at, notify_count, resolved_at, checked_at, version)`,
			[]any{fmt.Sprintf("ev%d", i+1), "k" + team, "bookings-drop", "bookings", "day", "team", team, team, team, "ewma", "level", int8(-1),
				1000.0, 5000.0, 4.2, since, since.AddDate(0, 0, -60), now, "Bookings of " + team + " fell to 20% of expected since " + since.Format("Jan 2"), "[]", []string{"m@example.com"},
				"firing", seen.Add(-time.Hour), seen, seen, uint32(1), time.Unix(0, 0).UTC(), now, uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// client is a browser-like HTTP client with a cookie jar that does not follow
// redirects.
func (d *demo) client(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (d *demo) login(t *testing.T, c *http.Client, user, pass string) int {
	t.Helper()
	resp, err := c.Get(d.ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(b)
	if m == nil {
		t.Fatalf("the sign-in page has no CSRF field:\n%s", b)
	}
	resp, err = c.PostForm(d.ts.URL+"/login", url.Values{"csrf": {string(m[1])}, "username": {user}, "password": {pass}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (d *demo) page(t *testing.T, c *http.Client, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.ts.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var externalRef = regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?\s*(https?:)?//`)

func TestPagesHTTP(t *testing.T) {
	d := newDemo(t, 3000)
	dir := d.login(t, d.client(t), "director", "wrong")
	if dir != http.StatusUnauthorized {
		t.Errorf("a wrong password signs in or fails oddly: status %d", dir)
	}
	c := d.client(t)
	if code := d.login(t, c, "director", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("director cannot sign in: status %d", code)
	}
	u, _ := url.Parse(d.ts.URL)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie after sign-in")
	}

	pages := []string{"/", "/funnel", "/funnel?stage=proposal", "/funnel?stage=proposal&rep=" + d.repA, "/trends", "/trends?period=week", "/reps", "/reps/" + d.repA,
		"/territories", "/alerts", "/imports", "/?preset=this_q", "/?preset=last_q", "/?preset=last_12m", "/?from=2026-01-01&to=2026-07-01&team=" + url.QueryEscape(d.teamA)}
	for _, p := range pages {
		code, body := d.page(t, c, p)
		if code != 200 {
			t.Errorf("%s: status %d: %.300s", p, code, body)
			continue
		}
		if m := externalRef.FindString(body); m != "" {
			t.Errorf("%s loads something from outside the server: %s", p, m)
		}
		for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="/static/`) && tag != `<script type="application/json" id="`+tag[len(`<script type="application/json" id="`):min(len(tag), len(`<script type="application/json" id="`)+200)] {
				t.Errorf("%s has inline script: %s", p, tag)
			}
		}
		if p != "/imports" && p != "/alerts" && !strings.Contains(body, `type="application/json"`) {
			t.Errorf("%s has no chart", p)
		}
	}

	// Pages need a session; the API takes the session too.
	if code, _ := d.page(t, d.client(t), "/funnel"); code != http.StatusSeeOther {
		t.Errorf("an anonymous visitor is not sent to sign in: %d", code)
	}
	// CSV of a table, with formula cells neutralised.
	resp, err := c.Get(d.ts.URL + "/reps?csv=reps")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(b), d.repA) && !bytes.Contains(b, []byte(",")) {
		t.Errorf("the reps table does not download as CSV: %d %s %.200s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(recs) < 5 {
		t.Errorf("the CSV does not parse or is short: %v (%d rows)", err, len(recs))
	}

	// A manager sees the own team only, whatever the URL says.
	m := d.client(t)
	if code := d.login(t, m, "manager", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("manager cannot sign in: %d", code)
	}
	for _, p := range []string{"/?team=" + url.QueryEscape(d.teamB), "/funnel?team=" + url.QueryEscape(d.teamB), "/trends?team=" + url.QueryEscape(d.teamB),
		"/reps?team=" + url.QueryEscape(d.teamB), "/territories?team=" + url.QueryEscape(d.teamB)} {
		if code, _ := d.page(t, m, p); code != http.StatusForbidden {
			t.Errorf("a manager of %s asking for %s gets %d, want 403", d.teamA, p, code)
		}
	}
	if code, _ := d.page(t, m, "/reps/"+d.repB); code != http.StatusNotFound && code != http.StatusForbidden {
		t.Errorf("a manager sees the scorecard of another team's rep: %d", code)
	}
	code, body := d.page(t, m, "/")
	if code != 200 || strings.Contains(body, d.teamB) {
		t.Errorf("the manager's overview shows another team (%s): %d", d.teamB, code)
	}
	if !strings.Contains(body, "总览") {
		t.Errorf("the manager configured for zh-CN does not get Chinese pages")
	}
	if code, _ := d.page(t, m, "/imports"); code != http.StatusForbidden {
		t.Errorf("a manager opens the imports page: %d", code)
	}
	_, body = d.page(t, m, "/alerts")
	if strings.Contains(body, "ev2") || !strings.Contains(body, "ev1") {
		t.Errorf("the manager's alerts page shows another team's anomaly or misses the own")
	}
	if !strings.Contains(body, "最近发现 ") {
		t.Errorf("the manager's alerts page does not say when the open anomaly was last found")
	}

	// Language: ?lang= switches and sticks.
	if _, body := d.page(t, c, "/?lang=zh-CN"); !strings.Contains(body, "总览") || !strings.Contains(body, `lang="zh-CN"`) {
		t.Errorf("?lang=zh-CN does not switch to Chinese")
	}
	if _, body := d.page(t, c, "/trends"); !strings.Contains(body, "趋势") {
		t.Errorf("the language choice does not stick")
	}
	if _, body := d.page(t, c, "/?lang=en"); !strings.Contains(body, "Overview") {
		t.Errorf("?lang=en does not switch back")
	}

	// Open and found at the latest evaluation: firing; open but not found
	// then: quiet.
	if _, body := d.page(t, c, "/alerts"); !strings.Contains(body, `<span class="badge firing">firing</span>`) || !strings.Contains(body, `<span class="badge quiet">quiet</span>`) {
		t.Errorf("the alerts page does not tell the firing anomaly from the quiet one")
	}

	// Acknowledge needs the CSRF token.
	resp, _ = c.PostForm(d.ts.URL+"/alerts/ev1/ack", url.Values{})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("acknowledging without a CSRF token: %d, want 403", resp.StatusCode)
	}
	_, body = d.page(t, c, "/alerts")
	tok := csrfField.FindStringSubmatch(body)[1]
	resp, _ = c.PostForm(d.ts.URL+"/alerts/ev1/ack", url.Values{"csrf": {tok}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("acknowledging with the token: %d", resp.StatusCode)
	}
	resp, _ = c.PostForm(d.ts.URL+"/alerts/ev2/snooze", url.Values{"csrf": {tok}})
	resp.Body.Close()
	if _, body = d.page(t, c, "/alerts"); !strings.Contains(body, "acknowledged by director") || !strings.Contains(body, "snoozed until") || !strings.Contains(body, "last found ") {
		t.Errorf("the alerts page does not show the acknowledgement, the snooze and when each was last found")
	}
	// Manager cannot acknowledge another team's alert.
	_, body = d.page(t, m, "/alerts")
	mtok := csrfField.FindStringSubmatch(body)[1]
	resp, _ = m.PostForm(d.ts.URL+"/alerts/ev2/ack", url.Values{"csrf": {mtok}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a manager acknowledges another team's alert: %d", resp.StatusCode)
	}

	// Health and metrics.
	for _, p := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(d.ts.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("%s: %v %v", p, err, resp.Status)
		}
		resp.Body.Close()
	}
	// /metrics is for admins (and the metrics token).
	adm := d.client(t)
	if code := d.login(t, adm, "admin", demoPassword); code != http.StatusSeeOther {
		t.Fatalf("admin cannot sign in: %d", code)
	}
	resp, _ = adm.Get(d.ts.URL + "/metrics")
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"pipelens_http_request_duration_seconds_bucket", "pipelens_query_duration_seconds_bucket", "pipelens_alerts_sent_total"} {
		if !bytes.Contains(b, []byte(name)) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestSignIn(t *testing.T) {
	d := newSmallServer(t)
	c := d.client(t)
	// Without the CSRF cookie's twin the form is refused.
	resp, _ := c.PostForm(d.ts.URL+"/login", url.Values{"username": {"director"}, "password": {demoPassword}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without a CSRF token: %d, want 403", resp.StatusCode)
	}
	// Five wrong passwords a minute, then the limit.
	codes := []int{}
	for i := 0; i < 7; i++ {
		codes = append(codes, d.login(t, c, "director", "guess"))
	}
	if codes[4] != http.StatusUnauthorized || codes[6] != http.StatusTooManyRequests {
		t.Errorf("sign-in attempts are not limited: %v", codes)
	}
	// The limit is per username too: another username from this address is
	// limited (same IP), the right password included.
	if code := d.login(t, c, "director", demoPassword); code != http.StatusTooManyRequests {
		t.Errorf("the right password after the limit: %d, want 429", code)
	}
	// Session cookie flags and tampering.
	c2 := d.client(t)
	resp, err := c2.Get(d.ts.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	tok := csrfField.FindSubmatch(b)[1]
	d.srv.auth.limiter = newLimiter()
	resp, _ = c2.PostForm(d.ts.URL+"/login", url.Values{"csrf": {string(tok)}, "username": {"manager"}, "password": {demoPassword}, "next": {"//evil.example/"}})
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("sign-in redirects off-site: %q", loc)
	}
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie missing or without HttpOnly/SameSite=Lax: %+v", sc)
	}
	forged := d.srv.auth.encode(sessionUser{Username: "manager", Role: "director", ID: "x", Expires: time.Now().Add(time.Hour).Unix()})
	req, _ := http.NewRequest(http.MethodGet, d.ts.URL+"/api/v1/funnel", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: forged})
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a session claiming another role is accepted: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, d.ts.URL+"/api/v1/funnel", nil)
	req.AddCookie(&http.Cookie{Name: sessionCookie, Value: sc.Value[:len(sc.Value)-2] + "xx"})
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a tampered session is accepted: %d", resp.StatusCode)
	}
}

// newSmallServer is a server over the API fixture with the demo users, for
// tests that need no sample.
func newSmallServer(t *testing.T) *demo {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	hash, _ := bcrypt.GenerateFromPassword([]byte(demoPassword), bcrypt.MinCost)
	cfg := config.Default()
	cfg.Auth.Users = []config.User{{Username: "director", PasswordHash: config.Secret(hash), Role: "director"}, {Username: "manager", PasswordHash: config.Secret(hash), Role: "manager", Team: "East"}}
	cfg.Auth.TrustedHeader = "X-Remote-User"
	d := &demo{db: db}
	d.srv = New(Options{Config: cfg, DB: db, Mount: []func(*Server){MountAPI}})
	d.ts = httptest.NewServer(d.srv.Echo)
	t.Cleanup(d.ts.Close)
	return d
}

func TestTrustedHeader(t *testing.T) {
	d := newSmallServer(t)
	req, _ := http.NewRequest(http.MethodGet, d.ts.URL+"/api/v1/funnel?from=2024-01-01&to=2024-04-01", nil)
	req.Header.Set("X-Remote-User", "manager")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var fn query.Funnel
	_ = json.NewDecoder(resp.Body).Decode(&fn)
	resp.Body.Close()
	if resp.StatusCode != 200 || fn.Cohort != 3 {
		t.Errorf("the trusted header from the (loopback) proxy does not sign in as the manager: %d %+v", resp.StatusCode, fn)
	}
	req.Header.Set("X-Remote-User", "nobody")
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unknown user in the trusted header is let in: %d", resp.StatusCode)
	}
}

func TestImportsAPI(t *testing.T) {
	d := newDemo(t, 500)
	// Answered with the report, however busy the machine: the 202 path is
	// tested below with uploadWait 0.
	d.srv.uploadWait = 5 * time.Minute
	upload := func(token, name string, body []byte, session *http.Client, csrf string) (*http.Response, []byte) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if csrf != "" {
			_ = mw.WriteField("csrf", csrf)
		}
		_ = mw.WriteField("source", "canonical")
		fw, _ := mw.CreateFormFile("file", name)
		_, _ = fw.Write(body)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, d.ts.URL+"/api/v1/imports", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		c := http.DefaultClient
		if session != nil {
			c = session
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, b
	}
	evil := `<img src=x onerror=alert(1)>`
	var good strings.Builder
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&good, "X8%02d,Rep %d,r%d@example.com,rep,,Zeta,上海,en,1,2024-01-01,test\n", i, i, i)
	}
	reps := "rep_id,name,email,role,manager_id,team,territory,lang,active,hired_on,source_system\n" + good.String() +
		"X900,\"" + evil + "\",x@example.com,rep,,Zeta,上海,en,1,2024-01-01,test\n" +
		"X901,=HYPERLINK(\"http://evil\"),y@example.com,rep,,Zeta,上海,en,1,2024-01-01,test\n" +
		"X902,Bad Date,z@example.com,rep,,Zeta,上海,en,1,not-a-date,test\n"
	resp, b := upload("tok-director", "reps.csv", []byte(reps), nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	var rep ingest.Report
	if err := json.Unmarshal(b, &rep); err != nil || len(rep.Files) != 1 || rep.Files[0].RunID == 0 {
		t.Fatalf("upload report: %v %s", err, b)
	}
	id := rep.Files[0].RunID
	var got ingest.Report
	if code := get(t, d.ts, "tok-director", fmt.Sprintf("/api/v1/imports/%d", id), &got); code != 200 || len(got.Files) != 1 || got.Files[0].RunID != id {
		t.Errorf("GET the run: %d %+v", code, got)
	}
	var runs struct {
		Runs []importRun `json:"runs"`
	}
	if code := get(t, d.ts, "tok-director", "/api/v1/imports", &runs); code != 200 || len(runs.Runs) < 2 || runs.Runs[0].RunID != id {
		t.Errorf("GET the runs: %d, newest first %+v", code, runs.Runs[:min(2, len(runs.Runs))])
	}
	// An upload that takes longer than the request waits answers 202 with its
	// run at once; the run's report follows it to committed.
	d.srv.uploadWait = 0
	resp, b = upload("tok-director", "reps2.csv", []byte(strings.ReplaceAll(reps, "Zeta", "Eta")), nil, "")
	var accepted struct {
		RunID  uint64 `json:"run_id"`
		Status string `json:"status"`
	}
	if resp.StatusCode != http.StatusAccepted || json.Unmarshal(b, &accepted) != nil || accepted.RunID == 0 || accepted.Status != "running" {
		t.Fatalf("a slow upload: %d %s; want 202 with its run", resp.StatusCode, b)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var r ingest.Report
		code := get(t, d.ts, "tok-director", fmt.Sprintf("/api/v1/imports/%d", accepted.RunID), &r)
		if code == 200 && len(r.Files) == 1 && r.Files[0].Status == ingest.StatusCommitted {
			if r.Files[0].Loaded != 42 {
				t.Errorf("the background upload loaded %d rows, want 42", r.Files[0].Loaded)
			}
			break
		}
		if code != 200 || time.Now().After(deadline) {
			t.Fatalf("following the background upload: %d %+v", code, r)
		}
		time.Sleep(50 * time.Millisecond)
	}
	d.srv.uploadWait = 5 * time.Minute
	if code := get(t, d.ts, "tok-manager", "/api/v1/imports", nil); code != http.StatusForbidden {
		t.Errorf("a manager lists imports: %d", code)
	}
	if code := get(t, d.ts, "tok-director", "/api/v1/imports/999999", nil); code != http.StatusNotFound {
		t.Errorf("an unknown run: %d", code)
	}
	big := bytes.Repeat([]byte("x,y\n"), 400_000) // 1.6 MB, limit 1 MB
	if resp, b := upload("tok-director", "big.csv", big, nil, ""); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a too large upload: %d %s", resp.StatusCode, b)
	}
	if resp, _ := upload("tok-manager", "reps.csv", []byte(reps), nil, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a manager uploads: %d", resp.StatusCode)
	}
	// A browser session needs the CSRF token in the form.
	c := d.client(t)
	d.login(t, c, "admin", demoPassword)
	if resp, _ := upload("", "reps2.csv", []byte(reps+"X903,Ok,o@example.com,rep,,Zeta,上海,en,1,2024-01-01,test\n"), c, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a session upload without a CSRF token: %d", resp.StatusCode)
	}
	_, body := d.page(t, c, "/imports")
	tok := csrfField.FindStringSubmatch(body)[1]
	if resp, b := upload("", "reps2.csv", []byte(reps+"X903,Ok,o@example.com,rep,,Zeta,上海,en,1,2024-01-01,test\n"), c, tok); resp.StatusCode != 200 {
		t.Errorf("a session upload with the token: %d %s", resp.StatusCode, b)
	}
	// The run page lists the rejects; CRM strings are escaped everywhere.
	code, body := d.page(t, c, fmt.Sprintf("/imports/%d", id))
	if code != 200 || !strings.Contains(body, "not-a-date") {
		t.Errorf("the run page does not show the rejected row: %d", code)
	}
	_, body = d.page(t, c, "/reps/X900")
	if strings.Contains(body, evil) || strings.Contains(body, "<img src=x") {
		t.Errorf("a rep name reaches the page unescaped")
	}
	_, body = d.page(t, c, "/?team=Zeta")
	if strings.Contains(body, evil) {
		t.Errorf("a CRM string reaches a chart unescaped")
	}
	if neutralise(`=HYPERLINK("http://evil")`) != `'=HYPERLINK("http://evil")` || neutralise("-12.5") != "-12.5" || neutralise("-cmd|x") != "'-cmd|x" || neutralise("@SUM(1)") != "'@SUM(1)" || neutralise("+1") != "+1" {
		t.Errorf("CSV neutralising is wrong")
	}
}
