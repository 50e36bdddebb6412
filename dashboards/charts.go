package dashboards

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/go-echarts/go-echarts/v2/charts"
	"github.com/go-echarts/go-echarts/v2/opts"

	"github.com/pipelens/pipelens/query"
)

// Chart options are built with go-echarts and rendered as JSON into a
// <script type="application/json"> block (see safeJSON), which static/app.js reads
// and hands to ECharts. go-echarts' own Render is not used: it writes the JSON
// into an executable <script> unescaped, and needs inline script.

// palette is shared by all charts: calm blues for volume, green/red for good/bad.
var palette = []string{"#2f6fde", "#19a974", "#f2a541", "#8e5bd8", "#e0585b", "#23a6c9", "#7a8699", "#c95e9e"}

const (
	colGood  = "#19a974"
	colBad   = "#e0585b"
	colMuted = "#c9d3e3"
	colMain  = "#2f6fde"
)

type echartsJSON interface {
	Validate()
	JSON() map[string]interface{}
}

// chartSpec is what app.js reads: options, click links by data name, and value
// formats ("pct", "money", "days", "int") per axis.
type chartSpec struct {
	O     map[string]any    `json:"o"`
	Links map[string]string `json:"links,omitempty"`
	Fmt   map[string]string `json:"fmt,omitempty"`
	Lang  string            `json:"lang"`
	Map   string            `json:"map,omitempty"`
	// Partial names the axis labels whose value is not final (a maturing cohort,
	// a month to date) with the note app.js adds to their tooltip.
	Partial map[string]string `json:"partial,omitempty"`
}

// spec turns a go-echarts chart into a chartView; patch adjusts the plain options
// for what go-echarts cannot say.
func spec(id string, height int, t tr, c echartsJSON, links map[string]string, fmts map[string]string, patch func(o map[string]any)) *chartView {
	return specPartial(id, height, t, c, links, fmts, nil, patch)
}

// specPartial is spec with axis labels whose values are not final (see chartSpec.Partial).
func specPartial(id string, height int, t tr, c echartsJSON, links map[string]string, fmts map[string]string, partial map[string]string, patch func(o map[string]any)) *chartView {
	c.Validate()
	b, err := json.Marshal(c.JSON())
	if err != nil {
		b = []byte("{}")
	}
	var o map[string]any
	_ = json.Unmarshal(b, &o)
	delete(o, "toolbox")
	delete(o, "title")
	o["color"] = palette
	o["animationDuration"] = 400
	if patch != nil {
		patch(o)
	}
	cs := chartSpec{O: o, Links: links, Fmt: fmts, Lang: t.lang, Partial: partial}
	return &chartView{ID: id, Height: height, Spec: safeJSON(cs)}
}

// withLinks is cv with click links by data name (a category, a series point's
// name): a copy, since memoised charts are shared between requests.
func withLinks(cv *chartView, links map[string]string) *chartView {
	if cv == nil || len(links) == 0 {
		return cv
	}
	var cs chartSpec
	if err := json.Unmarshal([]byte(cv.Spec), &cs); err != nil {
		return cv
	}
	if cs.Links == nil {
		cs.Links = map[string]string{}
	}
	for k, v := range links {
		if _, ok := cs.Links[k]; !ok {
			cs.Links[k] = v
		}
	}
	out := *cv
	out.Spec = safeJSON(cs)
	return &out
}

func series(o map[string]any) []any {
	s, _ := o["series"].([]any)
	return s
}

func seriesAt(o map[string]any, i int) map[string]any {
	s := series(o)
	if i < len(s) {
		m, _ := s[i].(map[string]any)
		return m
	}
	return map[string]any{}
}

func grid(left, right, top, bottom string) charts.GlobalOpts {
	return charts.WithGridOpts(opts.Grid{Left: left, Right: right, Top: top, Bottom: bottom, ContainLabel: opts.Bool(true)})
}

