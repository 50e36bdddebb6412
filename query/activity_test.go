package query

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// kaiFixture: January 2024 (1 Jan is a Monday), four whole weeks. Every count
// below is written out by hand in TestActivityKAI.
func kaiFixture() *fixture {
	return &fixture{
		reps: []frep{
			{"d1", "Dana", "director", "", "", ""},
			{"m1", "Ming", "manager", "d1", "East", "North"},
			{"r1", "Rui", "rep", "m1", "East", "North"},
			{"r2", "Rosa", "rep", "m1", "East", "North"},
			{"r3", "Ravi", "rep", "d1", "West", "South"},
		},
		accounts: []facct{{"A1", "Acme", "North", "SMB", 10}},
		opps: []fopp{
			{"o1", "A1", "r1", "Pro", "web", "won", 100, ts("2024-01-02 10:00"), d("2024-01-20"), true, true},
			{"o2", "A1", "r1", "Pro", "web", "lost", 50, ts("2024-01-03 10:00"), d("2024-01-25"), true, false},
			{"o3", "A1", "r2", "Pro", "web", "lost", 70, ts("2024-01-04 10:00"), d("2024-01-20"), true, false},
		},
		events: []fevent{
			{"o1", "lead", 1, ts("2024-01-02 10:00")}, {"o1", "qualified", 2, ts("2024-01-05 10:00")}, {"o1", "won", 100, ts("2024-01-20 10:00")},
			{"o2", "lead", 1, ts("2024-01-03 10:00")}, {"o2", "lost", 0, ts("2024-01-25 10:00")},
			{"o3", "lead", 1, ts("2024-01-04 10:00")}, {"o3", "qualified", 2, ts("2024-01-10 10:00")}, {"o3", "lost", 0, ts("2024-01-20 10:00")},
		},
		acts: []fact{
			// r1: call 3, visit 3, proposal 1, follow-up 2, other 1 in January.
			{"a01", "Call", "r1", "o1", ts("2024-01-02 12:00")}, // o1 in lead
			{"a02", "call", "r1", "", ts("2024-01-09 09:00")},
			{"a03", "Phone call", "r1", "", ts("2024-01-16 09:00")},
			{"a04", "Customer visit", "r1", "o1", ts("2024-01-03 09:00")}, // o1 in lead
			{"a05", "visit", "r1", "", ts("2024-01-22 09:00")},
			{"a06", "拜访", "r1", "", ts("2024-01-23 09:00")},
			{"a07", "Quote sent", "r1", "", ts("2024-01-24 09:00")},
			{"a08", "Follow-up call", "r1", "", ts("2024-01-25 09:00")},
			{"a09", "Email", "r1", "", ts("2024-01-26 09:00")},
			{"a10", "Lunch", "r1", "", ts("2024-01-27 09:00")},
			{"a11", "call", "r1", "", ts("2024-01-30 09:00")}, // after the range
			// r2: meeting 2, call 1; a visit on o3 while it was qualified.
			{"a12", "meeting", "r2", "", ts("2024-01-08 09:00")},
			{"a13", "Meeting", "r2", "", ts("2024-01-15 09:00")},
			{"a14", "电话", "r2", "", ts("2024-01-15 10:00")},
			{"a15", "visit", "r2", "o3", ts("2024-01-11 09:00")},
			// r3 (West): one call.
			{"a16", "call", "r3", "", ts("2024-01-10 09:00")},
			// r9 is in no reps export: counted for a selection without a team.
			{"a17", "call", "r9", "", ts("2024-01-12 09:00")},
		},
	}
}

