package query

import (
	"context"
	"errors"
	"testing"
)

// TestSplitTargetHand splits 2025's target by the forecast fixture's 2024
// bookings: h1 100 (r1, East, February), h4 200 (r3, West, March), h3 80 (r1,
// East, May): 380 in all.
func TestSplitTargetHand(t *testing.T) {
	s := newForecastService(t, false)
	ctx := context.Background()
	const e = TargetSplitEven
	got, err := s.SplitTarget(ctx, Unrestricted, Filter{}, 2025, 1000, "team")
	if err != nil {
		t.Fatal(err)
	}
	month := func(b float64) float64 { return (1-e)*b/380 + e/12 }
	wantMonths := []float64{month(0), month(100), month(200), month(0), month(80), month(0), month(0), month(0), month(0), month(0), month(0), month(0)}
	var sum float64
	for i, m := range got.Months {
		sum += m.Amount
		if !closeTo(m.Share, wantMonths[i]) {
			t.Errorf("month %s share %v, want %v", m.Start, m.Share, wantMonths[i])
		}
	}
	if !closeTo(sum, 1000) || !closeTo(got.Basis, 380) || got.Quarters[0].Start != "2025-01-01" ||
		!closeTo(got.Quarters[0].Amount, 1000*(wantMonths[0]+wantMonths[1]+wantMonths[2])) {
		t.Errorf("months add up to %v, basis %v, Q1 %+v", sum, got.Basis, got.Quarters[0])
	}
	team := map[string]SplitGroup{}
	for _, g := range got.Groups {
		team[g.Key] = g
	}
	if len(got.Groups) != 2 || !closeTo(team["East"].Share, (1-e)*180/380+e/2) || !closeTo(team["West"].Share, (1-e)*200/380+e/2) ||
		!closeTo(team["East"].Quarters[0]+team["West"].Quarters[0], got.Quarters[0].Amount) {
		t.Errorf("team split %+v", got.Groups)
	}
	// A manager splits the own team's target among its reps; r2 booked
	// nothing and still gets the even part.
	east := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	m, err := s.SplitTarget(ctx, east, Filter{}, 2025, 600, "rep")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Groups) != 2 || m.Groups[0].Key != "r1" || !closeTo(m.Groups[0].Share, (1-e)+e/2) || !closeTo(m.Groups[1].Amount, 600*e/2) {
		t.Errorf("East's rep split %+v; want r1 %v, r2 %v", m.Groups, (1-e)+e/2, e/2)
	}
	if _, err := s.SplitTarget(ctx, east, Filter{Team: []string{"West"}}, 2025, 600, "rep"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a manager splitting another team's target: %v, want ErrForbidden", err)
	}
	if _, err := s.SplitTarget(ctx, Unrestricted, Filter{}, 2025, -1, "team"); !errors.Is(err, ErrBadFilter) {
		t.Errorf("a negative amount: %v, want ErrBadFilter", err)
	}
}
