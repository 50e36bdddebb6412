package alerts

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// A report's charts: bookings per week, the conversion trend and the funnel,
// drawn as the alert charts are (gonum/plot, PNG, the reader's units through
// unitTicks). Labels on the images are numbers and dates only (no CJK font is
// needed); the HTML names what each chart draws, in the reader's language.

type subChart struct {
	cid, title string
	png        []byte
}

func (d *reportData) charts(lang, subID string) ([]subChart, error) {
	var out []subChart
	add := func(name, title string, p *plot.Plot, err error) error {
		if err != nil || p == nil {
			return err
		}
		b, err := pngOf(p)
		if err != nil {
			return fmt.Errorf("render %s chart: %w", name, err)
		}
		h := sha256.Sum256([]byte(subID + "|" + name))
		out = append(out, subChart{cid: fmt.Sprintf("%s-%s@pipelens", name, hex.EncodeToString(h[:6])), title: title, png: b})
		return nil
	}
	p, u, err := d.bookingsChart(lang)
	unit := u.name
	if unit == "" {
		unit = sw(lang, "unit.money")
	}
	if err := add("bookings", sw(lang, "chart.bookings", unit), p, err); err != nil {
		return nil, err
	}
	p, open, err := d.conversionChart(lang)
	title := sw(lang, "chart.conversion")
	if len(open) > 0 {
		title += " (" + sw(lang, "incomplete", strings.Join(open, ", ")) + ")"
	}
	if err := add("conversion", title, p, err); err != nil {
		return nil, err
	}
	p, legend, err := d.funnelChart(lang)
	if err := add("funnel", sw(lang, "chart.funnel")+legend, p, err); err != nil {
		return nil, err
	}
	return out, nil
}

func pngOf(p *plot.Plot) ([]byte, error) {
	wt, err := p.WriterTo(vg.Points(600), vg.Points(220), "png")
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// bars is a bar chart of vs (already in the axis unit) over the labels.
func bars(labels []string, vs []float64, ticks plot.Ticker) (*plot.Plot, error) {
	p := plot.New()
	p.Add(plotter.NewGrid())
	b, err := plotter.NewBarChart(plotter.Values(vs), vg.Points(float64(300/max(len(vs), 1))))
	if err != nil {
		return nil, err
	}
	b.Color, b.LineStyle.Width = colActual, 0
	p.Add(b)
	p.NominalX(labels...)
	fit(p, len(vs), vs)
	p.Y.Tick.Marker = ticks
	return p, nil
}

// fit leaves half a slot on each side of n nominal slots (the first and last
// bars are not cut) and headroom above the highest value.
func fit(p *plot.Plot, n int, vs []float64) {
	hi := 0.0
	for _, v := range vs {
		hi = max(hi, v)
	}
	if hi <= 0 {
		hi = 1
	}
	p.X.Min, p.X.Max = -0.5, float64(n)-0.5
	p.Y.Min, p.Y.Max = 0, hi*1.1
}

func (d *reportData) bookingsChart(lang string) (*plot.Plot, chartUnit, error) {
	hi := 0.0
	for _, w := range d.weeks.Periods {
		hi = max(hi, w.WonAmount)
	}
	u := unitOf(lang, &Anomaly{Metric: MetricBookings}, hi)
	if len(d.weeks.Periods) < 2 {
		return nil, u, nil
	}
	var labels []string
	var vs []float64
	for _, w := range d.weeks.Periods {
		labels = append(labels, strings.TrimPrefix(w.Period[5:], "0"))
		vs = append(vs, w.WonAmount/u.scale)
	}
	p, err := bars(labels, vs, unitTicks{lang: lang, u: u})
	return p, u, err
}

// conversionChart draws each month's lead-to-won conversion; it returns the
// months whose cohort is still more than 20% open (their rate will rise).
func (d *reportData) conversionChart(lang string) (*plot.Plot, []string, error) {
	if len(d.conv) < 2 {
		return nil, nil, nil
	}
	var labels, open []string
	pts := make(plotter.XYs, 0, len(d.conv))
	var ys []float64
	for i, c := range d.conv {
		m := c.Period[:7]
		labels = append(labels, m)
		if c.Incomplete {
			open = append(open, m)
		}
		pts = append(pts, plotter.XY{X: float64(i), Y: finite(c.WinConversion) * 100})
		ys = append(ys, pts[i].Y)
	}
	p := plot.New()
	p.Add(plotter.NewGrid())
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return nil, nil, err
	}
	l.Color, l.Width = colActual, vg.Points(2)
	s.Color, s.Shape = colActual, draw.CircleGlyph{}
	p.Add(l, s)
	p.NominalX(labels...)
	fit(p, len(labels), ys)
	p.Y.Tick.Marker = unitTicks{lang: lang, u: chartUnit{kind: "rate", scale: 0.01}}
	return p, open, nil
}

// funnelChart draws how many of the period's new opportunities reached each
// stage and won; stages are numbered on the image and named in the legend.
func (d *reportData) funnelChart(lang string) (*plot.Plot, string, error) {
	if d.funnel.Cohort == 0 || len(d.funnel.Stages) == 0 {
		return nil, "", nil
	}
	var labels, names []string
	var vs []float64
	for i, st := range d.funnel.Stages {
		n := strconv.Itoa(i + 1)
		labels, vs = append(labels, n), append(vs, float64(st.Reached))
		names = append(names, n+" "+stageName(lang, st.Stage))
	}
	n := strconv.Itoa(len(labels) + 1)
	labels, vs = append(labels, n), append(vs, float64(d.funnel.Won))
	names = append(names, n+" "+stageName(lang, "won"))
	p, err := bars(labels, vs, unitTicks{lang: lang, u: chartUnit{kind: "count", scale: 1}})
	sep := "; "
	if lang == "zh-CN" {
		sep = "；"
	}
	return p, sep + strings.Join(names, " · "), err
}
