package query

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Metric is one entry of the metric registry: what a daily metric means, how
// it is computed, what it can be cut by and which way is good. The alert
// engine, its emails, the Alerts page, /api/v1/series and /api/v1/anomalies all
// read metrics through it (METRICS.md, "Metric registry").
type Metric struct {
	Name string `json:"name"`
	// Definition says in one sentence what a day's value counts.
	Definition   string `json:"definition"`
	DefinitionZH string `json:"definition_zh"`
	// Unit: count, amount (reporting currency), rate (a share 0..1) or days.
	Unit string `json:"unit"`
	// Combine says how days add up to a week or a range: sum, or ratio (the
	// sum of Num over the sum of Den: rates and means).
	Combine        string `json:"combine"`
	HigherIsBetter bool   `json:"higher_is_better"`
	// SegmentKinds the metric can be cut by; "all" is the one total.
	SegmentKinds []string `json:"segment_kinds"`
	// Source is the export the metric is computed from; its last loaded day
	// ends the series an evaluation may judge (LastLoadedDay).
	Source string `json:"source"`
	// Aliases are the older names /api/v1/series accepted for it.
	Aliases []string `json:"aliases,omitempty"`

	from      string // facts (opp_facts), closed (opp_closes by close date), exits, leads, activities
	num, den  string // SQL aggregates: the day's value (or numerator) and denominator
	dimsApply []string
	// cube is num and den from team_days' (or dim_days') sums of a day, for
	// the metrics those hold (cubeSeries); nil for the others.
	cube func(*teamSums) (num, den float64)
}

// cubeCreated and cubeClosed are the cube columns of the cohort's and the
// closed deals' metrics (den is the SQL's count()).
func cubeCreated(num func(*teamSums) float64) func(*teamSums) (float64, float64) {
	return func(a *teamSums) (float64, float64) { return num(a), float64(a.created) }
}

func cubeClosed(num func(*teamSums) float64) func(*teamSums) (float64, float64) {
	return func(a *teamSums) (float64, float64) { return num(a), float64(a.won + a.lost) }
}

// Segment kinds of the registry.
var (
	oppKinds  = []string{"all", "team", "manager", "rep", "territory", "product", "source", "segment"}
	leadKinds = []string{"all", "team", "manager", "rep", "territory", "source"}
	actKinds  = []string{"all", "team", "manager", "rep", "territory"}
)

// stayDays is the days of a stage stay of opp_facts' entered/exited pair (the
// same expression as DaysInStage).
const stayDays = "(toFloat64(toUInt32(ex)) - toFloat64(toUInt32(en))) / 86400"

