package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestBookingsRollupsMatchFacts: attainment and coverage read bookings from
// rep_days and territory_days where the filter allows; they must equal the
// same numbers scanned from opp_facts (noRollup) for rep, team, territory and
// company targets by month and quarter, ranges that cut months, and each kind
// of filter. A difference is a rep's attainment that disagrees with his list
// of won deals.
func TestBookingsRollupsMatchFacts(t *testing.T) {
	db := schemastest.Open(t)
	fx := randomFixture(7, 3000)
	addBookingTargets(fx)
	fx.load(t, db)
	ctx := context.Background()
	for _, zone := range []string{"UTC", "Asia/Shanghai"} {
		loc, err := time.LoadLocation(zone)
		if err != nil {
			t.Fatal(err)
		}
		fast := New(db, loc, quietLog())
		if err := fast.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		plain := New(db, loc, quietLog())
		plain.noRollup = true
		dl := func(s string) time.Time {
			x, err := time.ParseInLocation(time.DateOnly, s, loc)
			if err != nil {
				t.Fatal(err)
			}
			return x
		}
		filters := []Filter{
			{From: dl("2023-10-01"), To: dl("2024-10-01")},
			{From: dl("2023-10-17"), To: dl("2024-07-09")},
			{From: dl("2024-01-01"), To: dl("2024-04-01")},
			{From: dl("2024-02-03"), To: dl("2024-02-20")},
			{From: dl("2024-01-01"), To: dl("2024-07-01"), Team: []string{"East"}},
			{From: dl("2023-11-05"), To: dl("2024-05-28"), Rep: []string{"r03", "r07"}, Manager: []string{"mEast", "mWest"}},
			{From: dl("2023-10-01"), To: dl("2024-10-01"), Territory: []string{"T2", "T3"}},
			{From: dl("2023-12-11"), To: dl("2024-08-14"), Territory: []string{"T1"}},
			{From: dl("2023-12-01"), To: dl("2024-08-01"), Segment: []string{"SMB"}, Territory: []string{"T1"}},
			{From: dl("2024-01-01"), To: dl("2024-04-01"), Product: []string{"A"}, Team: []string{"East"}},
			{From: dl("2023-10-17"), To: dl("2024-07-09"), Segment: []string{"SMB"}},
			{From: dl("2023-10-01"), To: dl("2024-10-01"), Source: []string{"web", "partner"}},
		}
		scopes := []Scope{Unrestricted, {Role: RoleManager, Team: "East"}}
		rows := 0
		for i, f := range filters {
			for _, sc := range scopes {
				t.Run(fmt.Sprintf("%s/%d/%s", zone, i, sc.Role), func(t *testing.T) {
					a, err := fast.Attainment(ctx, sc, f)
					if err != nil {
						t.Fatal(err)
					}
					b, err := plain.Attainment(ctx, sc, f)
					if err != nil {
						t.Fatal(err)
					}
					if path, ok := sameJSON(t, a, b); !ok {
						t.Errorf("attainment differs from opp_facts at %s", path)
					}
					for _, r := range a.Targets {
						if r.Booked > 0 {
							rows++
						}
					}
					c, err := fast.Coverage(ctx, sc, f)
					if err != nil {
						t.Fatal(err)
					}
					d, err := plain.Coverage(ctx, sc, f)
					if err != nil {
						t.Fatal(err)
					}
					if path, ok := sameJSON(t, c, d); !ok {
						t.Errorf("coverage differs from opp_facts at %s", path)
					}
					if c.Won <= 0 {
						t.Errorf("coverage won %v: the fixture closes deals in every range", c.Won)
					}
				})
			}
		}
		// Booked amounts of every scope, or the comparison compares zeros.
		if rows < 100 {
			t.Errorf("%s: only %d target rows with bookings", zone, rows)
		}
	}
}

// addBookingTargets gives the random fixture's reps, teams, territories and
// company a bookings target for each month and quarter of its year.
func addBookingTargets(fx *fixture) {
	add := func(scope, id string, start, end time.Time) {
		fx.targets = append(fx.targets, ftarget{scope, id, start, end, float64(1000 + 37*len(fx.targets))})
	}
	for m := 0; m < 12; m++ {
		start := time.Date(2023, time.Month(10+m), 1, 0, 0, 0, 0, time.UTC)
		ends := []time.Time{start.AddDate(0, 1, 0)}
		if m%3 == 0 {
			ends = append(ends, start.AddDate(0, 3, 0))
		}
		for _, end := range ends {
			for _, r := range fx.reps {
				add("rep", r.id, start, end)
			}
			for _, tm := range []string{"East", "West", "North"} {
				add("team", tm, start, end)
			}
			for _, tr := range []string{"T1", "T2", "T3", "T4"} {
				add("territory", tr, start, end)
			}
			add("company", "", start, end)
		}
	}
	// periods that cut months: their days outside whole months come from
	// the deals themselves
	for _, r := range fx.reps[:3] {
		add("rep", r.id, time.Date(2024, 1, 10, 0, 0, 0, 0, time.UTC), time.Date(2024, 3, 20, 0, 0, 0, 0, time.UTC))
		add("rep", r.id, time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC), time.Date(2024, 5, 17, 0, 0, 0, 0, time.UTC))
	}
}
