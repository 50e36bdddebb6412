package alerts

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
	"github.com/pipelens/pipelens/schemas/config"
)

// Anomaly is one finding of one rule on one segment (or deal), with what an email
// needs to explain it.
type Anomaly struct {
	// Key identifies "the same anomaly" across evaluations:
	// rule|metric|segment_kind|segment|direction (deal rules: rule|deal|id).
	Key          string
	Rule         string
	Metric       string
	Grain        string
	SegmentKind  string
	Segment      string // team name, rep id, territory, product, source; "" for all
	SegmentLabel string
	Detector     string
	// Kind: spike, drop, level_shift, trend_change, rate, stuck_deal,
	// pushed_close, amount_cut.
	Kind      string
	Direction int // +1 up, −1 down
	Actual    float64
	Expected  float64
	Low, High float64 // expected range when known (rates: baseline interval)
	Score     float64
	Volume    float64 // rates: trials in the window
	Since     time.Time
	// From, To is the range the chart and the dashboard link show (To exclusive).
	From, To time.Time
	Chart    []ChartPoint
	Drivers  []Driver
	Deal     *Deal
	Team     string // the team the anomaly belongs to, for routing ("" org-wide)
	RepID    string
	// EventID is the event recording it (set before its email is rendered):
	// the email's link opens the Alerts page on it.
	EventID string
	// DataThrough is the last day the metric's export covered when it was
	// judged (zero: not known); the email says so.
	DataThrough time.Time
	// pValue is the finding's tail probability after the per-segment
	// corrections (0 for detectors that threshold a robust z instead).
	pValue float64
}

// ChartPoint is one point of an anomaly's chart.
type ChartPoint struct {
	Date     time.Time
	Actual   float64
	Expected float64 // NaN when unknown
}

// Driver is a segment's share of the move of a total.
type Driver struct {
	Kind, Key, Label string
	Actual, Expected float64
	Trials           float64 // rates: the trials (deals closed, stays ended) since the anomaly started
	Delta            float64 // actual − expected over the anomaly's window
	Share            float64 // Delta / the total's delta
	// Tier names an account's tier (tier_service: the drivers are accounts).
	Tier *config.TierName `json:",omitempty"`
}

// evaluator runs the rules' detectors over what a Source returns.
type evaluator struct {
	src Source
	loc *time.Location
	cal detect.Calendar
	org Org
	// last is, per metric, the last day its export covers (see Source).
	last map[string]lastDay
	// models, when set, keeps the detect.Daily models built for one
	// evaluation, so the same series judged at several sensitivities
	// (BenchJudgeLevels) is modelled once.
	models map[modelKey]*detect.Daily
}

type modelKey struct {
	first  time.Time
	n      int
	judge  int
	counts bool
}

type lastDay struct {
	day time.Time
	ok  bool
}

// lastDayer is a Source that knows the last day each metric's export covers.
type lastDayer interface {
	LastDay(ctx context.Context, metric string) (time.Time, bool, error)
}

// end is the exclusive end of the days a rule may judge at now: today, or the
// day after the last day the metric's export covers when that is earlier (the
// days after the last export have no data yet; they are not drops).
func (e *evaluator) end(ctx context.Context, metric string, now time.Time) (end, through time.Time, err error) {
	end = dayStart(now, e.loc)
	ld, ok := e.src.(lastDayer)
	if !ok {
		return end, time.Time{}, nil
	}
	l, seen := e.last[metric]
	if !seen {
		l.day, l.ok, err = ld.LastDay(ctx, metric)
		if err != nil {
			return end, time.Time{}, fmt.Errorf("last loaded day of %s: %w", metric, err)
		}
		if e.last == nil {
			e.last = map[string]lastDay{}
		}
		e.last[metric] = l
	}
	if !l.ok {
		return end, time.Time{}, nil
	}
	d := time.Date(l.day.Year(), l.day.Month(), l.day.Day(), 0, 0, 0, 0, e.loc).AddDate(0, 0, 1)
	if d.Before(end) {
		end = d
	}
	return end, end.AddDate(0, 0, -1), nil
}

