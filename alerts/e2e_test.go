package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// maildevBin installs maildev (npm) once into the user cache and returns its
// program, or skips the test when node/npm are not available (fails under
// CI=true: CI must run it).
func maildevBin(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node not installed: the maildev end-to-end test needs node and npm (apt-get install nodejs npm)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		missing(t, fmt.Sprintf("no cache dir for maildev: %v", err))
	}
	dir := filepath.Join(cache, "pipelens", "maildev")
	bin := filepath.Join(dir, "node_modules", ".bin", "maildev")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("npm"); err != nil {
		missing(t, "npm not installed: the maildev end-to-end test needs it to install maildev")
	}
	os.MkdirAll(dir, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "maildev").CombinedOutput()
	if err != nil {
		missing(t, fmt.Sprintf("npm install maildev failed (offline?): %v\n%s", err, out))
	}
	return bin
}

// missing skips a test whose outside part is not there, except under CI=true,
// where a skipped end-to-end test would pass unseen.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type maildev struct {
	smtpPort, webPort int
	cmd               *exec.Cmd
}

func startMaildev(t *testing.T, bin string, smtpPort, webPort int) *maildev {
	t.Helper()
	cmd := exec.Command(bin, "--smtp", fmt.Sprint(smtpPort), "--web", fmt.Sprint(webPort), "--ip", "127.0.0.1", "--web-ip", "127.0.0.1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start maildev: %v", err)
	}
	m := &maildev{smtpPort: smtpPort, webPort: webPort, cmd: cmd}
	t.Cleanup(m.stop)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := m.emails(); err == nil {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", smtpPort), time.Second); err == nil {
				c.Close()
				return m
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("maildev did not come up on smtp %d / web %d", smtpPort, webPort)
	return nil
}

func (m *maildev) stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.cmd.Process.Kill()
		m.cmd.Wait()
		m.cmd = nil
	}
}

// StartDashboards starts the dashboards server over db for the end-to-end
// tests, accepting token as a manager of team (team "": as an admin), and
// returns its base URL. It is
// set by e2e_dashboards_test.go (package alerts_test: dashboards imports
// alerts).
var StartDashboards func(t *testing.T, db *schemas.DB, token, team string) string

// QuietLogForTest lends the external test package the quiet logger.
func QuietLogForTest() *slog.Logger { return quietLog() }

const e2eToken = "e2e-manager-token"

type devMail struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
	To      []struct {
		Address string `json:"address"`
		Name    string `json:"name"`
	} `json:"to"`
	Headers     map[string]any `json:"headers"`
	MessageID   string         `json:"messageId"`
	Attachments []struct {
		ContentID   string `json:"contentId"`
		ContentType string `json:"contentType"`
	} `json:"attachments"`
}

// source returns the raw message as maildev received it (its HTML view
// rewrites cid: references to its own attachment URLs).
func (m *maildev) source(id string) (string, error) {
	for _, p := range []string{"/api/email/%s/source", "/email/%s/source"} {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d"+p, m.webPort, id))
		if err != nil {
			return "", err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return string(b), err
		}
	}
	return "", fmt.Errorf("no source for message %s", id)
}

func (m *maildev) emails() ([]devMail, error) {
	// maildev 3 serves the REST API under /api; older versions at /email.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/email", m.webPort))
	if err == nil && resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/email", m.webPort))
	}
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []devMail
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

