package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// loadRun writes opportunities with their stage events under a new committed
// run (a later export), for tests where a load moves a plan's metric.
func planLoadRun(t *testing.T, db *schemas.DB, run uint64, opps []fopp, events []fevent) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	if err := db.InsertRows(ctx, "fx", "INSERT INTO ingest_runs (run_id, file, status, started_at, finished_at, updated_ns)",
		[]any{run, fmt.Sprintf("run%d", run), "committed", now, now, uint64(now.UnixNano())}); err != nil {
		t.Fatal(err)
	}
	var rows [][]any
	for _, o := range opps {
		rows = append(rows, []any{o.id, "deal " + o.id, o.account, o.owner, o.product, o.source, o.stage, o.amount, o.created, o.closeDate, b2u(o.closed), b2u(o.won), run, now})
	}
	if err := db.InsertRows(ctx, "fx", "INSERT INTO opportunities (opportunity_id, name, account_id, owner_id, product, source, stage, amount, created_at, close_date, closed, won, run_id, loaded_at)", rows...); err != nil {
		t.Fatal(err)
	}
	rows = nil
	for _, e := range events {
		rows = append(rows, []any{e.opp, e.stage, e.rank, e.at, run, now})
	}
	if err := db.InsertRows(ctx, "fx", "INSERT INTO stage_events (opportunity_id, stage, stage_rank, entered_at, run_id, loaded_at)", rows...); err != nil {
		t.Fatal(err)
	}
}

// aprilDeals: n deals of owner created in April 2024 that reach qualified, of
// which conv move on to proposal (and stay open there).
func planAprilDeals(owner string, n, conv int) ([]fopp, []fevent) {
	var os []fopp
	var es []fevent
	for i := range n {
		id := fmt.Sprintf("%s-apr-%d", owner, i)
		at := ts(fmt.Sprintf("2024-04-%02d 09:00", 2+i))
		stage := "qualified"
		es = append(es, fevent{id, "lead", 1, at}, fevent{id, "qualified", 2, at.Add(24 * time.Hour)})
		if i < conv {
			stage = "proposal"
			es = append(es, fevent{id, "proposal", 3, at.Add(48 * time.Hour)})
		}
		os = append(os, fopp{id, "A1", owner, "Pro", "web", stage, 10, at, d("2024-06-30"), false, false})
	}
	return os, es
}

func TestCoachingPlanLoop(t *testing.T) {
	db := schemastest.Open(t)
	handFixture().load(t, db)
	s := New(db, time.UTC, quietLog())
	ctx := context.Background()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	mgr := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	recorded := ts("2024-04-01 08:00")
	in := PlanInput{RepID: "r1", Metric: "conversion", Stage: "qualified", Goal: 0.8, Actions: "Agree the proposal date in every qualification call.",
		Review: "2024-05-01", BaselineFrom: "2024-01-01", BaselineTo: "2024-04-01"}
	// r1's Q1 cohort: o1 and o2 reach qualified, o1 goes on: 1/2.
	p, err := s.CreatePlan(ctx, mgr, in, recorded)
	if err != nil {
		t.Fatal(err)
	}
	if p.Baseline != 0.5 || p.BaselineN != 2 || p.Start != "2024-04-01" || p.ManagerID != "m1" || p.Team != "East" || p.Status != PlanOpen {
		t.Errorf("plan as recorded: %+v; want baseline 0.5 of 2, start 2024-04-01, manager m1", p)
	}
	// Bad input names the field.
	for field, bad := range map[string]PlanInput{
		"metric":      {RepID: "r1", Metric: "happiness", Goal: 1, Actions: "x", Review: "2024-05-01"},
		"stage":       {RepID: "r1", Metric: "conversion", Goal: 1, Actions: "x", Review: "2024-05-01"},
		"actions":     {RepID: "r1", Metric: "win_rate", Goal: 1, Review: "2024-05-01"},
		"review_date": {RepID: "r1", Metric: "win_rate", Goal: 1, Actions: "x", Review: "2024-03-01"},
		"goal":        {RepID: "r1", Metric: "conversion", Stage: "qualified", Goal: 0.4, Actions: "x", Review: "2024-05-01", BaselineFrom: "2024-01-01", BaselineTo: "2024-04-01"},
	} {
		var pe *ParamError
		if _, err := s.CreatePlan(ctx, mgr, bad, recorded); !errors.As(err, &pe) || pe.Param != field {
			t.Errorf("bad %s: %v, want a ParamError naming %s", field, err, field)
		}
	}
	// Scope: another team's rep, and a rep recording a plan, are refused.
	if _, err := s.CreatePlan(ctx, mgr, PlanInput{RepID: "r3", Metric: "win_rate", Goal: 1, Actions: "x", Review: "2024-05-01"}, recorded); !errors.Is(err, ErrForbidden) {
		t.Errorf("a plan for another team's rep: %v", err)
	}
	if _, err := s.CreatePlan(ctx, Scope{Name: "rui", Role: RoleRep, Rep: "r1"}, in, recorded); !errors.Is(err, ErrForbidden) {
		t.Errorf("a rep records a plan: %v", err)
	}
	for _, sc := range []Scope{{Name: "mara", Role: RoleManager, Team: "West"}, {Name: "rosa", Role: RoleRep, Rep: "r2"}} {
		if ps, err := s.Plans(ctx, sc, "", ""); err != nil || len(ps) != 0 {
			t.Errorf("%s sees %d plans of r1 (%v)", sc.Name, len(ps), err)
		}
	}
	if ps, err := s.Plans(ctx, Scope{Name: "rui", Role: RoleRep, Rep: "r1"}, "", ""); err != nil || len(ps) != 1 {
		t.Errorf("r1 does not see the own plan: %d %v", len(ps), err)
	}
	// Nothing due before the review date; nothing created since the start.
	if due, _ := s.DuePlans(ctx, ts("2024-04-30 23:00")); len(due) != 0 {
		t.Errorf("%d plans due before the review date", len(due))
	}
	got, err := s.Plan(ctx, mgr, p.ID, ts("2024-04-10 12:00"))
	if err != nil || got.Progress == nil || got.Progress.Verdict != VerdictTooFew || got.Progress.N != 0 {
		t.Fatalf("progress with no deal since the start: %v %+v", err, got.Progress)
	}
	// A load moves the metric: r1 8 deals in April all past qualified, r2 4
	// deals of which 2 (the peers' rate 0.5).
	o1, e1 := planAprilDeals("r1", 8, 8)
	o2, e2 := planAprilDeals("r2", 4, 2)
	planLoadRun(t, db, 20, append(o1, o2...), append(e1, e2...))
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	due, err := s.DuePlans(ctx, ts("2024-05-01 07:00"))
	if err != nil || len(due) != 1 {
		t.Fatalf("due on the review date: %d %v", len(due), err)
	}
	rv, err := s.ReviewPlan(ctx, due[0], ts("2024-05-01 07:00"))
	if err != nil {
		t.Fatal(err)
	}
	// 8/8 against peers at 0.5: Beta(4·0.5 + 8, 4·0.5 + 0) = Beta(10, 2), whose
	// 2.5% quantile 0.587 clears the baseline 0.5: improved, and 1.0 ≥ 0.8.
	r := rv.Result
	if r.Value != 1 || r.N != 8 || math.Abs(r.Low-0.587) > 0.002 || r.Verdict != VerdictImproved || !r.GoalMet {
		t.Errorf("review: %+v; want 8/8, low 0.587, improved, goal met", r)
	}
	if due, _ := s.DuePlans(ctx, ts("2024-05-02 07:00")); len(due) != 0 {
		t.Errorf("a reviewed plan is due again")
	}
	ps, _ := s.Plans(ctx, mgr, "r1", PlanReviewed)
	if len(ps) != 1 || ps[0].Result == nil || ps[0].Result.Verdict != VerdictImproved || ps[0].ReviewedAt == nil {
		t.Errorf("the stored review: %+v", ps)
	}
}

