package alerts

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Good says whether an anomaly is good news: more of a count, an amount or a
// rate is good, more days in a stage is not, and a deal alert (stuck, pushed,
// cut) is always bad news whatever its direction. Colours follow this, not
// the arrow: a green ▲ on a stuck deal reads as "all is well".
func Good(metric, kind string, direction int) bool {
	if dealDetectors[kind] || tierDetectors[kind] {
		return false
	}
	if metric == MetricDaysInStage {
		return direction < 0
	}
	return direction > 0
}

// FormatValue formats a value of metric in lang by its unit: rates as
// percentages, amounts compactly as the dashboards do (52.3k / 1.2M; 5.2万 /
// 1.2亿), counts with thousands separators, days with one decimal and their unit.
func FormatValue(lang, metric string, v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	switch metricKinds[metric] {
	case "rate":
		return strconv.FormatFloat(v*100, 'f', 1, 64) + "%"
	case "mean":
		// Days, as the pages write them.
		if lang == "zh-CN" {
			return strconv.FormatFloat(v, 'f', 1, 64) + " 天"
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " d"
	case "amount":
		return money(lang, v)
	}
	if v == math.Trunc(v) {
		return groupThousands(v)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

// money is dashboards' tr.Money (TestAlertValuesFormatAsPages in dashboards
// keeps the two in step: alerts cannot import dashboards).
func money(lang string, v float64) string {
	neg := ""
	if v < 0 {
		neg, v = "-", -v
	}
	f := func(v float64, prec int) string {
		s := strconv.FormatFloat(v, 'f', prec, 64)
		if strings.Contains(s, ".") {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
		return s
	}
	if lang == "zh-CN" {
		switch {
		case v >= 1e8:
			return neg + f(v/1e8, 2) + "亿"
		case v >= 1e4:
			return neg + f(v/1e4, 1) + "万"
		}
		return neg + strconv.FormatFloat(v, 'f', 0, 64)
	}
	switch {
	case v >= 1e9:
		return neg + f(v/1e9, 2) + "B"
	case v >= 1e6:
		return neg + f(v/1e6, 2) + "M"
	case v >= 1e3:
		return neg + f(v/1e3, 1) + "k"
	}
	return neg + strconv.FormatFloat(v, 'f', 0, 64)
}

// valueMetric is the metric whose unit an event's actual and expected values
// have: a deal alert's are days in stage, pushes or an amount.
func valueMetric(metric, kind string) string {
	switch kind {
	case "stuck_deal":
		return MetricDaysInStage
	case "pushed_close":
		return MetricDealsWon // a count
	case "amount_cut":
		return MetricBookings // an amount
	case "tier_service":
		return MetricDealsWon // accounts, a count
	}
	return metric
}

// FormatEventValue formats an event's actual or expected value in lang.
func FormatEventValue(lang string, e Event, v float64) string {
	return FormatValue(lang, valueMetric(e.Metric, e.Kind), v)
}

// MetricName is the metric's (or a deal alert's) name in lang.
func MetricName(lang, metric, kind string) string {
	if dealDetectors[kind] || tierDetectors[kind] {
		return tr(lang, "dealkind."+kind)
	}
	return tr(lang, "m."+metric)
}

// SegmentName is the event's segment in lang ("Whole organisation" for all).
func SegmentName(lang string, e Event) string {
	if e.SegmentKind == SegAll || e.SegmentKind == "" || e.SegmentLabel == "" {
		return tr(lang, "seg.all")
	}
	return e.SegmentLabel
}

// Describe is the event's one-line summary in lang. The stored Summary is
// written once, in English; a deal alert's names its kind, its deal (from
// the stored summary) and the deal's owner.
func Describe(lang string, e Event) string {
	if name := dealName(e); name != "" {
		return tr(lang, "dealkind."+e.Kind) + " · " + name + " · " + e.SegmentLabel
	}
	if dealDetectors[e.Kind] || tierDetectors[e.Kind] {
		return tr(lang, "dealkind."+e.Kind) + " · " + e.SegmentLabel
	}
	a := Anomaly{Metric: e.Metric, Grain: e.Grain, Kind: e.Kind, Direction: e.Direction, Actual: e.Actual, Expected: e.Expected,
		SegmentKind: e.SegmentKind, Segment: e.Segment, SegmentLabel: e.SegmentLabel, Since: e.Since}
	return buildItem(lang, &a, linker{}).short
}

// DriverSentences explains the event's drivers in lang, one sentence each (as
// its email does).
func DriverSentences(lang string, e Event) []string {
	a := Anomaly{Metric: e.Metric, Kind: e.Kind, Direction: e.Direction}
	var out []string
	if tierDetectors[e.Kind] {
		for _, d := range e.Drivers {
			out = append(out, tierAccountLine(lang, d)+".")
		}
		return out
	}
	for _, d := range e.Drivers {
		out = append(out, driverSentence(lang, &a, d))
	}
	return out
}

// AccountAlert says whether events of kind are about accounts (tier_service):
// they have no daily series to draw; their drivers are the accounts.
func AccountAlert(kind string) bool { return tierDetectors[kind] }

// dealName is a deal alert's deal name, from its stored Summary: fillEvent
// writes the English title (which holds no " · "), " · " and the name.
func dealName(e Event) string {
	if !dealDetectors[e.Kind] {
		return ""
	}
	_, name, _ := strings.Cut(e.Summary, " · ")
	return name
}

// DealID is the deal a deal alert (stuck, pushed, cut) is about, from its
// key (rule|deal|id); "" for any other event.
func DealID(e Event) string {
	if !dealDetectors[e.Kind] {
		return ""
	}
	if i := strings.LastIndex(e.Key, "|deal|"); i >= 0 {
		return e.Key[i+len("|deal|"):]
	}
	return ""
}

// dayAfter is the start of the day after t's day (an exclusive range end).
func dayAfter(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, t.Location())
}
