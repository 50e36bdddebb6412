package query

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Activity kinds (KAI: key activity indicators). An activity's type is the
// CRM's word; ActivityKind maps it onto one of these, else KindOther.
const (
	KindVisit    = "visit"
	KindCall     = "call"
	KindMeeting  = "meeting"
	KindProposal = "proposal"
	KindFollowUp = "follow_up"
	KindOther    = "other"
)

// ActivityKinds are the KAI, in the order pages show them.
var ActivityKinds = []string{KindVisit, KindCall, KindMeeting, KindProposal, KindFollowUp}

// activityPatterns decide an activity's kind from its lower-cased type, first
// match wins (so "proposal call" is a proposal, "follow-up call" a follow-up).
// Emails count as follow-ups: on a deal they are the written follow-up. The same
// expressions run in Go (ActivityKind) and in ClickHouse (re2 match), and they
// are documented in METRICS.md.
var activityPatterns = []struct{ kind, re string }{
	{KindProposal, `propos|quot|offer|报价|方案|提案`},
	{KindFollowUp, `follow|跟进|回访|e-?mail|邮件`},
	{KindVisit, `visit|拜访|上门|走访`},
	{KindCall, `call|phone|电话|致电`},
	{KindMeeting, `meet|会议|会面|演示|demo`},
}

var activityRegexps = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(activityPatterns))
	for i, p := range activityPatterns {
		out[i] = regexp.MustCompile(p.re)
	}
	return out
}()

// ActivityKind is the KAI kind of an activity type (the CRM's word).
func ActivityKind(typ string) string {
	t := strings.ToLower(strings.TrimSpace(typ))
	for i, re := range activityRegexps {
		if re.MatchString(t) {
			return activityPatterns[i].kind
		}
	}
	return KindOther
}

// activityKindSQL is ActivityKind in SQL over the column col.
func activityKindSQL(col string) string {
	var b strings.Builder
	b.WriteString("multiIf(")
	for _, p := range activityPatterns {
		fmt.Fprintf(&b, "match(lower(%s), %s), %s, ", col, quote(p.re), quote(p.kind))
	}
	b.WriteString(quote(KindOther) + ")")
	return b.String()
}

// targetMetricKind maps a targets row's metric onto a kind: activity targets
// are set per rep or team like bookings targets, with metric visits, calls,
// meetings, proposals or follow_ups (the singular is accepted too).
var targetMetricKind = map[string]string{
	"visits": KindVisit, "visit": KindVisit, "calls": KindCall, "call": KindCall,
	"meetings": KindMeeting, "meeting": KindMeeting, "proposals": KindProposal, "proposal": KindProposal,
	"follow_ups": KindFollowUp, "follow_up": KindFollowUp, "followups": KindFollowUp,
}

// KAI is one rep's (or the team's) activities over the range.
type KAI struct {
	RepID string `json:"rep_id,omitempty"`
	Name  string `json:"name,omitempty"`
	Team  string `json:"team,omitempty"`
	// Counts is activities per kind in [from, to), other included.
	Counts map[string]int64 `json:"counts"`
	Total  int64            `json:"total"`
	// PerWeek is Counts / weeks of the range.
	PerWeek map[string]float64 `json:"per_week"`
	// Targets is the activity target per week by kind, where one is set;
	// Attainment = PerWeek / Targets.
	Targets    map[string]float64 `json:"targets_per_week"`
	Attainment map[string]float64 `json:"attainment"`
}

// ActivityWeek is the team's activities of one week (Monday first).
type ActivityWeek struct {
	Week    string           `json:"week"`
	Partial bool             `json:"partial"`
	Counts  map[string]int64 `json:"counts"`
}

// StageActivity relates one kind of activity to one stage's conversion: of the
// cohort's deals that reached the stage, those with an activity of the kind
// while they were in it (With) against those without (Without).
type StageActivity struct {
	Stage     string  `json:"stage"`
	Kind      string  `json:"kind"`
	WithN     int64   `json:"with_n"`
	WithConv  float64 `json:"with_conversion"`
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	OtherN    int64   `json:"without_n"`
	OtherConv float64 `json:"without_conversion"`
	// Verdict is "higher" or "lower" when With's interval clears Without's
	// conversion by MinEffect, else "" (too few deals or no clear difference).
	Verdict string `json:"verdict,omitempty"`
}

// Activity is the KAI answer: per rep and for the whole selection, the weekly
// series, and how each kind of activity relates to each stage's conversion.
type Activity struct {
	From   string          `json:"from"`
	To     string          `json:"to"`
	Weeks  float64         `json:"weeks"`
	Kinds  []string        `json:"kinds"`
	Total  KAI             `json:"total"`
	Reps   []KAI           `json:"reps"`
	Weekly []ActivityWeek  `json:"weekly"`
	Stages []StageActivity `json:"stages"`
}

