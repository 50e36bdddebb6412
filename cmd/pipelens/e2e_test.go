package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pipelens-bin-")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "pipelens")
	out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build pipelens: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type proc struct {
	cmd *exec.Cmd
	out *bytes.Buffer
}

func start(t *testing.T, home string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "PIPELENS_HOME="+home, "PIPELENS_CLICKHOUSE_URL=", "PIPELENS_CONFIG=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, out: &out}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
	})
	return p
}

func waitHTTP(t *testing.T, url string, p *proc) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200; output:\n%s", url, p.out.String())
}

type serverState struct {
	PID     int `json:"pid"`
	TCPPort int `json:"tcp_port"`
}

func readServerState(t *testing.T, home string) serverState {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "clickhouse", "server.json"))
	if err != nil {
		t.Fatalf("read server.json: %v", err)
	}
	var st serverState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(strings.SplitN(string(s), ")", 2)[1][:3], "Z")
}

// A user kills pipelens (even with SIGKILL): its ClickHouse must go too, and the
// next start must find the data where it was. A second pipelens on the same home
// reuses the running server instead of starting a clashing one.
func TestServeKillRestartKeepsData(t *testing.T) {
	home := t.TempDir()
	port, _ := schemas.FreePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := start(t, home, "serve", "--addr", addr)
	waitHTTP(t, "http://"+addr+"/readyz", p)
	st := readServerState(t, home)

	// a second pipelens on the same home reuses the server and leaves it running
	mig := exec.Command(binPath, "migrate")
	mig.Env = append(os.Environ(), "PIPELENS_HOME="+home, "PIPELENS_CLICKHOUSE_URL=", "PIPELENS_CONFIG=")
	out, err := mig.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "reusing embedded clickhouse") {
		t.Fatalf("second pipelens on the same home: err %v, output:\n%s", err, out)
	}
	if !alive(st.PID) {
		t.Fatal("the second pipelens stopped the first one's ClickHouse")
	}
	waitHTTP(t, "http://"+addr+"/readyz", p)

	// the same home through a symlink is the same home: its server is reused
	link := filepath.Join(t.TempDir(), "home-link")
	if err := os.Symlink(home, link); err != nil {
		t.Fatal(err)
	}
	mig = exec.Command(binPath, "migrate")
	mig.Env = append(os.Environ(), "PIPELENS_HOME="+link, "PIPELENS_CLICKHOUSE_URL=", "PIPELENS_CONFIG=")
	if out, err = mig.CombinedOutput(); err != nil || !strings.Contains(string(out), "reusing embedded clickhouse") {
		t.Fatalf("pipelens on the home through a symlink: err %v, output:\n%s", err, out)
	}

	// a copy of the home (its server.json names the first home's live server)
	// gets its own server: reusing the other would migrate the other's data
	copyHome := t.TempDir()
	if err := os.MkdirAll(filepath.Join(copyHome, "clickhouse"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(home, "clickhouse", "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(copyHome, "clickhouse", "server.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	mig = exec.Command(binPath, "migrate")
	mig.Env = append(os.Environ(), "PIPELENS_HOME="+copyHome, "PIPELENS_CLICKHOUSE_URL=", "PIPELENS_CONFIG=")
	out, err = mig.CombinedOutput()
	if err != nil || strings.Contains(string(out), "reusing embedded clickhouse") || !strings.Contains(string(out), "serves another directory") {
		t.Fatalf("pipelens on a copied home: err %v, output:\n%s", err, out)
	}
	if !alive(st.PID) {
		t.Fatal("pipelens on a copied home stopped the original's ClickHouse")
	}

	ctx := context.Background()
	db, err := schemas.OpenAddr(ctx, fmt.Sprintf("127.0.0.1:%d", st.TCPPort), "pipelens", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	if err := db.InsertRows(ctx, "test", "INSERT INTO accounts (account_id, name, run_id, loaded_at)", []any{"acc-1", "上海某某科技", uint64(1), now}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	if err := p.cmd.Process.Kill(); err != nil { // SIGKILL: no chance to clean up
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	deadline := time.Now().Add(30 * time.Second)
	for alive(st.PID) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(st.PID) {
		t.Fatalf("clickhouse pid %d still runs 30s after pipelens was killed: orphaned", st.PID)
	}

	p2 := start(t, home, "serve", "--addr", addr)
	waitHTTP(t, "http://"+addr+"/readyz", p2)
	st2 := readServerState(t, home)
	db, err = schemas.OpenAddr(ctx, fmt.Sprintf("127.0.0.1:%d", st2.TCPPort), "pipelens", time.Minute, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	if err := db.Conn.QueryRow(ctx, "SELECT name FROM accounts WHERE account_id = 'acc-1'").Scan(&name); err != nil || name != "上海某某科技" {
		t.Fatalf("after restart the account reads %q, %v: data lost", name, err)
	}
	// graceful stop (Ctrl-C) stops ClickHouse too
	_ = p2.cmd.Process.Signal(os.Interrupt)
	_ = p2.cmd.Wait()
	time.Sleep(200 * time.Millisecond)
	if alive(st2.PID) {
		t.Fatalf("clickhouse pid %d still runs after pipelens stopped on Ctrl-C", st2.PID)
	}
}

func TestNoServerBinaryNamesInstallCommand(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "c.yaml")
	os.WriteFile(cfg, []byte("clickhouse:\n  binary: /nonexistent/clickhouse-server\n"), 0o644)
	cmd := exec.Command(binPath, "--config", cfg, "migrate")
	cmd.Env = append(os.Environ(), "PIPELENS_HOME="+home, "PIPELENS_CLICKHOUSE_URL=")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "apt-get install clickhouse-server") {
		t.Fatalf("without clickhouse-server: err %v, output %q; want a failure naming apt-get install clickhouse-server", err, out)
	}
}

// The README's first command: the demo generates the sample, loads it into the
// embedded ClickHouse and serves numbers over the API.
func TestDemoServesSampleNumbers(t *testing.T) {
	home := t.TempDir()
	cfg := filepath.Join(home, "pipelens.yaml")
	os.WriteFile(cfg, []byte("auth:\n  tokens:\n    - {name: ci, token: demo-test-token, role: director}\n"), 0o600)
	port, _ := schemas.FreePort()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := start(t, home, "--config", cfg, "demo", "--addr", addr)
	deadline := time.Now().Add(3 * time.Minute)
	var body map[string]any
	for time.Now().Before(deadline) {
		// the demo's sample ends today: ask for the last year
		to := time.Now().UTC().AddDate(0, 0, 1)
		from := to.AddDate(-1, 0, 0)
		req, _ := http.NewRequest("GET", "http://"+addr+"/api/v1/funnel?from="+from.Format(time.DateOnly)+"&to="+to.Format(time.DateOnly), nil)
		req.Header.Set("Authorization", "Bearer demo-test-token")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			if resp.StatusCode == 200 {
				json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				break
			}
			resp.Body.Close()
		}
		time.Sleep(200 * time.Millisecond)
	}
	if body == nil {
		t.Fatalf("demo never served /api/v1/funnel; output:\n%s", p.out.String())
	}
	cohort, _ := body["cohort"].(float64)
	won, _ := body["won"].(float64)
	if cohort < 5000 || won < 100 {
		t.Fatalf("demo funnel over a year has cohort %v and won %v: the sample did not load (body %v)", cohort, won, body)
	}
}

// TestEngineRunCommands: `alerts run` and `subscriptions run` share their
// command line: without run they print their own usage, and a bad --at is
// refused before any database is opened, naming the flag.
func TestEngineRunCommands(t *testing.T) {
	home := t.TempDir()
	for _, name := range []string{"alerts", "subscriptions"} {
		cmd := exec.Command(binPath, name)
		cmd.Env = append(os.Environ(), "PIPELENS_HOME="+home)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "usage: pipelens "+name+" run [--at") {
			t.Errorf("pipelens %s: err %v, output %q; want its usage", name, err, out)
		}
		cmd = exec.Command(binPath, name, "run", "--at", "tomorrow")
		cmd.Env = append(os.Environ(), "PIPELENS_HOME="+home)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), `--at "tomorrow"`) {
			t.Errorf("pipelens %s run --at tomorrow: err %v, output %q; want the --at error", name, err, out)
		}
	}
}
