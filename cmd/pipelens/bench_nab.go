package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/alerts/detect"
)

// benchNAB scores the alert engine's detectors (its default day rules through
// evaluator.judge) on a corpus in NAB's layout with NAB's own scoring. The
// engine runs at each of benchSensitivities; its alerts at a sensitivity are a
// 0/1 detector, and the sensitivity scored is chosen as NAB chooses any
// detector's threshold: the best standard score, on the corpus scored, or on
// NAB's own corpus on the tuning half (detect.NABTuneFiles). The first line is
// "standard <score>" over all files.
func benchNAB(ctx context.Context, a *app, args []string) error {
	fs := a.flags("bench nab", "")
	data := fs.String("data", "../shared/data/nab", "corpus directory in NAB's layout (data/, labels/combined_windows.json)")
	results := fs.String("results", "", "also write the scores in NAB's results layout under this directory")
	name := fs.String("detector", "engine", "engine (the alert engine's default rules), NAB's reference detectors null and random, or zscore28 (each row against the 28 before it)")
	calName := fs.String("calendar", "auto", "calendar of daily series: auto (China's where its holidays show in the series), cn or none")
	perFile := fs.Bool("files", false, "also print each file's standard share")
	model := fs.String("model", "", "the day rules' model: \"\" (the shipped default: detect.Daily) or classic (the judges before it)")
	if err := a.parse(fs, args); err != nil {
		return err
	}
	if *name != "engine" && detect.Reference(*name) == nil {
		return fmt.Errorf("bench nab: --detector %q: want engine, null, random or zscore28", *name)
	}
	if *calName != "auto" && *calName != "cn" && *calName != "none" {
		return fmt.Errorf("bench nab: --calendar %q: want auto, cn or none", *calName)
	}
	start := time.Now()
	c, err := detect.LoadCorpus(*data)
	if err != nil {
		return err
	}
	var anomaly [][]float64
	var all detect.Scores
	if *name == "engine" {
		anomaly, all, err = benchEngine(ctx, a.stdout, c, *calName, *model, func(s detect.Scores) {
			fmt.Fprintf(a.stdout, "detector engine on %s: %d files, %d rows, %s\n", *data, s.Files, s.Rows, time.Since(start).Round(time.Millisecond))
		})
	} else {
		anomaly, all, err = benchReference(ctx, a.stdout, c, *name, *data, start)
	}
	if err != nil {
		return err
	}
	if *perFile {
		for _, f := range all.PerFile {
			if f.Profile == "standard" {
				fmt.Fprintf(a.stdout, "  %-60s raw %7.3f  windows %d  tp rows %d  fp rows %d\n", f.Path, f.Raw, f.Windows, f.TP, f.FP)
			}
		}
	}
	if *results != "" {
		return c.WriteResults(*results, *name, anomaly)
	}
	return nil
}

// benchReference scores a reference detector with NAB's threshold sweep: on
// NAB's corpus the tuning half's sweep sets the threshold of the report half
// and of all files.
func benchReference(ctx context.Context, w io.Writer, c *detect.Corpus, name, data string, start time.Time) ([][]float64, detect.Scores, error) {
	anomaly, err := c.Run(ctx, name, detect.Reference(name))
	if err != nil {
		return nil, detect.Scores{}, err
	}
	var at map[string]float64
	if nabOwn(c) {
		tune, err := c.Score(name, anomaly, nabHalf("tune"))
		if err != nil {
			return nil, detect.Scores{}, err
		}
		at = map[string]float64{}
		for _, p := range tune.Profiles {
			at[p.Profile] = p.Threshold
		}
	}
	all, err := c.ScoreAt(name, anomaly, nil, at)
	if err != nil {
		return nil, detect.Scores{}, err
	}
	fmt.Fprintf(w, "standard %.2f\n", all.Standard())
	fmt.Fprintf(w, "detector %s on %s: %d files, %d rows, %s\n", name, data, all.Files, all.Rows, time.Since(start).Round(time.Millisecond))
	printScores(w, "all", all)
	return anomaly, all, printHalves(w, c, name, anomaly, at)
}

// benchSensitivities are the z thresholds bench nab runs the engine's rules
// at, from the least sensitive; shippedZ (medium, the shipped default) is
// among them and run with the shipped rules themselves.
var benchSensitivities = []float64{16, 11, 8, 6, 5, 4, 3.5, 3, 2.75, 2.5, 2.25, 2, 1.75, 1.5}

const shippedZ = 4.0

