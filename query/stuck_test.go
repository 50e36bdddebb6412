package query

import (
	"context"
	"testing"
)

// As of 2024-04-01 00:00 over Q1 the open deals are o3 (East, proposal since
// 01-25 09:00: 66.625 days) and o6 (West, lead since 03-05 09:00: 26.625 days).
// Norms are TestDaysInStageHand's medians: lead 4 days (2, 3, 5, 10), proposal
// 10 (10, 10). East's lead stays are 3, 5 and 10 (median 5), its proposal stay
// 10; r3's lead stay is 2 days.
func TestStuckHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	asOf := ts("2024-04-01 00:00")
	type want struct {
		id          string
		days, ratio float64
	}
	for _, c := range []struct {
		name string
		sc   Scope
		sort string
		want []want
	}{
		{"everybody by ratio", Unrestricted, "", []want{{"o3", 66.625, 6.6625}, {"o6", 26.625, 6.65625}}},
		{"everybody by ratio, ascending", Unrestricted, "ratio", []want{{"o6", 26.625, 6.65625}, {"o3", 66.625, 6.6625}}},
		{"everybody by amount, ascending", Unrestricted, "amount", []want{{"o6", 26.625, 6.65625}, {"o3", 66.625, 6.6625}}},
		{"East's manager", Scope{Name: "ming", Role: RoleManager, Team: "East"}, "-days", []want{{"o3", 66.625, 6.6625}}},
		{"rep r3", Scope{Name: "ravi", Role: RoleRep, Rep: "r3"}, "", []want{{"o6", 26.625, 13.3125}}},
	} {
		st, err := s.Stuck(ctx, c.sc, q1, StuckQuery{Sort: c.sort, AsOf: asOf})
		if err != nil {
			t.Fatal(c.name, err)
		}
		if st.Total != len(c.want) || len(st.Deals) != len(c.want) {
			t.Errorf("%s: %d stuck deals %+v, want %v", c.name, st.Total, st.Deals, c.want)
			continue
		}
		for i, w := range c.want {
			g := st.Deals[i]
			if g.OpportunityID != w.id || !near(g.Days, w.days) || g.Ratio == nil || !near(*g.Ratio, w.ratio) {
				r := -1.0
				if g.Ratio != nil {
					r = *g.Ratio
				}
				t.Errorf("%s: deal %d is %s, %v days, ratio %v; want %+v", c.name, i, g.OpportunityID, g.Days, r, w)
			}
		}
	}
	if _, err := s.Stuck(ctx, Unrestricted, q1, StuckQuery{Sort: "name"}); err == nil {
		t.Error("an unknown sort was accepted")
	}
}