// today is the start of now's day in the business time zone: evaluations judge
// complete days only.
func dayStart(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func monday(t time.Time) time.Time {
	wd := (int(t.Weekday()) + 6) % 7
	return time.Date(t.Year(), t.Month(), t.Day()-wd, 0, 0, 0, 0, t.Location())
}

// rule evaluates one rule at now.
func (e *evaluator) rule(ctx context.Context, r *Rule, now time.Time) ([]Anomaly, error) {
	if r.isDeal() {
		return e.deals(ctx, r, now)
	}
	if tierDetectors[r.Detector] {
		return e.tierService(ctx, r, now)
	}
	end, through, err := e.end(ctx, r.Metric, now)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	if r.Grain == "week" || r.Detector == "trend" {
		end = monday(end)
	}
	lookDays := int(r.Lookback.Hours()/24 + 0.5)
	from := end.AddDate(0, 0, -lookDays)
	if r.Grain == "week" || r.Detector == "trend" {
		from = monday(from)
	}
	var out []Anomaly
	for _, kind := range r.Segments {
		series, err := e.src.Series(ctx, r.Metric, kind, from, end)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		var found []Anomaly
		var segs []SegmentSeries
		for _, s := range series {
			a, ok := e.judge(r, s, end)
			if ok {
				found, segs = append(found, a), append(segs, s)
			}
		}
		keep := benjaminiHochberg(found, len(series), r.alpha)
		for i, a := range found {
			if !keep[i] {
				continue
			}
			s := segs[i]
			e.attribute(&a, s)
			a.DataThrough = through
			if kind == SegAll || kind == SegTeam {
				if err := e.drivers(ctx, r, &a, from, end); err != nil {
					return nil, err
				}
			}
			out = append(out, a)
		}
	}
	return out, nil
}

// benjaminiHochberg controls the false discovery rate at alpha over the m
// segments of a rule's segment kind that were tested: with hundreds of reps,
// each tested at alpha, some would fire by chance every day. The findings with
// a tail probability are kept when p ≤ k/m·alpha for some k at or above their
// rank (Benjamini–Hochberg); findings of detectors that threshold a robust z
// instead (pValue 0) are kept as they are.
func benjaminiHochberg(as []Anomaly, m int, alpha float64) []bool {
	keep := make([]bool, len(as))
	var idx []int
	for i, a := range as {
		if a.pValue > 0 {
			idx = append(idx, i)
		} else {
			keep[i] = true
		}
	}
	if m < len(idx) {
		m = len(idx)
	}
	sort.Slice(idx, func(x, y int) bool { return as[idx[x]].pValue < as[idx[y]].pValue })
	k := 0
	for rank, i := range idx {
		if as[i].pValue <= float64(rank+1)/float64(m)*alpha {
			k = rank + 1
		}
	}
	for _, i := range idx[:k] {
		keep[i] = true
	}
	return keep
}

// attribute fills the labels and routing fields of a segment anomaly.
func (e *evaluator) attribute(a *Anomaly, s SegmentSeries) {
	a.SegmentKind, a.Segment, a.SegmentLabel = s.Kind, s.Key, s.Label
	if a.SegmentLabel == "" {
		a.SegmentLabel = s.Key
	}
	switch s.Kind {
	case SegTeam:
		a.Team = s.Key
	case SegRep:
		a.RepID = s.Key
		if p, ok := e.org.byID()[s.Key]; ok {
			a.Team = p.Team
			a.SegmentLabel = p.Name
		}
	case SegTerritory:
		// A territory covered by one team belongs to that team; else org-wide.
		teams := map[string]bool{}
		for _, p := range e.org.Reps {
			if p.Territory == s.Key && p.Team != "" && p.Role != "director" {
				teams[p.Team] = true
			}
		}
		if len(teams) == 1 {
			for t := range teams {
				a.Team = t
			}
		}
	}
	dir := "up"
	if a.Direction < 0 {
		dir = "down"
	}
	a.Key = strings.Join([]string{a.Rule, a.Metric, a.SegmentKind, a.Segment, dir}, "|")
}

// value is the point's metric value: the sum, the rate or the mean.
func value(metric string, p Point) float64 {
	switch metricKinds[metric] {
	case "rate":
		if p.Den == 0 {
			return math.NaN()
		}
		return p.Num / p.Den
	case "mean":
		if p.Den == 0 {
			return math.NaN()
		}
		return p.Sum / p.Den
	}
	return p.Sum
}

// weekly sums daily points into Monday-based weeks.
func weekly(pts []Point) []Point {
	var out []Point
	for _, p := range pts {
		m := monday(p.Date)
		if len(out) == 0 || !out[len(out)-1].Date.Equal(m) {
			out = append(out, Point{Date: m})
		}
		w := &out[len(out)-1]
		w.Sum += p.Sum
		w.Num += p.Num
		w.Den += p.Den
	}
	return out
}

// fillGaps replaces NaN values (means and rates of empty days) with the last known value.
func fillGaps(v []float64) []float64 {
	out := make([]float64, len(v))
	last := math.NaN()
	for i, x := range v {
		if math.IsNaN(x) {
			x = last
		}
		out[i] = x
		last = x
	}
	// Leading NaNs: the first known value.
	first := math.NaN()
	for _, x := range out {
		if !math.IsNaN(x) {
			first = x
			break
		}
	}
	for i := range out {
		if math.IsNaN(out[i]) {
			out[i] = first
		}
	}
	return out
}

func (r *Rule) allows(dir int) bool {
	return r.Direction == "both" || (r.Direction == "up" && dir > 0) || (r.Direction == "down" && dir < 0)
}

// judge runs the rule's detector on one series; ok says it is anomalous now.
func (e *evaluator) judge(r *Rule, s SegmentSeries, end time.Time) (Anomaly, bool) {
	pts := s.Points
	if r.Grain == "week" {
		pts = weekly(pts)
	}
	if len(pts) == 0 {
		return Anomaly{}, false
	}
	a := Anomaly{Rule: r.Name, Metric: r.Metric, Grain: r.Grain, Detector: r.Detector, To: end}
	chartFrom := end.AddDate(0, 0, -56)
	if r.Grain == "week" || r.Detector == "trend" {
		chartFrom = end.AddDate(0, 0, -7*26)
	}
	a.From = chartFrom
	vals := make([]float64, len(pts))
	for i, p := range pts {
		vals[i] = value(r.Metric, p)
	}
	vals = fillGaps(vals)
	if math.IsNaN(vals[0]) {
		return a, false
	}
	kind := metricKinds[r.Metric]
	expected := make([]float64, len(pts))
	for i := range expected {
		expected[i] = math.NaN()
	}
	found := false
	switch dayDetector(r, kind) {
	case "daily":
		a.pValue, found = e.daily(r, &a, pts, vals, expected, kind)
	case "seasonal":
		if kind == "count" && r.Grain == "day" {
			a.pValue, found = e.countJudge(r, &a, pts, vals, expected)
		} else {
			found = e.seasonal(r, &a, pts, vals, expected, kind)
		}
	case "rate":
		a.pValue, found = rateJudge(r, &a, pts, expected)
	case "level_shift":
		found = e.levelShift(r, &a, pts, vals, expected)
	case "trend":
		w := pts
		if r.Grain != "week" {
			w = weekly(pts)
		}
		wv := make([]float64, len(w))
		for i, p := range w {
			wv[i] = value(r.Metric, p)
		}
		wv = fillGaps(wv)
		found = trendJudge(r, &a, w, wv)
		if found {
			a.Chart = chartOf(w, wv, nil, chartFrom)
			return a, true
		}
		return a, false
	}
	if !found {
		return a, false
	}
	// Four weeks before the anomaly at least, to compare with.
	if c := a.Since.AddDate(0, 0, -28); !a.Since.IsZero() && c.Before(chartFrom) {
		chartFrom = c
	}
	if kind != "count" && kind != "amount" && r.Grain == "day" {
		// A day's rate of a handful of closes jumps between 0 and 100%: the
		// chart draws the last seven days' rate (or mean), day by day.
		vals = rolling(r.Metric, pts, 7)
	}
	a.Chart = chartOf(pts, vals, expected, chartFrom)
	return a, true
}

// rolling is, per day, the metric over the last n days (rates and means:
// their sums divided; days without anything to divide carry the last value).
func rolling(metric string, pts []Point, n int) []float64 {
	out := make([]float64, len(pts))
	for i := range pts {
		var w Point
		for _, p := range pts[max(0, i-n+1) : i+1] {
			w.Sum, w.Num, w.Den = w.Sum+p.Sum, w.Num+p.Num, w.Den+p.Den
		}
		out[i] = value(metric, w)
	}
	return fillGaps(out)
}

func chartOf(pts []Point, vals, expected []float64, from time.Time) []ChartPoint {
	var out []ChartPoint
	for i, p := range pts {
		if p.Date.Before(from) {
			continue
		}
		ex := math.NaN()
		if expected != nil {
			ex = expected[i]
		}
		out = append(out, ChartPoint{Date: p.Date, Actual: vals[i], Expected: ex})
	}
	return out
}

// seasonal flags the recent points far from their seasonal baseline (day grain:
// weekday, month-end, quarter-end and holiday patterns; week grain: the
// median of the previous weeks).
func (e *evaluator) seasonal(r *Rule, a *Anomaly, pts []Point, vals, expected []float64, kind string) bool {
	n := len(pts)
	base := make([]float64, n)
	scale := make([]float64, n)
	ok := make([]bool, n)
	if r.Grain == "day" {
		dp := make([]detect.DailyPoint, n)
		for i, p := range pts {
			dp[i] = detect.DailyPoint{Date: p.Date, Value: vals[i]}
		}
		for i, x := range detect.SeasonalBaseline(dp, e.cal, 8) {
			base[i], scale[i], ok[i] = x.Baseline, x.Scale, x.Support >= 2 && !math.IsNaN(x.Baseline)
		}
	} else {
		for i := range pts {
			if i < 4 {
				continue
			}
			h := append([]float64(nil), vals[max(0, i-12):i]...)
			sort.Float64s(h)
			med := h[len(h)/2]
			if len(h)%2 == 0 {
				med = (h[len(h)/2-1] + h[len(h)/2]) / 2
			}
			dev := make([]float64, len(h))
			for k, x := range h {
				dev[k] = math.Abs(x - med)
			}
			sort.Float64s(dev)
			base[i], scale[i], ok[i] = med, math.Max(1.4826*dev[len(dev)/2], 1e-9), true
		}
	}
	anomalous := func(i int) (int, float64, bool) {
		if !ok[i] {
			return 0, 0, false
		}
		b, s := base[i], scale[i]
		if kind == "count" {
			// Counts are at least Poisson-noisy, whatever the history's spread.
			s = math.Max(s, math.Sqrt(math.Max(b, 1)))
		}
		if s <= 0 {
			return 0, 0, false
		}
		z := (vals[i] - b) / s
		dir := 1
		if z < 0 {
			dir = -1
		}
		if math.Abs(z) < r.zThresh || !r.allows(dir) {
			return dir, z, false
		}
		if math.Max(b, vals[i]) < r.MinVolume || (dir < 0 && b < r.MinVolume) {
			return dir, z, false
		}
		if math.Abs(vals[i]-b) < r.MinChange*math.Abs(b) {
			return dir, z, false
		}
		return dir, z, true
	}
	for i := range expected {
		if ok[i] {
			expected[i] = base[i]
		}
	}
	// The most recent anomalous point in the window is the one reported.
	for i := n - 1; i >= max(0, n-r.Window); i-- {
		dir, z, bad := anomalous(i)
		if !bad {
			continue
		}
		since := i
		for j := i - 1; j >= max(0, i-14); j-- {
			d2, _, b2 := anomalous(j)
			if !b2 || d2 != dir {
				break
			}
			since = j
		}
		a.Direction, a.Score = dir, math.Abs(z)
		a.Actual, a.Expected = vals[i], base[i]
		a.Low, a.High = base[i]-r.zThresh*scale[i], base[i]+r.zThresh*scale[i]
		a.Since = pts[since].Date
		a.Kind = "spike"
		if dir < 0 {
			a.Kind = "drop"
		}
		return true
	}
	if r.Grain != "day" {
		return false
	}
	// A sustained move over the last working days: each day alone is within
	// noise at small volumes, their sum is not.
	const k = 5
	var act, exp, vr float64
	var days []int
	for i := n - 1; i >= 0 && len(days) < k; i-- {
		if !working(e.cal, pts[i].Date) {
			continue
		}
		if !ok[i] {
			return false
		}
		days = append(days, i)
		act += vals[i]
		exp += base[i]
		s := scale[i]
		if kind == "count" {
			s = math.Max(s, math.Sqrt(math.Max(base[i], 1)))
		}
		vr += s * s
	}
	if len(days) < k || vr <= 0 {
		return false
	}
	// The threshold sits one below the single-day one: five days agreeing are
	// stronger evidence than one.
	z := (act - exp) / math.Sqrt(vr*1.5)
	dir := 1
	if z < 0 {
		dir = -1
	}
	thr := math.Max(r.zThresh-1, 2.5)
	if math.Abs(z) < thr || !r.allows(dir) || exp/float64(k) < r.MinVolume/2 || math.Abs(act-exp) < 2*r.MinChange*exp {
		return false
	}
	a.Direction, a.Score = dir, math.Abs(z)
	a.Actual, a.Expected = act/float64(k), exp/float64(k)
	a.Since = pts[days[len(days)-1]].Date
	a.Kind = "spike"
	if dir < 0 {
		a.Kind = "drop"
	}
	return true
}

// levelShift finds a lasting change of level that started within the window.
// Day series are judged on working days only: weekends and holidays would
// look like shifts of their own.
func (e *evaluator) levelShift(r *Rule, a *Anomaly, pts []Point, vals, expected []float64) bool {
	var idx []int
	for i, p := range pts {
		if r.Grain == "week" || working(e.cal, p.Date) {
			idx = append(idx, i)
		}
	}
	xs := make([]float64, len(idx))
	for k, i := range idx {
		xs[k] = vals[i]
	}
	minSeg := 3
	count := metricKinds[r.Metric] == "count"
	z := r.zThresh
	if count {
		// Counts are judged by the count model below: the robust z of a few
		// days of small counts is both too quick (a MAD of three values can be
		// near zero) and too slow (a week of 1s where 5s are usual has a
		// robust z below 2).
		z = 1e-9
	}
	c, ok := detect.LevelShift(xs, minSeg, z)
	if !ok || c.Index < len(xs)-r.Window {
		return false
	}
	dir := 1
	if c.After < c.Before {
		dir = -1
	}
	if !r.allows(dir) || math.Max(c.Before, c.After) < r.MinVolume || math.Abs(c.After-c.Before) < r.MinChange*math.Abs(c.Before) {
		return false
	}
	if count {
		// The days since the shift against the level before, under the count
		// model with the segment's own overdispersion.
		p := countShiftP(r, xs[:c.Index], xs[c.Index:], dir)
		if p > r.alpha {
			return false
		}
		a.pValue = p
	}
	for k, i := range idx {
		if k < c.Index {
			expected[i] = c.Before
		} else {
			expected[i] = c.Before
		}
	}
	a.Kind, a.Direction = "level_shift", dir
	a.Actual, a.Expected, a.Score = c.After, c.Before, c.Score
	a.Since = pts[idx[c.Index]].Date
	return true
}

// countShiftP is the tail probability of the after days' total given the
// before days' mean level and overdispersion, times the candidate starts the
// rule's window allows.
func countShiftP(r *Rule, before, after []float64, dir int) float64 {
	if len(before) < 10 || len(after) == 0 {
		return 1
	}
	var mu float64
	for _, x := range before {
		mu += x
	}
	mu /= float64(len(before))
	exp := make([]float64, len(before))
	for i := range exp {
		exp[i] = mu
	}
	phi := dispersion(before, exp)
	var s float64
	for _, x := range after {
		s += x
	}
	lo, up := detect.CountTail(s, mu*float64(len(after)), phi)
	p := up
	if dir < 0 {
		p = lo
	}
	if r.Direction == "both" {
		p *= 2
	}
	return math.Min(1, p*float64(max(r.Window, 1)))
}

func working(cal detect.Calendar, d time.Time) bool {
	k := d.Format(time.DateOnly)
	if cal.Holidays[k] {
		return false
	}
	if cal.WorkingDays[k] {
		return true
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

// trendJudge finds a break in the weekly trend within the window.
func trendJudge(r *Rule, a *Anomaly, w []Point, vals []float64) bool {
	if len(w) < 8 {
		return false
	}
	c, ok := detect.TrendChange(vals, 4, 0)
	if !ok || c.Index < len(vals)-max(r.Window, 4) {
		return false
	}
	dir := 1
	if c.After < c.Before {
		dir = -1
	}
	level := 0.0
	for _, v := range vals {
		level += v
	}
	level /= float64(len(vals))
	if !r.allows(dir) || level < r.MinVolume {
		return false
	}
	a.Kind, a.Direction = "trend_change", dir
	a.Actual, a.Expected, a.Score = c.After, c.Before, c.Score
	a.Since = w[c.Index].Date
	return true
}

// drivers ranks the segments under a total by how much of its move they made.
func (e *evaluator) drivers(ctx context.Context, r *Rule, a *Anomaly, from, end time.Time) error {
	var kinds []string
	for _, k := range r.Drivers {
		if a.SegmentKind == SegAll && k != SegAll && k != SegRep {
			kinds = append(kinds, k)
		}
		if a.SegmentKind == SegTeam && k == SegRep {
			kinds = append(kinds, k)
		}
	}
	if a.SegmentKind == SegAll && len(kinds) == 0 {
		kinds = []string{SegTeam}
	}
	byID := e.org.byID()
	var all []Driver
	for _, kind := range kinds {
		series, err := e.src.Series(ctx, r.Metric, kind, from, end)
		if err != nil {
			return fmt.Errorf("rule %s drivers: %w", r.Name, err)
		}
		for _, s := range series {
			if kind == SegRep && byID[s.Key].Team != a.Segment {
				continue
			}
			label := s.Label
			if kind == SegRep && byID[s.Key].Name != "" {
				label = byID[s.Key].Name
			}
			d := Driver{Kind: kind, Key: s.Key, Label: label}
			pts := s.Points
			if r.Grain == "week" {
				pts = weekly(pts)
			}
			var bNum, bDen, bSum float64
			var nb int
			for _, p := range pts {
				if p.Date.Before(a.Since) {
					bNum += p.Num
					bDen += p.Den
					bSum += p.Sum
					nb++
				}
			}
			var wNum, wDen, wSum float64
			var nw int
			for _, p := range pts {
				if !p.Date.Before(a.Since) {
					wNum += p.Num
					wDen += p.Den
					wSum += p.Sum
					nw++
				}
			}
			if nb == 0 || nw == 0 {
				continue
			}
			switch metricKinds[r.Metric] {
			case "rate":
				if bDen == 0 {
					continue
				}
				d.Actual, d.Expected, d.Trials = wNum, wDen*bNum/bDen, wDen
			case "mean":
				if bDen == 0 || wDen == 0 {
					continue
				}
				d.Actual, d.Expected = wSum/wDen, bSum/bDen
			default:
				d.Actual, d.Expected = wSum, bSum/float64(nb)*float64(nw)
			}
			d.Delta = d.Actual - d.Expected
			all = append(all, d)
		}
	}
	var total float64
	for _, d := range all {
		if d.Delta*float64(a.Direction) > 0 {
			total += d.Delta
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Delta*float64(a.Direction) > all[j].Delta*float64(a.Direction) })
	for _, d := range all {
		if len(a.Drivers) == 3 || d.Delta*float64(a.Direction) <= 0 {
			break
		}
		if total != 0 {
			d.Share = d.Delta / total
		}
		a.Drivers = append(a.Drivers, d)
	}
	return nil
}

// deals runs a deal rule over the open deals.
func (e *evaluator) deals(ctx context.Context, r *Rule, now time.Time) ([]Anomaly, error) {
	// An export older than a day judges the deals as of its day: a deal is
	// not stuck for the days nobody exported it, nor a push recent because
	// the export is old.
	if end, through, err := e.end(ctx, MetricOppsOpened, now); err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	} else if !through.IsZero() && now.Sub(end) > 24*time.Hour {
		now = end
	}
	deals, err := e.src.Deals(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	norms := map[[2]string]StageNorm{}
	if r.Detector == "stuck_deal" {
		ns, err := e.src.StageNorms(ctx, now)
		if err != nil {
			return nil, fmt.Errorf("rule %s: %w", r.Name, err)
		}
		for _, n := range ns {
			norms[[2]string{n.Team, n.Stage}] = n
		}
	}
	byID := e.org.byID()
	today := dayStart(now, e.loc)
	recent := today.AddDate(0, 0, -r.Window)
	var out []Anomaly
	for i := range deals {
		d := deals[i]
		owner := byID[d.OwnerID]
		a := Anomaly{Rule: r.Name, Metric: r.Metric, Detector: r.Detector, Kind: r.Detector, Grain: "day",
			SegmentKind: SegRep, Segment: d.OwnerID, SegmentLabel: owner.Name, Team: owner.Team, RepID: d.OwnerID, To: today}
		if a.SegmentLabel == "" {
			a.SegmentLabel = d.OwnerID
		}
		found := false
		switch r.Detector {
		case "stuck_deal":
			if d.StageEntered.IsZero() || d.StageEntered.Unix() <= 0 {
				continue
			}
			n, ok := norms[[2]string{owner.Team, d.Stage}]
			if !ok || n.Count < 10 {
				n, ok = norms[[2]string{"", d.Stage}]
			}
			if !ok || n.Count < 10 {
				continue
			}
			days := now.Sub(d.StageEntered).Hours() / 24
			limit := math.Max(n.P90*r.Threshold, 14)
			if days > limit {
				found = true
				a.Actual, a.Expected, a.High = days, n.P50, n.P90
				a.Score, a.Direction = days/math.Max(n.P90, 1), 1
				a.Since = dayStart(d.StageEntered, e.loc)
			}
		case "pushed_close":
			pushes, first, last := 0, time.Time{}, time.Time{}
			for k := 1; k < len(d.SnapClose); k++ {
				if d.SnapClose[k].After(d.SnapClose[k-1]) {
					pushes++
					if first.IsZero() {
						first = d.SnapDates[k]
					}
					last = d.SnapDates[k]
				}
			}
			if float64(pushes) >= r.Threshold && !last.Before(recent) {
				found = true
				a.Actual, a.Expected, a.Score, a.Direction = float64(pushes), 0, float64(pushes), 1
				a.Since = first
			}
		case "amount_cut":
			for k := len(d.SnapAmount) - 1; k >= 1; k-- {
				if d.SnapDates[k].Before(recent) {
					break
				}
				prev := 0.0
				for j := k - 1; j >= max(0, k-4); j-- {
					prev = math.Max(prev, d.SnapAmount[j])
				}
				if prev > 0 && d.SnapAmount[k] < prev*(1-r.Threshold) {
					found = true
					a.Actual, a.Expected, a.Direction = d.SnapAmount[k], prev, -1
					a.Score = 1 - d.SnapAmount[k]/prev
					a.Since = d.SnapDates[k]
					break
				}
			}
		}
		if !found {
			continue
		}
		a.Deal = &deals[i]
		a.From = a.Since.AddDate(0, 0, -28)
		if len(d.SnapDates) > 0 && d.SnapDates[0].Before(a.From) {
			a.From = d.SnapDates[0]
		}
		a.Key = strings.Join([]string{r.Name, "deal", d.ID}, "|")
		for k := range d.SnapDates {
			v := d.SnapAmount[k]
			if r.Detector == "pushed_close" {
				v = float64(d.SnapClose[k].Sub(d.SnapDates[k]).Hours() / 24)
			}
			a.Chart = append(a.Chart, ChartPoint{Date: d.SnapDates[k], Actual: v, Expected: math.NaN()})
		}
		out = append(out, a)
	}
	return out, nil
}
