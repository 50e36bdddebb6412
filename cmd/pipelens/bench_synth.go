package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pipelens/pipelens/alerts/detect/salesgen"
)

func init() { benches["synth"] = benchSynth }

// benchSynth prints the alert engine's precision and recall per planted kind
// on salesgen's daily sales series: the report seeds by default (never used
// for tuning), the tuning seeds on request. --nab-out writes the same series in
// NAB's layout, so that bench nab --data can score them too.
func benchSynth(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench synth", "")
	which := fs.String("seeds", "report", "report (the 20 seeds never tuned on) or tune")
	nabOut := fs.String("nab-out", "", "also write the series in NAB's layout (data/, labels/combined_windows.json) under this directory")
	missed := fs.Bool("missed", false, "list the planted anomalies no alert found")
	model := fs.String("model", "", "the day rules' model: \"\" (the shipped default: detect.Daily) or classic (the judges before it)")
	judge := fs.String("judge", "engine", "engine (the alert engine's default day rules) or oracle (a reference that knows each day's true expectation and noise: its best recall at each precision)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	var seeds []uint64
	switch *which {
	case "report":
		seeds = salesgen.ReportSeeds
	case "tune":
		seeds = salesgen.TuneSeeds
	default:
		return fmt.Errorf("bench synth: --seeds %q: want report or tune", *which)
	}
	if *nabOut != "" {
		if err := writeSynthNAB(*nabOut, seeds); err != nil {
			return err
		}
	}
	switch *judge {
	case "engine":
	case "oracle":
		return benchOracle(ctx, a.stdout, *which, *model, seeds)
	default:
		return fmt.Errorf("bench synth: --judge %q: want engine or oracle", *judge)
	}
	start := time.Now()
	rep, err := salesgen.Measure(ctx, seeds, salesgen.EngineJudgeModel(*model))
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "synth: %s seeds %v, %d series of %d days per kind and seed, %s\n", *which, seedRange(seeds),
		salesgen.SeriesPerKind, salesgen.Days, time.Since(start).Round(time.Millisecond))
	printSynthReport(a.stdout, rep)
	if *missed {
		printMissed(a.stdout, rep.Total.Missed)
	}
	return nil
}

// printSynthReport prints a report's precision and recall per kind and its
// recall by visibility.
func printSynthReport(w io.Writer, rep salesgen.Report) {
	fmt.Fprintf(w, "  detection: an alert opened on a day in [start, start+%d] (spike, drop) or [start, end of slide+%d] (level_shift, drift); alerts from day %d on count\n",
		salesgen.OutlierWindow, salesgen.ShiftWindow, salesgen.JudgedFrom)
	for _, k := range append(rep.Kinds, rep.Total) {
		fmt.Fprintf(w, "  %-12s precision %.3f (%d of %d alerts)  recall %.3f (%d of %d planted)\n",
			k.Kind, k.Precision(), k.True, k.Alerts, k.Recall(), k.Detected, k.Planted)
	}
	fmt.Fprintf(w, "  recall by visibility (the planted change in units of the series' sampling noise over the detection window):\n")
	for _, k := range append(rep.Kinds, rep.Total) {
		fmt.Fprintf(w, "  %-12s", k.Kind)
		for b, t := range k.ByVisibility {
			label := fmt.Sprintf(">=%g", salesgen.VisibilityBands[b])
			if b+1 < len(salesgen.VisibilityBands) {
				label = fmt.Sprintf("%g-%g", salesgen.VisibilityBands[b], salesgen.VisibilityBands[b+1])
			}
			fmt.Fprintf(w, "  %s: %.2f (%d/%d)", label, t.Recall(), t.Detected, t.Planted)
		}
		fmt.Fprintln(w)
	}
}