// buildSparkline is a small area line without axes; name is the KPI's (translated)
// name, shown in the tooltip. When partial, the last period is not over (a month
// to date): it is drawn as a dashed segment to a hollow point and its tooltip says
// "to date", so a month half gone does not read as a drop.
func buildSparkline(id string, t tr, name string, labels []string, values []float64, partial bool, color, format string) *chartView {
	l := charts.NewLine()
	l.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{Show: opts.Bool(false)}),
		charts.WithYAxisOpts(opts.YAxis{Show: opts.Bool(false), Scale: opts.Bool(true)}),
		charts.WithGridOpts(opts.Grid{Left: "2", Right: "2", Top: "4", Bottom: "2"}),
	)
	partial = partial && len(values) > 1
	data := make([]opts.LineData, len(values))
	rest := make([]opts.LineData, len(values))
	for i, v := range values {
		data[i] = opts.LineData{Value: round(v)}
		rest[i] = opts.LineData{Value: "-"}
	}
	var notes map[string]string
	if partial {
		n := len(values) - 1
		data[n] = opts.LineData{Value: "-"}
		rest[n-1] = opts.LineData{Value: round(values[n-1])}
		rest[n] = opts.LineData{Value: round(values[n]), Symbol: "emptyCircle", SymbolSize: 5}
		notes = map[string]string{labels[n]: t.T("spark.to_date")}
	}
	l.SetXAxis(labels).AddSeries(name, data,
		charts.WithLineChartOpts(opts.LineChart{Smooth: opts.Bool(true), ShowSymbol: opts.Bool(false)}),
		charts.WithLineStyleOpts(opts.LineStyle{Color: color, Width: 2}),
		charts.WithAreaStyleOpts(opts.AreaStyle{Color: color, Opacity: opts.Float(0.12)}),
	)
	if partial {
		l.AddSeries(name, rest,
			charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true)}),
			charts.WithLineStyleOpts(opts.LineStyle{Color: color, Width: 2, Type: "dashed"}),
			charts.WithItemStyleOpts(opts.ItemStyle{Color: color}),
		)
	}
	return specPartial(id, 46, t, l, nil, map[string]string{"y": format}, notes, func(o map[string]any) {
		o["xAxis"].([]any)[0].(map[string]any)["boundaryGap"] = false
		if partial {
			// Only the partial point has a symbol.
			seriesAt(o, 1)["showAllSymbol"] = true
			seriesAt(o, 1)["symbol"] = "none"
		}
	})
}

func round(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return math.Round(v*10000) / 10000
}

// transitions names the stage-to-stage conversions: lead→qualified ... negotiation→won.
func transitions(t tr, stages []string) []string {
	out := make([]string, len(stages))
	for i, s := range stages {
		next := "won"
		if i+1 < len(stages) {
			next = stages[i+1]
		}
		out[i] = t.Stage(s) + "→" + t.Stage(next)
	}
	return out
}

// buildConversionTrend draws each stage-to-stage conversion per period. Periods whose
// cohort is still maturing (incomplete) are drawn dashed with hollow points, in a
// second series of the same name so the legend toggles both.
func buildConversionTrend(id string, t tr, stages []string, periods []query.ConversionPeriod, withWin bool, height int) *chartView {
	l := charts.NewLine()
	l.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0", Type: "scroll"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Min: 0, Max: 1}),
		grid("8", "16", "36", "8"),
	)
	labels := make([]string, len(periods))
	for i, p := range periods {
		labels[i] = p.Period
	}
	l.SetXAxis(labels)
	names := transitions(t, stages)
	lastComplete := -1
	for i, p := range periods {
		if !p.Incomplete {
			lastComplete = i
		}
	}
	add := func(name string, val func(p query.ConversionPeriod) float64) {
		solid := make([]opts.LineData, len(periods))
		dashed := make([]opts.LineData, len(periods))
		for i, p := range periods {
			v := round(val(p))
			if p.Incomplete {
				solid[i] = opts.LineData{Value: "-"}
				dashed[i] = opts.LineData{Value: v, Symbol: "emptyCircle"}
			} else {
				solid[i] = opts.LineData{Value: v}
				dashed[i] = opts.LineData{Value: "-"}
				if i == lastComplete {
					dashed[i] = opts.LineData{Value: v}
				}
			}
		}
		l.AddSeries(name, solid, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true), ConnectNulls: opts.Bool(false)}))
		l.AddSeries(name, dashed, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(true)}), charts.WithLineStyleOpts(opts.LineStyle{Type: "dashed"}))
	}
	for i := range stages {
		i := i
		add(names[i], func(p query.ConversionPeriod) float64 {
			if i < len(p.Stages) {
				return p.Stages[i].Conversion
			}
			return 0
		})
	}
	if withWin {
		add(t.T("stage.lead")+"→"+t.T("stage.won"), func(p query.ConversionPeriod) float64 { return p.WinConversion })
	}
	// The tooltip of a maturing period shows the dashed series' values (app.js
	// takes each name's first value that is drawn) and says the period is maturing.
	notes := map[string]string{}
	for _, p := range periods {
		if p.Incomplete {
			notes[p.Period] = t.T("tip.maturing")
		}
	}
	return specPartial(id, height, t, l, nil, map[string]string{"y": "pct"}, notes, func(o map[string]any) {
		// Pair the colours of each solid/dashed couple.
		for i, s := range series(o) {
			m := s.(map[string]any)
			m["color"] = palette[(i/2)%len(palette)]
			m["symbolSize"] = 6
		}
	})
}

