package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
)

func init() { benches["forecast"] = benchForecast }

// benchForecast backtests the forecast (query.Forecast): for every complete
// quarter with a quarter of history before it, at its start and after 4 and 8
// weeks, it forecasts from what was known then and compares with the quarter's
// actual bookings, beside a naive run-rate and the CRM-style weighted
// pipeline computed at the same days. It prints each point, then MAPE and
// bias (mean signed error / actual) per method and week, and how often the
// actual fell inside the model's p10–p90.
func benchForecast(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench forecast", "")
	data := fs.String("data", "sample", "sample (generated, see --size) or maven (the Maven CRM export in --maven)")
	size := fs.String("size", "medium", "small, medium or large: the generated sample")
	maven := fs.String("maven", "../shared/data/maven-crm", "directory of the Maven CRM export")
	reuse := fs.Bool("reuse-home", false, "keep the loaded home under the temp directory and reuse it next time")
	home := fs.String("home", "", "home of the embedded ClickHouse (default: a fresh temporary one, or a fixed one with --reuse-home)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *data != "sample" && *data != "maven" {
		return fmt.Errorf("--data %q: want sample or maven", *data)
	}
	reuseName := ""
	if *reuse {
		reuseName = "pipelens-bench-forecast-" + *data
		if *data == "sample" {
			reuseName += "-" + *size
		}
	}
	db, dir, done, err := a.benchDB(ctx, "forecast", *home, reuseName)
	if err != nil {
		return err
	}
	defer done()
	if *data == "sample" {
		if err := freshnessBase(ctx, a, db, *size, filepath.Join(dir, "sample")); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "data: generated sample, size %s, seed 1\n", *size)
	} else {
		if err := forecastMaven(ctx, a, db, *maven, filepath.Join(dir, "maven-loaded")); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "data: Maven CRM export %s\n", *maven)
		// Known from the export, not from the figures below.
		fmt.Fprintln(a.stdout, "note: Maven exports close_value 0 for lost and open deals, so a past day's open pipeline holds only its eventual winners' amounts (amount × probability undercounts); deals start in Oct 2016 and close from Mar 2017")
	}
	svc := a.queryService(db)
	quarters, err := svc.BacktestQuarters(ctx, query.Unrestricted, query.Filter{})
	if err != nil {
		return err
	}
	if len(quarters) == 0 {
		return fmt.Errorf("no complete quarter with history before it in the data")
	}
	fmt.Fprintf(a.stdout, "constants fixed a priori (query/forecast.go), none chosen on any quarter: %d weekly reference days, shrinkage %g deals, run-rate over %d days, age buckets %v days\n",
		query.ForecastRefWeeks, query.ForecastShrink, query.ForecastRunRateDays, query.ForecastAgeBuckets)
	fmt.Fprintf(a.stdout, "weighted pipeline: stage default probabilities %v (a deal's own probability as of a past day is not kept)\n\n", svc.StageProbability())
	fmt.Fprintf(a.stdout, "%-10s %4s %12s %12s %12s %12s %12s %12s | %8s %8s %8s | %10s %10s %10s\n", "quarter", "week", "actual", "model", "p10", "p90", "run-rate", "weighted", "err mod", "err run", "err wtd", "won", "pipeline", "new")
	type acc struct{ ape, bias float64 }
	methods := []string{"model", "run-rate", "weighted"}
	sums := map[int]map[string]*acc{}
	n := map[int]int{}
	inside := map[int]int{}
	skipped := 0
	weeks := []int{0, 4, 8}
	t0 := time.Now()
	for _, q := range quarters {
		for _, w := range weeks {
			bp, err := svc.Backtest(ctx, query.Unrestricted, query.Filter{}, q, w)
			if err != nil {
				return err
			}
			e := func(v float64) float64 { return (v - bp.Actual) / bp.Actual }
			if bp.Actual <= 0 {
				fmt.Fprintf(a.stdout, "%-10s %4d %12.0f: no bookings, left out of MAPE\n", bp.Quarter, w, bp.Actual)
				skipped++
				continue
			}
			fmt.Fprintf(a.stdout, "%-10s %4d %12.0f %12.0f %12.0f %12.0f %12.0f %12.0f | %+7.1f%% %+7.1f%% %+7.1f%% | %10.0f %10.0f %10.0f\n",
				bp.Quarter, w, bp.Actual, bp.Model, bp.P10, bp.P90, bp.RunRate, bp.Weighted, 100*e(bp.Model), 100*e(bp.RunRate), 100*e(bp.Weighted),
				bp.Won, bp.PipelineExpected, bp.NewExpected)
			if sums[w] == nil {
				sums[w] = map[string]*acc{}
				for _, m := range methods {
					sums[w][m] = &acc{}
				}
			}
			for i, v := range []float64{bp.Model, bp.RunRate, bp.Weighted} {
				x := sums[w][methods[i]]
				x.ape += math.Abs(e(v))
				x.bias += e(v)
			}
			n[w]++
			if bp.Actual >= bp.P10 && bp.Actual <= bp.P90 {
				inside[w]++
			}
		}
	}
	fmt.Fprintf(a.stdout, "\n%d quarters × %d as-of days in %s (%d left out)\n", len(quarters), len(weeks), time.Since(t0).Round(time.Millisecond), skipped)
	fmt.Fprintf(a.stdout, "%-5s %3s  %-18s %-18s %-18s  %s\n", "week", "n", "model MAPE/bias", "run-rate MAPE/bias", "weighted MAPE/bias", "actual in model p10–p90")
	var all = map[string]*acc{}
	for _, m := range methods {
		all[m] = &acc{}
	}
	total, totalInside := 0, 0
	for _, w := range weeks {
		if n[w] == 0 {
			continue
		}
		line := fmt.Sprintf("%-5d %3d ", w, n[w])
		for _, m := range methods {
			x := sums[w][m]
			line += fmt.Sprintf(" %6.1f%% / %+6.1f%%  ", 100*x.ape/float64(n[w]), 100*x.bias/float64(n[w]))
			all[m].ape += x.ape
			all[m].bias += x.bias
		}
		fmt.Fprintf(a.stdout, "%s %d/%d\n", line, inside[w], n[w])
		total += n[w]
		totalInside += inside[w]
	}
	if total == 0 {
		return nil
	}
	line := fmt.Sprintf("%-5s %3d ", "all", total)
	for _, m := range methods {
		line += fmt.Sprintf(" %6.1f%% / %+6.1f%%  ", 100*all[m].ape/float64(total), 100*all[m].bias/float64(total))
	}
	fmt.Fprintf(a.stdout, "%s %d/%d\n", line, totalInside, total)
	mm, rr, ww := all["model"].ape, all["run-rate"].ape, all["weighted"].ape
	verdict := "the model does NOT beat both baselines on MAPE"
	if mm < rr && mm < ww {
		verdict = "the model beats both baselines on MAPE"
	}
	fmt.Fprintf(a.stdout, "verdict (all as-of days): %s\n", verdict)
	return nil
}

// forecastMaven loads the Maven CRM export through ingest's auto-detection
// (as an export of 2017-12-31, its last day) once; mark says it is loaded.
func forecastMaven(ctx context.Context, a *app, db *schemas.DB, dir, mark string) error {
	if _, err := os.Stat(mark); err == nil {
		fmt.Fprintf(a.stdout, "maven: reusing the loaded home\n")
		_, err := a.queryService(db).Publish(ctx)
		return err
	}
	in := a.ingestLoader(db)
	opt := ingest.LoadOptions{SnapshotDate: time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC)}
	for _, f := range []string{"sales_teams.csv", "accounts.csv", "sales_pipeline.csv"} {
		path := filepath.Join(dir, f)
		rep, err := in.LoadFile(ctx, path, opt)
		if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		fl := rep.Files[0]
		fmt.Fprintf(a.stdout, "maven: %s as %s: loaded %d, rejected %d\n", f, fl.Profile, fl.Loaded, fl.Rejected)
	}
	if _, err := a.queryService(db).Publish(ctx); err != nil {
		return err
	}
	return os.WriteFile(mark, []byte(time.Now().Format(time.RFC3339)+"\n"), 0o644)
}
