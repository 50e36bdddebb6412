package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pipelens/pipelens/schemas/config"
)

func fp(v float64) *float64 { return &v }

// handTiers: big when won ≥ 1000 or revenue ≥ 1e9 (contact every 30 days, by
// the team); mid when pipeline ≥ 500 and 2+ activities (60 days, by the rep);
// small the rest (90 days, anyone). Won and activities over 365 days.
var handTiers = config.Tiers{LookbackDays: 365, Levels: []config.Tier{
	{Key: "big", Name: config.TierName{EN: "Big", ZH: "大"}, Match: "any", When: config.TierWhen{WonAtLeast: fp(1000), RevenueAtLeast: fp(1e9)},
		Service: config.ServiceLevel{ContactEveryDays: 30, CoveredBy: "team"}},
	{Key: "mid", Name: config.TierName{EN: "Mid", ZH: "中"}, Match: "all", When: config.TierWhen{PipelineAtLeast: fp(500), ActivitiesAtLeast: fp(2)},
		Service: config.ServiceLevel{ContactEveryDays: 60, CoveredBy: "rep"}},
	{Key: "small", Name: config.TierName{EN: "Small", ZH: "小"}, Match: "any",
		Service: config.ServiceLevel{ContactEveryDays: 90, CoveredBy: "anyone"}},
}}

// tierFixture, asked for [2024-01-01, 2024-07-01): the lookback is
// [2023-07-02, 2024-07-01), contacts count up to 2024-06-30.
func tierFixture() areaFixture {
	return areaFixture{
		reps: []arep{
			{"m1", "Ming", "manager", "East", d("2015-01-01")},
			{"r1", "Rui", "rep", "East", d("2019-01-01")},
			{"r2", "Rosa", "rep", "East", d("2020-01-01")},
			{"r3", "Ravi", "rep", "West", d("2018-01-01")},
		},
		accts: []aacct{
			{"A1", "Acme", "North", "Enterprise", 2e9, 9000}, // big by revenue; no deal: its rep is its latest contact's (r3)
			{"A2", "Beta", "North", "SMB", 0, 10},            // big by won 1200 (o1)
			{"A3", "Cato", "South", "SMB", 0, 10},            // mid: pipeline 600 and 2 activities
			{"A4", "Dune", "South", "SMB", 0, 10},            // small: pipeline 700 but 1 activity
			{"A5", "Echo", "South", "SMB", 0, 10},            // small: won 300 before the lookback
		},
		opps: []fopp{
			won("o1", "A2", "r1", 1200, "2024-01-05", "2024-03-10"),
			open("o2", "A3", "r2", 600, "2024-04-01"),
			open("o3", "A4", "r2", 700, "2024-05-01"),
			won("o4", "A5", "r1", 300, "2023-04-01", "2023-05-01"),
			lost("o5", "A5", "r3", 80, "2024-02-01", "2024-03-01"), // the latest deal of A5: r3 is its rep
			won("o6", "", "r1", 100, "2024-03-01", "2024-04-01"),   // no account
		},
		acts: []aact{
			{"a1", "r3", "A1", ts("2024-06-20 10:00")},
			{"a2", "r2", "A2", ts("2024-05-15 10:00")}, // r2 is in r1's team: counts for A2 (covered by team)
			{"a3", "r3", "A2", ts("2024-06-25 10:00")}, // West: does not count for A2
			{"a4", "r2", "A3", ts("2024-06-01 10:00")},
			{"a5", "r2", "A3", ts("2024-06-10 10:00")},
			{"a6", "r3", "A4", ts("2024-02-01 10:00")},
			{"a7", "r3", "A5", ts("2024-07-05 10:00")}, // after the range: not counted
		},
	}
}

func tierLine(a AccountTier) string {
	return fmt.Sprintf("%s %s rep=%s team=%s last=%s days=%d covered=%v", a.Account, a.Tier, a.Rep, a.Team, a.LastContact, a.DaysSince, a.Covered)
}

