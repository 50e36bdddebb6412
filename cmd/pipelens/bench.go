package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
)

func init() {
	register(command{name: "bench", summary: "benchmarks that print figures: nab, synth, load", run: runBench})
}

var benches = map[string]func(ctx context.Context, a *app, args []string) error{
	"nab":       benchNAB,
	"load":      benchLoad,
	"freshness": benchFreshness,
}

func runBench(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || benches[args[0]] == nil {
		fmt.Fprintln(a.stderr, "usage: pipelens bench nab [--data DIR] [--results DIR] [--detector engine|null|random|zscore28] [--model classic] [--calendar auto|cn|none] [--files]")
		fmt.Fprintln(a.stderr, "       pipelens bench synth [--seeds report|tune] [--days N]")
		fmt.Fprintln(a.stderr, "       pipelens bench load [--size large] [--opportunities N]")
		fmt.Fprintln(a.stderr, "       pipelens bench freshness [--size large] [--loads 10000,100000] [--reuse-home]")
		fmt.Fprintln(a.stderr, "       pipelens bench forecast [--data sample|maven] [--size medium] [--maven DIR] [--reuse-home]")
		return errUsage
	}
	return benches[args[0]](ctx, a, args[1:])
}

// benchLoad generates a sample and loads it through the canonical profile into the
// configured ClickHouse (the embedded default under a fresh home unless
// PIPELENS_HOME or a URL says otherwise), printing rows per second of each phase.
func benchLoad(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench load", "")
	size := fs.String("size", "large", "small, medium or large")
	opps := fs.Int("opportunities", 0, "number of opportunities (overrides the size's)")
	dir := fs.String("dir", "", "where to write the sample (default: a temporary directory, removed after)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	out := *dir
	if out == "" {
		tmp, err := os.MkdirTemp("", "pipelens-bench-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		out = tmp
	}
	t0 := time.Now()
	truth, err := gen.WriteDir(ctx, gen.Config{Seed: 1, Size: *size, Opportunities: *opps}, out)
	if err != nil {
		return err
	}
	genTook := time.Since(t0)
	var rows int64
	for _, n := range truth.Rows {
		rows += int64(n)
	}
	fmt.Fprintf(a.stdout, "generate: %d rows (%d opportunities, %d stage events) in %s: %.0f rows/s\n",
		rows, truth.Opportunities, truth.Rows["stage_events"], genTook.Round(time.Millisecond), float64(rows)/genTook.Seconds())

	db, err := a.openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	files, _ := filepath.Glob(filepath.Join(out, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder(files[i]) < loadOrder(files[j]) })
	svc := a.ingestLoader(db)
	t1 := time.Now()
	rep, err := svc.LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"})
	if err != nil {
		return err
	}
	loadTook := time.Since(t1)
	var loaded int64
	for _, f := range rep.Files {
		for _, n := range f.Tables {
			loaded += n
		}
		fmt.Fprintf(a.stdout, "  %-28s %10d rows %8d ms\n", filepath.Base(f.File), f.Loaded, f.DurationMS)
	}
	fmt.Fprintf(a.stdout, "load: %d rows in %s: %.0f rows/s (rejected %d)\n", loaded, loadTook.Round(time.Millisecond), float64(loaded)/loadTook.Seconds(), rep.Rejected)
	t2 := time.Now()
	a.refresh(ctx, db)
	fmt.Fprintf(a.stdout, "publish (serving tables from scratch): %s\n", time.Since(t2).Round(time.Millisecond))
	total := time.Since(t0)
	fmt.Fprintf(a.stdout, "generate+load: %d rows in %s: %.0f rows/s\n", rows, total.Round(time.Millisecond), float64(rows)/total.Seconds())
	return nil
}

// benchDB opens the database of the home a bench works in (benchHome): it
// returns the home's directory and a close that closes the database and then
// removes a temporary home.
func (a *app) benchDB(ctx context.Context, bench, home, reuseName string) (*schemas.DB, string, func(), error) {
	cleanup, err := a.benchHome(bench, home, reuseName)
	if err != nil {
		return nil, "", nil, err
	}
	c, _ := a.config()
	db, err := a.openDB(ctx)
	if err != nil {
		cleanup()
		return nil, "", nil, err
	}
	return db, c.Home, func() { db.Close(); cleanup() }, nil
}

// benchHome sets the home a bench that times the embedded ClickHouse works in:
// home if given, else a fixed one under the temp directory named by reuseName
// (kept for the next run), else a fresh temporary one, removed by the returned
// cleanup.
func (a *app) benchHome(bench, home, reuseName string) (func(), error) {
	cfg, err := a.config()
	if err != nil {
		return nil, err
	}
	if cfg.ClickHouse.URL != "" {
		return nil, fmt.Errorf("bench %s times the embedded ClickHouse: unset the ClickHouse URL", bench)
	}
	cleanup := func() {}
	switch {
	case home != "":
	case reuseName != "":
		home = filepath.Join(os.TempDir(), reuseName)
	default:
		tmp, err := os.MkdirTemp("", "pipelens-bench-"+bench+"-")
		if err != nil {
			return nil, err
		}
		home, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	cfg.Home = home
	fmt.Fprintf(a.stdout, "home %s\n", home)
	return cleanup, nil
}