// registry holds each metric once.
var registry = []Metric{
	{Name: "leads", Definition: "Leads created that day (the lead owner's team, manager and territory; the lead's territory, else its owner's).",
		DefinitionZH: "当日新建的线索数（按线索负责人的团队、经理和区域；区域取线索自身的，没有则取负责人的）。",
		Unit:         "count", Combine: "sum", HigherIsBetter: true, SegmentKinds: leadKinds, Source: "leads",
		from: "leads", num: "sum(leads)"},
	{Name: "opportunities_opened", Aliases: []string{"opportunities"},
		Definition:   "Opportunities created that day.",
		DefinitionZH: "当日新建的商机数。",
		Unit:         "count", Combine: "sum", HigherIsBetter: true, SegmentKinds: oppKinds, Source: "opportunities",
		from: "facts", num: "count()", cube: cubeCreated(func(a *teamSums) float64 { return float64(a.created) })},
	{Name: "pipeline_created", Definition: "Amount of the opportunities created that day.",
		DefinitionZH: "当日新建商机的金额合计。",
		Unit:         "amount", Combine: "sum", HigherIsBetter: true, SegmentKinds: oppKinds, Source: "opportunities",
		from: "facts", num: "sum(amount)", cube: cubeCreated(func(a *teamSums) float64 { return a.createdAmount })},
	{Name: "bookings", Definition: "Amount won, by close date.",
		DefinitionZH: "按关闭日期计的赢单金额。",
		Unit:         "amount", Combine: "sum", HigherIsBetter: true, SegmentKinds: oppKinds, Source: "opportunities",
		from: "closed", num: "sumIf(amount, won = 1)", cube: cubeClosed(func(a *teamSums) float64 { return a.wonAmount })},
	{Name: "deals_won", Aliases: []string{"won"}, Definition: "Opportunities won, by close date.",
		DefinitionZH: "按关闭日期计的赢单数。",
		Unit:         "count", Combine: "sum", HigherIsBetter: true, SegmentKinds: oppKinds, Source: "opportunities",
		from: "closed", num: "countIf(won = 1)", cube: cubeClosed(func(a *teamSums) float64 { return float64(a.won) })},
	{Name: "deals_lost", Aliases: []string{"lost"}, Definition: "Opportunities lost, by close date.",
		DefinitionZH: "按关闭日期计的输单数。",
		Unit:         "count", Combine: "sum", HigherIsBetter: false, SegmentKinds: oppKinds, Source: "opportunities",
		from: "closed", num: "countIf(won = 0)", cube: cubeClosed(func(a *teamSums) float64 { return float64(a.lost) })},
	{Name: "win_rate", Definition: "Won / (won + lost) of the opportunities closed that day, by count.",
		DefinitionZH: "当日关闭的商机中赢单所占比例：赢单 /（赢单 + 输单），按个数。",
		Unit:         "rate", Combine: "ratio", HigherIsBetter: true, SegmentKinds: oppKinds, Source: "opportunities",
		from: "closed", num: "countIf(won = 1)", den: "count()", cube: cubeClosed(func(a *teamSums) float64 { return float64(a.won) })},
	{Name: "stage_conversion", Definition: "Of the stage stays that ended that day (the deal left an open stage), the share whose deal reached a later stage (or won).",
		DefinitionZH: "当日结束的阶段停留中（商机离开某一进行中阶段），商机进入了后续阶段（或赢单）的比例。",
		Unit:         "rate", Combine: "ratio", HigherIsBetter: true, SegmentKinds: oppKinds, Source: "opportunities",
		from: "exits", num: "countIf(furthest > rk)", den: "count()"},
	{Name: "days_in_stage", Definition: "Mean days in stage of the stage stays that ended that day (entering an open stage to the next stage change or close).",
		DefinitionZH: "当日结束的阶段停留的平均天数（从进入进行中阶段到下一次阶段变化或关闭）。",
		Unit:         "days", Combine: "ratio", HigherIsBetter: false, SegmentKinds: oppKinds, Source: "opportunities",
		from: "exits", num: "sum(" + stayDays + ")", den: "count()"},
	{Name: "activities", Definition: "Activities (calls, visits, meetings, emails) logged that day, by their rep.",
		DefinitionZH: "当日记录的活动数（电话、拜访、会议、邮件），按活动所属销售。",
		Unit:         "count", Combine: "sum", HigherIsBetter: true, SegmentKinds: actKinds, Source: "activities",
		from: "activities", num: "count()"},
}