// TestTiersByHand checks tier assignment, coverage from activities, the
// accounts below their level per rep and team, and the tiers' shares of
// bookings and pipeline against hand-computed values.
func TestTiersByHand(t *testing.T) {
	s, _ := tierFixture().open(t)
	ctx := context.Background()
	f := Filter{From: d("2024-01-01"), To: d("2024-07-01")}
	got, err := s.Tiers(ctx, Unrestricted, f, handTiers, true)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, a := range got.Accounts {
		all = append(all, tierLine(a))
	}
	want := []string{
		// 2024-06-20 → 2024-06-30 is 10 days: within 30.
		"A1 big rep=r3 team=West last=2024-06-20 days=10 covered=true",
		// Only r2's contact counts (team East): 46 days ≥ 30.
		"A2 big rep=r1 team=East last=2024-05-15 days=46 covered=false",
		"A3 mid rep=r2 team=East last=2024-06-10 days=20 covered=true",
		"A4 small rep=r2 team=East last=2024-02-01 days=150 covered=false",
		"A5 small rep=r3 team=West last= days=-1 covered=false",
	}
	if strings.Join(all, "\n") != strings.Join(want, "\n") {
		t.Errorf("accounts:\n%s\nwant\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
	var below []string
	for _, a := range got.Below {
		below = append(below, a.Account)
	}
	// By tier, never contacted first, then the longest since.
	if strings.Join(below, ",") != "A2,A5,A4" {
		t.Errorf("below their level: %v, want A2,A5,A4", below)
	}
	var sum []string
	for _, x := range got.Tiers {
		sum = append(sum, fmt.Sprintf("%s %d/%d %.4f %.0f %.4f %.0f %.4f", x.Key, x.Covered, x.Accounts, x.Coverage, x.Bookings, x.BookingsShare, x.Pipeline, x.PipelineShare))
	}
	// Bookings in the range: o1 1200 (A2, big) and o6 100 (no account) of 1300;
	// pipeline: o2 600 (A3, mid) and o3 700 (A4, small) of 1300.
	wantSum := "big 1/2 0.5000 1200 0.9231 0 0.0000,mid 1/1 1.0000 0 0.0000 600 0.4615,small 0/2 0.0000 0 0.0000 700 0.5385"
	if strings.Join(sum, ",") != wantSum {
		t.Errorf("tiers:\n%s\nwant\n%s", strings.Join(sum, ","), wantSum)
	}
	if got.NoAccount.Bookings != 100 || math.Abs(got.NoAccount.BookingsShare-100.0/1300) > 1e-9 {
		t.Errorf("deals without an account: %+v, want bookings 100 (share 1/13)", got.NoAccount)
	}
	var reps, teams []string
	for _, o := range got.ByRep {
		reps = append(reps, fmt.Sprintf("%s %d/%d", o.Key, o.Below, o.Accounts))
	}
	for _, o := range got.ByTeam {
		teams = append(teams, fmt.Sprintf("%s %d/%d", o.Key, o.Below, o.Accounts))
	}
	if strings.Join(reps, ",") != "r1 1/1,r2 1/2,r3 1/2" || strings.Join(teams, ",") != "East 2/3,West 1/2" {
		t.Errorf("below per rep %v, per team %v; want r1 1/1, r2 1/2, r3 1/2 and East 2/3, West 1/2", reps, teams)
	}

	// A manager sees the own team's accounts only.
	m, err := s.Tiers(ctx, Scope{Name: "ming", Role: RoleManager, Team: "East"}, f, handTiers, false)
	if err != nil {
		t.Fatal(err)
	}
	below = nil
	for _, a := range m.Below {
		below = append(below, a.Account)
	}
	if strings.Join(below, ",") != "A2,A4" || m.Tiers[0].Accounts != 1 || m.Accounts != nil {
		t.Errorf("manager East: below %v, big accounts %d; want A2,A4 and 1 (A2), no full list", below, m.Tiers[0].Accounts)
	}
	if _, err := s.Tiers(ctx, Unrestricted, Filter{From: f.From, To: f.To, Product: []string{"Pro"}}, handTiers, false); !errors.Is(err, ErrBadFilter) {
		t.Errorf("a product filter on account tiers: %v, want a bad request", err)
	}
}
