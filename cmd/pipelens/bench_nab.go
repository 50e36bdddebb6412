package main

import (
	"context"
	"fmt"
	"io"
	"sort"
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
	name := fs.String("detector", "engine", "engine (the alert engine's default rules), or NAB's reference detectors null and random")
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
		return fmt.Errorf("bench nab: --detector %q: want engine, null or random", *name)
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
		fmt.Fprintln(a.stdout, "  scores are 0/1: a row scores 1 when an evaluation after it opens an alert (the shipped defaults decide, not NAB's threshold sweep)")
		printCalendars(a.stdout, calendars)
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
	fmt.Fprintf(w, "  %-30s standard %6.2f  reward_low_FP_rate %6.2f  reward_low_FN_rate %6.2f  (%d files)\n", label,
		st.Score, s.Profile("reward_low_FP_rate").Score, s.Profile("reward_low_FN_rate").Score, s.Files)
	fmt.Fprintf(w, "  %-30s   its own alerts (score >= 1): standard %.2f, %d of %.0f windows reached, %d rows alerting outside windows\n", "",
		st.Own, st.OwnHits, st.Perfect, st.OwnFP)
}

// printHalves prints the protocol's halves when the corpus is NAB's own.
func printHalves(w io.Writer, c *detect.Corpus, name string, anomaly [][]float64) error {
	for _, s := range c.Series() {
		if detect.NABHalf(s.Path) == "" {
			fmt.Fprintln(w, "  (not NAB's corpus: no tuning/report split applies)")
			return nil
		}
	}
	for _, h := range []struct{ half, label string }{
		{"tune", "tuning half (NABTuneFiles)"},
		{"report", "report half (NABReportFiles)"},
	} {
		s, err := c.Score(name, anomaly, func(p string) bool { return detect.NABHalf(p) == h.half })
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

// engineDetector scores a series by the alerts the engine's default rules open
// on it (alerts.BenchJudge): 1 on the rows where an alert opens, else 0. A
// daily series keeps its dates (a missing day is filled with the same weekday
// of the week before and never scored); any other series is read one row per
// day from a Monday, without a calendar. calendars records, per file, how it
// was read.
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
		rules, err := alerts.BenchRules(alerts.SeriesKind(s.Values), model)
		if err != nil {
			panic(err) // the default rules normalise, or every test fails
		}
		for _, al := range alerts.BenchJudge(rules, dates, values, cal) {
			// An alert opened after a filled-in day shows on the next real row.
			for r := al.Row; r < len(rowOf); r++ {
				if rowOf[r] >= 0 {
					out[rowOf[r]] = 1
					break
				}
			}
		}
		return out
	}
	return det, calendars, nil
}
