package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/alerts/detect"
)

// benchNAB scores the alert engine's detectors (its default day rules with the
// shipped defaults, through evaluator.judge) on a corpus in NAB's layout with
// NAB's own scoring. The first line is "standard <score>" over all files; on
// NAB's corpus the protocol's two halves follow (detect.NABTuneFiles is the
// half the detectors may be tuned on).
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
	det := detect.Reference(*name)
	var calendars map[string]string
	if *name == "engine" {
		var err error
		det, calendars, err = engineDetector(*calName, *model)
		if err != nil {
			return err
		}
	}
	if det == nil {
		return fmt.Errorf("bench nab: --detector %q: want engine, null, random or zscore28", *name)
	}
	start := time.Now()
	c, err := detect.LoadCorpus(*data)
	if err != nil {
		return err
	}
	anomaly, err := c.Run(ctx, *name, det)
	if err != nil {
		return err
	}
	all, err := c.Score(*name, anomaly, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "standard %.2f\n", all.Standard())
	fmt.Fprintf(a.stdout, "detector %s on %s: %d files, %d rows, %s\n", *name, *data, all.Files, all.Rows, time.Since(start).Round(time.Millisecond))
	if *name == "engine" {
		fmt.Fprintf(a.stdout, "  a row's score is z/%g for the least sensitive z of %v whose rules open an alert on it (the shipped sensitivity, z %g, scores %.3f); NAB's sweep chose %.3f\n",
			topZ, benchSensitivities, shippedZ, shippedZ/topZ, all.Profile("standard").Threshold)
		printCalendars(a.stdout, calendars)
		if err := printBaseline(ctx, a.stdout, c, all); err != nil {
			return err
		}
		if err := printSensitivities(a.stdout, c, *name, anomaly); err != nil {
			return err
		}
	}
	printScores(a.stdout, "all", all)
	if err := printHalves(a.stdout, c, *name, anomaly); err != nil {
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

func printScores(w io.Writer, label string, s detect.Scores) {
	st := s.Profile("standard")
	fmt.Fprintf(w, "  %-30s standard %6.2f (threshold %.3f)  reward_low_FP_rate %6.2f  reward_low_FN_rate %6.2f  (%d files)\n", label,
		st.Score, st.Threshold, s.Profile("reward_low_FP_rate").Score, s.Profile("reward_low_FN_rate").Score, s.Files)
	fmt.Fprintf(w, "  %-30s   at that threshold: %d of %.0f windows reached, %d rows alerting outside windows\n", "", st.Hits, st.Perfect, st.FP)
}

// printHalves prints the protocol's halves when the corpus is NAB's own: the
// tuning half with its own sweep, then the report half and all at the
// thresholds the tuning half chose (the protocol), and the report half's own
// sweep for comparison.
func printHalves(w io.Writer, c *detect.Corpus, name string, anomaly [][]float64) error {
	for _, s := range c.Series() {
		if detect.NABHalf(s.Path) == "" {
			fmt.Fprintln(w, "  (not NAB's corpus: no tuning/report split applies)")
			return nil
		}
	}
	half := func(h string) func(string) bool { return func(p string) bool { return detect.NABHalf(p) == h } }
	tune, err := c.Score(name, anomaly, half("tune"))
	if err != nil {
		return err
	}
	printScores(w, "tuning half (NABTuneFiles)", tune)
	at := map[string]float64{}
	for _, p := range tune.Profiles {
		at[p.Profile] = p.Threshold
	}
	for _, h := range []struct {
		label string
		keep  func(string) bool
		at    map[string]float64
	}{
		{"report half, tuning thresholds", half("report"), at},
		{"all, tuning thresholds", nil, at},
		{"report half, its own sweep", half("report"), nil},
	} {
		s, err := c.ScoreAt(name, anomaly, h.keep, h.at)
		if err != nil {
			return err
		}
		printScores(w, h.label, s)
	}
	return nil
}

// printBaseline scores the textbook baseline, a rolling z-score over the 28
// rows before each row, on the same corpus in the same run.
func printBaseline(ctx context.Context, w io.Writer, c *detect.Corpus, engine detect.Scores) error {
	const name = "zscore28"
	anomaly, err := c.Run(ctx, name, detect.Reference(name))
	if err != nil {
		return err
	}
	base, err := c.Score(name, anomaly, nil)
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

// printSensitivities prints the standard profile at each sensitivity the
// engine was judged at: what the engine would score with that z shipped.
func printSensitivities(w io.Writer, c *detect.Corpus, name string, anomaly [][]float64) error {
	fmt.Fprintln(w, "  by sensitivity (the rules at z, all files):")
	for _, z := range benchSensitivities {
		s, err := c.ScoreAt(name, anomaly, nil, map[string]float64{"standard": z / topZ})
		if err != nil {
			return err
		}
		st := s.Profile("standard")
		shipped := ""
		if z == shippedZ {
			shipped = "  (shipped)"
		}
		fmt.Fprintf(w, "    z %-4g standard %7.2f  %d of %.0f windows reached, %d rows alerting outside windows%s\n",
			z, st.Score, st.Hits, st.Perfect, st.FP, shipped)
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

// benchSensitivities are the z thresholds bench nab judges the engine's rules
// at, from the least sensitive; shippedZ (medium, the shipped default) is
// among them and judged with the shipped rules themselves. A row's anomaly
// score is z/topZ for the largest z whose rules open an alert on it, so NAB's
// sweep picks the sensitivity, as it picks any detector's threshold; the rows
// at shippedZ/topZ and above are the shipped defaults' own alerts.
var benchSensitivities = []float64{16, 11, 8, 6, 5, 4, 3.5, 3, 2.75, 2.5, 2.25, 2, 1.75, 1.5}

const shippedZ, topZ = 4.0, 16.0

// engineDetector scores a series by the alerts the engine's default rules
// open on it (alerts.BenchJudgeLevels) at the shipped sensitivity and at
// benchSensitivities. A daily series keeps its dates (a missing day is
// filled with the same weekday of the week before and never scored); any
// other series is read one row per day from a Monday, without a calendar.
// calendars records, per file, how it was read.
func engineDetector(calName, model string) (detect.Detector, map[string]string, error) {
	if calName != "auto" && calName != "cn" && calName != "none" {
		return nil, nil, fmt.Errorf("bench nab: --calendar %q: want auto, cn or none", calName)
	}
	cn := alerts.CNCalendar()
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
		levels, scores := benchLevels(alerts.SeriesKind(s.Values), model)
		for k, opened := range alerts.BenchJudgeLevels(levels, dates, values, cal) {
			for _, al := range opened {
				// An alert opened after a filled-in day shows on the next real row.
				for r := al.Row; r < len(rowOf); r++ {
					if rowOf[r] >= 0 {
						out[rowOf[r]] = max(out[rowOf[r]], scores[k])
						break
					}
				}
			}
		}
		return out
	}
	return det, calendars, nil
}

// benchLevels are the default rules at each of benchSensitivities (the
// shipped rules at shippedZ) and their scores, z/topZ.
func benchLevels(kind, model string) ([][]alerts.Rule, []float64) {
	var levels [][]alerts.Rule
	var scores []float64
	for _, z := range benchSensitivities {
		sens := strconv.FormatFloat(z, 'g', -1, 64)
		if z == shippedZ {
			sens = ""
		}
		rules, err := alerts.BenchRulesAt(kind, model, sens)
		if err != nil {
			panic(err) // the default rules normalise, or every test fails
		}
		levels, scores = append(levels, rules), append(scores, z/topZ)
	}
	return levels, scores
}