// buildTeamsChart: bookings and target per team (bars) and win rate (line, right axis).
func buildTeamsChart(id string, t tr, names []string, booked, target, winrate []float64) *chartView {
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value"}),
		grid("8", "8", "36", "8"),
	)
	b.ExtendYAxis(opts.YAxis{Type: "value", Min: 0, Max: 1, SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
	bd := make([]opts.BarData, len(names))
	td := make([]opts.BarData, len(names))
	for i := range names {
		bd[i] = opts.BarData{Value: math.Round(booked[i])}
		td[i] = opts.BarData{Value: math.Round(target[i])}
	}
	b.SetXAxis(names).
		AddSeries(t.T("col.bookings"), bd, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain})).
		AddSeries(t.T("col.target"), td, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMuted}))
	l := charts.NewLine()
	wd := make([]opts.LineData, len(names))
	for i := range names {
		wd[i] = opts.LineData{Value: round(winrate[i])}
	}
	l.SetXAxis(names).AddSeries(t.T("col.winrate"), wd, charts.WithLineChartOpts(opts.LineChart{YAxisIndex: 1}), charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[2]}))
	b.Overlap(l)
	return spec(id, 300, t, b, nil, map[string]string{"y": "money", "y1": "pct", "s2": "pct"}, func(o map[string]any) {
		seriesAt(o, 0)["barMaxWidth"] = 36
		seriesAt(o, 1)["barMaxWidth"] = 36
	})
}

// buildHeadroomChart: captured + headroom = potential per territory, largest headroom first.
func buildHeadroomChart(id string, t tr, ts []query.Territory, n int, links map[string]string) *chartView {
	if len(ts) > n {
		ts = ts[:n]
	}
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		grid("8", "16", "36", "8"),
	)
	names := make([]string, len(ts))
	cap := make([]opts.BarData, len(ts))
	head := make([]opts.BarData, len(ts))
	for i := range ts {
		j := len(ts) - 1 - i // largest at the top
		names[j] = ts[i].Territory
		cap[j] = opts.BarData{Value: math.Round(ts[i].Captured)}
		head[j] = opts.BarData{Value: math.Round(math.Max(ts[i].Headroom, 0))}
	}
	b.SetXAxis(names).
		AddSeries(t.T("col.captured"), cap, charts.WithBarChartOpts(opts.BarChart{Stack: "p"}), charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain})).
		AddSeries(t.T("col.headroom"), head, charts.WithBarChartOpts(opts.BarChart{Stack: "p"}), charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[2]}))
	b.XYReversal()
	return spec(id, 60+28*len(ts), t, b, links, map[string]string{"x": "money"}, nil)
}

// buildFunnelChart: reached per stage, then won; clicking a stage drills into it.
func buildFunnelChart(id string, t tr, f query.Funnel, links map[string]string, selected string) *chartView {
	fc := charts.NewFunnel()
	fc.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)
	var data []opts.FunnelData
	for _, s := range f.Stages {
		data = append(data, opts.FunnelData{Name: t.Stage(s.Stage), Value: s.Reached})
	}
	data = append(data, opts.FunnelData{Name: t.Stage("won"), Value: f.Won})
	fc.AddSeries(t.T("col.reached"), data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "inside"}))
	return spec(id, 360, t, fc, links, map[string]string{"v": "int"}, func(o map[string]any) {
		s := seriesAt(o, 0)
		s["sort"] = "none"
		s["gap"] = 3
		s["minSize"] = "12%"
		s["left"] = "8%"
		s["width"] = "84%"
		s["label"] = map[string]any{"show": true, "position": "inside", "formatter": "{b}  {c}", "color": "#fff", "fontWeight": "bold"}
		items := []any{}
		for i, d := range data {
			m := map[string]any{"name": d.Name, "value": d.Value}
			// ECharts prints {c} without thousands separators: the label is the
			// formatted count (stage names are our translations, no braces).
			lbl := map[string]any{"formatter": d.Name + "  " + t.Int(toInt64(d.Value))}
			m["label"] = lbl
			c := palette[0]
			if i == len(data)-1 {
				c = colGood
			}
			op := 1.0 - 0.12*float64(i)
			if selected != "" && d.Name != selected {
				op = 0.3
				lbl["color"], lbl["fontWeight"] = "#1d2533", "normal"
			}
			m["itemStyle"] = map[string]any{"color": c, "opacity": op, "borderColor": "#fff"}
			items = append(items, m)
		}
		s["data"] = items
	})
}

