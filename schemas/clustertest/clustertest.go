// Package clustertest starts a real ClickHouse cluster for tests: one ZooKeeper and
// four clickhouse-server processes, two shards of two replicas, configured with
// the layout of deploy/clickhouse/cluster.xml (deploy.Cluster.ServerConfig). Every
// process is a child of the test, on 127.0.0.1 and free ports, with its data under
// the test's temporary directory, and is stopped when the test ends.
//
// ZooKeeper comes from the Debian package `zookeeper` (run as `java` with its jars);
// without it the test is skipped, or fails when CI=true.
package clustertest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/deploy"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// Database is the database the cluster's config names.
const Database = "pipelens"

// Cluster is a running test cluster.
type Cluster struct {
	// Config connects pipelens to it: URL of the first server, cluster name and
	// every replica of every shard.
	Config config.ClickHouse
	// Layout is the cluster as its servers see it: replicas' native addresses per
	// shard and the ZooKeeper address.
	Layout deploy.Cluster
	// StartupTime is how long ZooKeeper and the four servers took to answer.
	StartupTime time.Duration

	t       testing.TB
	mu      sync.Mutex
	servers []*server // in Layout.Addrs order: shard by shard
	zk      *process
	zkDir   string
}

type server struct {
	shard, replica int
	opts           schemas.EmbeddedOptions
	emb            *schemas.Embedded
}

// Start starts a 2 shards × 2 replicas cluster with ZooKeeper and returns the
// configuration that connects pipelens to it. Everything stops when t ends.
func Start(t testing.TB) config.ClickHouse {
	t.Helper()
	return StartCluster(t).Config
}

// StartCluster is Start returning the cluster, so a test can stop and restart its
// replicas.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	java, classpath, err := findZooKeeper()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cluster test needs ZooKeeper: %v (deploy/install-deps.sh installs it)", err)
		}
		t.Skipf("cluster test skipped: %v; install it with `sudo apt-get install zookeeper` or deploy/install-deps.sh", err)
	}
	// The ports are free when chosen, but another process (a test package
	// running beside this one) may bind one before the server that was given it
	// does: then everything starts again on other ports.
	for attempt := 1; ; attempt++ {
		c, err := startCluster(t, java, classpath)
		if err == nil {
			return c
		}
		if attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			t.Fatalf("start cluster: %v", err)
		}
		t.Logf("start cluster, attempt %d: %v; starting again on other ports", attempt, err)
	}
}

// startCluster is one attempt of StartCluster: on an error it stops what it
// started.
func startCluster(t testing.TB, java, classpath string) (*Cluster, error) {
	t.Helper()
	t0 := time.Now()
	dir := t.TempDir()
	c := &Cluster{t: t}

	ports := freePorts(t, 9) // ZooKeeper, then native and interserver ports of each server
	zkPort := ports[0]
	c.zkDir = filepath.Join(dir, "zookeeper")
	zk, err := startZooKeeper(java, classpath, c.zkDir, zkPort)
	if err != nil {
		return nil, fmt.Errorf("start zookeeper: %w", err)
	}
	c.zk = zk
	stopZK := func() {
		if err := c.zk.stop(); err != nil {
			t.Logf("stop zookeeper: %v", err)
		}
	}

	layout, err := deploy.FileCluster()
	if err != nil {
		t.Fatal(err)
	}
	n := len(layout.Addrs())
	if n != 4 {
		t.Fatalf("cluster.xml has %d replicas; clustertest starts 4", n)
	}
	tcpPorts, interPorts := ports[1:1+n], ports[1+n:]
	var addrs []string
	for _, p := range tcpPorts {
		addrs = append(addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	}
	if layout, err = layout.WithAddrs(addrs); err != nil {
		t.Fatal(err)
	}
	layout.ZooKeeper = []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(zkPort))}
	layout.SessionTimeout = 4 * time.Second
	c.Layout = layout

	i := 0
	for s, reps := range layout.Shards {
		for r := range reps {
			extra, err := layout.ServerConfig(s, r, net.JoinHostPort("127.0.0.1", strconv.Itoa(interPorts[i])))
			if err != nil {
				t.Fatal(err)
			}
			c.servers = append(c.servers, &server{shard: s, replica: r, opts: schemas.EmbeddedOptions{
				Dir:     filepath.Join(dir, fmt.Sprintf("ch%d", i+1)),
				TCPPort: tcpPorts[i],
				// A stopping server waits for open connections (other servers keep
				// some) before it exits: up to shutdown_wait_unfinished (5 s by
				// default), then for HTTP keep-alives (interserver fetches: 10 s).
				ExtraConfig: extra + "<shutdown_wait_unfinished>1</shutdown_wait_unfinished>\n<keep_alive_timeout>1</keep_alive_timeout>\n",
				Logger:      quiet(),
			}})
			i++
		}
	}
	errs := make([]error, len(c.servers))
	var wg sync.WaitGroup
	for i := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.stopAll()
		stopZK()
		return nil, err
	}
	t.Cleanup(stopZK)
	t.Cleanup(c.stopAll)
	c.StartupTime = time.Since(t0)

	var shards []string
	for _, reps := range layout.Shards {
		shards = append(shards, strings.Join(reps, ","))
	}
	c.Config = config.ClickHouse{
		URL:          config.Secret("clickhouse://default@" + addrs[0] + "/" + Database),
		Cluster:      layout.Name,
		Shards:       shards,
		QueryTimeout: time.Minute,
	}
	return c, nil
}

