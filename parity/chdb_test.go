package parity

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// chdbVersion is the npm package the test drives (ClickHouse 26.7 in process).
const chdbVersion = "3.4.0"

// chdbInstall is what installs it (deploy/install-deps.sh does the same).
const chdbInstall = "deploy/install-deps.sh (as root: npm install chdb@" + chdbVersion + " under /opt/pipelens-chdb), or: " +
	"mkdir -p ~/.cache/pipelens-chdb && cp parity/package.json parity/package-lock.json ~/.cache/pipelens-chdb/ && npm ci --prefix ~/.cache/pipelens-chdb"

// chdbPrefixes are where the test looks for node_modules/chdb, in order.
func chdbPrefixes() []string {
	var out []string
	if p := os.Getenv("PIPELENS_CHDB_PREFIX"); p != "" {
		out = append(out, p)
	}
	out = append(out, "/opt/pipelens-chdb")
	if h, err := os.UserHomeDir(); err == nil {
		out = append(out, filepath.Join(h, ".cache", "pipelens-chdb"))
	}
	// the shared tools' prefix (modern-sql-check --install) on a developer machine
	if p := os.Getenv("MODERN_SQL_CHECK_PREFIX"); p != "" {
		out = append(out, p)
	}
	return append(out, "/tmp/sqlcheck")
}

// findChDB returns node and the prefix whose node_modules holds chdb, or why not.
func findChDB() (node, prefix string, why string) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", "", "node is not installed (apt-get install nodejs npm)"
	}
	for _, p := range chdbPrefixes() {
		if _, err := os.Stat(filepath.Join(p, "node_modules", "chdb", "package.json")); err == nil {
			if libs, _ := filepath.Glob(filepath.Join(p, "node_modules", "@chdb", "lib-*", "libchdb.so")); len(libs) > 0 {
				return node, p, ""
			}
		}
	}
	return node, "", "chdb@" + chdbVersion + " is not installed under any of " + strings.Join(chdbPrefixes(), ", ")
}

// chdb is a running chdb.js: one chDB session, one statement at a time.
type chdb struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	mu     sync.Mutex
}

type chdbRequest struct {
	SQL      string         `json:"sql"`
	Format   string         `json:"format,omitempty"`
	Settings map[string]any `json:"settings,omitempty"`
}

type chdbAnswer struct {
	Out string `json:"out"`
	Err string `json:"err"`
}

func startChDB(node, prefix, dataDir string) (*chdb, error) {
	script, err := filepath.Abs("chdb.js")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, script, dataDir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(prefix, "node_modules"), "TZ=UTC")
	cmd.Dir = dataDir
	c := &chdb{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = c.stderr
	if c.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c.out = bufio.NewReaderSize(stdout, 1<<20)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start chdb.js: %w", err)
	}
	return c, nil
}

// do runs one statement; a chDB error comes back in the answer, a broken
// driver as the error.
func (c *chdb) do(r chdbRequest) (chdbAnswer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, _ := json.Marshal(r)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return chdbAnswer{}, fmt.Errorf("chdb.js: %w (stderr: %s)", err, c.stderr.String())
	}
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return chdbAnswer{}, fmt.Errorf("chdb.js: %w (stderr: %s)", err, c.stderr.String())
	}
	var a chdbAnswer
	if err := json.Unmarshal(line, &a); err != nil {
		return chdbAnswer{}, fmt.Errorf("chdb.js answer: %w", err)
	}
	return a, nil
}

// must runs a statement that has to succeed.
func (c *chdb) must(sql string) (string, error) {
	a, err := c.do(chdbRequest{SQL: sql})
	if err != nil {
		return "", err
	}
	if a.Err != "" {
		return "", fmt.Errorf("chDB: %s\n  in: %s", firstLine(a.Err), short(sql, 300))
	}
	return a.Out, nil
}

func (c *chdb) close() {
	if c == nil {
		return
	}
	c.in.Close()
	_ = c.cmd.Wait()
}
