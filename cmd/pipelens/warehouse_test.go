package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
)

// warehouse is a served home for the write-path tests: pipelens serve with a
// director token, and the canonical sample files.
type warehouse struct {
	t     *testing.T
	home  string
	cfg   string
	addr  string
	serve *proc
	dir   string // the sample's files
	from  string // the sample's whole range
	to    string
}

const testToken = "warehouse-test-token"

func newWarehouse(t *testing.T, opps int) *warehouse {
	t.Helper()
	w := &warehouse{t: t, home: t.TempDir(), dir: t.TempDir()}
	w.cfg = filepath.Join(w.home, "pipelens.yaml")
	if err := os.WriteFile(w.cfg, []byte("auth:\n  tokens:\n    - {name: ci, token: "+testToken+", role: director}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	truth, err := gen.WriteDir(context.Background(), gen.Config{Seed: 21, Opportunities: opps}, w.dir)
	if err != nil {
		t.Fatal(err)
	}
	from, _ := time.Parse(time.DateOnly, truth.From)
	asOf, _ := time.Parse(time.DateOnly, truth.AsOf)
	w.from, w.to = from.AddDate(-1, 0, 0).Format(time.DateOnly), asOf.AddDate(0, 0, 2).Format(time.DateOnly)
	w.startServe()
	return w
}

func (w *warehouse) startServe() {
	port, _ := schemas.FreePort()
	w.addr = fmt.Sprintf("127.0.0.1:%d", port)
	w.serve = start(w.t, w.home, "--config", w.cfg, "serve", "--addr", w.addr)
	waitHTTP(w.t, "http://"+w.addr+"/readyz", w.serve)
}

// ingest runs `pipelens ingest` with extra environment; it returns the error
// of the process (an *exec.ExitError when it failed or was killed).
func (w *warehouse) ingest(env []string, files ...string) (string, error) {
	cmd := exec.Command(binPath, append([]string{"--config", w.cfg, "ingest", "--source", "canonical"}, files...)...)
	cmd.Env = append(append(os.Environ(), "PIPELENS_HOME="+w.home, "PIPELENS_CLICKHOUSE_URL="), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// get is one API answer's body; a status other than 200 fails the test.
func (w *warehouse) get(path string) string {
	w.t.Helper()
	body, code, err := w.fetch(path)
	if err != nil || code != 200 {
		w.t.Fatalf("GET %s: %d %v\n%s", path, code, err, body)
	}
	return body
}

func (w *warehouse) fetch(path string) (string, int, error) {
	req, _ := http.NewRequest("GET", "http://"+w.addr+path, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

// answers is what the API says of the whole sample, endpoint by endpoint.
func (w *warehouse) answers() map[string]string {
	w.t.Helper()
	rng := "from=" + w.from + "&to=" + w.to
	out := map[string]string{}
	for _, p := range []string{"funnel", "conversion?period=month", "winrate?group_by=rep", "cycle?group_by=team", "days-in-stage",
		"movement?period=month", "reps", "territories", "deals?sort=-amount&page_size=200", "deals?basis=open&sort=created&page_size=200"} {
		sep := "?"
		if strings.Contains(p, "?") {
			sep = "&"
		}
		out[p] = w.get("/api/v1/" + p + sep + rng)
	}
	return out
}

// sameAnswers compares two sets of answers as JSON, numbers to 1e-9 relative
// (a merge may change the order in which ClickHouse adds floats).
func sameAnswers(a, b map[string]string) (string, bool) {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var x, y any
		if json.Unmarshal([]byte(a[k]), &x) != nil || json.Unmarshal([]byte(b[k]), &y) != nil {
			return k, false
		}
		if p, ok := jsonDiff(k, x, y); !ok {
			return p, false
		}
	}
	return "", true
}

func jsonDiff(path string, x, y any) (string, bool) {
	switch xv := x.(type) {
	case map[string]any:
		yv, ok := y.(map[string]any)
		if !ok || len(xv) != len(yv) {
			return path, false
		}
		for k := range xv {
			if p, ok := jsonDiff(path+"."+k, xv[k], yv[k]); !ok {
				return p, false
			}
		}
	case []any:
		yv, ok := y.([]any)
		if !ok || len(xv) != len(yv) {
			return path, false
		}
		for i := range xv {
			if p, ok := jsonDiff(fmt.Sprintf("%s[%d]", path, i), xv[i], yv[i]); !ok {
				return p, false
			}
		}
	case float64:
		yv, ok := y.(float64)
		if !ok || math.Abs(xv-yv) > 1e-9*math.Max(1, math.Max(math.Abs(xv), math.Abs(yv))) {
			return fmt.Sprintf("%s: %v vs %v", path, x, y), false
		}
	default:
		if x != y {
			return fmt.Sprintf("%s: %v vs %v", path, x, y), false
		}
	}
	return "", true
}

// optimizeAll merges every table of the home's database as far as ClickHouse
// can: a merge must never change what readers count.
func (w *warehouse) optimizeAll() {
	w.t.Helper()
	db := w.open()
	defer db.Close()
	ctx := context.Background()
	rows, err := db.Conn.Query(ctx, "SELECT name FROM system.tables WHERE database = currentDatabase() AND engine LIKE '%MergeTree%'")
	if err != nil {
		w.t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		_ = rows.Scan(&n)
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		if err := db.Exec(ctx, "test-optimize", "OPTIMIZE TABLE "+n+" FINAL"); err != nil {
			w.t.Fatalf("optimize %s: %v", n, err)
		}
	}
}

func (w *warehouse) open() *schemas.DB {
	w.t.Helper()
	st := readServerState(w.t, w.home)
	db, err := schemas.OpenAddr(context.Background(), fmt.Sprintf("127.0.0.1:%d", st.TCPPort), "pipelens", time.Minute, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return db
}

// rewriteCSV writes dst from src with fn applied to each data row (nil drops it).
func rewriteCSV(t *testing.T, src, dst string, fn func(i int, col map[string]int, r []string) []string) {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	out := [][]string{rows[0]}
	for i, r := range rows[1:] {
		if r = fn(i, col, append([]string(nil), r...)); r != nil {
			out = append(out, r)
		}
	}
	g, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	cw := csv.NewWriter(g)
	_ = cw.WriteAll(out)
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
}

func sampleFiles(dir string) []string {
	var files []string
	for _, n := range []string{"reps", "accounts", "market", "targets", "opportunities", "opportunity_snapshots", "stage_events", "leads", "activities"} {
		files = append(files, filepath.Join(dir, n+".csv"))
	}
	return files
}

func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// A re-import that fails (too many rejects) or is killed before its
// publication changes no answer, whatever ClickHouse merges; one killed after
// it shows all of it. The home repairs itself: a restart publishes what a
// killed process loaded, and the next load works.
func TestKilledOrFailedReloadLeavesBeforeOrAfter(t *testing.T) {
	w := newWarehouse(t, 1500)
	if out, err := w.ingest(nil, sampleFiles(w.dir)...); err != nil {
		t.Fatalf("load v1: %v\n%s", err, out)
	}
	before := w.answers()

	v2 := filepath.Join(t.TempDir(), "opportunities.csv")
	rewriteCSV(t, filepath.Join(w.dir, "opportunities.csv"), v2, func(i int, col map[string]int, r []string) []string {
		a, _ := strconv.ParseFloat(r[col["amount"]], 64)
		r[col["amount"]] = strconv.FormatFloat(a*2+1, 'f', 0, 64)
		if i%3 == 0 && r[col["closed"]] == "0" {
			r[col["stage"]], r[col["vendor_stage"]], r[col["closed"]], r[col["won"]] = "won", "赢单", "1", "1"
		}
		return r
	})
	bad := filepath.Join(t.TempDir(), "opportunities.csv")
	rewriteCSV(t, v2, bad, func(i int, col map[string]int, r []string) []string {
		if i%10 == 0 {
			r[col["amount"]] = "n/a"
		}
		return r
	})

	out, err := w.ingest(nil, bad)
	if err == nil || !strings.Contains(out, "too many rows rejected") {
		t.Fatalf("v2 with 10%% bad amounts: err %v, output:\n%s", err, out)
	}
	w.optimizeAll()
	if got := w.answers(); true {
		if k, ok := sameAnswers(got, before); !ok {
			t.Fatalf("after a failed reload and OPTIMIZE FINAL, %s differs from the committed state:\n%s\n%s", k, before[k], got[k])
		}
	}

	// Killed while reading, after inserting, after loading, and at every step
	// of the publication: nothing of v2 shows, also after merges.
	for _, point := range []string{"ingest-read", "ingest-inserted", "ingest-loaded", "publish-start", "publish-touched-opp",
		"publish-delta-old", "publish-opp-gone", "publish-facts", "publish-delta-new", "publish-moves", "publish-rep-days-1", "publish-territory-4", "publish-accounts", "publish-activity-days"} {
		out, err := w.ingest([]string{"PIPELENS_FAULT=" + point}, v2)
		if !killed(err) {
			t.Fatalf("fault %s: the load was not killed: %v\n%s", point, err, out)
		}
		w.optimizeAll()
		if k, ok := sameAnswers(w.answers(), before); !ok {
			t.Fatalf("killed at %s: %s differs from the state before the load", point, k)
		}
	}
	// Killed right after the publication's commit: all of v2 shows.
	if out, err := w.ingest([]string{"PIPELENS_FAULT=publish-committed"}, v2); !killed(err) {
		t.Fatalf("fault publish-committed: %v\n%s", err, out)
	}
	after := w.answers()
	if k, ok := sameAnswers(after, before); ok {
		t.Fatalf("after the committed publication every answer (e.g. %s) still equals v1's", k)
	}
	checkWon(t, w, v2)

	// A restart (serve killed and started again) and a merge change nothing;
	// loading v2 again adds nothing; the next load works.
	_ = w.serve.cmd.Process.Kill()
	_ = w.serve.cmd.Wait()
	w.startServe()
	w.optimizeAll()
	if k, ok := sameAnswers(w.answers(), after); !ok {
		t.Fatalf("after a restart %s differs from the published state", k)
	}
	if out, err := w.ingest(nil, v2); err != nil || !strings.Contains(out, "duplicate") {
		t.Fatalf("v2 again: %v\n%s", err, out)
	}
	if k, ok := sameAnswers(w.answers(), after); !ok {
		t.Fatalf("a duplicate load changed %s", k)
	}
	v3 := filepath.Join(t.TempDir(), "opportunities.csv")
	rewriteCSV(t, v2, v3, func(i int, col map[string]int, r []string) []string {
		r[col["amount"]] = "1000"
		return r
	})
	if out, err := w.ingest(nil, v3); err != nil || !strings.Contains(out, "committed") {
		t.Fatalf("the next load: %v\n%s", err, out)
	}
	checkWon(t, w, v3)
}

// checkWon compares the API's won count and amount over the whole range with
// the export's own won deals closed in it.
func checkWon(t *testing.T, w *warehouse, export string) {
	t.Helper()
	var won int
	var amount float64
	rewriteCSV(t, export, filepath.Join(t.TempDir(), "x.csv"), func(i int, col map[string]int, r []string) []string {
		if cd := r[col["close_date"]]; r[col["won"]] == "1" && cd >= w.from && cd < w.to {
			won++
			a, _ := strconv.ParseFloat(r[col["amount"]], 64)
			amount += a
		}
		return r
	})
	var wr struct {
		Total struct {
			Won       int     `json:"won"`
			WonAmount float64 `json:"won_amount"`
		} `json:"total"`
	}
	body := w.get("/api/v1/winrate?from=" + w.from + "&to=" + w.to)
	if err := json.Unmarshal([]byte(body), &wr); err != nil {
		t.Fatal(err)
	}
	if wr.Total.Won != won || wr.Total.WonAmount != amount {
		t.Fatalf("API: won %d, amount %.0f; the export %s: won %d, amount %.0f", wr.Total.Won, wr.Total.WonAmount, export, won, amount)
	}
}

// Four `pipelens ingest` processes on overlapping exports at once, while
// serve answers API requests, twenty times: every row counts once, no request
// fails, and the home stays healthy.
func TestConcurrentLoadsWhileServing(t *testing.T) {
	w := newWarehouse(t, 2000)
	files := sampleFiles(w.dir)
	if out, err := w.ingest(nil, files[:4]...); err != nil { // reps, accounts, market, targets
		t.Fatalf("load dimensions: %v\n%s", err, out)
	}
	var stop atomic.Bool
	var requests, failures atomic.Int64
	var failMu sync.Mutex
	var firstFailure string
	var wg sync.WaitGroup
	for c := 0; c < 3; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := "from=" + w.from + "&to=" + w.to
			paths := []string{"/api/v1/funnel?" + rng, "/api/v1/deals?sort=-amount&" + rng, "/api/v1/winrate?group_by=team&" + rng, "/api/v1/reps?" + rng}
			for i := 0; !stop.Load(); i++ {
				body, code, err := w.fetch(paths[i%len(paths)])
				requests.Add(1)
				if err != nil || code >= 500 {
					failures.Add(1)
					failMu.Lock()
					if firstFailure == "" {
						firstFailure = fmt.Sprintf("%s: %d %v %s", paths[i%len(paths)], code, err, body)
					}
					failMu.Unlock()
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	const rounds = 20
	var last string // the opportunities export of the last round
	for round := 1; round <= rounds; round++ {
		// Four exports of one round: overlapping fifths of the deals, each with the
		// round's amounts (a later round changes every amount).
		var chunks []string
		n := 2000
		for p := 0; p < 4; p++ {
			lo, hi := p*n/5, (p+2)*n/5
			dst := filepath.Join(t.TempDir(), fmt.Sprintf("opportunities_r%d_p%d.csv", round, p))
			rewriteCSV(t, filepath.Join(w.dir, "opportunities.csv"), dst, func(i int, col map[string]int, r []string) []string {
				if i < lo || i >= hi {
					return nil
				}
				a, _ := strconv.ParseFloat(r[col["amount"]], 64)
				r[col["amount"]] = strconv.FormatFloat(a+float64(round), 'f', 0, 64)
				return r
			})
			chunks = append(chunks, dst)
		}
		last = filepath.Join(t.TempDir(), "opportunities_last.csv")
		rewriteCSV(t, filepath.Join(w.dir, "opportunities.csv"), last, func(i int, col map[string]int, r []string) []string {
			if i >= 5*n/5 {
				return nil
			}
			a, _ := strconv.ParseFloat(r[col["amount"]], 64)
			r[col["amount"]] = strconv.FormatFloat(a+float64(round), 'f', 0, 64)
			return r
		})
		var pg sync.WaitGroup
		errs := make([]error, 4)
		outs := make([]string, 4)
		for p := 0; p < 4; p++ {
			pg.Add(1)
			go func() {
				defer pg.Done()
				outs[p], errs[p] = w.ingest(nil, chunks[p])
			}()
		}
		pg.Wait()
		for p, err := range errs {
			if err != nil {
				t.Fatalf("round %d, process %d: %v\n%s", round, p, err, outs[p])
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d requests failed during the loads; first: %s", failures.Load(), requests.Load(), firstFailure)
	}
	// Every opportunity of the chunks (fifths 0..4 of 2,000) once, with the last round's amount.
	var f struct {
		Cohort int `json:"cohort"`
	}
	_ = json.Unmarshal([]byte(w.get("/api/v1/funnel?from="+w.from+"&to="+w.to)), &f)
	if f.Cohort != 2000 {
		t.Fatalf("funnel cohort %d after %d rounds of overlapping loads, want 2000", f.Cohort, rounds)
	}
	checkWon(t, w, last)
	mig := exec.Command(binPath, "--config", w.cfg, "migrate")
	mig.Env = append(os.Environ(), "PIPELENS_HOME="+w.home, "PIPELENS_CLICKHOUSE_URL=")
	if out, err := mig.CombinedOutput(); err != nil {
		t.Fatalf("migrate after the loads: %v\n%s", err, out)
	}
	db := w.open()
	defer db.Close()
	var pending uint64
	if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM (SELECT run_id FROM ingest_runs GROUP BY run_id HAVING argMax(status, updated_ns) IN ('running', 'loaded'))").Scan(&pending); err != nil || pending != 0 {
		t.Fatalf("runs left running or unpublished: %d (%v)", pending, err)
	}
	t.Logf("%d rounds × 4 processes, %d API requests, 0 failures", rounds, requests.Load())
}

// A file dropped into the watched folder of a served home shows in the API
// within 10 s: the watcher loads and publishes it, and serve's next request
// reads the new publication.
func TestWatchedFolderShowsInAPI(t *testing.T) {
	w := newWarehouse(t, 1000)
	if out, err := w.ingest(nil, sampleFiles(w.dir)...); err != nil {
		t.Fatalf("load the sample: %v\n%s", err, out)
	}
	drop := t.TempDir()
	watcher := start(t, w.home, "--config", w.cfg, "ingest", "--watch", drop)
	v2 := filepath.Join(t.TempDir(), "opportunities.csv")
	rewriteCSV(t, filepath.Join(w.dir, "opportunities.csv"), v2, func(i int, col map[string]int, r []string) []string {
		r[col["amount"]] = strconv.Itoa(1000 + i)
		return r
	})
	var want float64
	rewriteCSV(t, v2, filepath.Join(t.TempDir(), "x.csv"), func(i int, col map[string]int, r []string) []string {
		if cd := r[col["close_date"]]; r[col["won"]] == "1" && cd >= w.from && cd < w.to {
			a, _ := strconv.ParseFloat(r[col["amount"]], 64)
			want += a
		}
		return r
	})
	time.Sleep(500 * time.Millisecond) // the watcher is up and polling
	t0 := time.Now()
	if err := os.Rename(v2, filepath.Join(drop, "opportunities.csv")); err != nil {
		t.Fatal(err)
	}
	for {
		var wr struct {
			Total struct {
				WonAmount float64 `json:"won_amount"`
			} `json:"total"`
		}
		_ = json.Unmarshal([]byte(w.get("/api/v1/winrate?from="+w.from+"&to="+w.to)), &wr)
		if want > 0 && wr.Total.WonAmount == want {
			t.Logf("visible in the API %.1f s after the drop", time.Since(t0).Seconds())
			break
		}
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("the dropped file is not in the API 10 s later (won amount %.0f, export %.0f); watcher output:\n%s", wr.Total.WonAmount, want, watcher.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The same export loaded three times at once by `pipelens ingest` and uploaded
// three times at once through the API: one run commits, the others are marked
// duplicate, and every opportunity counts once.
func TestSameExportAtOnceCountsOnce(t *testing.T) {
	const opps = 1000
	w := newWarehouse(t, opps)
	files := sampleFiles(w.dir)
	if out, err := w.ingest(nil, files[:4]...); err != nil {
		t.Fatalf("load dimensions: %v\n%s", err, out)
	}
	export := filepath.Join(w.dir, "opportunities.csv")
	body, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]string, 6)
	for p := 0; p < 6; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if p < 3 {
				if out, err := w.ingest(nil, export); err != nil {
					errs[p] = fmt.Sprintf("ingest %d: %v\n%s", p, err, out)
				}
				return
			}
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			_ = mw.WriteField("source", "canonical")
			fw, _ := mw.CreateFormFile("file", "opportunities.csv")
			_, _ = fw.Write(body)
			_ = mw.Close()
			req, _ := http.NewRequest("POST", "http://"+w.addr+"/api/v1/imports", &buf)
			req.Header.Set("Authorization", "Bearer "+testToken)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs[p] = fmt.Sprintf("upload %d: %v", p, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 && resp.StatusCode != 202 {
				errs[p] = fmt.Sprintf("upload %d: %d %s", p, resp.StatusCode, b)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	db := w.open()
	defer db.Close()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	var committed, duplicate, pending uint64
	for {
		// The six runs of the opportunities export, by their latest state.
		err := db.Conn.QueryRow(ctx, `SELECT countIf(s = 'committed'), countIf(s = 'duplicate'), countIf(s IN ('running', 'loaded'))
			FROM (SELECT argMax(status, updated_ns) AS s FROM ingest_runs WHERE kind = 'opportunities' GROUP BY run_id)`).Scan(&committed, &duplicate, &pending)
		if err != nil {
			t.Fatal(err)
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if committed != 1 || duplicate != 5 || pending != 0 {
		t.Fatalf("runs of the export: %d committed, %d duplicate, %d pending; want 1, 5, 0", committed, duplicate, pending)
	}
	var f struct {
		Cohort int `json:"cohort"`
	}
	_ = json.Unmarshal([]byte(w.get("/api/v1/funnel?from="+w.from+"&to="+w.to)), &f)
	if f.Cohort != opps {
		t.Fatalf("funnel cohort %d, want %d", f.Cohort, opps)
	}
	checkWon(t, w, export)
}

// Processes started at once on a brand-new home (two loads, a migrate and
// serve) all succeed: the first starts the embedded ClickHouse, the others
// attach, and the migrations run once under their lease. Then the process that
// may have started the server (serve) is killed while a load runs: the load
// ends committed and a new serve shows it.
func TestFreshHomeManyProcessesAtOnce(t *testing.T) {
	home, dir := t.TempDir(), t.TempDir()
	cfg := filepath.Join(home, "pipelens.yaml")
	if err := os.WriteFile(cfg, []byte("auth:\n  tokens:\n    - {name: ci, token: "+testToken+", role: director}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	truth, err := gen.WriteDir(context.Background(), gen.Config{Seed: 5, Opportunities: 3000}, dir)
	if err != nil {
		t.Fatal(err)
	}
	w := &warehouse{t: t, home: home, dir: dir, cfg: cfg}
	from, _ := time.Parse(time.DateOnly, truth.From)
	asOf, _ := time.Parse(time.DateOnly, truth.AsOf)
	w.from, w.to = from.AddDate(-1, 0, 0).Format(time.DateOnly), asOf.AddDate(0, 0, 2).Format(time.DateOnly)
	files := sampleFiles(dir)

	port, _ := schemas.FreePort()
	w.addr = fmt.Sprintf("127.0.0.1:%d", port)
	w.serve = start(t, home, "--config", cfg, "serve", "--addr", w.addr)
	var wg sync.WaitGroup
	outs, errs := make([]string, 3), make([]error, 3)
	for p, args := range [][]string{{"ingest", "--source", "canonical", files[0]}, {"ingest", "--source", "canonical", files[1]}, {"migrate"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(binPath, append([]string{"--config", cfg}, args...)...)
			cmd.Env = append(os.Environ(), "PIPELENS_HOME="+home, "PIPELENS_CLICKHOUSE_URL=")
			b, err := cmd.CombinedOutput()
			outs[p], errs[p] = string(b), err
		}()
	}
	wg.Wait()
	for p, err := range errs {
		if err != nil {
			t.Fatalf("process %d on the new home: %v\n%s", p, err, outs[p])
		}
	}
	waitHTTP(t, "http://"+w.addr+"/readyz", w.serve)

	// A load of the rest while serve, which may own the server's start, is killed.
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = w.ingest(nil, files[2:]...)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	_ = w.serve.cmd.Process.Kill()
	_ = w.serve.cmd.Wait()
	if err := <-done; err != nil {
		t.Fatalf("the load while serve was killed: %v\n%s", err, out)
	}
	w.startServe()
	var f struct {
		Cohort int `json:"cohort"`
	}
	_ = json.Unmarshal([]byte(w.get("/api/v1/funnel?from="+w.from+"&to="+w.to)), &f)
	if f.Cohort != 3000 {
		t.Fatalf("funnel cohort %d after the load, want 3000", f.Cohort)
	}
	checkWon(t, w, filepath.Join(dir, "opportunities.csv"))
}