// benchEngine runs the engine at every sensitivity, chooses one as NAB's
// sweep would (the best standard score on the corpus, or on the tuning half of
// NAB's own), and prints the scores. It returns the chosen sensitivity's 0/1
// scores and their Scores over all files; head prints the line after the
// first.
func benchEngine(ctx context.Context, w io.Writer, c *detect.Corpus, calName, model string, head func(detect.Scores)) ([][]float64, detect.Scores, error) {
	levels, calendars, err := runEngine(ctx, c, calName, model)
	if err != nil {
		return nil, detect.Scores{}, err
	}
	at := map[string]float64{"standard": 1, "reward_low_FP_rate": 1, "reward_low_FN_rate": 1}
	choose := nabHalf("")
	chosenOn := "all files"
	if nabOwn(c) {
		choose, chosenOn = nabHalf("tune"), "the tuning half (NABTuneFiles)"
	}
	best, bestScore := 0, math.Inf(-1)
	runs := make([]detect.Scores, len(levels))
	for k, anomaly := range levels {
		if runs[k], err = c.ScoreAt("engine", anomaly, nil, at); err != nil {
			return nil, detect.Scores{}, err
		}
		s := runs[k]
		if choose != nil {
			if s, err = c.ScoreAt("engine", anomaly, choose, at); err != nil {
				return nil, detect.Scores{}, err
			}
		}
		if s.Standard() > bestScore {
			best, bestScore = k, s.Standard()
		}
	}
	all, z := runs[best], benchSensitivities[best]
	fmt.Fprintf(w, "standard %.2f\n", all.Standard())
	head(all)
	fmt.Fprintf(w, "  the default rules at each sensitivity z of %v (the shipped medium is z %g), a row a detection when an alert opens after it; chosen on %s: z %g\n",
		benchSensitivities, shippedZ, chosenOn, z)
	printCalendars(w, calendars)
	if err := printBaseline(ctx, w, c, choose, all); err != nil {
		return nil, detect.Scores{}, err
	}
	printSensitivities(w, runs, best)
	printScores(w, fmt.Sprintf("all, z %g", z), all)
	return levels[best], all, printHalves(w, c, "engine", levels[best], at)
}

// printSensitivities prints each sensitivity's standard score over all files.
func printSensitivities(w io.Writer, runs []detect.Scores, best int) {
	fmt.Fprintln(w, "  by sensitivity (all files):")
	for k, s := range runs {
		st, note := s.Profile("standard"), ""
		if benchSensitivities[k] == shippedZ {
			note += "  (shipped)"
		}
		if k == best {
			note += "  (chosen)"
		}
		fmt.Fprintf(w, "    z %-4g standard %7.2f  %d of %.0f windows reached, %d rows alerting outside windows%s\n",
			benchSensitivities[k], st.Score, st.Hits, st.Perfect, st.FP, note)
	}
}

// runEngine runs the engine's default rules at each of benchSensitivities on
// every series of c: levels[k][i] is 1 on the rows of series i where the rules
// at benchSensitivities[k] open an alert, else 0. The levels of a series are
// judged together (alerts.BenchJudgeLevels) and carried through Corpus.Run as
// one bit each of the row's value.
func runEngine(ctx context.Context, c *detect.Corpus, calName, model string) ([][][]float64, map[string]string, error) {
	det, calendars := engineDetector(calName, model)
	bits, err := c.Run(ctx, "engine", det)
	if err != nil {
		return nil, nil, err
	}
	levels := make([][][]float64, len(benchSensitivities))
	for k := range levels {
		levels[k] = make([][]float64, len(bits))
		for i, rows := range bits {
			levels[k][i] = make([]float64, len(rows))
			for r, b := range rows {
				if uint(b)&(1<<k) != 0 {
					levels[k][i][r] = 1
				}
			}
		}
	}
	return levels, calendars, nil
}

// engineDetector judges a series at every sensitivity: a row's value has bit
// k set when the rules at benchSensitivities[k] open an alert after it. A
// daily series keeps its dates (a missing day is filled with the same weekday
// of the week before and never scored); any other series is read one row per
// day from a Monday, without a calendar. calendars records, per file, how it
// was read.
func engineDetector(calName, model string) (detect.Detector, map[string]string) {
	cn := detect.CNCalendar()
	var mu sync.Mutex
	calendars := map[string]string{}
	det := func(s detect.Series) []float64 {
		out := make([]float64, len(s.Values))
		dates, values, rowOf, daily := alerts.BenchDays(s.Times, s.Values)
		cal, how := detect.Calendar{}, "one row a day, no calendar"
		if daily {
			how = "daily, no calendar"
			if calName == "cn" || (calName == "auto" && alerts.HolidaysShow(dates, values, cn)) {
				cal, how = cn, "daily, China's calendar"
			}
		}
		mu.Lock()
		calendars[s.Path] = how
		mu.Unlock()
		for k, opened := range alerts.BenchJudgeLevels(benchLevels(alerts.SeriesKind(s.Values), model), dates, values, cal) {
			for _, al := range opened {
				if r := fileRow(rowOf, al.Row); r >= 0 {
					out[r] = float64(uint(out[r]) | 1<<k)
				}
			}
		}
		return out
	}
	return det, calendars
}

