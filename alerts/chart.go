package alerts

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var (
	colActual   = color.NRGBA{R: 0x1f, G: 0x6f, B: 0xd1, A: 0xff}
	colExpected = color.NRGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	colBand     = color.NRGBA{R: 0x88, G: 0x88, B: 0x88, A: 0x30}
	// The anomalous span, lightly: red for bad news, green for good. (NRGBA:
	// a premultiplied RGBA with a low alpha and high red drew it dark and
	// opaque.)
	colBad  color.Color = color.NRGBA{R: 0xe0, G: 0x4f, B: 0x3c, A: 0x2a}
	colGood color.Color = color.NRGBA{R: 0x2e, G: 0xa0, B: 0x43, A: 0x2a}
)

// chartUnit is how an anomaly's chart values read: rates as %, amounts in k/M
// (en) or 万/亿 (zh-CN, scaled: the axis shows the number of 万 and the caption
// names the unit, so the PNG needs no CJK font), days, counts.
type chartUnit struct {
	kind  string  // rate, amount, days, count
	scale float64 // the axis shows value/scale
	name  string  // the unit as the caption names it ("" when the ticks say it)
}

func unitOf(lang string, a *Anomaly, hi float64) chartUnit {
	kind := metricKinds[valueMetric(a.Metric, a.Kind)]
	switch {
	case a.Kind == "pushed_close":
		return chartUnit{kind: "days", scale: 1, name: tr(lang, "unit.days_to_close")}
	case a.Kind == "amount_cut" || a.Kind == "stuck_deal":
		kind = "amount" // a deal's chart is its amount in each export
	case kind == "mean":
		return chartUnit{kind: "days", scale: 1, name: tr(lang, "unit.days")}
	}
	switch kind {
	case "rate":
		return chartUnit{kind: "rate", scale: 0.01}
	case "amount":
		if lang == "zh-CN" {
			if hi >= 1e8 {
				return chartUnit{kind: "amount", scale: 1e8, name: tr(lang, "unit.yi")}
			}
			if hi >= 1e4 {
				return chartUnit{kind: "amount", scale: 1e4, name: tr(lang, "unit.wan")}
			}
		}
		return chartUnit{kind: "amount", scale: 1}
	}
	return chartUnit{kind: "count", scale: 1, name: tr(lang, "unit.count")}
}

// renderChart draws an anomaly's series as a PNG in the reader's units: the
// weeks before the anomaly for context, actual (blue), expected (grey,
// dashed) with its band when known, and the anomalous span shaded lightly in
// the colour of its news. It returns the caption that says what is drawn (and
// the unit when the ticks cannot). Labels on the image are dates and numbers
// only, so it needs no CJK font.
func renderChart(lang string, a *Anomaly) ([]byte, string, error) {
	if len(a.Chart) < 2 {
		return nil, "", nil
	}
	var act, exp plotter.XYs
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range a.Chart {
		x := float64(c.Date.Unix())
		if !math.IsNaN(c.Actual) {
			act = append(act, plotter.XY{X: x, Y: c.Actual})
			lo, hi = math.Min(lo, c.Actual), math.Max(hi, c.Actual)
		}
		if !math.IsNaN(c.Expected) {
			exp = append(exp, plotter.XY{X: x, Y: c.Expected})
			lo, hi = math.Min(lo, c.Expected), math.Max(hi, c.Expected)
		}
	}
	if len(act) < 2 {
		return nil, "", nil
	}
	// The band: the expected range around the expected line, when the
	// detector gave one (rates: the old rate's interval at the new volume).
	half := 0.0
	if a.High > a.Low && a.Deal == nil && len(exp) >= 2 {
		half = (a.High - a.Low) / 2
		for _, e := range exp {
			lo, hi = math.Min(lo, e.Y-half), math.Max(hi, e.Y+half)
		}
	}
	u := unitOf(lang, a, math.Max(math.Abs(hi), math.Abs(lo)))
	scale := func(xs plotter.XYs) plotter.XYs {
		out := make(plotter.XYs, len(xs))
		for i, p := range xs {
			out[i] = plotter.XY{X: p.X, Y: p.Y / u.scale}
		}
		return out
	}
	act, exp = scale(act), scale(exp)
	lo, hi, half = lo/u.scale, hi/u.scale, half/u.scale
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	hi *= 1.05
	p := plot.New()
	p.X.Tick.Marker = plot.TimeTicks{Format: "01-02"}
	p.Y.Tick.Marker = unitTicks{lang: lang, u: u}
	p.Add(plotter.NewGrid())
	shaded := false
	if !a.Since.IsZero() {
		x0 := math.Max(float64(a.Since.Unix()), act[0].X)
		x1 := act[len(act)-1].X
		if x1 <= x0 {
			x1 = x0 + 86400
		}
		col := colBad
		if Good(a.Metric, a.Kind, a.Direction) {
			col = colGood
		}
		if poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}}); err == nil {
			poly.Color = col
			poly.LineStyle.Width = 0
			p.Add(poly)
			shaded = true
		}
	}
	band := false
	if half > 0 {
		pts := make(plotter.XYs, 0, 2*len(exp))
		for _, e := range exp {
			pts = append(pts, plotter.XY{X: e.X, Y: math.Max(e.Y-half, lo)})
		}
		for i := len(exp) - 1; i >= 0; i-- {
			pts = append(pts, plotter.XY{X: exp[i].X, Y: math.Min(exp[i].Y+half, hi)})
		}
		if poly, err := plotter.NewPolygon(pts); err == nil {
			poly.Color = colBand
			poly.LineStyle.Width = 0
			p.Add(poly)
			band = true
		}
	}
	expDrawn := false
	if len(exp) >= 2 {
		l, err := plotter.NewLine(exp)
		if err != nil {
			return nil, "", fmt.Errorf("chart expected line: %w", err)
		}
		l.Color = colExpected
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		expDrawn = true
	}
	l, err := plotter.NewLine(act)
	if err != nil {
		return nil, "", fmt.Errorf("chart actual line: %w", err)
	}
	l.Color = colActual
	l.Width = vg.Points(2)
	p.Add(l)
	p.Y.Min, p.Y.Max = lo, hi
	wt, err := p.WriterTo(vg.Points(600), vg.Points(220), "png")
	if err != nil {
		return nil, "", fmt.Errorf("render chart: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("render chart: %w", err)
	}
	return buf.Bytes(), chartCaption(lang, a, u, expDrawn, band, shaded), nil
}

