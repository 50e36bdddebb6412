package schemas

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoServerBinary means the embedded default cannot start: ClickHouse is not installed.
var ErrNoServerBinary = errors.New("clickhouse-server not found: install it with `sudo apt-get install clickhouse-server` (Debian/Ubuntu), or set PIPELENS_CLICKHOUSE_URL to an existing server")

// EmbeddedOptions configures the private ClickHouse server pipelens runs when no URL is set.
type EmbeddedOptions struct {
	// Dir holds config, data and logs ($PIPELENS_HOME/clickhouse).
	Dir string
	// Binary is clickhouse-server or the single clickhouse program; empty: looked up.
	Binary string
	// TCPPort fixes the native port; 0 picks a free one.
	TCPPort int
	// ExtraConfig is an XML fragment placed inside the server config (remote_servers).
	ExtraConfig string
	Logger      *slog.Logger
}

// Embedded is this process's use of the private ClickHouse server of a home.
//
// The server belongs to no single pipelens process: every process that uses it
// holds a shared lock on clients.lock for as long as it runs, and the server is
// started under a small supervisor (a shell in its own session) that waits for
// an exclusive lock on the same file, which it gets once no pipelens process
// holds a shared one (each released by the kernel when its process ends, even on
// SIGKILL), and then stops the server. So the first process starts it, others
// attach, it stays up while any of them runs and stops when the last one goes.
// If the supervisor itself dies, the server gets SIGTERM (its parent-death
// signal).
type Embedded struct {
	Addr    string // 127.0.0.1:port, native protocol
	Owner   bool   // this process started it
	dir     string
	pid     int      // the server's process
	clients *os.File // holds the shared lock on clients.lock
	log     *slog.Logger
}

type serverState struct {
	PID      int    `json:"pid"`
	TCPPort  int    `json:"tcp_port"`
	HTTPPort int    `json:"http_port"`
	Binary   string `json:"binary"`
	Started  string `json:"started"`
}

// StartEmbedded starts the private server, or reuses the one another pipelens
// process already runs on the same directory.
func StartEmbedded(ctx context.Context, o EmbeddedOptions) (*Embedded, error) {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve clickhouse dir: %w", err)
	}
	for _, d := range []string{"data", "tmp", "log", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Join(dir, d), err)
		}
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, "start.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	clients, err := sharedLock(ctx, filepath.Join(dir, "clients.lock"))
	if err != nil {
		return nil, err
	}

	statePath := filepath.Join(dir, "server.json")
	st, ok := readState(statePath)
	if ok && processAlive(st.PID) && !servesDir(st.PID, dir) {
		// A copied home: its server.json names the original's server, which
		// must not be taken for this directory's (it would migrate the other
		// home's data).
		log.Info("the embedded clickhouse of server.json serves another directory: starting this one's", "pid", st.PID, "dir", dir)
		ok = false
	}
	if ok && processAlive(st.PID) {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(st.TCPPort))
		if waitAnswer(ctx, addr, 3*time.Second) == nil {
			log.Info("reusing embedded clickhouse", "addr", addr, "pid", st.PID)
			return &Embedded{Addr: addr, dir: dir, pid: st.PID, clients: clients, log: log}, nil
		}
		// The last user left and its server is shutting down: starting a second
		// one on the same data would clash.
		log.Info("waiting for a stopping embedded clickhouse to exit", "pid", st.PID)
		if err := waitExit(ctx, st.PID, 60*time.Second); err != nil {
			clients.Close()
			return nil, err
		}
	}
	e, err := startSupervised(ctx, o, dir, log)
	if err != nil {
		clients.Close()
		return nil, err
	}
	e.clients = clients
	return e, nil
}

// startSupervised starts the server under its supervisor and waits until it
// answers. The caller holds start.lock and a shared lock on clients.lock.
func startSupervised(ctx context.Context, o EmbeddedOptions, dir string, log *slog.Logger) (*Embedded, error) {
	bin, args, err := serverCommand(o.Binary)
	if err != nil {
		return nil, err
	}
	for _, tool := range []string{"setpriv", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("the embedded clickhouse needs %s (Debian/Ubuntu package util-linux): %w", tool, err)
		}
	}
	for attempt := 1; ; attempt++ {
		e, err := startOnce(ctx, o, dir, log, bin, args)
		var clash *portClash
		if !errors.As(err, &clash) || attempt == 5 {
			return e, err
		}
		// Another process bound a port between its pick and the server's bind:
		// the server exited at once, so start it again on other ports.
		log.Warn("embedded clickhouse lost its port to another process; starting it on others", "attempt", attempt, "err", clash.err)
	}
}

// portClash is a start that failed only because a picked port was taken.
type portClash struct{ err error }

func (p *portClash) Error() string { return p.err.Error() }