// benchOracle prints the references the engine's figures are read against,
// on the same seeds in the same run: the oracle's precision and recall at
// each threshold of its sweep, its best recall at precision >= 0.9 and at
// the engine's precision, and the ideal bound at both. The oracle's threshold
// is chosen on the seeds it is reported on: that flatters it, which only
// makes it a more generous reference.
func benchOracle(ctx context.Context, w io.Writer, which, model string, seeds []uint64) error {
	start := time.Now()
	fmt.Fprintf(w, "synth oracle: %s seeds %v; each day's true expectation and noise known, runs of %s days summed; an alert stays open %d days\n",
		which, seedRange(seeds), "1, 3, 7, 14, 28", salesgen.OracleResolveDays)
	series, err := salesgen.GenerateSeeds(seeds)
	if err != nil {
		return err
	}
	sweep, zs, err := oracleSweep(ctx, w, seeds, series)
	if err != nil {
		return err
	}
	eng, err := salesgen.MeasureSeries(ctx, seeds, series, salesgen.EngineJudgeModel(model))
	if err != nil {
		return err
	}
	ep, er := eng.Total.Precision(), eng.Total.Recall()
	fmt.Fprintf(w, "engine (shipped defaults): precision %.3f, recall %.3f\n", ep, er)
	for _, minP := range []float64{0.9, ep} {
		id := salesgen.IdealAt(series, minP)
		fmt.Fprintf(w, "at precision >= %.3f: ideal bound (Gaussian noise, each anomaly's days and direction known, one one-sided test per judged day) recall %.3f at z %.2f (%d anomalies, %d judged days)",
			minP, id.Recall, id.Z, id.Planted, id.Days)
		k := bestAt(sweep, minP)
		if k < 0 {
			fmt.Fprintf(w, "; oracle: no threshold reaches it\n")
			continue
		}
		o := sweep[k].Total
		fmt.Fprintf(w, "; oracle recall %.3f at z %.2f (precision %.3f)", o.Recall(), zs[k], o.Precision())
		if minP == ep {
			// Only at the engine's own precision are the recalls comparable.
			fmt.Fprintf(w, "; engine recall / oracle's %.2f, / ideal %.2f", er/o.Recall(), er/id.Recall)
		}
		fmt.Fprintln(w)
	}
	if k := bestAt(sweep, 0.9); k >= 0 {
		fmt.Fprintf(w, "oracle at precision >= 0.9, by kind (z %.2f):\n", zs[k])
		printSynthReport(w, sweep[k])
	}
	fmt.Fprintf(w, "(%s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// oracleSweep measures the oracle on series at thresholds 2 to 8 by 0.25
// and prints a line for each.
func oracleSweep(ctx context.Context, w io.Writer, seeds []uint64, series []salesgen.Series) ([]salesgen.Report, []float64, error) {
	var reps []salesgen.Report
	var zs []float64
	for z := 2.0; z <= 8.001; z += 0.25 {
		rep, err := salesgen.MeasureSeries(ctx, seeds, series, salesgen.OracleJudge(z))
		if err != nil {
			return nil, nil, err
		}
		t := rep.Total
		fmt.Fprintf(w, "  z %.2f  precision %.3f (%d of %d)  recall %.3f (%d of %d)\n", z, t.Precision(), t.True, t.Alerts, t.Recall(), t.Detected, t.Planted)
		reps, zs = append(reps, rep), append(zs, z)
	}
	return reps, zs, nil
}

// bestAt is the index of the report with the best recall among those of
// precision >= minP, -1 when none reaches it.
func bestAt(reps []salesgen.Report, minP float64) int {
	k := -1
	for i, r := range reps {
		if r.Total.Precision() >= minP && (k < 0 || r.Total.Recall() > reps[k].Total.Recall()) {
			k = i
		}
	}
	return k
}

func seedRange(seeds []uint64) string {
	if len(seeds) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d–%d (%d)", seeds[0], seeds[len(seeds)-1], len(seeds))
}

func printMissed(w io.Writer, ms []salesgen.Anomaly) {
	sort.Slice(ms, func(i, j int) bool {
		return ms[i].Kind < ms[j].Kind || ms[i].Kind == ms[j].Kind && ms[i].Size < ms[j].Size
	})
	for _, m := range ms {
		fmt.Fprintf(w, "  missed %-12s %s size %+.0f%%\n", m.Kind, m.Start.Format(time.DateOnly), 100*m.Size)
	}
}

// writeSynthNAB writes the seeds' series as a corpus in NAB's layout. Each
// anomaly's window is NAB's: 10% of the file's rows divided by its anomalies,
// centred on the anomaly's first day, cut to the file.
func writeSynthNAB(dir string, seeds []uint64) error {
	series, err := salesgen.GenerateSeeds(seeds)
	if err != nil {
		return err
	}
	labels := map[string][][]string{}
	const layout = "2006-01-02 15:04:05"
	for _, s := range series {
		rel := "synth/" + s.Name + ".csv"
		var b strings.Builder
		b.WriteString("timestamp,value\n")
		for i, d := range s.Dates {
			b.WriteString(d.Format(layout) + "," + strconv.FormatFloat(s.Values[i], 'f', -1, 64) + "\n")
		}
		p := filepath.Join(dir, "data", filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			return err
		}
		half := len(s.Dates) / 10 / len(s.Anomalies) / 2
		// NAB's sweep enters windows in the order the label file lists them.
		ans := append([]salesgen.Anomaly(nil), s.Anomalies...)
		sort.Slice(ans, func(i, j int) bool { return ans[i].Start.Before(ans[j].Start) })
		ws := [][]string{}
		for _, an := range ans {
			at := sort.Search(len(s.Dates), func(i int) bool { return !s.Dates[i].Before(an.Start) })
			lo, hi := max(0, at-half), min(len(s.Dates)-1, at+half)
			ws = append(ws, []string{s.Dates[lo].Format(layout) + ".000000", s.Dates[hi].Format(layout) + ".000000"})
		}
		labels[rel] = ws
	}
	raw, err := json.MarshalIndent(labels, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "labels"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "labels", "combined_windows.json"), raw, 0o644)
}
