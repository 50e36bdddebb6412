package query

import (
	"context"
	"errors"
	"testing"
	"time"
)

// The hand fixture's o3 (East, r2) is open in proposal: lead from 01-15 09:00
// to 01-25 09:00 (10 days), then proposal up to the as-of time 04-01 00:00
// (6 days 15 hours in January + 29 + 31 = 66.625 days). Its snapshots push the
// close date twice by 15 days (03-31 → 04-15 → 04-30) and move the amount
// 80 → 90 → 80. o1 (won) stayed 3, 5, 10 and 21 days in the four stages and
// has two activities (a visit 01-04, a call 01-03, newest first).
func TestDealDetailHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	asOf := ts("2024-04-01 00:00")
	dd, err := s.DealDetail(ctx, Unrestricted, "o3", asOf)
	if err != nil {
		t.Fatal(err)
	}
	if d := dd.Deal; d.Stage != "proposal" || d.Amount != 80 || d.Status != "open" || d.OwnerID != "r2" || d.AccountName != "Acme" || d.Team != "East" || dd.CRMID != "o3" {
		t.Errorf("o3's deal: %+v crm %q", d, dd.CRMID)
	}
	want := []StageStay{{Stage: "lead", Entered: "2024-01-15 09:00", Left: "2024-01-25 09:00", Days: 10},
		{Stage: "proposal", Entered: "2024-01-25 09:00", Days: 66.625, Current: true}}
	if len(dd.Stages) != len(want) {
		t.Fatalf("o3's stage history: %+v, want %+v", dd.Stages, want)
	}
	for i, w := range want {
		if g := dd.Stages[i]; g.Stage != w.Stage || g.Entered != w.Entered || g.Left != w.Left || !near(g.Days, w.Days) || g.Current != w.Current {
			t.Errorf("o3's stay %d: %+v, want %+v", i, g, w)
		}
	}
	wantMoves := []DealMove{{"2024-02-29", "2024-03-31", "2024-04-15", 80, 90}, {"2024-03-31", "2024-04-15", "2024-04-30", 90, 80}}
	if len(dd.Moves) != 2 || dd.Moves[0] != wantMoves[0] || dd.Moves[1] != wantMoves[1] {
		t.Errorf("o3's moves: %+v, want %+v", dd.Moves, wantMoves)
	}
	if dd.Pushes.Pushes != 2 || dd.Pushes.DaysPushed != 30 {
		t.Errorf("o3's pushes: %+v, want 2 pushes of 30 days in all", dd.Pushes)
	}

	o1, err := s.DealDetail(ctx, Unrestricted, "o1", asOf)
	if err != nil {
		t.Fatal(err)
	}
	days := []float64{3, 5, 10, 21}
	if len(o1.Stages) != 5 || !o1.Stages[4].Terminal || o1.Stages[4].Stage != "won" {
		t.Fatalf("o1's stage history: %+v, want four stays and won", o1.Stages)
	}
	for i, w := range days {
		if g := o1.Stages[i]; !near(g.Days, w) || g.Current {
			t.Errorf("o1's stay in %s: %v days, want %v", g.Stage, g.Days, w)
		}
	}
	if len(o1.Moves) != 0 {
		t.Errorf("o1 closed between snapshots, which is no move: %+v", o1.Moves)
	}
	if len(o1.Activities) != 2 || o1.Activities[0].ID != "x2" || o1.Activities[0].Kind != KindVisit || o1.Activities[1].Kind != KindCall ||
		!o1.Activities[0].OnDeal || o1.Activities[0].RepName != "Rui" {
		t.Errorf("o1's activities: %+v", o1.Activities)
	}
	// o2 was lost 24 days after qualifying (01-08 09:00 → the lost event 02-01 09:00).
	o2, err := s.DealDetail(ctx, Unrestricted, "o2", asOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(o2.Stages) != 3 || !near(o2.Stages[1].Days, 24) || o2.Stages[2].Stage != "lost" {
		t.Errorf("o2's stage history: %+v", o2.Stages)
	}
}

func TestDealDetailScope(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	east := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	ravi := Scope{Name: "ravi", Role: RoleRep, Rep: "r3"}
	for _, c := range []struct {
		sc    Scope
		id    string
		found bool
	}{{east, "o3", true}, {east, "o5", false}, {ravi, "o5", true}, {ravi, "o1", false}, {Unrestricted, "nope", false}} {
		_, err := s.DealDetail(ctx, c.sc, c.id, time.Time{})
		switch {
		case c.found && err != nil:
			t.Errorf("%s opening %s: %v", c.sc.Name, c.id, err)
		case !c.found && !errors.Is(err, ErrNotFound):
			t.Errorf("%s opening %s outside the scope: %v, want not found", c.sc.Name, c.id, err)
		}
	}
}