// startOnce picks ports, starts the server and waits until it answers.
func startOnce(ctx context.Context, o EmbeddedOptions, dir string, log *slog.Logger, bin string, args []string) (*Embedded, error) {
	tcpPort := o.TCPPort
	if tcpPort == 0 {
		var err error
		if tcpPort, err = pickPort(); err != nil {
			return nil, err
		}
	}
	httpPort, err := pickPort()
	if err != nil {
		return nil, err
	}
	errLog := filepath.Join(dir, "log", "clickhouse-server.err.log")
	var errLogStart int64
	if fi, err := os.Stat(errLog); err == nil {
		errLogStart = fi.Size()
	}
	cfgPath := filepath.Join(dir, "config.xml")
	if err := writeServerConfig(dir, tcpPort, httpPort, o.ExtraConfig); err != nil {
		return nil, err
	}
	cmd, pid, err := launch(dir, bin, append(append([]string(nil), args...), "--config-file="+cfgPath))
	if err != nil {
		return nil, err
	}
	e := &Embedded{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(tcpPort)), Owner: true, dir: dir, pid: pid, log: log}
	statePath := filepath.Join(dir, "server.json")
	if err := writeState(statePath, serverState{PID: e.pid, TCPPort: tcpPort, HTTPPort: httpPort, Binary: bin, Started: time.Now().UTC().Format(time.RFC3339)}); err != nil {
		_ = syscall.Kill(e.pid, syscall.SIGTERM)
		return nil, err
	}
	t0 := time.Now()
	if err := e.waitReady(ctx, 60*time.Second); err != nil {
		_ = syscall.Kill(e.pid, syscall.SIGTERM)
		if o.TCPPort == 0 && !processAlive(e.pid) && logSince(errLog, errLogStart, "Address already in use") {
			// The supervisor waits for clients.lock, which the caller holds:
			// end it and its flock now, before the pid can be reused.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = os.Remove(statePath)
			return nil, &portClash{err}
		}
		return nil, err
	}
	log.Info("embedded clickhouse started", "addr", e.Addr, "pid", e.pid, "dir", dir, "ready_in", time.Since(t0).Round(time.Millisecond))
	return e, nil
}

