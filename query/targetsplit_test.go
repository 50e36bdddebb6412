package query

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestSplitTargetHand splits 2025's target by the forecast fixture's 2024
// bookings: h1 100 (r1, East, February), h4 200 (r3, West, March), h3 80 (r1,
// East, May): 380 in all.
func TestSplitTargetHand(t *testing.T) {
	s := newForecastService(t, false)
	ctx := context.Background()
	const e = TargetSplitEven
	got, err := s.SplitTarget(ctx, Unrestricted, Filter{}, SplitRequest{Year: 2025, Amount: 1000})
	if err != nil {
		t.Fatal(err)
	}
	month := func(b float64) float64 { return (1-e)*b/380 + e/12 }
	wantMonths := []float64{month(0), month(100), month(200), month(0), month(80), month(0), month(0), month(0), month(0), month(0), month(0), month(0)}
	for i, m := range got.Months {
		if !closeTo(m.Share, wantMonths[i]) {
			t.Errorf("month %s share %v, want %v", m.Start, m.Share, wantMonths[i])
		}
	}
	if !closeTo(got.Basis, 380) || got.Quarters[0].Start != "2025-01-01" || math.Abs(got.Quarters[0].Amount-1000*(wantMonths[0]+wantMonths[1]+wantMonths[2])) > 0.02 {
		t.Errorf("basis %v, Q1 %+v", got.Basis, got.Quarters[0])
	}
	team := map[string]SplitGroup{}
	for _, g := range got.Groups {
		team[g.Key] = g
	}
	if len(got.Groups) != 2 || !closeTo(team["East"].Share, (1-e)*180/380+e/2) || !closeTo(team["West"].Share, (1-e)*200/380+e/2) {
		t.Errorf("team split %+v", got.Groups)
	}
	checkSplitAddsUp(t, got)
	// A manager splits the own team's target among its reps; r2 booked
	// nothing and still gets the even part.
	east := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	m, err := s.SplitTarget(ctx, east, Filter{}, SplitRequest{Year: 2025, Amount: 600, GroupBy: "rep"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups) != 2 || m.Groups[0].Key != "r1" || !closeTo(m.Groups[0].Share, (1-e)+e/2) || !closeTo(m.Groups[1].Amount, 600*e/2) {
		t.Errorf("East's rep split %+v; want r1 %v, r2 %v", m.Groups, (1-e)+e/2, e/2)
	}
	checkSplitAddsUp(t, m)
	if _, err := s.SplitTarget(ctx, east, Filter{Team: []string{"West"}}, SplitRequest{Year: 2025, Amount: 600, GroupBy: "rep"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a manager splitting another team's target: %v, want ErrForbidden", err)
	}
	for _, bad := range []SplitRequest{
		{Year: 2025, Amount: -1},
		{Year: 2025, Amount: 1, Periods: "manual"},
		{Year: 2025, Amount: 1, Periods: "manual", Weights: []float64{1, 2, 3}},
		{Year: 2025, Amount: 1, Periods: "manual", Weights: []float64{0, 0, 0, 0}},
		{Year: 2025, Amount: 1, Groups: "potential"},
		{Year: 2025, Amount: 1, GroupBy: "segment"},
	} {
		if _, err := s.SplitTarget(ctx, Unrestricted, Filter{}, bad); !errors.Is(err, ErrBadFilter) {
			t.Errorf("%+v: %v, want ErrBadFilter", bad, err)
		}
	}
}

// TestSplitTargetMethods: even months, manual quarters, capacity (reps per
// team: East 2, West 1) and territories by potential, by hand; and awkward
// amounts whose thirds and sevenths do not end in whole cents still add up.
func TestSplitTargetMethods(t *testing.T) {
	s := newForecastService(t, false)
	ctx := context.Background()
	ev, err := s.SplitTarget(ctx, Unrestricted, Filter{}, SplitRequest{Year: 2025, Amount: 1200, Periods: SplitEven, Groups: SplitCapacity})
	if err != nil {
		t.Fatal(err)
	}
	// Months are sums over the groups' months, each rounded to the cent.
	if math.Abs(ev.Months[5].Amount-100) > 0.015 || ev.Groups[0].Key != "East" || ev.Groups[0].Amount != 800 || ev.Groups[1].Amount != 400 ||
		ev.Groups[0].Quarters[3] != 200 || ev.Quarters[1].Amount != 300 {
		t.Errorf("even months, capacity: months %+v groups %+v", ev.Months, ev.Groups)
	}
	checkSplitAddsUp(t, ev)
	man, err := s.SplitTarget(ctx, Unrestricted, Filter{}, SplitRequest{Year: 2025, Amount: 1000, Periods: SplitManual, Weights: []float64{1, 2, 3, 4}, Groups: SplitEven})
	if err != nil {
		t.Fatal(err)
	}
	if man.Quarters[0].Amount != 100 || man.Quarters[3].Amount != 400 || man.Groups[1].Amount != 500 {
		t.Errorf("manual quarters 1:2:3:4 of 1000: %+v %+v", man.Quarters, man.Groups)
	}
	checkSplitAddsUp(t, man)
	for _, amount := range []float64{1000.01, 7, 100.03, 99999999.99, 0.05} {
		for _, req := range []SplitRequest{
			{Year: 2025, Amount: amount},
			{Year: 2025, Amount: amount, GroupBy: "rep", Periods: SplitManual, Weights: []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3}},
			{Year: 2025, Amount: amount, GroupBy: "territory", Groups: SplitCapacity, Periods: SplitEven},
		} {
			got, err := s.SplitTarget(ctx, Unrestricted, Filter{}, req)
			if err != nil {
				t.Fatal(err)
			}
			checkSplitAddsUp(t, got)
		}
	}
	pot, err := s.SplitTarget(ctx, Unrestricted, Filter{}, SplitRequest{Year: 2025, Amount: 900, GroupBy: "territory", Groups: SplitPotential})
	if err != nil {
		t.Fatal(err)
	}
	var w float64
	for _, g := range pot.Groups {
		w += g.Weight
	}
	for _, g := range pot.Groups {
		if math.Abs(g.Amount-900*g.Weight/w) > 0.01 || g.Weight <= 0 {
			t.Errorf("territory %s: %v of 900 with potential %v of %v", g.Key, g.Amount, g.Weight, w)
		}
	}
	checkSplitAddsUp(t, pot)
}

// checkSplitAddsUp: in whole cents, the groups add up to the target, each
// group's months to its quarters and its quarters to its amount, and the
// company's months and quarters to the target and to the groups'.
func checkSplitAddsUp(t *testing.T, sp TargetSplit) {
	t.Helper()
	c := func(v float64) int64 { return int64(math.Round(v * 100)) }
	var groups int64
	var months [12]int64
	for _, g := range sp.Groups {
		groups += c(g.Amount)
		var qs int64
		for q := 0; q < 4; q++ {
			if c(g.Months[3*q])+c(g.Months[3*q+1])+c(g.Months[3*q+2]) != c(g.Quarters[q]) {
				t.Errorf("%s: months of Q%d %v do not add up to %v", g.Key, q+1, g.Months[3*q:3*q+3], g.Quarters[q])
			}
			qs += c(g.Quarters[q])
		}
		if qs != c(g.Amount) {
			t.Errorf("%s: quarters %v do not add up to %v", g.Key, g.Quarters, g.Amount)
		}
		for m := range months {
			months[m] += c(g.Months[m])
		}
	}
	if groups != c(sp.Amount) {
		t.Errorf("groups add up to %d cents, target %v", groups, sp.Amount)
	}
	var ms, qs int64
	for m, p := range sp.Months {
		ms += c(p.Amount)
		if c(p.Amount) != months[m] {
			t.Errorf("month %s %v, groups' %d cents", p.Start, p.Amount, months[m])
		}
	}
	for q, p := range sp.Quarters {
		qs += c(p.Amount)
		if c(p.Amount) != c(sp.Months[3*q].Amount)+c(sp.Months[3*q+1].Amount)+c(sp.Months[3*q+2].Amount) {
			t.Errorf("quarter %s %v is not its months'", p.Start, p.Amount)
		}
	}
	if ms != c(sp.Amount) || qs != c(sp.Amount) {
		t.Errorf("months %d, quarters %d cents, target %v", ms, qs, sp.Amount)
	}
}