// Activity computes the KAI over [from, to) for the reps the filter and scope
// select (see METRICS.md, "Activity indicators"), with the activities before
// stage moves. Activities belong to their rep: product, source and segment do
// not apply and are refused.
func (s *Service) Activity(ctx context.Context, sc Scope, f Filter) (Activity, error) {
	out, err := s.ActivityCounts(ctx, sc, f)
	if err != nil {
		return out, err
	}
	f, _ = s.scope(sc, f)
	out.Stages, err = s.stageActivity(ctx, f)
	return out, err
}

// ActivityCounts is Activity without Stages (the activities before stage
// moves): what the team's comparison on a scorecard needs.
func (s *Service) ActivityCounts(ctx context.Context, sc Scope, f Filter) (Activity, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return Activity{}, err
	}
	if err := notApplicable("activities", f, "product", "source", "segment"); err != nil {
		return Activity{}, err
	}
	reps, err := s.repDims(ctx)
	if err != nil {
		return Activity{}, err
	}
	weeks := f.To.Sub(f.From).Hours() / (24 * 7)
	out := Activity{From: day(f.From), To: day(f.To), Weeks: weeks, Kinds: append([]string(nil), ActivityKinds...), Reps: []KAI{}}
	counts, weekly, err := s.activityByKind(ctx, f)
	if err != nil {
		return out, err
	}
	targets, err := s.activityTargets(ctx, f)
	if err != nil {
		return out, err
	}
	out.Total = newKAI("", "", "")
	teams, seen := map[string]bool{}, map[string]bool{}
	for _, r := range reps {
		if !r.visible(f) {
			continue
		}
		c := counts[r.id]
		if c == nil && r.role != "rep" {
			continue
		}
		k := newKAI(r.id, r.name, r.team)
		for kind, n := range c {
			k.Counts[kind] += n
			out.Total.Counts[kind] += n
		}
		k.finish(weeks, targets["rep|"+r.id])
		out.Reps = append(out.Reps, k)
		teams[r.team] = true
		seen[r.id] = true
	}
	// Activities of a rep id the reps export does not list still count (only
	// selections without a team, manager or territory reach them).
	var unknown []string
	for id := range counts {
		if !seen[id] {
			unknown = append(unknown, id)
		}
	}
	sort.Strings(unknown)
	for _, id := range unknown {
		k := newKAI(id, "", "")
		for kind, n := range counts[id] {
			k.Counts[kind] += n
			out.Total.Counts[kind] += n
		}
		k.finish(weeks, targets["rep|"+id])
		out.Reps = append(out.Reps, k)
	}
	// The selection's target per kind: each team's own target of the kind, else
	// the sum of its reps' targets of the kind.
	tot := map[string]float64{}
	for team := range teams {
		for _, kind := range ActivityKinds {
			if v, ok := targets["team|"+team][kind]; ok {
				tot[kind] += v
				continue
			}
			for _, k := range out.Reps {
				if k.Team == team {
					tot[kind] += k.Targets[kind]
				}
			}
		}
	}
	out.Total.finish(weeks, tot)
	out.Weekly = weeklyRows(f, weekly)
	return out, nil
}

func newKAI(id, name, team string) KAI {
	k := KAI{RepID: id, Name: name, Team: team, Counts: map[string]int64{}, PerWeek: map[string]float64{},
		Targets: map[string]float64{}, Attainment: map[string]float64{}}
	for _, kind := range append(ActivityKinds, KindOther) {
		k.Counts[kind] = 0
	}
	return k
}

func (k *KAI) finish(weeks float64, targets map[string]float64) {
	k.Total = 0
	for kind, n := range k.Counts {
		k.Total += n
		k.PerWeek[kind] = ratio(float64(n), weeks)
	}
	for kind, t := range targets {
		if t > 0 {
			k.Targets[kind] = t
			k.Attainment[kind] = k.PerWeek[kind] / t
		}
	}
}