func newKAIService(t *testing.T) *Service {
	t.Helper()
	db := schemastest.Open(t)
	kaiFixture().load(t, db)
	now := time.Now().UTC().Truncate(time.Second)
	// Activity targets: r1 7 calls a week (91 over 13 weeks); team East visits 5
	// a week in the first two weeks (10 over 14 days), then 3 a week (12 over 28
	// days): 14 days at each rate in January, so 4 a week.
	err := db.InsertRows(context.Background(), "fx", "INSERT INTO targets (scope, scope_id, period_start, period_end, metric, amount, run_id, loaded_at)",
		[]any{"rep", "r1", d("2024-01-01"), d("2024-04-01"), "calls", 91.0, fixtureRun, now},
		[]any{"team", "East", d("2024-01-01"), d("2024-01-15"), "visits", 10.0, fixtureRun, now},
		[]any{"team", "East", d("2024-01-15"), d("2024-02-12"), "visits", 12.0, fixtureRun, now},
		// a bookings target is not an activity target
		[]any{"rep", "r2", d("2024-01-01"), d("2024-04-01"), "bookings", 1000.0, fixtureRun, now})
	if err != nil {
		t.Fatal(err)
	}
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestActivityKinds(t *testing.T) {
	for typ, want := range map[string]string{
		"Call": "call", "phone": "call", "电话": "call", "Customer visit": "visit", "拜访": "visit", "上门": "visit",
		"meeting": "meeting", "会议": "meeting", "Demo": "meeting", "Quote sent": "proposal", "Proposal": "proposal", "报价": "proposal",
		"方案": "proposal", "Follow-up call": "follow_up", "followup": "follow_up", "跟进": "follow_up", "Email": "follow_up", "邮件": "follow_up",
		"Lunch": "other", "": "other",
	} {
		if got := ActivityKind(typ); got != want {
			t.Errorf("activity type %q counts as %q, want %q", typ, got, want)
		}
	}
}

func TestActivityKAI(t *testing.T) {
	s := newKAIService(t)
	ctx := context.Background()
	jan := Filter{From: d("2024-01-01"), To: d("2024-01-29")}
	mgr := Scope{Name: "m1", Role: RoleManager, Team: "East"}
	a, err := s.Activity(ctx, mgr, jan)
	if err != nil {
		t.Fatal(err)
	}
	if a.Weeks != 4 {
		t.Errorf("weeks = %v, want 4", a.Weeks)
	}
	if len(a.Reps) != 2 || a.Reps[0].RepID != "r1" || a.Reps[1].RepID != "r2" {
		t.Fatalf("the manager of East sees reps %+v, want r1 and r2", a.Reps)
	}
	r1 := a.Reps[0]
	want := map[string]int64{"call": 3, "visit": 3, "meeting": 0, "proposal": 1, "follow_up": 2, "other": 1}
	for k, n := range want {
		if r1.Counts[k] != n {
			t.Errorf("r1 %s = %d, want %d (types mapped by METRICS.md)", k, r1.Counts[k], n)
		}
	}
	if r1.Total != 10 || r1.PerWeek["call"] != 0.75 {
		t.Errorf("r1 total %d, calls per week %v; want 10 and 0.75", r1.Total, r1.PerWeek["call"])
	}
	if math.Abs(r1.Targets["call"]-7) > 1e-9 || math.Abs(r1.Attainment["call"]-0.75/7) > 1e-9 {
		t.Errorf("r1 call target %v/week, attainment %v; want 7 and %v", r1.Targets["call"], r1.Attainment["call"], 0.75/7)
	}
	if _, ok := r1.Targets["proposal"]; ok {
		t.Error("a kind without a target shows one")
	}
	r2 := a.Reps[1]
	if r2.Counts["meeting"] != 2 || r2.Counts["call"] != 1 || r2.Counts["visit"] != 1 || r2.Total != 4 {
		t.Errorf("r2 counts %v, want 2 meetings, 1 call, 1 visit", r2.Counts)
	}
	if r2.Targets["call"] != 0 {
		t.Error("a bookings target counts as an activity target")
	}
	// Team: visits 3 + 1 = 4 in 4 weeks = 1/week against the team's 4/week.
	if a.Total.Counts["visit"] != 4 || a.Total.PerWeek["visit"] != 1 || math.Abs(a.Total.Targets["visit"]-4) > 1e-9 {
		t.Errorf("team visits %d (%v/week) target %v; want 4, 1, 4", a.Total.Counts["visit"], a.Total.PerWeek["visit"], a.Total.Targets["visit"])
	}
	// The team's call target is its reps': r1's 7.
	if math.Abs(a.Total.Targets["call"]-7) > 1e-9 {
		t.Errorf("team call target %v, want r1's 7 (no team call target)", a.Total.Targets["call"])
	}
	if len(a.Weekly) != 4 || a.Weekly[0].Week != "2024-01-01" || a.Weekly[3].Week != "2024-01-22" {
		t.Fatalf("weeks %+v, want the four Mondays of January", a.Weekly)
	}
	// Calls per week: 2 Jan; 9 Jan (r3's 10 Jan is West); 16 Jan and r2's 电话
	// on 15 Jan; none.
	for i, n := range []int64{1, 1, 2, 0} {
		if a.Weekly[i].Counts["call"] != n {
			t.Errorf("week %s calls = %d, want %d", a.Weekly[i].Week, a.Weekly[i].Counts["call"], n)
		}
	}
	if a.Weekly[3].Counts["visit"] != 2 || a.Weekly[3].Counts["other"] != 1 {
		t.Errorf("week of 22 Jan: %v, want 2 visits and 1 other", a.Weekly[3].Counts)
	}
	// Stages: lead reached by o1, o2, o3; o1 had a call and a visit while in
	// lead and reached qualified; of o2, o3 only o3 did. Qualified reached by o1
	// and o3; o3 had a visit there and went no further, o1 won.
	rel := map[string]StageActivity{}
	for _, x := range a.Stages {
		rel[x.Stage+"/"+x.Kind] = x
	}
	for key, w := range map[string][4]float64{
		"lead/visit": {1, 1, 2, 0.5}, "lead/call": {1, 1, 2, 0.5}, "qualified/visit": {1, 0, 1, 1}, "lead/meeting": {0, 0, 3, 2.0 / 3},
	} {
		x := rel[key]
		if float64(x.WithN) != w[0] || x.WithConv != w[1] || float64(x.OtherN) != w[2] || math.Abs(x.OtherConv-w[3]) > 1e-9 {
			t.Errorf("%s: with %d at %v, without %d at %v; want %v", key, x.WithN, x.WithConv, x.OtherN, x.OtherConv, w)
		}
		if x.Verdict != "" {
			t.Errorf("%s: a verdict (%s) from one deal", key, x.Verdict)
		}
	}
	// lead/visit: Beta(4·0.5 + 1, 4·0.5 + 0) = Beta(3, 2), whose 95% interval
	// is 0.194..0.932.
	if x := rel["lead/visit"]; math.Abs(x.Low-0.194) > 0.002 || math.Abs(x.High-0.932) > 0.002 {
		t.Errorf("lead/visit interval %v..%v, want 0.194..0.932", x.Low, x.High)
	}

	// A rep sees the own numbers; a product filter is refused, not ignored.
	ar, err := s.Activity(ctx, Scope{Name: "r2", Role: RoleRep, Rep: "r2"}, jan)
	if err != nil || len(ar.Reps) != 1 || ar.Reps[0].RepID != "r2" || ar.Total.Total != 4 {
		t.Errorf("rep scope: %v %+v", err, ar.Reps)
	}
	pf := jan
	pf.Product = []string{"Pro"}
	if _, err := s.Activity(ctx, Unrestricted, pf); !errors.Is(err, ErrBadFilter) {
		t.Errorf("a product filter on activities: %v, want a bad filter", err)
	}
	if _, err := s.Activity(ctx, mgr, Filter{From: jan.From, To: jan.To, Team: []string{"West"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("another team's activities: %v, want forbidden", err)
	}
	all, err := s.Activity(ctx, Unrestricted, jan)
	if err != nil || len(all.Reps) != 4 || all.Total.Total != 16 || all.Reps[3].RepID != "r9" {
		t.Errorf("director: %v, %d reps, %d activities; want 4 (r9 without a reps row last) and 16", err, len(all.Reps), all.Total.Total)
	}
}