// fileRow is the file row an alert opened after day d shows on: d's own, or
// after a filled-in day the next real row (−1 when none follows).
func fileRow(rowOf []int, d int) int {
	for r := d; r < len(rowOf); r++ {
		if rowOf[r] >= 0 {
			return rowOf[r]
		}
	}
	return -1
}

// benchLevels are the default rules at each of benchSensitivities (the
// shipped rules at shippedZ).
func benchLevels(kind, model string) [][]alerts.Rule {
	var levels [][]alerts.Rule
	for _, z := range benchSensitivities {
		sens := strconv.FormatFloat(z, 'g', -1, 64)
		if z == shippedZ {
			sens = ""
		}
		rules, err := alerts.BenchRulesAt(kind, model, sens)
		if err != nil {
			panic(err) // the default rules normalise, or every test fails
		}
		levels = append(levels, rules)
	}
	return levels
}

// printBaseline scores the textbook baseline, a rolling z-score over the 28
// rows before each row, on all files of the same corpus in the same run, its
// threshold chosen by NAB's sweep on the files choose keeps, as the engine's
// sensitivity is.
func printBaseline(ctx context.Context, w io.Writer, c *detect.Corpus, choose func(string) bool, engine detect.Scores) error {
	const name = "zscore28"
	anomaly, err := c.Run(ctx, name, detect.Reference(name))
	if err != nil {
		return err
	}
	swept, err := c.Score(name, anomaly, choose)
	if err != nil {
		return err
	}
	base, err := c.ScoreAt(name, anomaly, nil, map[string]float64{"standard": swept.Profile("standard").Threshold})
	if err != nil {
		return err
	}
	ratio := "n/a"
	if b := base.Standard(); b > 0 {
		ratio = fmt.Sprintf("%.2f×", engine.Standard()/b)
	}
	fmt.Fprintf(w, "  baseline %s (each row's z against the 28 rows before it), same corpus: standard %.2f; the engine %+.2f (%s)\n",
		name, base.Standard(), engine.Standard()-base.Standard(), ratio)
	return nil
}

func printScores(w io.Writer, label string, s detect.Scores) {
	st := s.Profile("standard")
	fmt.Fprintf(w, "  %-32s standard %7.2f  reward_low_FP_rate %7.2f  reward_low_FN_rate %7.2f  (%d files; threshold %.3f: %d of %.0f windows reached, %d rows alerting outside windows)\n", label,
		st.Score, s.Profile("reward_low_FP_rate").Score, s.Profile("reward_low_FN_rate").Score, s.Files, st.Threshold, st.Hits, st.Perfect, st.FP)
}

// nabOwn says whether c is NAB's own corpus, where the protocol's halves
// apply.
func nabOwn(c *detect.Corpus) bool {
	for _, s := range c.Series() {
		if detect.NABHalf(s.Path) == "" {
			return false
		}
	}
	return true
}

// nabHalf keeps the files of one half of the protocol ("": all files).
func nabHalf(h string) func(string) bool {
	if h == "" {
		return nil
	}
	return func(p string) bool { return detect.NABHalf(p) == h }
}

// printHalves prints the protocol's halves when the corpus is NAB's own, at
// the thresholds at (nil: each half's own sweep).
func printHalves(w io.Writer, c *detect.Corpus, name string, anomaly [][]float64, at map[string]float64) error {
	if !nabOwn(c) {
		fmt.Fprintln(w, "  (not NAB's corpus: no tuning/report split applies)")
		return nil
	}
	for _, h := range []struct{ half, label string }{
		{"tune", "tuning half (NABTuneFiles)"},
		{"report", "report half (NABReportFiles)"},
	} {
		s, err := c.ScoreAt(name, anomaly, nabHalf(h.half), at)
		if err != nil {
			return err
		}
		printScores(w, h.label, s)
	}
	return nil
}

func printCalendars(w io.Writer, calendars map[string]string) {
	count := map[string]int{}
	for _, c := range calendars {
		count[c]++
	}
	var keys []string
	for k := range count {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprint(w, "  series read as:")
	for _, k := range keys {
		fmt.Fprintf(w, " %s %d;", k, count[k])
	}
	fmt.Fprintln(w)
}