// buildIntervalChart shows one value per name with its 95% interval (a floating bar
// from low to high) and the peer value as a vertical line. Horizontal; clickable.
func buildIntervalChart(id string, t tr, names []string, vals, lows, highs []float64, verdicts []string, peer float64, format string, links map[string]string) *chartView {
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		grid("8", "24", "36", "8"),
	)
	n := len(names)
	base := make([]opts.BarData, n)
	span := make([]opts.BarData, n)
	for i := range names {
		base[i] = opts.BarData{Value: round(lows[i])}
		span[i] = opts.BarData{Value: round(math.Max(highs[i]-lows[i], 0))}
	}
	b.SetXAxis(names).
		AddSeries("low", base, charts.WithBarChartOpts(opts.BarChart{Stack: "ci"}), charts.WithItemStyleOpts(opts.ItemStyle{Color: "transparent"})).
		AddSeries(t.T("col.interval"), span, charts.WithBarChartOpts(opts.BarChart{Stack: "ci"}), charts.WithItemStyleOpts(opts.ItemStyle{Color: "#cfdcf5"}))
	sc := charts.NewScatter()
	sd := make([]opts.ScatterData, n)
	for i := range names {
		sd[i] = opts.ScatterData{Value: round(vals[i]), SymbolSize: 12}
	}
	sc.SetXAxis(names).AddSeries(t.T("col.value"), sd, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain}))
	b.Overlap(sc)
	b.XYReversal()
	return spec(id, 70+30*n, t, b, links, map[string]string{"x": format}, func(o map[string]any) {
		seriesAt(o, 0)["tooltip"] = map[string]any{"show": false}
		seriesAt(o, 0)["silent"] = true
		seriesAt(o, 0)["barWidth"] = "45%"
		if lg, ok := o["legend"].(map[string]any); ok {
			lg["data"] = []string{t.T("col.interval"), t.T("col.value")}
		}
		// The value series follows the category axis, which is y after the reversal.
		s := seriesAt(o, 2)
		pts := make([]any, n)
		for i := range names {
			c := colMain
			switch verdicts[i] {
			case "strength":
				c = colGood
			case "weakness":
				c = colBad
			}
			pts[i] = map[string]any{"value": []any{round(vals[i]), names[i]}, "itemStyle": map[string]any{"color": c}, "name": names[i]}
		}
		s["data"] = pts
		s["symbolSize"] = 12
		s["markLine"] = map[string]any{"symbol": "none", "silent": true, "lineStyle": map[string]any{"color": "#555", "type": "dashed"},
			"label": map[string]any{"formatter": t.T("col.peer")}, "data": []any{map[string]any{"xAxis": round(peer)}}}
	})
}

