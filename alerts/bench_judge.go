package alerts

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
)

// This file lets benchmarks (pipelens bench nab, bench synth) measure the
// detectors exactly as the engine runs them: the default day rules of a
// metric, normalised with the shipped defaults, judged by evaluator.judge on
// the rule's lookback, evaluation after evaluation.

// BenchAlert is an event the engine opens at one evaluation: an anomaly whose
// key had no open event (none found within its rule's ResolveAfter before).
type BenchAlert struct {
	Row       int    // the day (index into the series) of the evaluation that opened it
	Rule      string // the default rule that found it
	Kind      string // spike, drop, level_shift
	Direction int
	Since     time.Time
}

// BenchRules are the default rules the engine runs on a daily metric of the
// given kind ("count": opportunities opened; "amount": the same two detectors
// on pipeline created, which has no default rule of its own), normalised as a
// config without alerts.rules would be.
// model is the rules' Model ("" the shipped default, detect.Daily; "daily"
// the same; "classic" the judges before it).
func BenchRules(kind, model string) ([]Rule, error) {
	return BenchRulesAt(kind, model, "")
}

// BenchRulesAt is BenchRules at a sensitivity ("" the shipped default, else
// as alerts.defaults.sensitivity takes it: low, medium, high or a z).
func BenchRulesAt(kind, model, sensitivity string) ([]Rule, error) {
	var rules []Rule
	for _, r := range DefaultRules() {
		if r.Metric != MetricOppsOpened {
			continue
		}
		r.Model, r.Sensitivity = model, sensitivity
		switch kind {
		case "count":
		case "amount":
			r.Metric = MetricPipelineCreated
		default:
			return nil, fmt.Errorf("bench rules: kind %q: want count or amount", kind)
		}
		rules = append(rules, r)
	}
	c := Config{Rules: rules}
	if err := c.normalize(time.UTC); err != nil {
		return nil, err
	}
	return c.Rules, nil
}

// SeriesKind is how the engine would read a series of values: "count" when
// every value is a whole number ≥ 0, else "amount".
func SeriesKind(values []float64) string {
	for _, v := range values {
		if v < 0 || v != math.Trunc(v) || math.IsNaN(v) {
			return "amount"
		}
	}
	return "count"
}

// BenchJudge evaluates rules on one org-wide daily series (one point per
// consecutive day; dates at midnight UTC) as the engine would if it ran once
// after each day: the evaluation after day t sees the rule's lookback up to
// and including day t. It returns the alerts opened, in row order.
func BenchJudge(rules []Rule, dates []time.Time, values []float64, cal detect.Calendar) []BenchAlert {
	return BenchJudgeLevels([][]Rule{rules}, dates, values, cal)[0]
}

// BenchJudgeLevels is BenchJudge for several sets of rules at once (the
// same rules at several sensitivities): out[k] is what levels[k] opens. A
// day's model is built once for all the levels.
func BenchJudgeLevels(levels [][]Rule, dates []time.Time, values []float64, cal detect.Calendar) [][]BenchAlert {
	ev := &evaluator{loc: time.UTC, cal: cal}
	pts := make([]Point, len(dates))
	for i, d := range dates {
		pts[i] = Point{Date: d, Sum: values[i]}
	}
	out := make([][]BenchAlert, len(levels))
	// lastSeen[k][key] is the day level k last found key: an alert is open
	// until its rule's ResolveAfter passes without it (Engine.run).
	lastSeen := make([]map[string]int, len(levels))
	for k := range lastSeen {
		lastSeen[k] = map[string]int{}
	}
	for t := range pts {
		end := pts[t].Date.AddDate(0, 0, 1)
		ev.models = map[modelKey]*detect.Daily{}
		for k, rules := range levels {
			for i := range rules {
				r := &rules[i]
				s := benchWindow(r, pts, t, end)
				a, ok := ev.judge(r, s, end)
				if !ok || (a.pValue > 0 && a.pValue > r.alpha) {
					continue
				}
				ev.attribute(&a, s)
				if last, ok := lastSeen[k][a.Key]; !ok || t-last > resolveDays(r) {
					out[k] = append(out[k], BenchAlert{Row: t, Rule: r.Name, Kind: a.Kind, Direction: a.Direction, Since: a.Since})
				}
				lastSeen[k][a.Key] = t
			}
		}
	}
	return out
}

