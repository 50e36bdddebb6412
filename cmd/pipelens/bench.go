package main

import (
	"context"
	"fmt"

	"github.com/pipelens/pipelens/alerts/detect"
)

func init() {
	register(command{name: "bench", summary: "benchmarks that print figures: nab, load", run: runBench})
}

var benches = map[string]func(ctx context.Context, a *app, args []string) error{
	"nab": benchNAB,
}

func runBench(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || benches[args[0]] == nil {
		fmt.Fprintln(a.stderr, "usage: pipelens bench nab --data DIR [--results DIR] [--detector NAME]")
		fmt.Fprintln(a.stderr, "       pipelens bench load [--size large] [--opportunities N]")
		return errUsage
	}
	return benches[args[0]](ctx, a, args[1:])
}

// benchNAB scores the streaming detector on a corpus in NAB's layout (data/,
// labels/combined_windows.json, config/profiles.json) with NAB's own method.
func benchNAB(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench nab", "")
	data := fs.String("data", "../shared/data/nab", "corpus directory in NAB's layout")
	results := fs.String("results", "", "also write the scores in NAB's results layout under this directory")
	name := fs.String("detector", "pipelens", "detector name (null and random run NAB's reference detectors)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	_, err := detect.RunNAB(ctx, *data, *results, *name, a.stdout)
	return err
}