// buildRadarChart: each metric as rep/peer (inverted when lower is better), capped at 2.
func buildRadarChart(id string, t tr, ms []query.MetricScore) *chartView {
	r := charts.NewRadar()
	var ind []*opts.Indicator
	var rep, peer []float64
	for _, m := range ms {
		if m.N == 0 || m.Peer == 0 || m.Value == 0 {
			continue
		}
		name := t.T("m." + m.Metric)
		if m.Stage != "" {
			name += " · " + t.Stage(m.Stage)
		}
		ratio := m.Value / m.Peer
		if !m.HigherIsBetter {
			ratio = m.Peer / m.Value
		}
		ind = append(ind, &opts.Indicator{Name: name, Min: 0, Max: 2})
		rep = append(rep, round(math.Min(ratio, 2)))
		peer = append(peer, 1)
	}
	if len(ind) == 0 {
		// No metric with a value on both sides: ECharts throws on a radar
		// without indicators and the page's other charts never draw.
		return nil
	}
	r.SetGlobalOptions(
		charts.WithRadarComponentOpts(opts.RadarComponent{Indicator: ind, Shape: "polygon", SplitNumber: 4}),
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
	)
	r.AddSeries(t.T("rp.peers"), []opts.RadarData{{Name: t.T("rp.peers"), Value: peer}}, charts.WithItemStyleOpts(opts.ItemStyle{Color: "#9aa6b8"}), charts.WithLineStyleOpts(opts.LineStyle{Type: "dashed"}))
	r.AddSeries(t.T("rp.rep"), []opts.RadarData{{Name: t.T("rp.rep"), Value: rep}}, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain}), charts.WithAreaStyleOpts(opts.AreaStyle{Opacity: opts.Float(0.25)}))
	return spec(id, 380, t, r, nil, map[string]string{"v": "ratio"}, func(o map[string]any) {
		if rc, ok := o["radar"].(map[string]any); ok {
			rc["radius"] = "62%"
			rc["center"] = []string{"50%", "56%"}
			rc["axisName"] = map[string]any{"color": "#3b4657", "fontSize": 11}
		}
	})
}

// buildBookingsTrend: bookings per period (bars) and win rate (line, right axis).
func buildBookingsTrend(id string, t tr, mv query.Movement) *chartView {
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		grid("8", "8", "36", "8"),
	)
	b.ExtendYAxis(opts.YAxis{Type: "value", Min: 0, Max: 1, SplitLine: &opts.SplitLine{Show: opts.Bool(false)}})
	labels := make([]string, len(mv.Periods))
	bd := make([]opts.BarData, len(mv.Periods))
	wd := make([]opts.LineData, len(mv.Periods))
	for i, p := range mv.Periods {
		labels[i] = p.Period
		bd[i] = opts.BarData{Value: math.Round(p.WonAmount)}
		wr := 0.0
		if p.Won+p.Lost > 0 {
			wr = float64(p.Won) / float64(p.Won+p.Lost)
		}
		wd[i] = opts.LineData{Value: round(wr)}
	}
	b.SetXAxis(labels).AddSeries(t.T("col.bookings"), bd, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain}))
	l := charts.NewLine()
	l.SetXAxis(labels).AddSeries(t.T("col.winrate"), wd, charts.WithLineChartOpts(opts.LineChart{YAxisIndex: 1, Smooth: opts.Bool(true)}), charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[2]}))
	b.Overlap(l)
	return spec(id, 280, t, b, nil, map[string]string{"y": "money", "y1": "pct", "s1": "pct"}, nil)
}

// buildMovementChart: opened, won, lost, pushed out and pulled in per period.
func buildMovementChart(id string, t tr, mv query.Movement) *chartView {
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		grid("8", "8", "36", "8"),
	)
	labels := make([]string, len(mv.Periods))
	get := func(f func(p query.MovementPeriod) int64) []opts.BarData {
		out := make([]opts.BarData, len(mv.Periods))
		for i, p := range mv.Periods {
			labels[i] = p.Period
			out[i] = opts.BarData{Value: f(p)}
		}
		return out
	}
	b.SetXAxis(labels)
	b.AddSeries(t.T("col.opened"), get(func(p query.MovementPeriod) int64 { return p.Opened }), charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain}))
	b.AddSeries(t.T("col.won"), get(func(p query.MovementPeriod) int64 { return p.Won }), charts.WithItemStyleOpts(opts.ItemStyle{Color: colGood}))
	b.AddSeries(t.T("col.lost"), get(func(p query.MovementPeriod) int64 { return p.Lost }), charts.WithItemStyleOpts(opts.ItemStyle{Color: colBad}))
	b.AddSeries(t.T("col.pushed"), get(func(p query.MovementPeriod) int64 { return p.PushedOut }), charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[2]}))
	b.AddSeries(t.T("col.pulled"), get(func(p query.MovementPeriod) int64 { return p.PulledIn }), charts.WithItemStyleOpts(opts.ItemStyle{Color: palette[3]}))
	return spec(id, 300, t, b, nil, map[string]string{"y": "int"}, nil)
}

