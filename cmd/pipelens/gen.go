package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
)

func init() {
	register(command{name: "gen", summary: "write the deterministic sample organisation as canonical or vendor-shaped files", run: runGen})
}

func runGen(ctx context.Context, a *app, args []string) error {
	fs := a.flags("gen", "")
	out := fs.String("out", "sample", "directory to write")
	seed := fs.Int64("seed", 1, "random seed: the same seed writes the same files")
	size := fs.String("size", "small", "small, medium or large")
	opps := fs.Int("opportunities", 0, "number of opportunities (overrides the size's)")
	vendor := fs.String("vendor", "", "write a vendor-shaped export instead: "+strings.Join(gen.Vendors, ", "))
	quiet := fs.Bool("no-anomalies", false, "plant no anomalies, weak rep or untapped territory")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	cfg := gen.Config{Seed: *seed, Size: *size, Opportunities: *opps, NoAnomalies: *quiet}
	t0 := time.Now()
	var (
		truth *gen.Truth
		err   error
	)
	if *vendor != "" {
		truth, err = gen.WriteVendor(ctx, cfg, *out, *vendor)
	} else {
		truth, err = gen.WriteDir(ctx, cfg, *out)
	}
	if err != nil {
		return err
	}
	total := 0
	for _, n := range truth.Rows {
		total += n
	}
	d := time.Since(t0)
	fmt.Fprintf(a.stdout, "wrote %d rows (%d opportunities) to %s in %s (%.0f rows/s); truth in %s/truth.json\n",
		total, truth.Opportunities, *out, d.Round(time.Millisecond), float64(total)/d.Seconds(), *out)
	return nil
}
