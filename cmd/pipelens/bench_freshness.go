package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pipelens/pipelens/dashboards"
	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

func init() { benches["freshness"] = benchFreshness }

// benchFreshness measures how long a new export takes to show: on a home holding
// a generated sample, it loads re-exports of n opportunities (every amount +1)
// and prints seconds for the load (rows in, invisible), the publication (the
// serving tables' incremental update) and until GET /api/v1/winrate of a served
// API shows the new amounts, for each n, next to the warehouse's size.
func benchFreshness(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench freshness", "")
	size := fs.String("size", "large", "small, medium or large: the warehouse the exports land in")
	loads := fs.String("loads", "10000,100000", "comma-separated opportunities per export")
	reuse := fs.Bool("reuse-home", false, "keep the loaded home under the temp directory and reuse it next time")
	home := fs.String("home", "", "home of the embedded ClickHouse (default: a fresh temporary one, or a fixed one with --reuse-home)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	reuseName := ""
	if *reuse {
		reuseName = "pipelens-bench-freshness-" + *size
	}
	db, dir, done, err := a.benchDB(ctx, "freshness", *home, reuseName)
	if err != nil {
		return err
	}
	defer done()
	var sizes []int
	for _, s := range strings.Split(*loads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("--loads %q: want positive numbers", *loads)
		}
		sizes = append(sizes, n)
	}
	sampleDir := filepath.Join(dir, "sample")
	if err := freshnessBase(ctx, a, db, *size, sampleDir); err != nil {
		return err
	}
	api, stop, err := freshnessAPI(ctx, a, db)
	if err != nil {
		return err
	}
	defer stop()
	var opps uint64
	_ = db.Conn.QueryRow(ctx, "SELECT count() FROM (SELECT DISTINCT opportunity_id FROM opportunities)").Scan(&opps)
	fmt.Fprintf(a.stdout, "warehouse: %d opportunities\n", opps)
	for i, n := range sizes {
		if err := freshnessRound(ctx, a, db, api, sampleDir, n, i+1); err != nil {
			return err
		}
	}
	return nil
}

// freshnessBase loads the sample once (a full publication).
func freshnessBase(ctx context.Context, a *app, db *schemas.DB, size, dir string) error {
	mark := filepath.Join(dir, "loaded")
	if _, err := os.Stat(mark); err == nil {
		fmt.Fprintf(a.stdout, "sample: reusing %s\n", dir)
		// A home from an older pipelens may need a full publication first.
		t0 := time.Now()
		if p, err := a.queryService(db).Publish(ctx); err != nil {
			return err
		} else if p != nil {
			fmt.Fprintf(a.stdout, "catch-up publication (full %v): %s\n", p.Full, time.Since(t0).Round(time.Millisecond))
		}
		return nil
	}
	t0 := time.Now()
	truth, err := gen.WriteDir(ctx, gen.Config{Seed: 1, Size: size}, dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "generate: %d opportunities, %d stage events in %s\n", truth.Opportunities, truth.Rows["stage_events"], time.Since(t0).Round(time.Millisecond))
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder(files[i]) < loadOrder(files[j]) })
	t1 := time.Now()
	if _, err := a.ingestLoader(db).LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"}); err != nil {
		return err
	}
	t2 := time.Now()
	p, err := a.queryService(db).Publish(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "base: load %s, first (full) publication %s (%d opportunities)\n", t2.Sub(t1).Round(time.Millisecond), time.Since(t2).Round(time.Millisecond), p.Touched)
	return os.WriteFile(mark, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644)
}

