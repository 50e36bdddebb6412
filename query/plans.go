package query

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Plan states and review verdicts (METRICS.md, "Coaching plans").
const (
	PlanOpen     = "open"
	PlanReviewed = "reviewed"

	VerdictImproved = "improved"
	VerdictNotYet   = "not_yet"
	VerdictTooFew   = "too_few"
)

// PlanMetrics are the scorecard metrics a plan can track (MetricScore.Metric);
// conversion and days_in_stage need a stage.
var PlanMetrics = []string{"conversion", "win_rate", "deal_size", "cycle_time", "days_in_stage", "activities_per_week"}

// Plan is a coaching plan: from a weakness of a rep's scorecard, the metric to
// improve, its baseline, the goal, the actions and the review date.
type Plan struct {
	ID        string `json:"plan_id"`
	RepID     string `json:"rep_id"`
	RepName   string `json:"rep_name"`
	Team      string `json:"team"`
	ManagerID string `json:"manager_id"`
	CreatedBy string `json:"created_by"`
	Metric    string `json:"metric"`
	Stage     string `json:"stage,omitempty"`
	// Baseline is the metric over [BaselineFrom, BaselineTo) when the plan was
	// recorded (BaselineN: the count behind it).
	Baseline       float64   `json:"baseline"`
	BaselineN      int64     `json:"baseline_n"`
	BaselineFrom   string    `json:"baseline_from"`
	BaselineTo     string    `json:"baseline_to"`
	Goal           float64   `json:"goal"`
	HigherIsBetter bool      `json:"higher_is_better"`
	Actions        string    `json:"actions"`
	Start          string    `json:"start_date"`
	Review         string    `json:"review_date"`
	Status         string    `json:"status"`
	CreatedAt      time.Time `json:"created_at"`
	// Result is the review's (status reviewed): the metric over [start, review).
	Result     *PlanCheck `json:"result,omitempty"`
	ReviewedAt *time.Time `json:"reviewed_at,omitempty"`
	// Progress is the metric from the start to today (PlanProgress fills it).
	Progress *PlanCheck `json:"progress,omitempty"`
}