// e2eSetup loads the generator's sample and returns the planted team drop and
// the email of that team's manager.
func e2eSetup(t *testing.T) (*Engine0, gen.Anomaly, string) {
	t.Helper()
	db := schemastest.Open(t)
	truth := loadGen(t, db, gen.Config{Seed: 7, Opportunities: demoOpps}) // the demo's sample
	var drop gen.Anomaly
	for _, a := range truth.Anomalies {
		if a.ID == "team-opened-drop" {
			drop = a
		}
	}
	if drop.ID == "" {
		t.Fatal("the generator planted no team drop")
	}
	org, err := NewClickHouseSource(db, time.UTC).Org(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mgr string
	for _, p := range org.Reps {
		if p.Role == "manager" && p.Team == drop.SegmentValue {
			mgr = p.Email
		}
	}
	if mgr == "" {
		t.Fatalf("no manager for team %s", drop.SegmentValue)
	}
	e0 := &Engine0{db: db, base: "https://pipelens.example.com"}
	if StartDashboards != nil {
		e0.base = StartDashboards(t, db, e2eToken, drop.SegmentValue)
		e0.live = true
	}
	return e0, drop, mgr
}

// Engine0 carries the test database and the dashboards' address between setup
// and engine creation.
type Engine0 struct {
	db   *schemas.DB
	base string
	live bool // base is a running dashboards server
}

func e2eEngine(t *testing.T, e0 *Engine0, smtpPort int) *Engine {
	t.Helper()
	c := config.Default()
	c.Server.BaseURL = e0.base
	c.SMTP = config.SMTP{Host: "127.0.0.1", Port: smtpPort, From: "pipelens@example.com", TLS: "none"}
	rules := &Config{Rules: []Rule{{Name: "opened", Metric: MetricOppsOpened, Segments: []string{SegTeam}, Detector: "seasonal", Sensitivity: "high", Direction: "down"}}}
	e, err := New(Options{DB: e0.db, Config: c, Rules: rules, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// checkMail asserts the one email the manager must get.
func checkMail(t *testing.T, md *maildev, e0 *Engine0, ms []devMail, mgr string, drop gen.Anomaly) {
	t.Helper()
	var mine []devMail
	for _, m := range ms {
		for _, to := range m.To {
			if strings.EqualFold(to.Address, mgr) {
				mine = append(mine, m)
			}
		}
	}
	if len(mine) != 1 {
		t.Fatalf("%d emails to the manager %s of team %s, want exactly 1 (all mails: %d)", len(mine), mgr, drop.SegmentValue, len(ms))
	}
	m := mine[0]
	if !strings.Contains(m.Subject, drop.SegmentValue) {
		t.Errorf("subject %q does not name the team %s", m.Subject, drop.SegmentValue)
	}
	inline := ""
	for _, a := range m.Attachments {
		if a.ContentType == "image/png" && a.ContentID != "" {
			inline = strings.Trim(a.ContentID, "<>")
		}
	}
	raw, err := md.source(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	raw = strings.ReplaceAll(raw, "=\r\n", "") // quoted-printable soft breaks
	if inline == "" || !strings.Contains(raw, "cid:"+inline) || !strings.Contains(raw, "Content-Disposition: inline") {
		t.Errorf("no inline PNG chart referenced from the HTML (attachments %+v)", m.Attachments)
	}
	// The link opens the Alerts page on the event: it draws the metric for
	// the team over the range (the trends page draws no daily metric).
	i := strings.Index(m.HTML, e0.base+"/alerts?")
	if i < 0 {
		t.Fatalf("no link to the event on %s/alerts in the HTML", e0.base)
	}
	link := m.HTML[i:]
	link = link[:strings.IndexByte(link, '"')]
	u, err := url.Parse(strings.ReplaceAll(link, "&amp;", "&"))
	if err != nil {
		t.Fatalf("dashboard link %q: %v", link, err)
	}
	q := u.Query()
	if q.Get("team") != drop.SegmentValue || q.Get("from") == "" || q.Get("to") == "" || q.Get("event") == "" {
		t.Errorf("dashboard link %s: want the event, team=%s and a from/to range", u, drop.SegmentValue)
	}
	from, _ := time.Parse(time.DateOnly, q.Get("from"))
	to, _ := time.Parse(time.DateOnly, q.Get("to"))
	start, _ := time.Parse(time.DateOnly, drop.Start)
	if !(from.Before(start) && to.After(start)) {
		t.Errorf("dashboard range %s..%s does not cover the drop starting %s", q.Get("from"), q.Get("to"), drop.Start)
	}
	if !e0.live {
		t.Logf("dashboards server not started: link %s not followed", u)
		return
	}
	// The link works: the page answers with the team's view, and the API with
	// the same filters answers with the team's numbers.
	get := func(u string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+e2eToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("follow %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(u.String()); code != http.StatusOK || !strings.Contains(body, drop.SegmentValue) {
		t.Errorf("dashboard link %s: status %d, mentions team %s: %v", u, code, drop.SegmentValue, strings.Contains(body, drop.SegmentValue))
	}
	api := e0.base + "/api/v1/funnel?" + u.RawQuery
	code, body := get(api)
	var fn struct {
		Cohort int `json:"cohort"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &fn) != nil || fn.Cohort == 0 {
		t.Errorf("API with the link's filters %s: status %d, want the team's funnel: %.300s", api, code, body)
	} else {
		t.Logf("API with the link's filters: %s -> %d opportunities opened by %s in the range", api, fn.Cohort, drop.SegmentValue)
	}
}

func TestEndToEndMaildev(t *testing.T) {
	bin := maildevBin(t)
	e0, drop, mgr := e2eSetup(t)
	md := startMaildev(t, bin, freePort(t), freePort(t))
	e := e2eEngine(t, e0, md.smtpPort)
	start, _ := time.Parse(time.DateOnly, drop.Start)
	now := start.AddDate(0, 0, 5).Add(9 * time.Hour) // after a working week of the drop
	s, err := e.RunOnce(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run: %s", s)
	// A second evaluation an hour later sends nothing new.
	if s2, err := e.RunOnce(context.Background(), now.Add(time.Hour)); err != nil || s2.Emails != 0 {
		t.Fatalf("second run: %s, %v; want no new email", s2, err)
	}
	ms, err := md.emails()
	if err != nil {
		t.Fatal(err)
	}
	checkMail(t, md, e0, ms, mgr, drop)
}

func TestEndToEndMaildevDownThenUp(t *testing.T) {
	bin := maildevBin(t)
	e0, drop, mgr := e2eSetup(t)
	smtpPort, webPort := freePort(t), freePort(t)
	e := e2eEngine(t, e0, smtpPort)
	e.sender.(*SMTPSender).timeout = 3 * time.Second
	start, _ := time.Parse(time.DateOnly, drop.Start)
	now := start.AddDate(0, 0, 5).Add(9 * time.Hour)
	// The outbox's clock follows the evaluations (it runs on the later of the
	// two): the backoff passes when the test says so, not after 30 real seconds.
	clock := now
	e.now = func() time.Time { return clock }
	s, err := e.RunOnce(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.Emails == 0 || s.Delivery.Sent != 0 || s.Delivery.Retrying == 0 {
		t.Fatalf("with SMTP down: %s; want queued emails waiting for retry", s)
	}
	md := startMaildev(t, bin, smtpPort, webPort)
	// The next evaluation, past the backoff: nothing new is queued, the waiting
	// email goes out.
	clock = now.Add(15 * time.Minute)
	s, err = e.RunOnce(context.Background(), now.Add(15*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if s.Emails != 0 || s.Delivery.Sent == 0 {
		t.Fatalf("with SMTP up: %s; want the queued email sent and none added", s)
	}
	if d, _ := e.Deliver(context.Background(), now.Add(3*time.Hour)); d.Sent != 0 {
		t.Fatalf("delivered again: %+v", d)
	}
	ms, err := md.emails()
	if err != nil {
		t.Fatal(err)
	}
	checkMail(t, md, e0, ms, mgr, drop)
}