// activityByKind counts the activities of the selected reps in [from, to) per
// rep and kind, and per week (Monday) and kind for the whole selection.
func (s *Service) activityByKind(ctx context.Context, f Filter) (map[string]map[string]int64, map[string]map[string]int64, error) {
	acts := latest("activities", "activity_id", "activity_id, type, rep_id AS owner_id, occurred_at")
	reps := latest("reps", "rep_id", "rep_id AS owner_id, team, manager_id, territory")
	tbl := "(SELECT owner_id, team, manager_id, territory, " + activityKindSQL("type") + " AS kind, toDate(occurred_at, " + s.tz + ") AS d FROM " +
		acts + " AS a GLOBAL ALL LEFT JOIN " + reps + " AS r USING owner_id)"
	var c cond
	dateRange(&c, "d", f)
	ownerDims(&c, f)
	c.in("territory", f.Territory)
	byRep := map[string]map[string]int64{}
	byWeek := map[string]map[string]int64{}
	q := "SELECT owner_id, toMonday(d) AS w, kind, count() FROM " + tbl + c.where() + " GROUP BY owner_id, w, kind"
	err := s.query(ctx, "activity-kinds", q, c.args, func(r driverRows) error {
		var id, kind string
		var w time.Time
		var n uint64
		if err := r.Scan(&id, &w, &kind, &n); err != nil {
			return err
		}
		add := func(m map[string]map[string]int64, key string) {
			if m[key] == nil {
				m[key] = map[string]int64{}
			}
			m[key][kind] += int64(n)
		}
		add(byRep, id)
		add(byWeek, w.Format(time.DateOnly))
		return nil
	})
	return byRep, byWeek, err
}

// weeklyRows is every week (Monday) that meets [from, to), zero-filled.
func weeklyRows(f Filter, weekly map[string]map[string]int64) []ActivityWeek {
	out := []ActivityWeek{}
	start := f.From
	for start.Weekday() != time.Monday {
		start = start.AddDate(0, 0, -1)
	}
	for w := start; w.Before(f.To); w = w.AddDate(0, 0, 7) {
		row := ActivityWeek{Week: day(w), Partial: w.Before(f.From) || w.AddDate(0, 0, 7).After(f.To), Counts: map[string]int64{}}
		for _, kind := range append(ActivityKinds, KindOther) {
			row.Counts[kind] = weekly[day(w)][kind]
		}
		out = append(out, row)
	}
	return out
}

// activityTargets is the activity target per week by "rep|id" or "team|name"
// and kind: each target's amount over its period's weeks; where several
// periods overlap the range, their weekly rates weighted by the days they
// overlap it.
func (s *Service) activityTargets(ctx context.Context, f Filter) (map[string]map[string]float64, error) {
	var metrics []string
	for m := range targetMetricKind {
		metrics = append(metrics, m)
	}
	sort.Strings(metrics)
	var c cond
	c.in("metric", metrics)
	c.add("scope IN ('rep', 'team') AND period_start < toDate(?) AND period_end > toDate(?)", day(f.To), day(f.From))
	q := "SELECT scope, scope_id, metric, period_start, period_end, amount FROM " +
		latest("targets", "scope, scope_id, metric, period_start", "scope, scope_id, metric, period_start, period_end, amount") + c.where()
	type acc struct{ rate, days float64 }
	sums := map[string]map[string]*acc{}
	err := s.query(ctx, "activity-targets", q, c.args, func(r driverRows) error {
		var scope, id, metric string
		var ps, pe time.Time
		var amount float64
		if err := r.Scan(&scope, &id, &metric, &ps, &pe, &amount); err != nil {
			return err
		}
		days := pe.Sub(ps).Hours() / 24
		if days <= 0 {
			return nil
		}
		lo, hi := maxTime(ps, kaiDate(f.From)), minTime(pe, kaiDate(f.To))
		overlap := hi.Sub(lo).Hours() / 24
		if overlap <= 0 {
			return nil
		}
		key, kind := scope+"|"+id, targetMetricKind[metric]
		if sums[key] == nil {
			sums[key] = map[string]*acc{}
		}
		a := sums[key][kind]
		if a == nil {
			a = &acc{}
			sums[key][kind] = a
		}
		a.rate += amount / (days / 7) * overlap
		a.days += overlap
		return nil
	})
	out := map[string]map[string]float64{}
	for key, m := range sums {
		out[key] = map[string]float64{}
		for kind, a := range m {
			out[key][kind] = a.rate / a.days
		}
	}
	return out, err
}