// PlanCheck is the tracked metric over [From, To) judged against the plan.
type PlanCheck struct {
	From  string  `json:"from"`
	To    string  `json:"to"`
	Value float64 `json:"value"`
	N     int64   `json:"n"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	// Verdict: improved (the interval clears the baseline on the better side),
	// not_yet, or too_few (under MinMeanCount, or an interval that holds both
	// the baseline and the goal).
	Verdict string `json:"verdict"`
	GoalMet bool   `json:"goal_met"`
	// Share is how much of the way from baseline to goal Value has come (1 =
	// goal reached; negative = worse than the baseline).
	Share  float64 `json:"share"`
	NextEN string  `json:"next_step_en"`
	NextZH string  `json:"next_step_zh"`
}

// PlanInput is what a manager records.
type PlanInput struct {
	RepID   string  `json:"rep_id"`
	Metric  string  `json:"metric"`
	Stage   string  `json:"stage"`
	Goal    float64 `json:"goal"`
	Actions string  `json:"actions"`
	Review  string  `json:"review_date"`
	// The baseline's range (default: the DefaultDays before today).
	BaselineFrom string `json:"baseline_from"`
	BaselineTo   string `json:"baseline_to"`
}

const planCols = `plan_id, rep_id, team, manager_id, created_by, metric, stage, baseline, baseline_n, baseline_from, baseline_to, goal,
    actions, start_date, review_date, status, verdict, result, result_n, result_low, result_high, reviewed_at, created_at, version`

// CreatePlan records a plan for a rep in the caller's scope: managers (for
// their team), directors and admins; a rep cannot. The baseline is read from
// the rep's scorecard (Rep) over the baseline range; today is now's date in
// the business zone and the plan is tracked from it.
func (s *Service) CreatePlan(ctx context.Context, sc Scope, in PlanInput, now time.Time) (Plan, error) {
	if sc.Role == RoleRep {
		return Plan{}, fmt.Errorf("%w: a rep cannot record coaching plans", ErrForbidden)
	}
	if strings.TrimSpace(in.RepID) == "" {
		return Plan{}, badParam("rep_id", "is required")
	}
	if err := s.CheckRep(ctx, sc, in.RepID); err != nil {
		return Plan{}, err
	}
	if err := s.checkPlanMetric(in.Metric, in.Stage); err != nil {
		return Plan{}, err
	}
	actions := strings.TrimSpace(in.Actions)
	if actions == "" {
		return Plan{}, badParam("actions", "say what the rep will do differently")
	}
	if utf8.RuneCountInString(actions) > 2000 {
		return Plan{}, badParam("actions", "%d characters: at most 2000", utf8.RuneCountInString(actions))
	}
	today := planDate(now, s.loc)
	review, err := time.ParseInLocation(time.DateOnly, strings.TrimSpace(in.Review), s.loc)
	if err != nil {
		return Plan{}, badParam("review_date", "%q is not a date: want YYYY-MM-DD", in.Review)
	}
	if !review.After(today) {
		return Plan{}, badParam("review_date", "%s is not after today %s", day(review), day(today))
	}
	if review.After(today.AddDate(1, 0, 0)) {
		return Plan{}, badParam("review_date", "%s is more than a year away", day(review))
	}
	bf, bt, err := s.baselineRange(in, today)
	if err != nil {
		return Plan{}, err
	}
	dim, err := s.repDim(ctx, in.RepID)
	if err != nil {
		return Plan{}, err
	}
	base, err := s.planMetric(ctx, dim.team, in.RepID, in.Metric, in.Stage, bf, bt)
	if err != nil {
		return Plan{}, err
	}
	if math.IsNaN(in.Goal) || math.IsInf(in.Goal, 0) || in.Goal < 0 {
		return Plan{}, badParam("goal", "want a number of 0 or more")
	}
	better := in.Goal > base.Value
	if !base.HigherIsBetter {
		better = in.Goal < base.Value
	}
	if !better {
		return Plan{}, badParam("goal", "%s is not better than the baseline %s", planNum(in.Goal), planNum(base.Value))
	}
	p := Plan{ID: newPlanID(), RepID: in.RepID, RepName: dim.name, Team: dim.team, ManagerID: dim.manager, CreatedBy: sc.Name,
		Metric: in.Metric, Stage: in.Stage, Baseline: base.Value, BaselineN: base.N, BaselineFrom: day(bf), BaselineTo: day(bt),
		Goal: in.Goal, HigherIsBetter: base.HigherIsBetter, Actions: actions, Start: day(today), Review: day(review), Status: PlanOpen,
		CreatedAt: now.UTC().Truncate(time.Second)}
	return p, s.writePlan(ctx, p)
}

func planNum(v float64) string { return fmt.Sprintf("%.4g", v) }

func (s *Service) checkPlanMetric(metric, stage string) error {
	if !has(PlanMetrics, metric) {
		return badParam("metric", "%q: want one of %s", metric, strings.Join(PlanMetrics, ", "))
	}
	needs := metric == "conversion" || metric == "days_in_stage"
	switch {
	case needs && !has(s.stages, stage):
		return badParam("stage", "%q: %s needs one of the stages %s", stage, metric, strings.Join(s.stages, ", "))
	case !needs && stage != "":
		return badParam("stage", "%s has no stage (got %q)", metric, stage)
	}
	return nil
}

func (s *Service) baselineRange(in PlanInput, today time.Time) (time.Time, time.Time, error) {
	bt := today.AddDate(0, 0, 1)
	bf := bt.AddDate(0, 0, -DefaultDays)
	var err error
	if in.BaselineTo != "" {
		if bt, err = time.ParseInLocation(time.DateOnly, in.BaselineTo, s.loc); err != nil {
			return bf, bt, badParam("baseline_to", "%q is not a date: want YYYY-MM-DD", in.BaselineTo)
		}
		bf = bt.AddDate(0, 0, -DefaultDays)
	}
	if in.BaselineFrom != "" {
		if bf, err = time.ParseInLocation(time.DateOnly, in.BaselineFrom, s.loc); err != nil {
			return bf, bt, badParam("baseline_from", "%q is not a date: want YYYY-MM-DD", in.BaselineFrom)
		}
	}
	if !bf.Before(bt) {
		return bf, bt, badParam("baseline_to", "%s is not after baseline_from %s", day(bt), day(bf))
	}
	return bf, bt, nil
}

func (s *Service) repDim(ctx context.Context, id string) (repDim, error) {
	reps, err := s.repDims(ctx)
	if err != nil {
		return repDim{}, err
	}
	for _, r := range reps {
		if r.id == id {
			return r, nil
		}
	}
	return repDim{}, fmt.Errorf("%w: rep %q", ErrNotFound, id)
}

// planMetric reads the tracked metric from the rep's scorecard over [from,
// to), against the rep's team: the same numbers whoever asks.
func (s *Service) planMetric(ctx context.Context, team, rep, metric, stage string, from, to time.Time) (MetricScore, error) {
	f := Filter{From: from, To: to}
	if team != "" {
		f.Team = []string{team}
	}
	rs, err := s.Rep(ctx, Unrestricted, f, rep)
	if err != nil {
		return MetricScore{}, err
	}
	for _, m := range rs.Metrics {
		if m.Metric == metric && m.Stage == stage {
			return m, nil
		}
	}
	// A metric the scorecard could not compute (no peers for activities): no data.
	return MetricScore{Metric: metric, Stage: stage, HigherIsBetter: metric != "cycle_time" && metric != "days_in_stage"}, nil
}

// check is the plan's metric over [from, to) judged against it.
func (s *Service) check(ctx context.Context, p Plan, from, to time.Time) (*PlanCheck, error) {
	if !from.Before(to) {
		to = from.AddDate(0, 0, 1)
	}
	m, err := s.planMetric(ctx, p.Team, p.RepID, p.Metric, p.Stage, from, to)
	if err != nil {
		return nil, err
	}
	c := JudgePlan(p, m)
	c.From, c.To = day(from), day(to)
	return &c, nil
}

// JudgePlan judges a tracked metric's value m against the plan's baseline and
// goal. improved: the interval's pessimistic end is better than the baseline;
// too_few: fewer than MinMeanCount deals (or values), no interval, or an
// interval that holds both the baseline and the goal (the data cannot tell);
// not_yet otherwise (the interval rules the goal out and shows no improvement).
func JudgePlan(p Plan, m MetricScore) PlanCheck {
	c := PlanCheck{Value: m.Value, N: m.N, Low: m.Low, High: m.High}
	better := func(a, b float64) bool {
		if p.HigherIsBetter {
			return a > b
		}
		return a < b
	}
	pess, opt := m.Low, m.High
	if !p.HigherIsBetter {
		pess, opt = m.High, m.Low
	}
	in := func(v float64) bool { return m.Low <= v && v <= m.High }
	switch {
	case m.N < MinMeanCount || (m.Low == 0 && m.High == 0):
		c.Verdict = VerdictTooFew
	case better(pess, p.Baseline):
		c.Verdict = VerdictImproved
	case in(p.Baseline) && in(p.Goal):
		c.Verdict = VerdictTooFew
	default:
		c.Verdict = VerdictNotYet
	}
	_ = opt
	c.GoalMet = m.N > 0 && !better(p.Goal, m.Value)
	if d := p.Goal - p.Baseline; d != 0 && m.N > 0 {
		c.Share = (m.Value - p.Baseline) / d
	}
	c.NextEN, c.NextZH = nextStep(c)
	return c
}

// nextStep is the suggestion the review email and pages give, in English and
// Chinese.
func nextStep(c PlanCheck) (en, zh string) {
	switch {
	case c.Verdict == VerdictImproved && c.GoalMet:
		return "Goal reached: close this plan and pick the next weakness from the scorecard.",
			"已达成目标：关闭此计划，从记分卡中选择下一个待改进项。"
	case c.Verdict == VerdictImproved:
		return "Improving, not yet at the goal: keep the actions and review again in four weeks.",
			"正在改善但尚未达到目标：保持当前行动，四周后再复盘。"
	case c.Verdict == VerdictNotYet:
		return "No improvement yet: change the actions (review the lost deals together, join the rep's next customer meetings) and review again in four weeks.",
			"尚无改善：调整行动（一起复盘丢单、陪同参加下一次客户会面），四周后再复盘。"
	}
	return "Too few deals to tell: keep the plan and extend the review by four weeks so that more deals count.",
		"商机太少，尚无法判断：保持计划，将复盘日期延后四周以积累更多商机。"
}

// Plans lists the plans the caller may see, newest first: a manager the own
// team's, a rep the own; rep and status ("" for all) narrow it.
func (s *Service) Plans(ctx context.Context, sc Scope, rep, status string) ([]Plan, error) {
	var c cond
	switch sc.Role {
	case RoleDirector, RoleAdmin:
	case RoleManager:
		if sc.Team == "" {
			return nil, fmt.Errorf("%w: manager %q has no team", ErrForbidden, sc.Name)
		}
		c.add("team = ?", sc.Team)
	case RoleRep:
		if sc.Rep == "" {
			return nil, fmt.Errorf("%w: rep scope %q names no rep", ErrForbidden, sc.Name)
		}
		if rep != "" && rep != sc.Rep {
			return nil, fmt.Errorf("%w: rep %q is not %s", ErrForbidden, rep, sc.Name)
		}
		c.add("rep_id = ?", sc.Rep)
	default:
		return nil, fmt.Errorf("%w: unknown role %q", ErrForbidden, sc.Role)
	}
	if rep != "" {
		c.add("rep_id = ?", rep)
	}
	switch status {
	case "":
	case PlanOpen, PlanReviewed:
		c.add("status = ?", status)
	default:
		return nil, badParam("status", "%q: want open or reviewed", status)
	}
	return s.readPlans(ctx, c)
}

// Plan is one plan in the caller's scope, with its progress to today.
func (s *Service) Plan(ctx context.Context, sc Scope, id string, now time.Time) (Plan, error) {
	ps, err := s.Plans(ctx, sc, "", "")
	if err != nil {
		return Plan{}, err
	}
	for _, p := range ps {
		if p.ID == id {
			err := s.PlanProgress(ctx, &p, now)
			return p, err
		}
	}
	return Plan{}, fmt.Errorf("%w: plan %q", ErrNotFound, id)
}

// PlanProgress fills p.Progress: the metric from the plan's start to today
// (now's date included), or to the review date once it has passed.
func (s *Service) PlanProgress(ctx context.Context, p *Plan, now time.Time) error {
	from, err := time.ParseInLocation(time.DateOnly, p.Start, s.loc)
	if err != nil {
		return fmt.Errorf("plan %s start %q: %w", p.ID, p.Start, err)
	}
	to := planDate(now, s.loc).AddDate(0, 0, 1)
	if rv, err := time.ParseInLocation(time.DateOnly, p.Review, s.loc); err == nil && rv.Before(to) {
		to = rv
	}
	p.Progress, err = s.check(ctx, *p, from, to)
	return err
}

// DuePlans are the open plans whose review date has come by now (all scopes:
// the review step of the alert schedule).
func (s *Service) DuePlans(ctx context.Context, now time.Time) ([]Plan, error) {
	var c cond
	c.add("status = ?", PlanOpen)
	c.add("review_date <= toDate(?)", day(planDate(now, s.loc)))
	return s.readPlans(ctx, c)
}

// ReviewPlan judges a due plan over [start, review date) and records the
// result (status reviewed). It returns the plan as recorded.
func (s *Service) ReviewPlan(ctx context.Context, p Plan, now time.Time) (Plan, error) {
	c, err := s.PlanReview(ctx, p)
	if err != nil {
		return p, err
	}
	return s.RecordReview(ctx, p, c, now)
}

// PlanReview judges a plan over [start, review date) without recording it (the
// review step emails first, then records).
func (s *Service) PlanReview(ctx context.Context, p Plan) (*PlanCheck, error) {
	from, err := time.ParseInLocation(time.DateOnly, p.Start, s.loc)
	if err != nil {
		return nil, fmt.Errorf("plan %s start %q: %w", p.ID, p.Start, err)
	}
	to, err := time.ParseInLocation(time.DateOnly, p.Review, s.loc)
	if err != nil {
		return nil, fmt.Errorf("plan %s review date %q: %w", p.ID, p.Review, err)
	}
	return s.check(ctx, p, from, to)
}

// RecordReview stores the review c of plan p (status reviewed).
func (s *Service) RecordReview(ctx context.Context, p Plan, c *PlanCheck, now time.Time) (Plan, error) {
	at := now.UTC().Truncate(time.Second)
	p.Status, p.Result, p.ReviewedAt = PlanReviewed, c, &at
	return p, s.writePlan(ctx, p)
}

func (s *Service) writePlan(ctx context.Context, p Plan) error {
	var r PlanCheck
	if p.Result != nil {
		r = *p.Result
	}
	reviewed := time.Unix(0, 0).UTC()
	if p.ReviewedAt != nil {
		reviewed = *p.ReviewedAt
	}
	start, _ := time.Parse(time.DateOnly, p.Start)
	review, _ := time.Parse(time.DateOnly, p.Review)
	bf, _ := time.Parse(time.DateOnly, p.BaselineFrom)
	bt, _ := time.Parse(time.DateOnly, p.BaselineTo)
	row := []any{p.ID, p.RepID, p.Team, p.ManagerID, p.CreatedBy, p.Metric, p.Stage, p.Baseline, p.BaselineN, bf, bt, p.Goal,
		p.Actions, start, review, p.Status, r.Verdict, r.Value, r.N, r.Low, r.High, reviewed, p.CreatedAt, uint64(time.Now().UnixNano())}
	if err := s.db.InsertRows(ctx, "coaching-plans-write", "INSERT INTO coaching_plans ("+planCols+")", row); err != nil {
		return fmt.Errorf("write plan %s: %w", p.ID, err)
	}
	// On a cluster every replica holds it before this returns (a plan just
	// reviewed must not be reviewed, and emailed, again from a stale replica).
	if err := s.db.SyncReplicas(ctx, "coaching_plans"); err != nil {
		return fmt.Errorf("write plan %s: %w", p.ID, err)
	}
	s.planWrites.Add(1)
	return nil
}

// readPlans reads the latest row of each plan (highest version) matching c.
// Every overview shows the open plans, so the requests reading one version
// share the answer through sharedRead, keyed by this process's plan writes: a
// plan written here is read at once, one written by another process within
// sharedFor. The caller gets its own copy.
func (s *Service) readPlans(ctx context.Context, c cond) ([]Plan, error) {
	key := fmt.Sprintf("plans|%d|%s|%#v", s.planWrites.Load(), c.where(), c.args)
	ps, err := sharedRead(ctx, s, key, func(ctx context.Context) ([]Plan, error) { return s.readPlansOnce(ctx, c) })
	if err != nil {
		return nil, err
	}
	out := make([]Plan, len(ps))
	for i, p := range ps {
		if p.Result != nil {
			r := *p.Result
			p.Result = &r
		}
		if p.ReviewedAt != nil {
			at := *p.ReviewedAt
			p.ReviewedAt = &at
		}
		out[i] = p
	}
	return out, nil
}

func (s *Service) readPlansOnce(ctx context.Context, c cond) ([]Plan, error) {
	reps, err := s.repDims(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, r := range reps {
		names[r.id] = r.name
	}
	// The latest version of every plan first, then the conditions: a plan whose
	// status changed must not match by an older row.
	q := "SELECT " + planCols + " FROM (SELECT " + planCols + " FROM coaching_plans ORDER BY plan_id, version DESC LIMIT 1 BY plan_id)" +
		c.where() + " ORDER BY created_at DESC, plan_id"
	var out []Plan
	err = s.query(ctx, "coaching-plans", q, c.args, func(r driverRows) error {
		var (
			p                     Plan
			bf, bt, start, review time.Time
			verdict               string
			res, lo, hi           float64
			resN                  int64
			reviewed              time.Time
			version               uint64
		)
		if err := r.Scan(&p.ID, &p.RepID, &p.Team, &p.ManagerID, &p.CreatedBy, &p.Metric, &p.Stage, &p.Baseline, &p.BaselineN, &bf, &bt, &p.Goal,
			&p.Actions, &start, &review, &p.Status, &verdict, &res, &resN, &lo, &hi, &reviewed, &p.CreatedAt, &version); err != nil {
			return err
		}
		p.BaselineFrom, p.BaselineTo, p.Start, p.Review = day(bf), day(bt), day(start), day(review)
		p.RepName = names[p.RepID]
		p.HigherIsBetter = p.Metric != "cycle_time" && p.Metric != "days_in_stage"
		if p.Status == PlanReviewed {
			c := JudgePlan(p, MetricScore{Value: res, N: resN, Low: lo, High: hi})
			c.From, c.To = p.Start, p.Review
			p.Result = &c
			at := reviewed
			p.ReviewedAt = &at
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// dateIn is t's date in loc, at midnight there.
func planDate(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func newPlanID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "pl-" + hex.EncodeToString(b[:])
}
