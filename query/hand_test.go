package query

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

func quietLog() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// handFixture is small enough to compute every metric by hand (see the comments
// in the tests). Q1 2024 is the range of most checks.
func handFixture() *fixture {
	return &fixture{
		reps: []frep{
			{"d1", "Dana", "director", "", "", ""},
			{"m1", "Ming", "manager", "d1", "East", "North"},
			{"m2", "Mara", "manager", "d1", "West", "South"},
			{"r1", "Rui", "rep", "m1", "East", "North"},
			{"r2", "Rosa", "rep", "m1", "East", "North"},
			{"r3", "Ravi", "rep", "m2", "West", "South"},
		},
		accounts: []facct{
			{"A1", "Acme", "North", "Enterprise", 5000},
			{"A2", "Beta", "North", "SMB", 50},
			{"A3", "Cato", "South", "SMB", 40},
			{"A4", "Dune", "South", "Enterprise", 4000},
			{"A5", "Echo", "", "SMB", 30},
		},
		opps: []fopp{
			{"o1", "A1", "r1", "Pro", "web", "won", 100, ts("2024-01-02 10:00"), d("2024-02-10"), true, true},
			{"o2", "A2", "r1", "Basic", "event", "lost", 50, ts("2024-01-03 09:00"), d("2024-02-01"), true, false},
			{"o3", "A1", "r2", "Pro", "web", "proposal", 80, ts("2024-01-15 09:00"), d("2024-04-30"), false, false},
			{"o4", "A2", "r2", "Basic", "partner", "won", 200, ts("2024-02-01 09:00"), d("2024-03-15"), true, true},
			{"o5", "A3", "r3", "Pro", "web", "lost", 30, ts("2024-02-10 09:00"), d("2024-03-01"), true, false},
			{"o6", "A5", "r3", "Basic", "event", "lead", 10, ts("2024-03-05 09:00"), d("2024-05-01"), false, false},
			{"o7", "A1", "r1", "Pro", "web", "won", 60, ts("2023-12-20 09:00"), d("2024-01-25"), true, true},
		},
		events: []fevent{
			{"o1", "lead", 1, ts("2024-01-02 10:00")}, {"o1", "qualified", 2, ts("2024-01-05 10:00")},
			{"o1", "proposal", 3, ts("2024-01-10 10:00")}, {"o1", "negotiation", 4, ts("2024-01-20 10:00")},
			{"o1", "won", 100, ts("2024-02-10 10:00")},
			{"o2", "lead", 1, ts("2024-01-03 09:00")}, {"o2", "qualified", 2, ts("2024-01-08 09:00")}, {"o2", "lost", 0, ts("2024-02-01 09:00")},
			{"o3", "lead", 1, ts("2024-01-15 09:00")}, {"o3", "proposal", 3, ts("2024-01-25 09:00")},
			{"o5", "lead", 1, ts("2024-02-10 09:00")}, {"o5", "qualified", 2, ts("2024-02-12 09:00")},
			{"o5", "proposal", 3, ts("2024-02-20 09:00")}, {"o5", "lost", 0, ts("2024-03-01 09:00")},
			{"o6", "lead", 1, ts("2024-03-05 09:00")},
			{"o7", "lead", 1, ts("2023-12-20 09:00")}, {"o7", "qualified", 2, ts("2024-01-02 09:00")}, {"o7", "won", 100, ts("2024-01-25 09:00")},
		},
		snaps: []fsnap{
			// o3 pushed out twice, amount raised once; o6 pulled in.
			{d("2024-01-31"), "o3", 80, d("2024-03-31"), false},
			{d("2024-02-29"), "o3", 90, d("2024-04-15"), false},
			{d("2024-03-31"), "o3", 80, d("2024-04-30"), false},
			{d("2024-03-10"), "o6", 10, d("2024-06-01"), false},
			{d("2024-03-20"), "o6", 10, d("2024-05-01"), false},
			// o1 closed between snapshots: the close is not a move.
			{d("2024-01-31"), "o1", 100, d("2024-02-28"), false},
			{d("2024-02-29"), "o1", 100, d("2024-02-10"), true},
		},
		leads: []flead{
			{"l1", ts("2024-01-01 08:00"), "web", "r1", true, "o1"},
			{"l2", ts("2024-01-02 08:00"), "web", "r1", false, ""},
			{"l3", ts("2024-01-03 08:00"), "event", "r3", true, "o6"},
			{"l4", ts("2024-02-03 08:00"), "web", "r2", false, ""},
			{"l5", ts("2024-05-03 08:00"), "web", "r2", true, ""},
		},
		acts: []fact{
			{"x1", "call", "r1", "o1", ts("2024-01-03 10:00")},
			{"x2", "visit", "r1", "o1", ts("2024-01-04 10:00")},
			{"x3", "call", "r3", "o5", ts("2024-02-11 10:00")},
		},
		targets: []ftarget{
			{"rep", "r1", d("2024-01-01"), d("2024-04-01"), 200},
			{"rep", "r2", d("2024-01-01"), d("2024-04-01"), 400},
			{"rep", "r3", d("2024-01-01"), d("2024-04-01"), 100},
			{"team", "East", d("2024-01-01"), d("2024-04-01"), 600},
		},
	}
}

