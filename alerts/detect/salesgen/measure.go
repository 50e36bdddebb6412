package salesgen

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/pipelens/pipelens/alerts"
)

// Seeds. The detectors and their defaults may be tuned on TuneSeeds only;
// ReportSeeds are the twenty seeds the report is printed for and were never
// used to choose anything.
var (
	TuneSeeds   = []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	ReportSeeds = []uint64{1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010,
		1011, 1012, 1013, 1014, 1015, 1016, 1017, 1018, 1019, 1020}
)

// SeriesPerKind is how many series of each kind a seed generates.
const SeriesPerKind = 6

// JudgedFrom is the first day whose alerts count: from there on the engine
// has its whole 16-week lookback, as it has in production. Earlier alerts
// are not counted either way (no anomaly is planted before WarmUp).
const JudgedFrom = 112

// Judge returns the days whose evaluations opened an alert on a series.
type Judge func(s Series) []time.Time

// EngineJudge runs the alert engine's default day rules with the shipped
// defaults on a series (alerts.BenchJudge), with China's calendar (the
// generated teams work by it; they would set alerts.calendar.preset: cn).
// Missing days are filled as bench nab fills them (alerts.BenchDays).
func EngineJudge(s Series) []time.Time { return EngineJudgeModel("")(s) }

// EngineJudgeModel is EngineJudge with the day rules' model set ("" the
// shipped default, "daily" detect.Daily).
func EngineJudgeModel(model string) Judge {
	return func(s Series) []time.Time { return engineJudge(s, model) }
}

func engineJudge(s Series, model string) []time.Time {
	dates, values, _, _ := alerts.BenchDays(s.Dates, s.Values)
	rules, err := alerts.BenchRules(s.Metric, model)
	if err != nil {
		panic(err) // the default rules normalise, or every alerts test fails
	}
	var out []time.Time
	for _, a := range alerts.BenchJudge(rules, dates, values, cn) {
		out = append(out, dates[a.Row])
	}
	return out
}

// KindReport is the outcome for one planted kind.
type KindReport struct {
	Kind     string
	Planted  int // anomalies planted
	Detected int // with at least one alert in their detection window
	Alerts   int // alerts opened on the kind's series, from JudgedFrom on
	True     int // of which inside a planted anomaly's detection window
	Missed   []Anomaly
	// ByVisibility splits Planted and Detected by the anomalies' Visibility
	// (VisibilityBands).
	ByVisibility [len(VisibilityBands)]Tally
}

// Tally is planted and detected anomalies.
type Tally struct{ Planted, Detected int }

// Recall is the share of the planted anomalies detected.
func (t Tally) Recall() float64 { return ratio(t.Detected, t.Planted) }

// VisibilityBands are the lower edges of the visibility bands the report
// splits recall by: below 3 an anomaly is inside the noise for any detector.
var VisibilityBands = [...]float64{0, 3, 5, 8}

func band(v float64) int {
	b := 0
	for k, lo := range VisibilityBands {
		if v >= lo {
			b = k
		}
	}
	return b
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Precision is the share of alerts that fall in a planted anomaly's window.
func (k KindReport) Precision() float64 { return ratio(k.True, k.Alerts) }

// Recall is the share of planted anomalies with an alert in their window.
func (k KindReport) Recall() float64 { return ratio(k.Detected, k.Planted) }

// Report is the measurement over a set of seeds.
type Report struct {
	Seeds []uint64
	Kinds []KindReport // in Kinds order
	Total KindReport   // all kinds pooled
}

// Measure generates SeriesPerKind series of each kind for each seed and
// scores judge's alerts on them.
func Measure(ctx context.Context, seeds []uint64, judge Judge) (Report, error) {
	series, err := GenerateSeeds(seeds)
	if err != nil {
		return Report{}, err
	}
	return MeasureSeries(ctx, seeds, series, judge)
}

// GenerateSeeds is every series Measure judges for seeds: SeriesPerKind of
// each kind for each seed, in that order.
func GenerateSeeds(seeds []uint64) ([]Series, error) {
	var out []Series
	for _, seed := range seeds {
		for _, kind := range Kinds {
			ss, err := Generate(seed, kind, SeriesPerKind)
			if err != nil {
				return nil, err
			}
			out = append(out, ss...)
		}
	}
	return out, nil
}

// MeasureSeries scores judge's alerts on series generated for seeds
// (GenerateSeeds), so that several judges can be measured on one generation.
func MeasureSeries(ctx context.Context, seeds []uint64, series []Series, judge Judge) (Report, error) {
	type job struct {
		kind int
		s    Series
	}
	kindAt := map[string]int{}
	for k, kind := range Kinds {
		kindAt[kind] = k
	}
	jobs := make([]job, len(series))
	for i, s := range series {
		jobs[i] = job{kindAt[s.Anomalies[0].Kind], s}
	}
	results := make([]KindReport, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = score(jobs[i].s, judge(jobs[i].s))
			}
		}()
	}
	var err error
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err != nil {
		return Report{}, fmt.Errorf("salesgen measure: %w", err)
	}
	rep := Report{Seeds: seeds, Total: KindReport{Kind: "all"}}
	for _, kind := range Kinds {
		rep.Kinds = append(rep.Kinds, KindReport{Kind: kind})
	}
	for i, r := range results {
		k := &rep.Kinds[jobs[i].kind]
		for _, t := range []*KindReport{k, &rep.Total} {
			t.Planted += r.Planted
			t.Detected += r.Detected
			t.Alerts += r.Alerts
			t.True += r.True
			t.Missed = append(t.Missed, r.Missed...)
			for b := range r.ByVisibility {
				t.ByVisibility[b].Planted += r.ByVisibility[b].Planted
				t.ByVisibility[b].Detected += r.ByVisibility[b].Detected
			}
		}
	}
	return rep, nil
}

// score matches one series' alerts with its planted anomalies.
func score(s Series, alertDays []time.Time) KindReport {
	var r KindReport
	from := s.Dates[0].AddDate(0, 0, JudgedFrom)
	in := func(a Anomaly, d time.Time) bool { return !d.Before(a.Detect[0]) && !d.After(a.Detect[1]) }
	for _, d := range alertDays {
		if d.Before(from) {
			continue
		}
		r.Alerts++
		for _, a := range s.Anomalies {
			if in(a, d) {
				r.True++
				break
			}
		}
	}
	for _, a := range s.Anomalies {
		r.Planted++
		hit := false
		for _, d := range alertDays {
			hit = hit || in(a, d)
		}
		b := &r.ByVisibility[band(a.Visibility)]
		b.Planted++
		if hit {
			r.Detected++
			b.Detected++
		} else {
			r.Missed = append(r.Missed, a)
		}
	}
	return r
}