// Metrics is the registry, sorted by name.
func Metrics() []Metric {
	out := append([]Metric(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// MetricNames is the registry's names, sorted.
func MetricNames() []string {
	var out []string
	for _, m := range Metrics() {
		out = append(out, m.Name)
	}
	return out
}

// LookupMetric finds a metric by name or alias; an unknown name is a bad
// parameter naming the known ones.
func LookupMetric(name string) (Metric, error) {
	for _, m := range registry {
		if m.Name == name {
			return m, nil
		}
		for _, a := range m.Aliases {
			if a == name {
				return m, nil
			}
		}
	}
	return Metric{}, badParam("metric", "%q: want one of %s", name, strings.Join(MetricNames(), ", "))
}

// Allows says whether the metric can be cut by kind ("" is "all").
func (m Metric) Allows(kind string) bool {
	if kind == "" {
		kind = "all"
	}
	for _, k := range m.SegmentKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// Value is a day's (or a period's) value from its numerator and denominator:
// the sum itself, or Num/Den for a ratio (ok false when Den is 0).
func (m Metric) Value(num, den float64) (float64, bool) {
	if m.Combine != "ratio" {
		return num, true
	}
	if den == 0 {
		return 0, false
	}
	return num / den, true
}

// seriesSQL is the statement of m's daily series over f cut by seg (a
// groupExpr key), with columns g, d, num, den; c collects its conditions.
func (s *Service) seriesSQL(m Metric, seg string, f Filter, c *cond) string {
	den := m.den
	if den == "" {
		den = "count()"
	}
	agg := "toFloat64(" + m.num + "), toFloat64(" + den + ")"
	switch m.from {
	case "facts":
		dateRange(c, "created_date", f)
		dims(c, f, "")
		return "SELECT " + seg + " AS g, created_date AS d, " + agg + " FROM opp_facts" + c.prewhere() + " GROUP BY g, d"
	case "closed":
		c.add("closed = 1")
		dateRange(c, "close_date", f)
		dims(c, f, "")
		// The closed deals of opp_closes (closes.go), read by close date.
		return "SELECT " + seg + " AS g, close_date AS d, " + agg + " FROM opp_closes" + c.prewhere() + " GROUP BY g, d"
	case "exits":
		// A stay is dated by the day it ended; open stages only (rk 1..k).
		c.add("ex > toDateTime(0)")
		c.add("toDate(ex, "+s.tz+") >= toDate(?) AND toDate(ex, "+s.tz+") < toDate(?)", day(f.From), day(f.To))
		dims(c, f, "")
		return "SELECT " + seg + " AS g, toDate(ex, " + s.tz + ") AS d, " + agg +
			" FROM opp_facts ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk" + c.where() + " GROUP BY g, d"
	case "leads":
		return leadsSeriesSQL(seg, agg, f, c)
	case "activities":
		acts := latest("activities", "activity_id", "activity_id, rep_id AS owner_id, occurred_at")
		reps := latest("reps", "rep_id", "rep_id AS owner_id, team, manager_id, territory")
		tbl := "(SELECT owner_id, team, manager_id, territory, toDate(occurred_at, " + s.tz + ") AS created_date FROM " + acts + " AS a GLOBAL ALL LEFT JOIN " + reps + " AS r USING owner_id)"
		dateRange(c, "created_date", f)
		ownerDims(c, f)
		c.in("territory", f.Territory)
		return "SELECT " + seg + " AS g, created_date AS d, " + agg + " FROM " + tbl + c.where() + " GROUP BY g, d"
	}
	panic("metric " + m.Name + ": unknown source " + m.from)
}

// filtersOf says which filters a metric of source from can take: leads take no
// product or segment, activities no product, source or segment.
func filtersRefused(m Metric) []string {
	switch m.from {
	case "leads":
		return []string{"product", "segment"}
	case "activities":
		return []string{"product", "source", "segment"}
	}
	return nil
}

// LastLoadedDay is the last business day the published data of a metric's
// source covers: the latest day an opportunity was created or closed
// (opportunities), a lead created (leads) or an activity logged (activities),
// not after today. The alert engine judges a metric's days up to it only: days
// after the last export are not drops. ok is false when the source is empty.
func (s *Service) LastLoadedDay(ctx context.Context, source string) (day time.Time, ok bool, err error) {
	today := time.Now().In(s.loc).Format(time.DateOnly)
	var q string
	switch source {
	case "opportunities":
		q = "SELECT toString(max(greatest(created_date, if(closed = 1, close_date, toDate('1970-01-01'))))), count() FROM opp_facts WHERE " + tokFacts +
			" AND created_date <= toDate('" + today + "')"
	case "leads":
		q = lastLeadDaySQL(today)
	case "activities":
		q = "SELECT toString(max(toDate(occurred_at, " + s.tz + "))), count() FROM " + latest("activities", "activity_id", "activity_id, occurred_at") +
			" WHERE toDate(occurred_at, " + s.tz + ") <= toDate('" + today + "')"
	default:
		return time.Time{}, false, badParam("source", "%q: want opportunities, leads or activities", source)
	}
	var txt string
	var n uint64
	err = s.query(ctx, "last-loaded-"+source, q, nil, func(r driverRows) error { return r.Scan(&txt, &n) })
	if err != nil || n == 0 {
		return time.Time{}, false, err
	}
	if txt > today {
		txt = today
	}
	d, err := time.ParseInLocation(time.DateOnly, txt, s.loc)
	if err != nil {
		return time.Time{}, false, err
	}
	return d, true, nil
}