// buildDaysChart: median and mean days in each stage.
func buildDaysChart(id string, t tr, ds []query.StageDurations) *chartView {
	b := charts.NewBar()
	b.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(true), Top: "0"}),
		grid("8", "8", "36", "8"),
	)
	names := make([]string, len(ds))
	med := make([]opts.BarData, len(ds))
	mean := make([]opts.BarData, len(ds))
	for i, d := range ds {
		names[i] = t.Stage(d.Stage)
		med[i] = opts.BarData{Value: round(d.Median)}
		mean[i] = opts.BarData{Value: round(d.Mean)}
	}
	b.SetXAxis(names).
		AddSeries(t.T("col.median"), med, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain})).
		AddSeries(t.T("col.mean"), mean, charts.WithItemStyleOpts(opts.ItemStyle{Color: colMuted}))
	return spec(id, 300, t, b, nil, map[string]string{"y": "days"}, nil)
}

// buildProvinceMap: penetration per province on the China map (names as in china.js).
func buildProvinceMap(id string, t tr, ts []query.Territory, links map[string]string) *chartView {
	m := charts.NewMap()
	m.RegisterMapType("china")
	var data []opts.MapData
	maxPen := 0.0
	for _, x := range ts {
		data = append(data, opts.MapData{Name: x.Territory, Value: round(x.Penetration)})
		maxPen = math.Max(maxPen, x.Penetration)
	}
	if maxPen == 0 {
		maxPen = 1
	}
	m.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		// Not calculable: its handles print the raw range ("1 / 0") beside the
		// text ends ("55.1% / 0%"); one legend, in percent.
		charts.WithVisualMapOpts(opts.VisualMap{Calculable: opts.Bool(false), Min: 0, Max: float32(maxPen), Left: "8", Bottom: "8",
			InRange: &opts.VisualMapInRange{Color: []string{"#fde9c9", "#f2a541", "#2f6fde"}}}),
	)
	m.AddSeries(t.T("col.penetration"), data)
	return spec(id, 440, t, m, links, map[string]string{"v": "pct"}, func(o map[string]any) {
		s := seriesAt(o, 0)
		s["map"] = "china"
		s["roam"] = false
		s["zoom"] = 1.15
		s["center"] = []float64{105, 36}
		s["itemStyle"] = map[string]any{"areaColor": "#eef1f6", "borderColor": "#fff"}
		s["emphasis"] = map[string]any{"label": map[string]any{"show": true}, "itemStyle": map[string]any{"areaColor": "#8e5bd8"}}
		if vm, ok := o["visualMap"].([]any); ok && len(vm) > 0 {
			vm[0].(map[string]any)["text"] = []string{t.Pct(maxPen), "0%"}
		}
	})
}

// buildPotentialScatter: potential (x) against captured (y), bubble = accounts.
func buildPotentialScatter(id string, t tr, ts []query.Territory, links map[string]string) *chartView {
	s := charts.NewScatter()
	s.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "item"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithXAxisOpts(opts.XAxis{Type: "value", Name: t.T("col.potential")}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Name: t.T("col.captured")}),
		grid("8", "48", "36", "8"),
	)
	maxAcc, maxV := int64(1), 1.0
	for _, x := range ts {
		if x.Accounts > maxAcc {
			maxAcc = x.Accounts
		}
		maxV = math.Max(maxV, math.Max(x.Potential, x.Captured))
	}
	var data []opts.ScatterData
	for _, x := range ts {
		size := 10 + int(30*math.Sqrt(float64(x.Accounts)/float64(maxAcc)))
		data = append(data, opts.ScatterData{Name: x.Territory, Value: []any{math.Round(x.Potential), math.Round(x.Captured)}, SymbolSize: size})
	}
	s.AddSeries(t.T("col.territory"), data, charts.WithLabelOpts(opts.Label{Show: opts.Bool(true), Position: "right", Formatter: "{b}"}),
		charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain, Opacity: opts.Float(0.75)}))
	return spec(id, 440, t, s, links, map[string]string{"x": "money", "y": "money", "v": "pair-money"}, func(o map[string]any) {
		// The diagonal (captured = potential) the subtitle names, as a plain line
		// series: a markLine between coords was not drawn.
		o["series"] = append(series(o), map[string]any{"type": "line", "name": "diagonal", "data": []any{[]float64{0, 0}, []float64{math.Round(maxV), math.Round(maxV)}},
			"symbol": "none", "silent": true, "z": 1, "tooltip": map[string]any{"show": false},
			"lineStyle": map[string]any{"color": "#9aa6b8", "type": "dashed", "width": 1}})
	})
}

