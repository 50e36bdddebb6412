package alerts

import (
	"math"

	"github.com/pipelens/pipelens/alerts/detect"
)

// dayDetector is the detector that judges r on a series of kind: "daily"
// (detect.Daily) where usesDaily, else the rule's own.
func dayDetector(r *Rule, kind string) string {
	if usesDaily(r, kind) {
		return "daily"
	}
	return r.Detector
}

// usesDaily: r is judged by detect.Daily, as every day-grain seasonal and
// level_shift rule on a count or an amount is unless its model is classic.
func usesDaily(r *Rule, kind string) bool {
	return r.Model != "classic" && (r.Grain == "day" || r.Grain == "") && (kind == "count" || kind == "amount") &&
		(r.Detector == "seasonal" || r.Detector == "level_shift")
}

// shiftDays is how many recent days the level_shift rule's model keeps out of
// its history: the longest run detect.Daily.Shift tests, with its weekends.
const shiftDays = 14

// daily judges a day-grain count or amount series with detect.Daily: the
// seasonal rule asks whether one of the last Window days is far from its
// expectation, the level_shift rule whether the last working days sit off
// theirs together. It returns the finding's two-sided p-value.
func (e *evaluator) daily(r *Rule, a *Anomaly, pts []Point, vals, expected []float64, kind string) (float64, bool) {
	n := len(pts)
	dp := make([]detect.DailyPoint, n)
	for i, p := range pts {
		dp[i] = detect.DailyPoint{Date: p.Date, Value: vals[i]}
	}
	judge := max(r.Window, 1)
	if r.Detector == "level_shift" {
		judge = shiftDays
	}
	m := e.model(dp, kind == "count", judge)
	for i := range expected {
		expected[i] = m.Expected(i)
	}
	if r.Detector == "level_shift" {
		return e.dailyShift(r, a, pts, vals, m)
	}
	for i := n - 1; i >= max(0, n-r.Window); i-- {
		z, mu := m.Z(i), m.Expected(i)
		dir := 1
		if z < 0 {
			dir = -1
		}
		if math.IsNaN(mu) || math.Abs(z) < r.zThresh || !r.allows(dir) || !worthTelling(r, vals[i], mu) {
			continue
		}
		a.Direction, a.Score = dir, math.Abs(z)
		a.Actual, a.Expected = vals[i], mu
		a.Low, a.High = m.Band(i, r.zThresh)
		a.Since = pts[i].Date
		a.Kind = "spike"
		if dir < 0 {
			a.Kind = "drop"
		}
		return math.Min(1, 2*detect.NormalTail(math.Abs(z))*float64(r.Window)), true
	}
	return 1, false
}

// model is detect.NewDaily's model of dp, from e.models when it holds it.
func (e *evaluator) model(dp []detect.DailyPoint, counts bool, judge int) *detect.Daily {
	if e.models == nil {
		return detect.NewDaily(dp, e.cal, counts, judge)
	}
	k := modelKey{first: dp[0].Date, n: len(dp), judge: judge, counts: counts}
	m, ok := e.models[k]
	if !ok {
		m = detect.NewDaily(dp, e.cal, counts, judge)
		e.models[k] = m
	}
	return m
}

// worthTelling applies the rule's volume and size floors to a value against
// its expectation.
func worthTelling(r *Rule, x, mu float64) bool {
	if math.Max(mu, x) < r.MinVolume || (x < mu && mu < r.MinVolume) {
		return false
	}
	return math.Abs(x-mu) >= r.MinChange*math.Abs(mu)
}

func (e *evaluator) dailyShift(r *Rule, a *Anomaly, pts []Point, vals []float64, m *detect.Daily) (float64, bool) {
	run := m.Shift(r.zThresh)
	if !run.Found || !r.allows(run.Dir) {
		return 1, false
	}
	var act, exp float64
	for _, i := range run.Days {
		act += vals[i]
		exp += m.Expected(i)
	}
	k := float64(len(run.Days))
	if !worthTelling(r, act/k, exp/k) {
		return 1, false
	}
	a.Kind, a.Direction, a.Score = "level_shift", run.Dir, math.Abs(run.Z)
	a.Actual, a.Expected = act/k, exp/k
	// The shift began at the first day of the run on its side.
	since := run.Days[len(run.Days)-1]
	for _, i := range run.Days {
		if (vals[i]-m.Expected(i))*float64(run.Dir) > 0 {
			since = i
			break
		}
	}
	a.Since = pts[since].Date
	return math.Min(1, 2*detect.NormalTail(math.Abs(run.Z))*3), true
}