func TestJudgePlan(t *testing.T) {
	up := Plan{Baseline: 0.3, Goal: 0.4, HigherIsBetter: true}
	down := Plan{Baseline: 20, Goal: 15, HigherIsBetter: false}
	for _, c := range []struct {
		name    string
		p       Plan
		m       MetricScore
		verdict string
		met     bool
	}{
		{"clears the baseline", up, MetricScore{Value: 0.5, N: 40, Low: 0.35, High: 0.62}, VerdictImproved, true},
		{"clears it, short of the goal", up, MetricScore{Value: 0.36, N: 200, Low: 0.32, High: 0.40}, VerdictImproved, false},
		{"rules the goal out", up, MetricScore{Value: 0.3, N: 60, Low: 0.22, High: 0.38}, VerdictNotYet, false},
		{"holds baseline and goal", up, MetricScore{Value: 0.35, N: 12, Low: 0.15, High: 0.6}, VerdictTooFew, false},
		{"under five deals", up, MetricScore{Value: 1, N: 4, Low: 0.5, High: 0.95}, VerdictTooFew, true},
		{"days: lower is better", down, MetricScore{Value: 12, N: 30, Low: 10, High: 14}, VerdictImproved, true},
		{"days: worse", down, MetricScore{Value: 24, N: 30, Low: 21, High: 27}, VerdictNotYet, false},
	} {
		got := JudgePlan(c.p, c.m)
		if got.Verdict != c.verdict || got.GoalMet != c.met || got.NextEN == "" || got.NextZH == "" {
			t.Errorf("%s: %s (goal met %v), want %s (%v)", c.name, got.Verdict, got.GoalMet, c.verdict, c.met)
		}
	}
}

// The requests reading one version share their plans read (every overview
// shows the open plans), yet a plan this process writes is read at once, and
// a caller changing its plans changes nobody else's.
func TestPlansSharedYetFresh(t *testing.T) {
	db := schemastest.Open(t)
	handFixture().load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	v, err := db.CurrentVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx := AsOf(context.Background(), v)
	mgr := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	recorded := ts("2024-04-01 08:00")
	in := PlanInput{RepID: "r1", Metric: "cycle_time", Goal: 1, Actions: "Qualify out early.", Review: "2024-05-01"}
	if _, err := s.CreatePlan(ctx, mgr, in, recorded); err != nil {
		t.Fatal(err)
	}
	first, err := s.Plans(ctx, mgr, "", PlanOpen)
	if err != nil || len(first) != 1 {
		t.Fatalf("open plans: %d %v, want 1", len(first), err)
	}
	first[0].Status, first[0].Goal = PlanReviewed, 0
	again, err := s.Plans(ctx, mgr, "", PlanOpen)
	if err != nil || len(again) != 1 || again[0].Status != PlanOpen || again[0].Goal != 1 {
		t.Fatalf("a caller's change reached the next reader: %+v %v", again, err)
	}
	in.RepID, in.Actions = "r2", "Call back within a day."
	if _, err := s.CreatePlan(ctx, mgr, in, recorded); err != nil {
		t.Fatal(err)
	}
	// Within sharedFor of the first read, on the same version.
	after, err := s.Plans(ctx, mgr, "", PlanOpen)
	if err != nil || len(after) != 2 {
		t.Fatalf("open plans right after a second was written: %d %v, want 2", len(after), err)
	}
}