// buildHeadroomTreemap: each territory's headroom as an area.
func buildHeadroomTreemap(id string, t tr, ts []query.Territory, links map[string]string) *chartView {
	tm := charts.NewTreeMap()
	tm.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true)}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
	)
	var nodes []opts.TreeMapNode
	for _, x := range ts {
		if x.Headroom <= 0 {
			continue
		}
		nodes = append(nodes, opts.TreeMapNode{Name: x.Territory, Value: int(math.Min(x.Headroom, math.MaxInt32))})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Value > nodes[j].Value })
	tm.AddSeries(t.T("col.headroom"), nodes)
	return spec(id, 440, t, tm, links, map[string]string{"v": "money"}, func(o map[string]any) {
		s := seriesAt(o, 0)
		s["roam"] = false
		s["nodeClick"] = false
		s["breadcrumb"] = map[string]any{"show": false}
		s["label"] = map[string]any{"show": true, "formatter": "{b}"}
		s["width"] = "96%"
		s["height"] = "92%"
		s["top"] = "2%"
	})
}

// seriesStyle is how an alert's series reads: Unit is the value formatter
// (num, money, pct, days), Expected the expected level (NaN: none drawn), Good
// whether the anomaly is good news (the shading's colour).
type seriesStyle struct {
	Unit     string
	Expected float64
	Good     bool
	// ExpectedLabel names the dashed line ("" expected).
	ExpectedLabel string
}

// buildSeriesChart draws an alert's series with the weeks before it for
// context, the expected level as a grey dashed line and the anomalous span
// shaded lightly (red for bad news, green for good).
func buildSeriesChart(id string, t tr, pts []query.Point, since string, st seriesStyle) *chartView {
	l := charts.NewLine()
	l.SetGlobalOptions(
		charts.WithTooltipOpts(opts.Tooltip{Show: opts.Bool(true), Trigger: "axis"}),
		charts.WithLegendOpts(opts.Legend{Show: opts.Bool(false)}),
		charts.WithYAxisOpts(opts.YAxis{Type: "value", Scale: opts.Bool(true)}),
		// Room on the right for the last day's label, which ECharts centres
		// on its tick.
		grid("8", "36", "12", "8"),
	)
	labels := make([]string, len(pts))
	data := make([]opts.LineData, len(pts))
	for i, p := range pts {
		labels[i] = p.Day.Format("2006-01-02")
		v := p.Value
		if st.Unit != "pct" {
			v = round(v)
		}
		data[i] = opts.LineData{Value: v}
	}
	unit := st.Unit
	if unit == "" {
		unit = "num"
	}
	l.SetXAxis(labels).AddSeries(t.T("al.actual"), data, charts.WithLineChartOpts(opts.LineChart{ShowSymbol: opts.Bool(false)}), charts.WithItemStyleOpts(opts.ItemStyle{Color: colMain}))
	return spec(id, 160, t, l, nil, map[string]string{"y": unit, "s0": unit}, func(o map[string]any) {
		s := seriesAt(o, 0)
		if !math.IsNaN(st.Expected) && !math.IsInf(st.Expected, 0) {
			s["markLine"] = map[string]any{"silent": true, "symbol": "none",
				"lineStyle": map[string]any{"color": "#9aa0a6", "type": "dashed"},
				"label":     map[string]any{"formatter": cmp.Or(st.ExpectedLabel, t.T("al.expected")), "position": "insideEndTop"},
				"data":      []any{map[string]any{"yAxis": st.Expected}}}
		}
		if since == "" || len(labels) == 0 {
			return
		}
		shade := "rgba(224,88,91,0.10)"
		if st.Good {
			shade = "rgba(46,160,67,0.10)"
		}
		s["markArea"] = map[string]any{"silent": true, "itemStyle": map[string]any{"color": shade},
			"data": []any{[]any{map[string]any{"xAxis": since}, map[string]any{"xAxis": labels[len(labels)-1]}}}}
	})
}

func itoa(i int) string { return strconv.Itoa(i) }

func toInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int:
		return int64(x)
	case float64:
		return int64(math.Round(x))
	}
	return 0
}

func fmtf(format string, a ...any) string { return fmt.Sprintf(format, a...) }
