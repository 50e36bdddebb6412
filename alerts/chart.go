package alerts

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

var (
	colActual   = color.RGBA{R: 0x1f, G: 0x6f, B: 0xd1, A: 0xff}
	colExpected = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	colSince    = color.RGBA{R: 0xe0, G: 0x4f, B: 0x3c, A: 0x30}
)

// renderChart draws an anomaly's series as a PNG: actual (blue), expected
// (grey, dashed) and the anomalous stretch shaded red. Labels are dates and
// numbers only, so the chart reads the same in every language and needs no CJK
// font.
func renderChart(a *Anomaly) ([]byte, error) {
	if len(a.Chart) < 2 {
		return nil, nil
	}
	p := plot.New()
	p.X.Tick.Marker = plot.TimeTicks{Format: "01-02"}
	p.Y.Tick.Marker = humanTicks{}
	p.Add(plotter.NewGrid())
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
		return nil, nil
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	if !a.Since.IsZero() {
		x0 := float64(a.Since.Unix())
		x1 := act[len(act)-1].X
		if x1 <= x0 {
			x1 = x0 + 86400
		}
		poly, err := plotter.NewPolygon(plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}})
		if err == nil {
			poly.Color = colSince
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
	}
	if len(exp) >= 2 {
		l, err := plotter.NewLine(exp)
		if err != nil {
			return nil, fmt.Errorf("chart expected line: %w", err)
		}
		l.Color = colExpected
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
	}
	l, err := plotter.NewLine(act)
	if err != nil {
		return nil, fmt.Errorf("chart actual line: %w", err)
	}
	l.Color = colActual
	l.Width = vg.Points(2)
	p.Add(l)
	p.Y.Min, p.Y.Max = lo, hi*1.05
	wt, err := p.WriterTo(vg.Points(600), vg.Points(220), "png")
	if err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	return buf.Bytes(), nil
}

// humanTicks labels the y axis with short numbers (12k, 3.4M).
type humanTicks struct{}

func (humanTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = shortNumber(ts[i].Value)
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