var q1 = Filter{From: d("2024-01-01"), To: d("2024-04-01")}

func newHand(t *testing.T) *Service {
	t.Helper()
	db := schemastest.Open(t)
	handFixture().load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRefreshFacts(t *testing.T) {
	s := newHand(t)
	type row struct {
		id, team, terr string
		amount         float64
		furthest       uint8
		entered        []time.Time
		exited         []time.Time
	}
	var got []row
	err := s.query(context.Background(), "t", "SELECT opportunity_id, team, territory, amount, furthest, entered, exited FROM opp_facts WHERE {facts} ORDER BY opportunity_id", nil, func(r driverRows) error {
		var x row
		if err := r.Scan(&x.id, &x.team, &x.terr, &x.amount, &x.furthest, &x.entered, &x.exited); err != nil {
			return err
		}
		got = append(got, x)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		t.Logf("%+v", g)
	}
	if len(got) != 7 || got[0].amount != 100 || got[0].furthest != 100 || got[1].furthest != 2 || got[2].furthest != 3 || got[5].terr != "South" {
		t.Fatalf("opp_facts wrong: %+v", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestFunnelHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	director := Scope{Name: "dana", Role: RoleDirector}
	east := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	ravi := Scope{Name: "ravi", Role: RoleRep, Rep: "r3"}
	cases := []struct {
		name            string
		sc              Scope
		f               Filter
		reached         []int64
		won, lost, open int64
	}{
		// furthest: o1 won, o2 qualified, o3 proposal (qualified skipped), o4 won
		// (no history), o5 proposal, o6 lead; o7 was created in December.
		{"all", director, q1, []int64{6, 5, 4, 2}, 2, 2, 2},
		{"manager sees own team", east, q1, []int64{4, 4, 3, 2}, 2, 1, 1},
		{"rep sees own deals", ravi, q1, []int64{2, 1, 1, 0}, 0, 1, 1},
		{"product", director, Filter{From: q1.From, To: q1.To, Product: []string{"Pro"}}, []int64{3, 3, 3, 1}, 1, 1, 1},
		{"territory and segment", director, Filter{From: q1.From, To: q1.To, Territory: []string{"South"}, Segment: []string{"SMB"}}, []int64{2, 1, 1, 0}, 0, 1, 1},
		{"manager filter", director, Filter{From: q1.From, To: q1.To, Manager: []string{"m2"}}, []int64{2, 1, 1, 0}, 0, 1, 1},
		{"january", director, Filter{From: d("2024-01-01"), To: d("2024-02-01")}, []int64{3, 3, 2, 1}, 1, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Funnel(ctx, c.sc, c.f)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range got.Stages {
				if st.Reached != c.reached[i] {
					t.Errorf("reached(%s) = %d, want %d", st.Stage, st.Reached, c.reached[i])
				}
			}
			if got.Won != c.won || got.Lost != c.lost || got.Open != c.open {
				t.Errorf("won/lost/open = %d/%d/%d, want %d/%d/%d", got.Won, got.Lost, got.Open, c.won, c.lost, c.open)
			}
		})
	}
	got, _ := s.Funnel(ctx, director, q1)
	want := []float64{5.0 / 6, 4.0 / 5, 2.0 / 4, 2.0 / 2}
	for i, st := range got.Stages {
		if !near(st.Conversion, want[i]) {
			t.Errorf("conversion out of %s = %v, want %v", st.Stage, st.Conversion, want[i])
		}
	}
	if _, err := s.Funnel(ctx, east, Filter{From: q1.From, To: q1.To, Team: []string{"West"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a manager asking for another team's funnel got %v, want ErrForbidden", err)
	}
	if _, err := s.Funnel(ctx, ravi, Filter{From: q1.From, To: q1.To, Rep: []string{"r1"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a rep asking for another rep's funnel got %v, want ErrForbidden", err)
	}
}

func TestConversionTrendHand(t *testing.T) {
	s := newHand(t)
	got, err := s.Conversion(context.Background(), Unrestricted, q1, Month)
	if err != nil {
		t.Fatal(err)
	}
	// Jan: o1 won, o2 lost, o3 open; Feb: o4 won, o5 lost; Mar: o6 open.
	if len(got) != 3 || got[0].Period != "2024-01-01" || got[0].Cohort != 3 || got[1].Cohort != 2 || got[2].Cohort != 1 {
		t.Fatalf("monthly cohorts: %+v", got)
	}
	if !got[0].Incomplete || got[1].Incomplete || !got[2].Incomplete {
		t.Errorf("incomplete flags = %v %v %v, want true false true (1/3 and 1/1 open)", got[0].Incomplete, got[1].Incomplete, got[2].Incomplete)
	}
	if !near(got[1].WinConversion, 0.5) {
		t.Errorf("February win conversion = %v, want 0.5", got[1].WinConversion)
	}
	wk, err := s.Conversion(context.Background(), Unrestricted, Filter{From: d("2024-01-03"), To: d("2024-01-16")}, Week)
	if err != nil {
		t.Fatal(err)
	}
	// 2024-01-01 is a Monday: o2 (Jan 3) in week 1 (partial), o3 (Jan 15) in week 3.
	if len(wk) != 2 || wk[0].Period != "2024-01-01" || !wk[0].Partial || wk[1].Period != "2024-01-15" {
		t.Errorf("weekly trend: %+v", wk)
	}
	if _, err := s.Conversion(context.Background(), Unrestricted, q1, "year"); !errors.Is(err, ErrBadFilter) {
		t.Errorf("period=year: got %v, want ErrBadFilter", err)
	}
}

func TestWinRateCycleHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	wr, err := s.WinRate(ctx, Unrestricted, q1, "team")
	if err != nil {
		t.Fatal(err)
	}
	// Closed in Q1: o7, o1, o4 won (60+100+200), o2, o5 lost (50+30).
	if wr.Total.Won != 3 || wr.Total.Lost != 2 || !near(wr.Total.WinRate, 0.6) || !near(wr.Total.WinRateAmount, 360.0/440) {
		t.Errorf("total win rate %+v", wr.Total)
	}
	if len(wr.Groups) != 2 || wr.Groups[0].Key != "East" || wr.Groups[0].Won != 3 || wr.Groups[0].Lost != 1 || wr.Groups[1].Won != 0 || wr.Groups[1].Lost != 1 {
		t.Errorf("win rate by team %+v", wr.Groups)
	}
	byRep, _ := s.WinRate(ctx, Unrestricted, q1, "manager")
	if len(byRep.Groups) != 2 || byRep.Groups[0].Name != "Ming" {
		t.Errorf("win rate by manager %+v", byRep.Groups)
	}
	if _, err := s.WinRate(ctx, Unrestricted, q1, "colour"); !errors.Is(err, ErrBadFilter) {
		t.Errorf("group_by=colour: %v", err)
	}
	ct, err := s.CycleTime(ctx, Unrestricted, q1, "rep")
	if err != nil {
		t.Fatal(err)
	}
	// o1 39 days, o4 43 days (leap year), o7 36 days.
	if ct.Total.Count != 3 || !near(ct.Total.Median, 39) || !near(ct.Total.Mean, 118.0/3) {
		t.Errorf("cycle time %+v", ct.Total)
	}
	if len(ct.Groups) != 2 || ct.Groups[0].Key != "r1" || !near(ct.Groups[0].Median, 37.5) {
		t.Errorf("cycle time by rep %+v", ct.Groups)
	}
	dis, err := s.DaysInStage(ctx, Unrestricted, q1, "")
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		n            int64
		median, mean float64
		still        int64
	}{{4, 4, 5, 1}, {4, 15.5, 15, 0}, {2, 10, 10, 1}, {1, 21, 21, 0}}
	if len(dis) != 4 {
		t.Fatalf("days in stage: %+v", dis)
	}
	for i, w := range want {
		g := dis[i]
		if g.Count != w.n || !near(g.Median, w.median) || !near(g.Mean, w.mean) || g.StillIn != w.still {
			t.Errorf("days in %s = n %d median %v mean %v still %d, want %+v", g.Stage, g.Count, g.Median, g.Mean, g.StillIn, w)
		}
	}
}

func TestMovementLeadsTargetsHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	mv, err := s.Movement(ctx, Unrestricted, q1, Month)
	if err != nil {
		t.Fatal(err)
	}
	if len(mv.Periods) != 3 {
		t.Fatalf("movement periods %+v", mv.Periods)
	}
	jan, feb, mar := mv.Periods[0], mv.Periods[1], mv.Periods[2]
	if jan.Opened != 3 || jan.OpenedAmount != 230 || jan.Won != 1 || jan.WonAmount != 60 || feb.Won != 1 || feb.Lost != 1 || mar.Won != 1 || mar.LostAmount != 30 {
		t.Errorf("opened/won/lost: %+v", mv.Periods)
	}
	// o3 pushed in February (+10) and March (-10); o6 pulled in in March; o1's
	// close is a win, not a move.
	if feb.PushedOut != 1 || feb.PulledIn != 0 || feb.AmountChange != 10 || mar.PushedOut != 1 || mar.PulledIn != 1 || mar.AmountChange != -10 || mar.PushesPerDeal != 1 {
		t.Errorf("moves: feb %+v mar %+v", feb, mar)
	}
	if len(mv.TopPushed) != 1 || mv.TopPushed[0].OpportunityID != "o3" || mv.TopPushed[0].Pushes != 2 || mv.TopPushed[0].DaysPushed != 30 {
		t.Errorf("top pushed %+v", mv.TopPushed)
	}
	lc, err := s.LeadConversion(ctx, Unrestricted, q1)
	if err != nil {
		t.Fatal(err)
	}
	if lc.Total.Leads != 4 || lc.Total.Converted != 2 || len(lc.Sources) != 2 || lc.Sources[1].Source != "web" || lc.Sources[1].Leads != 3 || lc.Sources[1].Converted != 1 {
		t.Errorf("lead conversion %+v", lc)
	}
	lcE, _ := s.LeadConversion(ctx, Scope{Role: RoleManager, Team: "East"}, q1)
	if lcE.Total.Leads != 3 {
		t.Errorf("East's leads = %d, want 3", lcE.Total.Leads)
	}
	at, err := s.Attainment(ctx, Unrestricted, q1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"rep/r1": 160, "rep/r2": 200, "rep/r3": 0, "team/East": 360}
	if len(at.Targets) != len(want) {
		t.Fatalf("attainment rows %+v", at.Targets)
	}
	for _, r := range at.Targets {
		if b, ok := want[r.Scope+"/"+r.ScopeID]; !ok || !near(r.Booked, b) || !near(r.Attainment, b/r.Target) {
			t.Errorf("attainment %+v, want booked %v", r, b)
		}
	}
	atE, _ := s.Attainment(ctx, Scope{Role: RoleManager, Team: "East"}, q1)
	if len(atE.Targets) != 3 {
		t.Errorf("East manager sees targets %+v, want r1, r2 and East", atE.Targets)
	}
	cv, err := s.Coverage(ctx, Unrestricted, Filter{From: d("2024-01-01"), To: d("2024-06-01")})
	if err != nil {
		t.Fatal(err)
	}
	// Target: East's team target (600) and, West having none, r3's (100).
	// The range has ended: pipeline and remaining are shown, coverage is not
	// (nothing is still to close in it).
	if cv.Pipeline != 90 || cv.Won != 360 || cv.Target != 700 || cv.TargetLevel != "team+rep" || cv.Prorated || cv.Remaining != 340 || cv.Coverage != nil || cv.Status != "ended" {
		t.Errorf("coverage %+v", cv)
	}
	// A partial period compares like with like: 1 Jan – 1 Mar holds 60 of Q1's
	// 91 days, so each Q1 target counts 60/91 of itself.
	part := Filter{From: d("2024-01-01"), To: d("2024-03-01")}
	cp, err := s.Coverage(ctx, Unrestricted, part)
	if err != nil {
		t.Fatal(err)
	}
	if !near(cp.Target, 700*60.0/91) || !cp.Prorated || !near(cp.TeamTargets["East"], 600*60.0/91) || !near(cp.TeamTargets["West"], 100*60.0/91) {
		t.Errorf("coverage of Jan–Feb: target %v (teams %v, prorated %v), want %v", cp.Target, cp.TeamTargets, cp.Prorated, 700*60.0/91)
	}
	// A manager's target is the team target, as on the teams table.
	cm, _ := s.Coverage(ctx, Scope{Role: RoleManager, Team: "East"}, q1)
	if cm.Target != 600 || cm.TargetLevel != "team" {
		t.Errorf("East's target %v (%s), want 600 (team)", cm.Target, cm.TargetLevel)
	}
	// A territory without territory targets: its reps' (North: r1 200, r2 400).
	if cn, _ := s.Coverage(ctx, Unrestricted, Filter{From: q1.From, To: q1.To, Territory: []string{"North"}}); cn.Target != 600 || cn.TargetLevel != "rep" {
		t.Errorf("North's target %v (%s), want 600 (rep)", cn.Target, cn.TargetLevel)
	}
	// Nothing left to book: no coverage figure, and says why.
	cr, _ := s.Coverage(ctx, Scope{Role: RoleRep, Rep: "r1"}, Filter{From: d("2024-01-01"), To: d("2024-06-01")})
	if cr.Target != 200 || cr.Won != 160 || cr.Status != "ended" {
		t.Errorf("r1: %+v", cr)
	}
	if none, _ := s.Coverage(ctx, Unrestricted, Filter{From: d("2025-01-01"), To: d("2025-02-01")}); none.Coverage != nil || none.Status != "no_target" {
		t.Errorf("a range without targets: %+v", none)
	}
}

// Sales velocity does not grow with the length of the range.
func TestVelocity(t *testing.T) {
	if v := Velocity(30, 30, 2, 8, 1000); v == nil || !near(*v, 1*0.2*500) {
		t.Errorf("30 opened in 30 days, 2 of 10 won for 1000: %v, want 100/day", v)
	}
	if v := Velocity(360, 360, 2, 8, 1000); v == nil || !near(*v, 100) {
		t.Errorf("the same pace over a year: %v, want 100/day", v)
	}
	if v := Velocity(30, 30, 0, 0, 0); v != nil {
		t.Errorf("nothing closed: %v, want nil", *v)
	}
}

func TestTerritoriesDealsSeriesHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	ts, err := s.Territories(ctx, Unrestricted, q1)
	if err != nil {
		t.Fatal(err)
	}
	// Won per won account: Enterprise 160 (A1), SMB 200 (A2). North = A1 + A2 =
	// 360 potential, all captured; South = A3 (SMB) + A4 (Enterprise) = 360, none.
	if len(ts) != 2 || ts[0].Territory != "South" || ts[0].Rank != 1 || !near(ts[0].Potential, 360) || ts[0].Captured != 0 || ts[0].WhiteSpace != 1 || ts[0].Pipeline != 10 || !near(ts[0].Coverage, 0.5) {
		t.Fatalf("territories %+v", ts)
	}
	if n := ts[1]; n.Territory != "North" || !near(n.Headroom, 0) || n.Won != 3 || n.Lost != 1 || !near(n.WinRate, 0.75) || n.WhiteSpace != 0 {
		t.Errorf("North %+v", n)
	}
	deals, err := s.Deals(ctx, Unrestricted, q1, DealQuery{Status: "open"})
	if err != nil {
		t.Fatal(err)
	}
	if deals.Total != 2 || deals.Deals[0].OpportunityID != "o3" || deals.Deals[0].Furthest != "proposal" || deals.Deals[0].OwnerName != "Rosa" {
		t.Errorf("open deals %+v", deals)
	}
	reached, _ := s.Deals(ctx, Unrestricted, q1, DealQuery{Stage: "proposal", Reached: true, PageSize: 3, Page: 2})
	if reached.Total != 4 || len(reached.Deals) != 1 {
		t.Errorf("deals that reached proposal, page 2 of 3 per page: %+v", reached)
	}
	if _, err := s.Deals(ctx, Unrestricted, q1, DealQuery{Sort: "name; DROP TABLE x"}); !errors.Is(err, ErrBadFilter) {
		t.Errorf("bad sort: %v", err)
	}
	ser, err := s.DailySeries(ctx, Unrestricted, "opportunities", "team", q1)
	if err != nil {
		t.Fatal(err)
	}
	east := ser["East"]
	if len(east) != 91 || east[1].Value != 1 || east[2].Value != 1 || east[14].Value != 1 || east[3].Value != 0 {
		t.Errorf("East daily opportunities %v", east)
	}
	for _, m := range SeriesMetrics {
		if _, err := s.DailySeries(ctx, Unrestricted, m, "", q1); err != nil {
			t.Errorf("series %s: %v", m, err)
		}
	}
	// Every filter applies (the product filter was ignored): Pro deals created
	// in Q1 are o1, o3 and o5; web leads l1, l2 and l4.
	total := func(metric string, f Filter) (float64, error) {
		ser, err := s.DailySeries(ctx, Unrestricted, metric, "", f)
		var n float64
		for _, p := range ser["all"] {
			n += p.Value
		}
		return n, err
	}
	pro, web := q1, q1
	pro.Product, web.Source = []string{"Pro"}, []string{"web"}
	if n, err := total("opportunities", pro); err != nil || n != 3 {
		t.Errorf("Pro opportunities created in Q1: %v (%v), want 3", n, err)
	}
	if n, err := total("leads", web); err != nil || n != 3 {
		t.Errorf("web leads created in Q1: %v (%v), want 3", n, err)
	}
	if _, err := total("leads", pro); !errors.Is(err, ErrBadFilter) {
		t.Errorf("leads filtered by product: %v, want a bad-filter error", err)
	}
}

func TestBusinessTimeZone(t *testing.T) {
	db := schemastest.Open(t)
	fx := &fixture{
		reps: []frep{{"r1", "Rui", "rep", "", "East", "North"}},
		opps: []fopp{
			// 2024-03-31 20:00 UTC is 2024-04-01 04:00 in Shanghai: Q2 there.
			{"z1", "", "r1", "Pro", "web", "lead", 5, ts("2024-03-31 20:00"), d("2024-06-01"), false, false},
		},
	}
	fx.load(t, db)
	sh, _ := time.LoadLocation("Asia/Shanghai")
	for _, c := range []struct {
		loc  *time.Location
		want int64
	}{{time.UTC, 1}, {sh, 0}} {
		s := New(db, c.loc, quietLog())
		if err := s.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
		f, err := ParseFilter(url.Values{"from": {"2024-01-01"}, "to": {"2024-04-01"}}, c.loc)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Funnel(context.Background(), Unrestricted, f)
		if err != nil {
			t.Fatal(err)
		}
		if got.Cohort != c.want {
			t.Errorf("Q1 cohort in %s = %d, want %d", c.loc, got.Cohort, c.want)
		}
	}
}

func TestParseFilter(t *testing.T) {
	for _, c := range []struct {
		q     string
		param string
	}{
		{"from=2024-13-01", "from"},
		{"from=2024-02-01&to=2024-01-01", "to"},
		{"to=yesterday", "to"},
	} {
		v, _ := url.ParseQuery(c.q)
		_, err := ParseFilter(v, time.UTC)
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != c.param || !errors.Is(err, ErrBadFilter) {
			t.Errorf("%s: got %v, want an error naming %s", c.q, err, c.param)
		}
	}
	v, _ := url.ParseQuery("from=2024-01-01&to=2024-04-01&team=East,West&team=North&rep=r1")
	f, err := ParseFilter(v, time.UTC)
	if err != nil || len(f.Team) != 3 || f.Rep[0] != "r1" || !f.From.Equal(q1.From) {
		t.Errorf("ParseFilter = %+v, %v", f, err)
	}
	if g, _ := ParseFilter(f.Values(), time.UTC); len(g.Team) != 3 || !g.To.Equal(f.To) {
		t.Errorf("Values does not round-trip: %+v", g)
	}
}

// A lead counts as converted when the export marks it so or when it links the
// opportunity it became (ConvertedOpportunityId) without the mark.
func TestLeadConvertedByLink(t *testing.T) {
	db := schemastest.Open(t)
	fx := &fixture{
		reps: []frep{{"r1", "Rui", "rep", "", "East", "North"}},
		leads: []flead{
			{"k1", ts("2024-01-01 08:00"), "web", "r1", true, ""},
			{"k2", ts("2024-01-02 08:00"), "web", "r1", false, "006X1"},
			{"k3", ts("2024-01-03 08:00"), "web", "r1", false, ""},
			{"k4", ts("2024-01-04 08:00"), "event", "r1", true, "006X2"},
		},
	}
	fx.load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	lc, err := s.LeadConversion(context.Background(), Unrestricted, q1)
	if err != nil {
		t.Fatal(err)
	}
	if lc.Total.Leads != 4 || lc.Total.Converted != 3 || lc.Sources[1].Source != "web" || lc.Sources[1].Converted != 2 {
		t.Errorf("lead conversion %+v; want 4 leads, 3 converted (web 2 of 3)", lc)
	}
}

// Targets are set per rep, team, territory or company: a product slice of
// bookings has none to compare with.
func TestCoverageUnderProductFilter(t *testing.T) {
	s := newHand(t)
	f := q1
	f.Product = []string{"Pro"}
	cv, err := s.Coverage(context.Background(), Unrestricted, f)
	if err != nil {
		t.Fatal(err)
	}
	if cv.Status != "not_comparable" || cv.Target != 0 || cv.Coverage != nil || cv.Won != 160 {
		t.Errorf("coverage of Pro deals: %+v, want won 160 (o1, o7) and no target", cv)
	}
}