// kaiDate is t's calendar date at UTC midnight (ClickHouse Dates scan as UTC).
func kaiDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// stageActivity relates activities to stage conversions over the funnel cohort
// (opportunities created in [from, to) of the selected owners): a deal that
// reached stage i is "with" kind c when an activity of kind c on it happened
// while it was in stage i (from entering it, the creation for the first stage,
// to leaving it; a stage skipped has none).
func (s *Service) stageActivity(ctx context.Context, f Filter) ([]StageActivity, error) {
	k := len(s.stages)
	var c cond
	dateRange(&c, "created_date", f)
	dims(&c, f, "")
	// Only the cohort's activities are read (GLOBAL: opp_facts whole, whatever
	// the shards of activities).
	acts := "(SELECT opportunity_id, groupArray((occurred_at, kind)) AS acts FROM (SELECT opportunity_id, occurred_at, " + activityKindSQL("type") + " AS kind FROM " +
		latest("activities", "activity_id", "activity_id, type, opportunity_id, occurred_at") +
		" WHERE opportunity_id != '' AND opportunity_id GLOBAL IN (SELECT opportunity_id FROM opp_facts" + c.prewhere() + ")) GROUP BY opportunity_id)"
	const far = "toDateTime(4102444800)"
	// No lambda captures a column here: 18.16 does not resolve a column captured
	// by a lambda after a join. Each deal's activities are unrolled (LEFT ARRAY
	// JOIN keeps deals without any) and flagged per stage and kind with plain
	// expressions, then folded back per deal.
	var spans, flags, cols []string
	for i := 1; i <= k; i++ {
		enter := fmt.Sprintf("if(entered[%d] > toDateTime(0), entered[%d], %s)", i, i, far)
		if i == 1 {
			enter = "if(entered[1] > toDateTime(0), entered[1], created_at)"
		}
		exit := fmt.Sprintf("if(exited[%d] > toDateTime(0), exited[%d], %s)", i, i, far)
		spans = append(spans, fmt.Sprintf("%s AS e%d, %s AS x%d", enter, i, exit, i))
		cols = append(cols, fmt.Sprintf("countIf(furthest >= %d)", i), fmt.Sprintf("countIf(furthest >= %d)", i+1))
		for j, kind := range ActivityKinds {
			flags = append(flags, fmt.Sprintf("max(toUInt8(kind = %s AND t >= e%d AND t < x%d)) AS h%d_%d", quote(kind), i, i, i, j))
			cols = append(cols, fmt.Sprintf("countIf(furthest >= %d AND h%d_%d = 1)", i, i, j), fmt.Sprintf("countIf(furthest >= %d AND h%d_%d = 1)", i+1, i, j))
		}
	}
	cohort := "(SELECT opportunity_id, furthest, " + strings.Join(spans, ", ") + " FROM opp_facts" + c.prewhere() + ")"
	joined := "(SELECT * FROM " + cohort + " AS o GLOBAL ALL LEFT JOIN " + acts + " AS a USING opportunity_id)"
	perDeal := "(SELECT opportunity_id, max(furthest) AS furthest, " + strings.Join(flags, ", ") +
		" FROM (SELECT *, ac.1 AS t, ac.2 AS kind FROM " + joined + " LEFT ARRAY JOIN acts AS ac) GROUP BY opportunity_id)"
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + perDeal
	vals := make([]uint64, len(cols))
	args := append(append([]any{}, c.args...), c.args...)
	err := s.query(ctx, "activity-stages", q, args, func(r driverRows) error {
		dst := make([]any, len(vals))
		for i := range vals {
			dst[i] = &vals[i]
		}
		return r.Scan(dst...)
	})
	if err != nil {
		return nil, err
	}
	var out []StageActivity
	per := 2 + 2*len(ActivityKinds)
	for i := range k {
		base := vals[i*per : (i+1)*per]
		n, x := float64(base[0]), float64(base[1])
		for j, kind := range ActivityKinds {
			wn, wx := float64(base[2+2*j]), float64(base[3+2*j])
			out = append(out, stageRelation(s.stages[i], kind, wn, wx, n-wn, x-wx))
		}
	}
	return out, nil
}

// stageRelation compares the conversion of deals with an activity (wn reached,
// wx converted) with those without (on, ox): With's interval is the
// scorecard's beta-binomial one, pulled towards Without's rate, and a verdict
// needs it to clear that rate by MinEffect, as a scorecard claim does.
func stageRelation(stage, kind string, wn, wx, on, ox float64) StageActivity {
	sa := StageActivity{Stage: stage, Kind: kind, WithN: int64(wn), WithConv: ratio(wx, wn), OtherN: int64(on), OtherConv: ratio(ox, on)}
	if wn == 0 || on == 0 {
		return sa
	}
	sa.Low, sa.High = betaInterval(wx, wn, sa.OtherConv)
	switch {
	case sa.Low > sa.OtherConv*(1+MinEffect):
		sa.Verdict = "higher"
	case sa.High < sa.OtherConv*(1-MinEffect):
		sa.Verdict = "lower"
	}
	return sa
}