// Replicas is the number of servers: replica i is replica i%2+1 of shard i/2+1.
func (c *Cluster) Replicas() int { return len(c.servers) }

// Addr is the native address of server i (0-based, shard by shard).
func (c *Cluster) Addr(i int) string { return c.Layout.Addrs()[i] }

// ShardOf is the shard (0-based) server i serves.
func (c *Cluster) ShardOf(i int) int { return c.servers[i].shard }

// ConfigAt is Config with its URL on server i, e.g. to keep working while the
// first server is stopped.
func (c *Cluster) ConfigAt(i int) config.ClickHouse {
	cfg := c.Config
	cfg.URL = config.Secret("clickhouse://default@" + c.Addr(i) + "/" + Database)
	return cfg
}

// StopReplica stops server i the way an operator does (SIGTERM). Its data stays;
// StartReplica brings it back. ClickHouse 18.16 takes about 10 s to stop while
// other servers hold idle connections to it (they are polled every poll_interval).
func (c *Cluster) StopReplica(i int) {
	c.t.Helper()
	c.mu.Lock()
	e := c.servers[i].emb
	c.servers[i].emb = nil
	c.mu.Unlock()
	if e == nil {
		return
	}
	if err := e.Stop(); err != nil {
		c.t.Fatalf("stop replica %d: %v", i, err)
	}
}

// KillReplica kills server i with SIGKILL, as a crash would: its ZooKeeper
// session stays open until it expires (4 s here), so a restarted replica is active
// again only after that. Its data stays; StartReplica brings it back.
func (c *Cluster) KillReplica(i int) {
	c.t.Helper()
	c.mu.Lock()
	e := c.servers[i].emb
	c.servers[i].emb = nil
	c.mu.Unlock()
	if e == nil {
		return
	}
	if pid := e.PID(); pid > 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	if err := e.Stop(); err != nil { // reaps it
		c.t.Fatalf("kill replica %d: %v", i, err)
	}
}

// StartReplica starts server i again on its data, port and config.
func (c *Cluster) StartReplica(i int) {
	c.t.Helper()
	if err := c.start(i); err != nil {
		c.t.Fatalf("start replica %d: %v", i, err)
	}
}

func (c *Cluster) start(i int) error {
	c.mu.Lock()
	s := c.servers[i]
	running := s.emb != nil
	c.mu.Unlock()
	if running {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e, err := schemas.StartEmbedded(ctx, s.opts)
	if err != nil {
		return fmt.Errorf("server %d (shard %d replica %d): %w", i, s.shard+1, s.replica+1, err)
	}
	c.mu.Lock()
	s.emb = e
	c.mu.Unlock()
	return nil
}

func (c *Cluster) stopAll() {
	if c.t.Failed() {
		if tail := lastLines(filepath.Join(c.zkDir, "zookeeper.log"), 10); tail != "" {
			c.t.Logf("zookeeper log, last lines:\n%s", tail)
		}
		for i, s := range c.servers {
			if tail := lastLines(filepath.Join(s.opts.Dir, "log", "clickhouse-server.err.log"), 5); tail != "" {
				c.t.Logf("server %d (%s) error log, last lines:\n%s", i, c.Addr(i), tail)
			}
		}
	}
	var wg sync.WaitGroup
	for i := range c.servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.mu.Lock()
			e := c.servers[i].emb
			c.servers[i].emb = nil
			c.mu.Unlock()
			if e != nil {
				_ = e.Stop()
			}
		}()
	}
	wg.Wait()
}