// resolveDays is r's ResolveAfter in days of daily evaluations: an alert last
// found on day l resolves on day l + resolveDays unless found that day.
func resolveDays(r *Rule) int {
	return max(1, int(r.ResolveAfter.Hours()/24+0.5))
}

// benchWindow is the org-wide series r judges at the evaluation after day t:
// its lookback up to and including day t.
func benchWindow(r *Rule, pts []Point, t int, end time.Time) SegmentSeries {
	from := end.AddDate(0, 0, -int(r.Lookback.Hours()/24+0.5))
	lo := t
	for lo > 0 && !pts[lo-1].Date.Before(from) {
		lo--
	}
	return SegmentSeries{Kind: SegAll, Points: pts[lo : t+1]}
}

// BenchDays lays a series on consecutive days. When its timestamps are whole,
// increasing days, missing days are filled (fillDay) and rowOf maps each day to its file row (−1 for filled
// days). Otherwise row i is day i from Monday 2024-01-01.
func BenchDays(times []time.Time, values []float64) (dates []time.Time, vals []float64, rowOf []int, daily bool) {
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	daily = len(times) > 1
	for i := 1; i < len(times) && daily; i++ {
		if !day(times[i]).After(day(times[i-1])) || times[i].Sub(times[i-1]) < 20*time.Hour {
			daily = false
		}
	}
	if !daily {
		d0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range values {
			dates = append(dates, d0.AddDate(0, 0, i))
			rowOf = append(rowOf, i)
		}
		return dates, values, rowOf, false
	}
	for i, t := range times {
		d := day(t)
		for len(dates) > 0 && dates[len(dates)-1].AddDate(0, 0, 1).Before(d) {
			dates = append(dates, dates[len(dates)-1].AddDate(0, 0, 1))
			vals = append(vals, fillDay(vals))
			rowOf = append(rowOf, -1)
		}
		dates = append(dates, d)
		vals = append(vals, values[i])
		rowOf = append(rowOf, i)
	}
	return dates, vals, rowOf, true
}

// HolidaysShow says whether China's public holidays that fall on weekdays run
// clearly below the same weekday of the weeks around them in this series (the
// median ratio below 0.6 over at least three such days): a series that keeps
// its weekday level on holidays is read without the calendar.
func HolidaysShow(dates []time.Time, vals []float64, cal detect.Calendar) bool {
	var ratios []float64
	for i, d := range dates {
		if !cal.Holidays[d.Format(time.DateOnly)] || d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			continue
		}
		var ref []float64
		for _, k := range []int{-21, -14, -7, 7, 14, 21} {
			j := i + k
			if j >= 0 && j < len(dates) && !cal.Holidays[dates[j].Format(time.DateOnly)] {
				ref = append(ref, vals[j])
			}
		}
		if len(ref) < 2 {
			continue
		}
		sort.Float64s(ref)
		if m := ref[len(ref)/2]; m > 0 {
			ratios = append(ratios, vals[i]/m)
		}
	}
	if len(ratios) < 3 {
		return false
	}
	sort.Float64s(ratios)
	return ratios[len(ratios)/2] < 0.6
}

// fillDay is the value a missing day gets: the median of the same weekday in
// the four weeks before (a holiday among them is outvoted), else the day before.
func fillDay(vals []float64) float64 {
	var xs []float64
	for k := 7; k <= 28 && len(vals)-k >= 0; k += 7 {
		xs = append(xs, vals[len(vals)-k])
	}
	if len(xs) == 0 {
		return vals[len(vals)-1]
	}
	sort.Float64s(xs)
	if len(xs)%2 == 0 {
		return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return xs[len(xs)/2]
}
