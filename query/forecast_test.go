package query

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// forecastFixture is small enough to compute the forecast of Q2 2024 as of
// 2024-04-01 by hand. The window is [04-01, 07-01): 91 days, so the weekly
// reference days are r_j = 2024-01-01 − 7j (j = 0..51).
//
// History: h1..h4, created 2023-12-28 (after r_1 = 12-25), are open at r_0 =
// 01-01 only, 4 days old: h1 lead won 02-15 (within [r_0, r_0+91)), h2 lead
// lost 02-01, h3 qualified won 05-10 (too late), h4 proposal won 03-01.
// Now: c1 lead 1000 (r1, East), c2 qualified 500 (r2, East), c3 proposal 300
// (r3, West), all created 2024-03-20, 12 days old at 04-01; and h3, still
// open at 04-01 (qualified, 95 days old: the ≥ 90 days bucket).
func forecastFixture(slowdown bool) *fixture {
	h1 := fopp{"h1", "A1", "r1", "Pro", "web", "won", 100, ts("2023-12-28 10:00"), d("2024-02-15"), true, true}
	if slowdown {
		// The planted slowdown: h1 was lost instead.
		h1.stage, h1.won = "lost", false
	}
	h1end := "won"
	var h1rank uint8 = 100
	if slowdown {
		h1end, h1rank = "lost", 0
	}
	return &fixture{
		reps: []frep{
			{"d1", "Dana", "director", "", "", ""},
			{"m1", "Ming", "manager", "d1", "East", "North"},
			{"r1", "Rui", "rep", "m1", "East", "North"},
			{"r2", "Rosa", "rep", "m1", "East", "North"},
			{"r3", "Ravi", "rep", "m2", "West", "South"},
		},
		accounts: []facct{{"A1", "Acme", "North", "Enterprise", 5000}, {"A3", "Cato", "South", "SMB", 40}},
		opps: []fopp{
			h1,
			{"h2", "A1", "r2", "Pro", "web", "lost", 50, ts("2023-12-28 10:00"), d("2024-02-01"), true, false},
			{"h3", "A1", "r1", "Pro", "web", "won", 80, ts("2023-12-28 10:00"), d("2024-05-10"), true, true},
			{"h4", "A3", "r3", "Pro", "web", "won", 200, ts("2023-12-28 10:00"), d("2024-03-01"), true, true},
			{"c1", "A1", "r1", "Pro", "web", "lead", 1000, ts("2024-03-20 09:00"), d("2024-06-30"), false, false},
			{"c2", "A1", "r2", "Pro", "web", "qualified", 500, ts("2024-03-20 09:00"), d("2024-06-30"), false, false},
			{"c3", "A3", "r3", "Basic", "web", "proposal", 300, ts("2024-03-20 09:00"), d("2024-06-30"), false, false},
		},
		events: []fevent{
			{"h1", "lead", 1, ts("2023-12-28 10:00")}, {"h1", h1end, h1rank, ts("2024-02-15 10:00")},
			{"h2", "lead", 1, ts("2023-12-28 10:00")}, {"h2", "lost", 0, ts("2024-02-01 10:00")},
			{"h3", "lead", 1, ts("2023-12-28 10:00")}, {"h3", "qualified", 2, ts("2023-12-30 10:00")}, {"h3", "won", 100, ts("2024-05-10 10:00")},
			{"h4", "lead", 1, ts("2023-12-28 10:00")}, {"h4", "proposal", 3, ts("2023-12-29 10:00")}, {"h4", "won", 100, ts("2024-03-01 10:00")},
			{"c1", "lead", 1, ts("2024-03-20 09:00")},
			{"c2", "lead", 1, ts("2024-03-20 09:00")}, {"c2", "qualified", 2, ts("2024-03-25 09:00")},
			{"c3", "lead", 1, ts("2024-03-20 09:00")}, {"c3", "proposal", 3, ts("2024-03-22 09:00")},
		},
		targets: []ftarget{
			{"rep", "r1", d("2024-04-01"), d("2024-07-01"), 800},
			{"rep", "r2", d("2024-04-01"), d("2024-07-01"), 400},
			{"rep", "r3", d("2024-04-01"), d("2024-07-01"), 300},
		},
	}
}

