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
	cfg, err := a.config()
	if err != nil {
		return err
	}
	if cfg.ClickHouse.URL != "" {
		return fmt.Errorf("bench freshness times the embedded ClickHouse: unset the ClickHouse URL")
	}
	switch {
	case *home != "":
	case *reuse:
		*home = filepath.Join(os.TempDir(), "pipelens-bench-freshness-"+*size)
	default:
		tmp, err := os.MkdirTemp("", "pipelens-bench-freshness-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*home = tmp
	}
	cfg.Home = *home
	var sizes []int
	for _, s := range strings.Split(*loads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("--loads %q: want positive numbers", *loads)
		}
		sizes = append(sizes, n)
	}
	sampleDir := filepath.Join(*home, "sample")
	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
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
	fmt.Fprintf(a.stdout, "warehouse: %d opportunities (%s sample)\n", opps, *size)
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

// freshnessRound writes a re-export of n opportunities whose amounts all carry
// a marker larger than any amount before, loads it, publishes it and waits until
// the API's largest deal is the marker.
func freshnessRound(ctx context.Context, a *app, db *schemas.DB, api func(string) (string, error), dir string, n, round int) error {
	export := filepath.Join(dir, fmt.Sprintf("reexport_%d_%d.csv", n, round))
	marker := float64(1e12 + time.Now().Unix()*100 + int64(round))
	if err := writeReexport(filepath.Join(dir, "opportunities.csv"), export, n, marker); err != nil {
		return err
	}
	const path = "/api/v1/deals?from=2000-01-01&to=2100-01-01&sort=-amount&page_size=1"
	largest := func() (float64, error) {
		body, err := api(path)
		if err != nil {
			return 0, err
		}
		var d struct {
			Deals []struct {
				Amount float64 `json:"amount"`
			} `json:"deals"`
		}
		if err := json.Unmarshal([]byte(body), &d); err != nil || len(d.Deals) == 0 {
			return 0, err
		}
		return d.Deals[0].Amount, nil
	}
	t0 := time.Now()
	if _, err := a.ingestLoader(db).LoadFile(ctx, export, ingest.LoadOptions{Source: "canonical"}); err != nil {
		return err
	}
	t1 := time.Now()
	if got, err := largest(); err != nil || got == marker {
		return fmt.Errorf("the export shows before its publication (%v)", err)
	}
	p, err := a.queryService(db).Publish(ctx)
	if err != nil {
		return err
	}
	if p == nil {
		return errors.New("the re-export published nothing")
	}
	t2 := time.Now()
	for {
		got, err := largest()
		if err != nil {
			return err
		}
		if got == marker {
			break
		}
		if time.Since(t2) > time.Minute {
			return fmt.Errorf("the API never showed the re-export: largest deal %.0f, want %.0f", got, marker)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t3 := time.Now()
	fmt.Fprintf(a.stdout, "export of %d opportunities: load %.2f s, publish %.2f s (%d opportunities recomputed, full %v), API shows it %.2f s after the load started\n",
		n, t1.Sub(t0).Seconds(), t2.Sub(t1).Seconds(), p.Touched, p.Full, t3.Sub(t0).Seconds())
	return nil
}

// writeReexport copies the first n rows of the sample's opportunities with the
// amount set to marker.
func writeReexport(src, dst string, n int, marker float64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	r, w := csv.NewReader(in), csv.NewWriter(out)
	hdr, err := r.Read()
	if err != nil {
		return err
	}
	amount := -1
	for i, h := range hdr {
		if h == "amount" {
			amount = i
		}
	}
	if amount < 0 {
		return fmt.Errorf("%s: no amount column", src)
	}
	_ = w.Write(hdr)
	for i := 0; i < n; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		rec[amount] = strconv.FormatFloat(marker, 'f', -1, 64)
		_ = w.Write(rec)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return out.Close()
}