// freshnessAPI serves the JSON API in process with a director token.
func freshnessAPI(ctx context.Context, a *app, db *schemas.DB) (func(path string) (string, error), func(), error) {
	c, _ := a.config()
	c.Auth.Tokens = []config.Token{{Name: "bench", Token: "bench-freshness", Role: "director"}}
	q := a.queryService(db)
	srv := dashboards.New(dashboards.Options{Config: c, DB: db, Query: q, Logger: a.log, Mount: []func(*dashboards.Server){dashboards.APIMount(q)}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ServeListener(sctx, ln) }()
	get := func(path string) (string, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+ln.Addr().String()+path, nil)
		req.Header.Set("Authorization", "Bearer bench-freshness")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b), err
	}
	return get, func() { cancel(); <-done }, nil
}

// freshnessRound writes an export of n opportunities (half of them existing ones
// with new amounts, half new ones), loads it, publishes it and waits until the
// API's funnel counts the new ones.
func freshnessRound(ctx context.Context, a *app, db *schemas.DB, api func(string) (string, error), dir string, n, round int) error {
	export := filepath.Join(dir, fmt.Sprintf("export_%d_%d.csv", n, round))
	added, err := writeExport(filepath.Join(dir, "opportunities.csv"), export, n, fmt.Sprintf("FRESH-%d-%d-", time.Now().Unix(), round))
	if err != nil {
		return err
	}
	const path = "/api/v1/funnel?from=2000-01-01&to=2100-01-01"
	cohort := func() (int, error) {
		body, err := api(path)
		if err != nil {
			return 0, err
		}
		var f struct {
			Cohort int `json:"cohort"`
		}
		return f.Cohort, json.Unmarshal([]byte(body), &f)
	}
	before, err := cohort()
	if err != nil {
		return err
	}
	t0 := time.Now()
	if _, err := a.ingestLoader(db).LoadFile(ctx, export, ingest.LoadOptions{Source: "canonical"}); err != nil {
		return err
	}
	t1 := time.Now()
	if got, err := cohort(); err != nil || got != before {
		return fmt.Errorf("the export shows before its publication (cohort %d, was %d, %v)", got, before, err)
	}
	checked := time.Since(t1) // not part of what a user waits for
	t1 = time.Now()
	p, err := a.queryService(db).Publish(ctx)
	if err != nil {
		return err
	}
	if p == nil {
		return errors.New("the export published nothing")
	}
	t2 := time.Now()
	for {
		got, err := cohort()
		if err != nil {
			return err
		}
		if got == before+added {
			break
		}
		if time.Since(t2) > time.Minute {
			return fmt.Errorf("the API never showed the export: cohort %d, want %d", got, before+added)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t3 := time.Now()
	fmt.Fprintf(a.stdout, "export of %d opportunities (%d changed, %d new): load %.2f s, publish %.2f s (%d opportunities recomputed, full %v), API shows it %.2f s after the load started\n",
		n, n-added, added, t1.Sub(t0).Seconds()-checked.Seconds(), t2.Sub(t1).Seconds(), p.Touched, p.Full, t3.Sub(t0).Seconds()-checked.Seconds())
	return nil
}

// writeExport copies the first n rows of the sample's opportunities: the first
// half with every amount raised by one, the second half as new opportunities
// (ids prefixed). It returns how many are new.
func writeExport(src, dst string, n int, prefix string) (int, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return 0, err
	}
	r, w := csv.NewReader(in), csv.NewWriter(out)
	hdr, err := r.Read()
	if err != nil {
		return 0, err
	}
	amount, id := -1, -1
	for i, h := range hdr {
		switch h {
		case "amount":
			amount = i
		case "opportunity_id":
			id = i
		}
	}
	if amount < 0 || id < 0 {
		return 0, fmt.Errorf("%s: no amount or opportunity_id column", src)
	}
	_ = w.Write(hdr)
	added := 0
	for i := 0; i < n; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
		if i < n/2 {
			a, _ := strconv.ParseFloat(rec[amount], 64)
			rec[amount] = strconv.FormatFloat(a+1, 'f', -1, 64)
		} else {
			rec[id] = prefix + rec[id]
			added++
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return 0, err
	}
	return added, out.Close()
}