// findZooKeeper finds java and the ZooKeeper server's class path: Debian's
// /usr/share/java/zookeeper.jar (its manifest names its dependencies), or the
// jars of a ZooKeeper tree under /usr/share/zookeeper, $ZOOKEEPER_HOME or
// /opt/zookeeper.
func findZooKeeper() (java, classpath string, err error) {
	java, err = exec.LookPath("java")
	if err != nil {
		return "", "", fmt.Errorf("ZooKeeper is not installed (no java on PATH)")
	}
	if _, err := os.Stat("/usr/share/java/zookeeper.jar"); err == nil {
		cp := "/usr/share/java/zookeeper.jar"
		if _, err := os.Stat("/usr/share/java/slf4j-simple.jar"); err == nil {
			cp += string(os.PathListSeparator) + "/usr/share/java/slf4j-simple.jar" // its log, else none
		}
		return java, cp, nil
	}
	homes := []string{"/usr/share/zookeeper", "/opt/zookeeper"}
	if h := os.Getenv("ZOOKEEPER_HOME"); h != "" {
		homes = append([]string{h}, homes...)
	}
	for _, h := range homes {
		var jars []string
		for _, pat := range []string{"*.jar", "lib/*.jar"} {
			m, _ := filepath.Glob(filepath.Join(h, pat))
			jars = append(jars, m...)
		}
		for _, j := range jars {
			if strings.HasPrefix(filepath.Base(j), "zookeeper-") || filepath.Base(j) == "zookeeper.jar" {
				return java, strings.Join(jars, string(os.PathListSeparator)), nil
			}
		}
	}
	return "", "", fmt.Errorf("ZooKeeper is not installed (no zookeeper.jar in /usr/share/java, /usr/share/zookeeper or /opt/zookeeper)")
}

// process is a child process that gets SIGTERM when the test binary dies.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startZooKeeper(java, classpath, dir string, port int) (*process, error) {
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf(`# written by pipelens's clustertest
tickTime=500
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=srvr
`, filepath.Join(dir, "data"), port)
	cfgPath := filepath.Join(dir, "zoo.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(dir, "zookeeper.log"))
	if err != nil {
		return nil, err
	}
	p := &process{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the spawning thread ends: keep it alive as long as
		// the process runs.
		runtime.LockOSThread()
		defer out.Close()
		p.cmd = exec.Command(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
			"-Dzookeeper.admin.enableServer=false", "-Djava.net.preferIPv4Stack=true",
			"-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.showDateTime=true",
			"-cp", classpath, "org.apache.zookeeper.server.ZooKeeperServerMain", cfgPath)
		p.cmd.Dir = dir
		p.cmd.Stdout, p.cmd.Stderr = out, out
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
		if err := p.cmd.Start(); err != nil {
			close(p.done)
			started <- err
			return
		}
		started <- nil
		_ = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(30 * time.Second)
	for {
		if serving(addr) {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("zookeeper exited during start-up: %s", lastLines(filepath.Join(dir, "zookeeper.log"), 5))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("zookeeper did not answer on %s within 30s: %s", addr, lastLines(filepath.Join(dir, "zookeeper.log"), 5))
		}
	}
}

// serving asks ZooKeeper's four-letter "srvr", which answers with the server's
// mode once it serves sessions ("ruok" answers "imok" earlier: while it still
// refuses sessions as "not running").
func serving(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(conn, 4096))
	return strings.Contains(string(b), "Mode: standalone")
}

func (p *process) stop() error {
	if p == nil || p.cmd == nil || p.cmd.Process == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("zookeeper (pid %d) ignored SIGTERM; killed", p.cmd.Process.Pid)
	}
}

// freePorts returns n distinct ports of 127.0.0.1 nobody listens on: all are held
// open together, so none is handed out twice.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var out []int
	for range n {
		l, err := schemas.ListenFree()
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

func lastLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// OpenMigrated opens the cluster through cfg (the cluster's Config, perhaps with
// another query timeout) and runs the migrations, failing the test on an
// error; the database closes when the test ends.
func OpenMigrated(t testing.TB, ctx context.Context, cfg config.ClickHouse) *schemas.DB {
	t.Helper()
	db, err := schemas.Open(ctx, cfg, t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("cluster migrate: %v", err)
	}
	return db
}