// launch starts the server (bin with args) under its supervisor, a session of
// its own, and returns the supervisor and the server's pid.
func launch(dir, bin string, args []string) (*exec.Cmd, int, error) {
	pidPath := filepath.Join(dir, "server.pid")
	_ = os.Remove(pidPath)
	// $1 is the home's clickhouse dir, the rest the server's command line. The
	// flock returns once no pipelens process holds clients.lock.
	const supervisor = `dir=$1; shift
setpriv --pdeathsig TERM -- "$@" &
ch=$!
echo $ch > "$dir/server.pid.tmp" && mv "$dir/server.pid.tmp" "$dir/server.pid"
flock -x "$dir/clients.lock" kill -TERM $ch
wait $ch`
	cmd := exec.Command("sh", append([]string{"-c", supervisor, "pipelens-clickhouse-supervisor", dir, bin}, args...)...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	out, err := os.OpenFile(filepath.Join(dir, "log", "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err == nil {
		cmd.Stdout, cmd.Stderr = out, out
		defer out.Close()
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = cmd.Wait() }() // reap the supervisor if it ends before this process
	deadline := time.Now().Add(10 * time.Second)
	for pid := 0; ; time.Sleep(5 * time.Millisecond) {
		if b, err := os.ReadFile(pidPath); err == nil {
			if pid, _ = strconv.Atoi(strings.TrimSpace(string(b))); pid != 0 {
				return cmd, pid, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, 0, fmt.Errorf("start %s: the supervisor did not report the server's pid", bin)
		}
	}
}

// logSince reports whether the file's bytes from offset on contain text.
func logSince(path string, offset int64, text string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return false
	}
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	return err == nil && strings.Contains(string(b), text)
}

func (e *Embedded) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if !processAlive(e.pid) {
			return fmt.Errorf("embedded clickhouse exited during start-up; see %s", e.errorLogHint())
		}
		if err := pingNative(ctx, e.Addr, time.Second); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embedded clickhouse did not answer on %s within %s; see %s", e.Addr, limit, e.errorLogHint())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (e *Embedded) errorLogHint() string {
	p := filepath.Join(e.dir, "log", "clickhouse-server.err.log")
	b, err := os.ReadFile(p)
	if err != nil || len(b) == 0 {
		p = filepath.Join(e.dir, "log", "stdout.log")
		if b, err = os.ReadFile(p); err != nil || len(b) == 0 {
			return p
		}
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	last := lines[len(lines)-1]
	return p + ": " + last
}

// Stop ends this process's use of the server. The server stops when the last
// process using it stops (its supervisor sees to it): then Stop waits until it
// has exited, so a clean shutdown leaves nothing running.
func (e *Embedded) Stop() error {
	if e == nil || e.clients == nil {
		return nil
	}
	f := e.clients
	e.clients = nil
	f.Close() // releases the lock: the supervisor takes it when nobody else holds one
	path := filepath.Join(e.dir, "clients.lock")
	deadline := time.Now().Add(30 * time.Second)
	for processAlive(e.pid) {
		switch lockHolders(path) {
		case "clients":
			return nil // others use the server: it stays
		case "supervisor", "none":
			// Stopping, or about to: wait for the exit.
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("embedded clickhouse (pid %d) still runs 30 s after its last user stopped", e.pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.log.Info("embedded clickhouse stopped", "addr", e.Addr)
	return nil
}

// PID is the server's process id.
func (e *Embedded) PID() int { return e.pid }

// lockHolders says who holds clients.lock: "clients" (shared holders only),
// "supervisor" (the exclusive lock of a stopping server) or "none".
func lockHolders(path string) string {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return "none"
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
		return "none" // closing f releases it
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) == nil {
		return "clients"
	}
	return "supervisor"
}

// sharedLock takes a shared lock on path, held until the returned file closes
// (or the process ends). It waits while the supervisor holds it exclusively to
// stop the server.
func sharedLock(ctx context.Context, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB) != nil {
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return f, nil
}

func serverCommand(bin string) (string, []string, error) {
	if bin != "" {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", nil, fmt.Errorf("clickhouse binary %q: %w", bin, ErrNoServerBinary)
		}
		if filepath.Base(p) == "clickhouse" {
			return p, []string{"server"}, nil
		}
		return p, nil, nil
	}
	for _, c := range []string{"clickhouse-server", "/usr/sbin/clickhouse-server", "/usr/bin/clickhouse-server"} {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil, nil
		}
	}
	for _, c := range []string{"clickhouse", "/usr/bin/clickhouse"} {
		if p, err := exec.LookPath(c); err == nil {
			return p, []string{"server"}, nil
		}
	}
	return "", nil, ErrNoServerBinary
}

func writeServerConfig(dir string, tcpPort, httpPort int, extra string) error {
	// <yandex> is the root both 18.16 and current servers accept.
	cfg := fmt.Sprintf(`<?xml version="1.0"?>
<!-- written by pipelens for its embedded server; rewritten at every start -->
<yandex>
    <logger>
        <level>warning</level>
        <log>%[1]s/log/clickhouse-server.log</log>
        <errorlog>%[1]s/log/clickhouse-server.err.log</errorlog>
        <size>50M</size>
        <count>3</count>
        <console>0</console>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>%[2]d</tcp_port>
    <http_port>%[3]d</http_port>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <max_concurrent_queries>100</max_concurrent_queries>
%[4]s
</yandex>
`, dir, tcpPort, httpPort, extra)
	users := `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>8000000000</max_memory_usage>
            <load_balancing>random</load_balancing>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default></default></quotas>
</yandex>
`
	if err := os.WriteFile(filepath.Join(dir, "config.xml"), []byte(cfg), 0o644); err != nil {
		return fmt.Errorf("write embedded clickhouse config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o644); err != nil {
		return fmt.Errorf("write embedded clickhouse users: %w", err)
	}
	return nil
}

// pickPort is freePort; a test makes it hand out a taken port.
var pickPort = freePort

// freePort picks a port below the kernel's ephemeral range (32768 up), where
// outgoing connections (a replica fetching from another, a client) take their
// local ports: a port picked there may be taken by one before the server binds it.
func freePort() (int, error) {
	l, err := ListenFree()
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ListenFree listens on a free port of 127.0.0.1 in 20000-32767 (see freePort).
func ListenFree() (net.Listener, error) {
	for range 200 {
		p := 20000 + rand.IntN(12768)
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			return l, nil
		}
	}
	return nil, errors.New("pick a free port: none free in 20000-32767 after 200 tries")
}

// FreePort returns a port on 127.0.0.1 nobody listens on right now.
func FreePort() (int, error) { return freePort() }

func readState(path string) (serverState, bool) {
	var st serverState
	b, err := os.ReadFile(path)
	if err != nil {
		return st, false
	}
	if json.Unmarshal(b, &st) != nil || st.PID <= 0 {
		return st, false
	}
	return st, true
}

func writeState(path string, st serverState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// servesDir says whether pid's command line names dir's config.xml, as the
// same file (a path through a symlink is the same home): false when dir has
// none, true when pid's cannot be read.
func servesDir(pid int, dir string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return true
	}
	for _, arg := range strings.Split(string(b), "\x00") {
		if cfg, ok := strings.CutPrefix(arg, "--config-file="); ok {
			theirs, err := os.Stat(cfg)
			if err != nil {
				return true
			}
			ours, err := os.Stat(filepath.Join(dir, "config.xml"))
			return err == nil && os.SameFile(theirs, ours)
		}
	}
	return true
}

// processAlive says whether pid runs and is a ClickHouse server (pids get reused).
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || len(b) == 0 {
		// Unreadable, or empty while the process execs (the supervisor's
		// child turning into setpriv, then the server): it exists, so alive.
		// Taken for gone, a start failed at once with "exited during start-up".
		return true
	}
	if strings.Contains(string(b), "clickhouse") {
		// a zombie still shows its cmdline; treat it as gone
		s, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			f := strings.Fields(string(s))
			if len(f) > 2 && f[2] == "Z" {
				return false
			}
		}
		return true
	}
	return false
}

func waitExit(ctx context.Context, pid int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			return fmt.Errorf("an earlier embedded clickhouse (pid %d) neither answers nor exits; stop it and retry", pid)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func waitAnswer(ctx context.Context, addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		err := pingNative(ctx, addr, time.Second)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