func newForecastService(t *testing.T, slowdown bool) *Service {
	t.Helper()
	db := schemastest.Open(t)
	forecastFixture(slowdown).load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

var q2AsOf = ForecastRequest{Period: PeriodQuarter, AsOf: d("2024-04-01")}

func closeTo(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

func TestForecastHand(t *testing.T) {
	s := newForecastService(t, false)
	ctx := context.Background()
	fc, err := s.Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", fc)
	if fc.From != "2024-04-01" || fc.To != "2024-07-01" || !fc.History {
		t.Fatalf("period %s..%s history %v, want Q2 2024 with history", fc.From, fc.To, fc.History)
	}
	// At r_0: lead h1 (100, won in the window) and h2 (50); qualified h3 (80,
	// not in the window); proposal h4 (200, won). Rates are of amounts:
	// overall = 300/430; the pseudo-count is 10 deals of the mean amount
	// 430/4, so stage = (won amount + 1075·overall)/(amount + 1075) and the
	// 0–30 days cell (all of them) = (won amount + 1075·stage)/(amount + 1075).
	overall, km := 300.0/430, 10*430.0/4
	shrink := func(won, amt, prior float64) float64 { return (won + km*prior) / (amt + km) }
	pLead, pQual, pProp := shrink(100, 150, overall), shrink(0, 80, overall), shrink(200, 200, overall)
	cLead, cQual, cProp := shrink(100, 150, pLead), shrink(0, 80, pQual), shrink(200, 200, pProp)
	wantStages := []struct {
		open, won int64
		p, cell   float64
	}{{2, 1, pLead, cLead}, {1, 0, pQual, cQual}, {1, 1, pProp, cProp}, {0, 0, overall, overall}}
	for i, w := range wantStages {
		g := fc.Stages[i]
		if g.Open != w.open || g.Won != w.won || !closeTo(g.P, w.p) || !closeTo(g.Ages[0].P, w.cell) {
			t.Errorf("stage %s: open %d won %d p %v cell %v; want %d %d %v %v", g.Stage, g.Open, g.Won, g.P, g.Ages[0].P, w.open, w.won, w.p, w.cell)
		}
	}
	// Each open deal takes its segment's cell, shrunk towards the pooled one
	// with the same pseudo-count: Enterprise (A1) lead 100 won of 150,
	// qualified 0 of 80; SMB (A3) proposal 200 of 200. h3's ≥ 90 days cell
	// has no history anywhere: its stage's pooled rate.
	eLead, eQual, sProp := shrink(100, 150, cLead), shrink(0, 80, cQual), shrink(200, 200, cProp)
	pipe := 1000*eLead + 500*eQual + 80*pQual + 300*sProp
	// New deals: created in [r_j, r_j+91) over the 52 windows: h1..h4 (430) in
	// 13 windows, c1..c3 (1800) in 2 (r_0 and r_1); h1 won within 6 of its
	// windows (r_j > 02-15 − 91 days), h4 within 4 (r_j > 03-01 − 91 days).
	yield := (100*6 + 200*4) / (430*13 + 1800*2.0)
	newExp := 1800.0 / 91 * 91 * yield
	tot := fc.Total
	if !closeTo(fc.NewYield, yield) || !closeTo(tot.Won, 0) || !closeTo(tot.PipelineExpected, pipe) || !closeTo(tot.NewExpected, newExp) || !closeTo(tot.Point, pipe+newExp) {
		t.Errorf("components won %v pipeline %v new %v (yield %v) point %v; want 0, %v, %v (%v), %v", tot.Won, tot.PipelineExpected, tot.NewExpected, fc.NewYield, tot.Point, pipe, newExp, yield, pipe+newExp)
	}
	if tot.OpenDeals != 4 || !closeTo(tot.OpenAmount, 1880) || !closeTo(tot.Weighted, 1000*0.1+500*0.25+80*0.25+300*0.5) {
		t.Errorf("open %d deals %v, weighted %v; want 4, 1880, 395", tot.OpenDeals, tot.OpenAmount, tot.Weighted)
	}
	if !(tot.P10 <= tot.Point && tot.Point <= tot.P90) || tot.P10 < 0 || tot.P90 > 1880+newExp*10 || fc.Method != "simulation" {
		t.Errorf("range %v..%v (%s) does not bracket the point %v", tot.P10, tot.P90, fc.Method, tot.Point)
	}
	// Pacing: rep targets 800 + 400 + 300, nothing won yet, 13 weeks left.
	pc := fc.Pacing
	if pc == nil {
		t.Fatal("no pacing with targets in the period")
	}
	if !closeTo(pc.Target, 1500) || !closeTo(pc.Gap, 1500) || !closeTo(pc.WeeksLeft, 13) || !closeTo(pc.NeededPerWeek, 1500.0/13) ||
		!closeTo(pc.Coverage, 1880.0/1500) || !closeTo(pc.CoverageNeeded, 1880/pipe) || pc.ProbReach <= 0.4 || pc.ProbReach >= 0.7 {
		// The point (about 1554) is just above the target: P(reach) near a half.
		t.Errorf("pacing %+v; want target 1500, gap 1500, 13 weeks, %v a week, coverage 1.2533 vs needed %v, P(reach) in (0.4, 0.7)", *pc, 1500.0/13, 1880/pipe)
	}

	// By team: the groups add up to the total; East holds c1, c2 and h3.
	byTeam, err := s.Forecast(ctx, Unrestricted, Filter{}, ForecastRequest{Period: PeriodQuarter, AsOf: q2AsOf.AsOf, GroupBy: "team"})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, g := range byTeam.Groups {
		sum += g.Point
		if g.Key == "East" && !closeTo(g.PipelineExpected, 1000*eLead+500*eQual+80*pQual) {
			t.Errorf("East's pipeline expected %v, want %v", g.PipelineExpected, 1000*eLead+500*eQual+80*pQual)
		}
	}
	if len(byTeam.Groups) != 2 || !closeTo(sum, byTeam.Total.Point) || !closeTo(byTeam.Total.Point, tot.Point) {
		t.Errorf("team groups %+v add up to %v, total %v, ungrouped %v", byTeam.Groups, sum, byTeam.Total.Point, tot.Point)
	}

	// Next quarter: nothing won, every open deal and the history shifted.
	next, err := s.Forecast(ctx, Unrestricted, Filter{}, ForecastRequest{Period: PeriodNextQuarter, AsOf: q2AsOf.AsOf})
	if err != nil {
		t.Fatal(err)
	}
	if next.From != "2024-07-01" || next.Total.Won != 0 {
		t.Errorf("next quarter %s won %v, want 2024-07-01 and 0", next.From, next.Total.Won)
	}
	if _, err := s.Forecast(ctx, Unrestricted, Filter{}, ForecastRequest{Period: "year", AsOf: q2AsOf.AsOf}); !errors.Is(err, ErrBadFilter) {
		t.Errorf("period=year: %v, want ErrBadFilter", err)
	}
}

// TestForecastSlowdown: with one win fewer in the history (h1 lost), every
// rate falls, and so does the forecast.
func TestForecastSlowdown(t *testing.T) {
	ctx := context.Background()
	base, err := newForecastService(t, false).Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := newForecastService(t, true).Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	if !(slow.Total.PipelineExpected < base.Total.PipelineExpected && slow.Total.NewExpected < base.Total.NewExpected && slow.Total.Point < base.Total.Point) {
		t.Errorf("a sales leader would see no slowdown: forecast %v → %v (pipeline %v → %v, new %v → %v)",
			base.Total.Point, slow.Total.Point, base.Total.PipelineExpected, slow.Total.PipelineExpected, base.Total.NewExpected, slow.Total.NewExpected)
	}
	// Hand: lead 150 open, 0 won; overall 200/430; pLead = (0 + 1075·overall)/(150 + 1075).
	if want := 1075 * 200.0 / 430 / 1225; !closeTo(slow.Stages[0].P, want) {
		t.Errorf("slowed lead rate %v, want %v", slow.Stages[0].P, want)
	}
	if slow.Pacing == nil || slow.Pacing.ProbReach > base.Pacing.ProbReach {
		t.Errorf("P(reach target) rose with fewer wins: %v → %v", base.Pacing, slow.Pacing)
	}
}

// TestForecastScope: a manager's forecast holds the own team's deals only; a
// rep's the own deals; asking for another team is refused.
func TestForecastScope(t *testing.T) {
	s := newForecastService(t, false)
	ctx := context.Background()
	east := Scope{Name: "ming", Role: RoleManager, Team: "East"}
	ravi := Scope{Name: "ravi", Role: RoleRep, Rep: "r3"}
	m, err := s.Forecast(ctx, east, Filter{}, ForecastRequest{Period: PeriodQuarter, AsOf: q2AsOf.AsOf, GroupBy: "rep"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Total.OpenDeals != 3 || !closeTo(m.Total.OpenAmount, 1580) || len(m.Groups) != 2 || m.Groups[0].Key != "r1" || m.Groups[0].Name != "Rui" {
		t.Errorf("manager of East sees %d open deals worth %v in groups %+v; want c1, h3 and c2 (1580) under r1 Rui and r2", m.Total.OpenDeals, m.Total.OpenAmount, m.Groups)
	}
	if m.Pacing == nil || !closeTo(m.Pacing.Target, 1200) {
		t.Errorf("East's pacing %+v, want the target of r1 and r2 (1200)", m.Pacing)
	}
	r, err := s.Forecast(ctx, ravi, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total.OpenDeals != 1 || !closeTo(r.Total.OpenAmount, 300) {
		t.Errorf("rep r3 sees %d open deals worth %v; want c3 (300)", r.Total.OpenDeals, r.Total.OpenAmount)
	}
	if _, err := s.Forecast(ctx, east, Filter{Team: []string{"West"}}, q2AsOf); !errors.Is(err, ErrForbidden) {
		t.Errorf("a manager asking for another team's forecast got %v, want ErrForbidden", err)
	}
	// Filters: product Basic is c3 only.
	p, err := s.Forecast(ctx, Unrestricted, Filter{Product: []string{"Basic"}}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total.OpenDeals != 1 || !closeTo(p.Total.OpenAmount, 300) {
		t.Errorf("product=Basic: %d open deals worth %v; want c3 (300)", p.Total.OpenDeals, p.Total.OpenAmount)
	}
}

// TestBacktestHand: the baselines of a backtest point, by hand.
func TestBacktestHand(t *testing.T) {
	s := newForecastService(t, false)
	ctx := context.Background()
	// Q1 2024 as of week 8 (02-26): won so far h1 100 (02-15); 56 of 91 days.
	bp, err := s.Backtest(ctx, Unrestricted, Filter{}, d("2024-01-01"), 8)
	if err != nil {
		t.Fatal(err)
	}
	if bp.AsOf != "2024-02-26" || !closeTo(bp.Actual, 300) || !closeTo(bp.RunRate, 100*91.0/56) {
		t.Errorf("backtest %+v; want as of 2024-02-26, actual 300 (h1, h4), run-rate %v", bp, 100*91.0/56)
	}
	// Open at 02-26: h3 qualified (0.25 × 80), h4 proposal (0.5 × 200).
	if !closeTo(bp.Weighted, 100+0.25*80+0.5*200) {
		t.Errorf("weighted pipeline %v, want %v", bp.Weighted, 100+0.25*80+0.5*200)
	}
	// At the quarter's start the run-rate is the previous quarter's bookings (none).
	bp, err = s.Backtest(ctx, Unrestricted, Filter{}, d("2024-01-01"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if bp.RunRate != 0 || !closeTo(bp.Weighted, 0.1*100+0.1*50+0.25*80+0.5*200) {
		t.Errorf("at the start: %+v", bp)
	}
}

// TestForecastNoPeeking: a forecast as of a day reads nothing dated on or
// after it: changing how a deal open that day ends (h3 lost on 05-10 instead
// of won) and adding a deal created later leave the forecast as of 04-01
// exactly as it was. This is what lets the backtest replay past quarters.
func TestForecastNoPeeking(t *testing.T) {
	ctx := context.Background()
	base, err := newForecastService(t, false).Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	fx := forecastFixture(false)
	for i := range fx.opps {
		if fx.opps[i].id == "h3" {
			fx.opps[i].stage, fx.opps[i].won = "lost", false
		}
	}
	for i := range fx.events {
		if fx.events[i].opp == "h3" && fx.events[i].stage == "won" {
			fx.events[i].stage, fx.events[i].rank = "lost", 0
		}
	}
	fx.opps = append(fx.opps, fopp{"late", "A1", "r1", "Pro", "web", "won", 5000, ts("2024-04-02 09:00"), d("2024-04-20"), true, true})
	fx.events = append(fx.events, fevent{"late", "lead", 1, ts("2024-04-02 09:00")}, fevent{"late", "won", 100, ts("2024-04-20 09:00")})
	db := schemastest.Open(t)
	fx.load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	later, err := s.Forecast(ctx, Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	if later.Total != base.Total || later.NewYield != base.NewYield {
		t.Errorf("the forecast as of 04-01 moved with what happened after it: %+v → %+v", base.Total, later.Total)
	}
	for i := range base.Stages {
		if later.Stages[i].P != base.Stages[i].P || later.Stages[i].Open != base.Stages[i].Open {
			t.Errorf("stage %s's rate moved: %+v → %+v", base.Stages[i].Stage, base.Stages[i], later.Stages[i])
		}
	}
}

// TestForecastRange: the simulated range and the normal approximation agree
// where both hold (many deals), and the simulation is the one used below
// forecastSimMax open deals.
func TestForecastRange(t *testing.T) {
	build := func(n int) ([]ForecastGroup, []forecastDeal) {
		g := ForecastGroup{Key: "g", Won: 100, NewExpected: 50, lambda: 5}
		var deals []forecastDeal
		for i := 0; i < n; i++ {
			a := float64(1 + i%3)
			deals = append(deals, forecastDeal{amount: a, p: 0.3})
			g.OpenDeals++
			g.PipelineExpected += a * 0.3
			g.variance += a * a * 0.3 * 0.7
		}
		g.variance += g.lambda * 10 * 10 // five new wins of 10 expected
		g.Point = g.Won + g.PipelineExpected + g.NewExpected
		return []ForecastGroup{g}, deals
	}
	groups, deals := build(forecastSimMax)
	var sim ForecastGroup
	m, totals := distribution(groups, deals, &sim)
	if m != "simulation" {
		t.Fatalf("%d deals: method %s, want simulation", len(deals), m)
	}
	var norm ForecastGroup
	g2, _ := build(forecastSimMax)
	normalRange(&g2[0])
	norm = g2[0]
	sd := math.Sqrt(norm.variance)
	if math.Abs(sim.P10-norm.P10) > 0.1*sd || math.Abs(sim.P90-norm.P90) > 0.1*sd || !(sim.P10 < sim.Point && sim.Point < sim.P90) {
		t.Errorf("simulated range %v..%v, normal %v..%v (sd %v, point %v)", sim.P10, sim.P90, norm.P10, norm.P90, sd, sim.Point)
	}
	if p := probAtLeast(sim, totals, sim.P90); p < 0.08 || p > 0.12 {
		t.Errorf("P(≥ p90) = %v, want about 0.1", p)
	}
	groups, deals = build(forecastSimMax + 1)
	var big ForecastGroup
	if m, totals := distribution(groups, deals, &big); m != "normal" || totals != nil || big.P10 < big.Won {
		t.Errorf("%d deals: method %s, p10 %v (won %v)", len(deals), m, big.P10, big.Won)
	}
}

// TestForecastWonOnlyAmounts: an export with amounts on won deals only (20
// lost deals, none with an amount; open deals without one) values each open
// and future deal at its product's mean won amount, with count rates. By hand,
// as of 2024-04-01: 22 history deals open at r_0 at lead, W1 (Pro, 300) and
// W2 (Basic, 100) won in the window: overall 2/22, lead (2 + 10·overall)/32,
// its 0–30 days cell (2 + 10·lead)/32. Means: all 200, Pro (300 + 2000)/11,
// Basic (100 + 2000)/11. New deals: o1 and o2 created in [D − 91, D); count
// yield 10/290 (W1 in 6 windows, W2 in 4; 22 deals in 13 windows, o1 and o2
// in 2), so λ = 2/91 · 91 · 10/290 and new_expected = λ · 200.
func TestForecastWonOnlyAmounts(t *testing.T) {
	f := &fixture{
		reps:     []frep{{"d1", "Dana", "director", "", "", ""}, {"r1", "Rui", "rep", "m1", "East", "North"}},
		accounts: []facct{{"A1", "Acme", "North", "Enterprise", 5000}},
	}
	add := func(id, product, stage string, amount float64, created time.Time, closeDate time.Time, closed, won bool) {
		f.opps = append(f.opps, fopp{id, "A1", "r1", product, "web", stage, amount, created, closeDate, closed, won})
		f.events = append(f.events, fevent{id, "lead", 1, created})
		switch {
		case won:
			f.events = append(f.events, fevent{id, "won", 100, closeDate.Add(10 * time.Hour)})
		case closed:
			f.events = append(f.events, fevent{id, "lost", 0, closeDate.Add(10 * time.Hour)})
		}
	}
	hist := ts("2023-12-28 10:00")
	for i := 1; i <= 20; i++ {
		add(fmt.Sprintf("L%02d", i), "Pro", "lost", 0, hist, d("2024-02-01"), true, false)
	}
	add("W1", "Pro", "won", 300, hist, d("2024-02-15"), true, true)
	add("W2", "Basic", "won", 100, hist, d("2024-03-01"), true, true)
	add("o1", "Pro", "lead", 0, ts("2024-03-20 09:00"), d("2024-06-30"), false, false)
	add("o2", "Basic", "lead", 0, ts("2024-03-20 09:00"), d("2024-06-30"), false, false)
	db := schemastest.Open(t)
	f.load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	fc, err := s.Forecast(context.Background(), Unrestricted, Filter{}, q2AsOf)
	if err != nil {
		t.Fatal(err)
	}
	overall := 2.0 / 22
	lead := (2 + 10*overall) / 32
	cell := (2 + 10*lead) / 32
	pipe := cell * (2300.0/11 + 2100.0/11)
	newExp := 2.0 / 91 * 91 * 10 / 290 * 200
	tot := fc.Total
	if !fc.AmountsWonOnly || !closeTo(fc.Stages[0].P, lead) || !closeTo(fc.Stages[0].Ages[0].P, cell) ||
		!closeTo(tot.PipelineExpected, pipe) || !closeTo(tot.NewExpected, newExp) || !closeTo(tot.Point, pipe+newExp) {
		t.Errorf("won-only %v lead %v cell %v pipeline %v new %v point %v; want true %v %v %v %v %v",
			fc.AmountsWonOnly, fc.Stages[0].P, fc.Stages[0].Ages[0].P, tot.PipelineExpected, tot.NewExpected, tot.Point, lead, cell, pipe, newExp, pipe+newExp)
	}
	// The ordinary fixture has lost deals with amounts: never won-only.
	if base, err := newForecastService(t, false).Forecast(context.Background(), Unrestricted, Filter{}, q2AsOf); err != nil || base.AmountsWonOnly {
		t.Errorf("ordinary amounts read as won-only (%v)", err)
	}
}

// TestForecastCategories: the reps' calls beside the model. As of 2024-04-01
// in the forecast fixture, c1 (1000, r1, East) is called Commit, c2 (500, r2,
// East) "Best Case", c3 (300, r3, West) Omitted and h3 (80, r1) has none:
// nothing is won yet, so Commit 1000, Best Case 1500, Pipeline 1500, omitted
// 300, uncategorised 80; per team East 1000/1500/1500 and West only omitted.
func TestForecastCategories(t *testing.T) {
	f := forecastFixture(false)
	f.categories = map[string]string{"c1": "Commit", "c2": "Best Case", "c3": "Omitted"}
	db := schemastest.Open(t)
	f.load(t, db)
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	req := q2AsOf
	req.GroupBy = "team"
	fc, err := s.Forecast(context.Background(), Unrestricted, Filter{}, req)
	if err != nil {
		t.Fatal(err)
	}
	c := fc.Total.Called
	if !fc.ForecastCategories || c == nil || c.Commit != 1000 || c.BestCase != 1500 || c.Pipeline != 1500 || c.Omitted != 300 || c.Uncategorised != 80 || c.Deals != 3 {
		t.Fatalf("called %+v (categories %v); want commit 1000, best case 1500, pipeline 1500, omitted 300, uncategorised 80, 3 deals", c, fc.ForecastCategories)
	}
	for _, g := range fc.Groups {
		switch {
		case g.Key == "East" && (g.Called == nil || g.Called.Commit != 1000 || g.Called.BestCase != 1500):
			t.Errorf("East called %+v", g.Called)
		case g.Key == "West" && (g.Called == nil || g.Called.Commit != 0 || g.Called.Omitted != 300):
			t.Errorf("West called %+v", g.Called)
		}
	}
	// Without categories (the plain fixture) nothing is called.
	plain, err := newForecastService(t, false).Forecast(context.Background(), Unrestricted, Filter{}, q2AsOf)
	if err != nil || plain.ForecastCategories || plain.Total.Called != nil {
		t.Errorf("no categories loaded, yet called %+v (%v)", plain.Total.Called, err)
	}
	for in, want := range map[string]string{"Best Case": "best_case", "COMMIT": "commit", "pipeline": "pipeline", "Omitted": "omitted", "承诺": "commit", "Closed": "closed", "Maybe": ""} {
		if got := ForecastCategory(in); got != want {
			t.Errorf("ForecastCategory(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFiscalQuarters: with a fiscal year from April, the quarter of
// 2024-05-10 is [April, July), the next one [July, October), and January's
// [January, April), the fiscal Q4; from February, January is in [November,
// February).
func TestFiscalQuarters(t *testing.T) {
	s := (&Service{}).WithFiscalYear(4)
	for _, c := range []struct{ day, period, from, to string }{
		{"2024-05-10", PeriodQuarter, "2024-04-01", "2024-07-01"},
		{"2024-05-10", PeriodNextQuarter, "2024-07-01", "2024-10-01"},
		{"2025-01-31", PeriodQuarter, "2025-01-01", "2025-04-01"},
		{"2024-03-31", PeriodQuarter, "2024-01-01", "2024-04-01"},
		{"2024-12-01", PeriodNextQuarter, "2025-01-01", "2025-04-01"},
	} {
		from, to, _ := s.periodOf(c.period, d(c.day))
		if day(from) != c.from || day(to) != c.to {
			t.Errorf("%s %s: %s..%s, want %s..%s", c.day, c.period, day(from), day(to), c.from, c.to)
		}
	}
	s = (&Service{}).WithFiscalYear(2)
	if from, to, _ := s.periodOf(PeriodQuarter, d("2024-01-15")); day(from) != "2023-11-01" || day(to) != "2024-02-01" {
		t.Errorf("fiscal February: the quarter of 2024-01-15 is %s..%s, want 2023-11-01..2024-02-01", day(from), day(to))
	}
}

// TestForecastByTerritoryAndProduct: the groups add up to the total.
func TestForecastByTerritoryAndProduct(t *testing.T) {
	s := newForecastService(t, false)
	for _, by := range []string{"territory", "product"} {
		req := q2AsOf
		req.GroupBy = by
		fc, err := s.Forecast(context.Background(), Unrestricted, Filter{}, req)
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		keys := map[string]bool{}
		for _, g := range fc.Groups {
			sum += g.Point
			keys[g.Key] = true
		}
		if len(fc.Groups) != 2 || !closeTo(sum, fc.Total.Point) {
			t.Errorf("by %s: groups %+v add up to %v, total %v", by, fc.Groups, sum, fc.Total.Point)
		}
		if by == "product" && (!keys["Pro"] || !keys["Basic"]) || by == "territory" && (!keys["North"] || !keys["South"]) {
			t.Errorf("by %s: groups %v", by, keys)
		}
	}
}

// TestSimulateDrawsAsFloat64: simulate's integer comparison of each deal's
// draw gives the very outcomes rng.Float64() < p gives on the same stream (the
// forecasts' p10, p90 and probability of reaching the target do not move),
// for probabilities of every size, 0 and 1, and ones that are exact binary
// fractions.
func TestSimulateDrawsAsFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	groups := []ForecastGroup{{Won: 5, lambda: 3, NewExpected: 30}, {Won: 0}, {lambda: 70, NewExpected: 700}}
	var deals []forecastDeal
	for i := range 400 {
		p := r.Float64()
		switch i % 8 {
		case 0:
			p = 0
		case 1:
			p = 1
		case 2:
			p = 0.5
		case 3:
			p = math.Ldexp(1, -50)
		case 4:
			p *= 1e-6
		}
		deals = append(deals, forecastDeal{group: i % 3, amount: float64(1 + i%7), p: p})
	}
	got := simulate(groups, deals, 300)
	// What simulate drew before: rng.Float64() per deal and draw.
	rng := rand.New(rand.NewPCG(16, 2026))
	for k := range 300 {
		want := make([]float64, len(groups))
		for i, x := range groups {
			want[i] = x.Won
			if x.lambda > 0 {
				want[i] += float64(poisson(rng, x.lambda)) * x.NewExpected / x.lambda
			}
		}
		for _, dl := range deals {
			if rng.Float64() < dl.p {
				want[dl.group] += dl.amount
			}
		}
		for i := range groups {
			if got.groups[i][k] != want[i] {
				t.Fatalf("draw %d, group %d: %v, want %v", k, i, got.groups[i][k], want[i])
			}
		}
	}
}