// chartCaption says what the chart draws, only what it draws.
func chartCaption(lang string, a *Anomaly, u chartUnit, exp, band, shaded bool) string {
	what := tr(lang, "cap.actual")
	switch {
	case a.Kind == "pushed_close":
		what = tr(lang, "cap.pushed")
	case a.Kind == "amount_cut" || a.Kind == "stuck_deal":
		what = tr(lang, "cap.amount")
	case metricKinds[a.Metric] == "rate" || metricKinds[a.Metric] == "mean":
		if a.Grain == "day" {
			what = tr(lang, "cap.rolling")
		}
	}
	s := what
	if u.name != "" {
		s += tr(lang, "cap.unit", u.name)
	}
	if exp {
		s += tr(lang, "cap.sep") + tr(lang, "cap.expected")
	}
	if band {
		s += tr(lang, "cap.sep") + tr(lang, "cap.band")
	}
	if shaded {
		if Good(a.Metric, a.Kind, a.Direction) {
			s += tr(lang, "cap.sep") + tr(lang, "cap.shaded_good")
		} else {
			s += tr(lang, "cap.sep") + tr(lang, "cap.shaded_bad")
		}
	}
	return s + tr(lang, "cap.end")
}

// unitTicks labels the y axis in the chart's unit: 12%, 52.3k / 1.2M (en),
// plain numbers of 万 or 亿 (zh-CN, the caption names the unit), counts and days.
type unitTicks struct {
	lang string
	u    chartUnit
}

func (t unitTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label == "" {
			continue
		}
		v := ts[i].Value
		switch {
		case t.u.kind == "rate":
			ts[i].Label = trimZero(strconv.FormatFloat(v, 'f', 1, 64)) + "%"
		case t.u.kind == "amount" && t.u.scale == 1:
			ts[i].Label = money(t.lang, v)
		default:
			ts[i].Label = shortNumber(v)
		}
	}
	return ts
}

func shortNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", v/1e9)) + "B"
	case a >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case a >= 1e4:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	case a >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case a >= 1:
		return trimZero(fmt.Sprintf("%.1f", v))
	}
	return trimZero(fmt.Sprintf("%.2f", v))
}

func trimZero(s string) string {
	if len(s) > 2 && s[len(s)-2:] == ".0" {
		return s[:len(s)-2]
	}
	return s
}
