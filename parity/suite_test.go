package parity

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
)

// suite asks every metric the API serves under several filter sets and scopes;
// it returns the number of calls. The answers themselves are not checked here:
// the statements they ran are compared afterwards.
func suite(t *testing.T, ctx context.Context, svc *query.Service, db *schemas.DB, truth *gen.Truth) int {
	t.Helper()
	from, _ := time.Parse(time.DateOnly, truth.From)
	asOf, _ := time.Parse(time.DateOnly, truth.AsOf)
	end := asOf.AddDate(0, 0, 1)
	// Filter values the data holds (asked without a pipelens query id, so these
	// statements are not compared).
	pick := func(col string) string {
		var v string
		if err := db.Conn.QueryRow(ctx, "SELECT "+col+" FROM opp_facts WHERE "+col+" != '' GROUP BY "+col+" ORDER BY count() DESC, "+col+" LIMIT 1").Scan(&v); err != nil {
			t.Fatalf("pick a %s: %v", col, err)
		}
		return v
	}
	team, manager, rep, territory := pick("team"), pick("manager_id"), pick("owner_id"), pick("territory")
	product, segment, source := pick("product"), pick("segment"), pick("source")
	var territory2 string
	if err := db.Conn.QueryRow(ctx, "SELECT territory FROM opp_facts WHERE territory NOT IN ('', ?) GROUP BY territory ORDER BY count() LIMIT 1", territory).Scan(&territory2); err != nil {
		t.Fatal(err)
	}
	all := query.Filter{From: from, To: end}
	// a range that starts and ends inside months (and weeks and quarters)
	cut := query.Filter{From: from.AddDate(0, 1, 10), To: end.AddDate(0, -2, -12)}
	with := func(f query.Filter, set func(*query.Filter)) query.Filter { set(&f); return f }
	type run struct {
		name  string
		scope query.Scope
		f     query.Filter
	}
	runs := []run{
		{"all", query.Unrestricted, all},
		{"cut", query.Unrestricted, cut},
		{"team", query.Unrestricted, with(all, func(f *query.Filter) { f.Team = []string{team} })},
		{"manager", query.Unrestricted, with(all, func(f *query.Filter) { f.Manager = []string{manager} })},
		{"rep", query.Unrestricted, with(all, func(f *query.Filter) { f.Rep = []string{rep} })},
		{"territory", query.Unrestricted, with(all, func(f *query.Filter) { f.Territory = []string{territory, territory2} })},
		{"product", query.Unrestricted, with(all, func(f *query.Filter) { f.Product = []string{product} })},
		{"segment", query.Unrestricted, with(all, func(f *query.Filter) { f.Segment = []string{segment} })},
		{"source", query.Unrestricted, with(all, func(f *query.Filter) { f.Source = []string{source} })},
		{"cut+team+product", query.Unrestricted, with(cut, func(f *query.Filter) { f.Team, f.Product = []string{team}, []string{product} })},
		{"manager scope", query.Scope{Name: "m", Role: query.RoleManager, Team: team}, all},
		{"rep scope", query.Scope{Name: "r", Role: query.RoleRep, Rep: rep}, cut},
	}
	calls := 0
	call := func(what string, fn func() error) {
		t.Helper()
		calls++
		if err := fn(); err != nil && !errors.Is(err, query.ErrBadFilter) && !errors.Is(err, query.ErrNotFound) && !errors.Is(err, query.ErrForbidden) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	groups := append([]string{""}, query.GroupBys...)
	periods := []string{query.Week, query.Month, query.Quarter}
	for _, x := range runs {
		sc, f := x.scope, x.f
		name := x.name + ": "
		call(name+"funnel", func() error { _, err := svc.Funnel(ctx, sc, f); return err })
		for _, p := range periods {
			call(name+"conversion "+p, func() error { _, err := svc.Conversion(ctx, sc, f, p); return err })
			call(name+"movement "+p, func() error { _, err := svc.Movement(ctx, sc, f, p); return err })
		}
		for _, g := range groups {
			call(name+"winrate "+g, func() error { _, err := svc.WinRate(ctx, sc, f, g); return err })
			call(name+"cycle "+g, func() error { _, err := svc.CycleTime(ctx, sc, f, g); return err })
			call(name+"days in stage "+g, func() error { _, err := svc.DaysInStage(ctx, sc, f, g); return err })
		}
		call(name+"leads", func() error { _, err := svc.LeadConversion(ctx, sc, f); return err })
		call(name+"attainment", func() error { _, err := svc.Attainment(ctx, sc, f); return err })
		call(name+"coverage", func() error { _, err := svc.Coverage(ctx, sc, f); return err })
		call(name+"reps", func() error { _, err := svc.Reps(ctx, sc, f); return err })
		call(name+"rep", func() error { _, err := svc.Rep(ctx, sc, f, rep); return err })
		call(name+"territories", func() error { _, err := svc.Territories(ctx, sc, f); return err })
		call(name+"territory headroom", func() error { _, err := svc.TerritoryHeadroom(ctx, sc, f); return err })
		call(name+"opened", func() error { _, err := svc.Opened(ctx, sc, f); return err })
		call(name+"territory headroom a year before", func() error {
			// Before the market table's years: estimated, from the won accounts.
			g := f
			g.From, g.To = f.From.AddDate(-1, 0, 0), f.To.AddDate(-1, 0, 0)
			_, err := svc.TerritoryHeadroom(ctx, sc, g)
			return err
		})
		call(name+"activity", func() error { _, err := svc.Activity(ctx, sc, f); return err })
		call(name+"new accounts", func() error { _, err := svc.NewAccounts(ctx, sc, f, "rep"); return err })
		call(name+"tiers", func() error { _, err := svc.Tiers(ctx, sc, f, config.DefaultTiers(), true); return err })
		for _, fr := range []query.ForecastRequest{{Period: query.PeriodQuarter, AsOf: asOf}, {Period: query.PeriodNextQuarter, GroupBy: "team", AsOf: asOf},
			{Period: query.PeriodMonth, GroupBy: "rep", AsOf: asOf.AddDate(0, -5, -3)}} {
			call(name+"forecast "+fr.Period, func() error { _, err := svc.Forecast(ctx, sc, f, fr); return err })
		}
		call(name+"target split", func() error {
			_, err := svc.SplitTarget(ctx, sc, f, query.SplitRequest{Year: asOf.Year(), Amount: 1e6, GroupBy: "rep"})
			return err
		})
		call(name+"target split by territory", func() error {
			_, err := svc.SplitTarget(ctx, sc, f, query.SplitRequest{Year: asOf.Year(), Amount: 1e6, GroupBy: "territory", Groups: query.SplitPotential})
			return err
		})
		call(name+"forecast by product", func() error {
			_, err := svc.Forecast(ctx, sc, f, query.ForecastRequest{Period: query.PeriodQuarter, GroupBy: "product", AsOf: asOf})
			return err
		})
		call(name+"targets view", func() error { _, err := svc.Targets(ctx, sc, f, query.PeriodQuarter, asOf); return err })
		call(name+"target versions", func() error { _, err := svc.TargetVersions(ctx, sc); return err })
		deals := []query.DealQuery{
			{Sort: "amount"}, {Sort: "-amount"}, {Sort: "created"}, {Sort: "-created"}, {Sort: "close"}, {Sort: "-close"},
			{Sort: "-amount", Page: 2, PageSize: 20},
			{Basis: "closed", Status: "won"}, {Basis: "closed", Status: "lost", Sort: "close"}, {Basis: "open", Sort: "close"},
			{Basis: "created", Stage: "proposal", Reached: true}, {Stage: "negotiation", Status: "open"},
		}
		for _, dq := range deals {
			call(name+"deals", func() error { _, err := svc.Deals(ctx, sc, f, dq); return err })
		}
		for _, ss := range []string{"-ratio", "amount"} {
			call(name+"stuck "+ss, func() error { _, err := svc.Stuck(ctx, sc, f, query.StuckQuery{Sort: ss, AsOf: asOf}); return err })
		}
		call(name+"deal detail", func() error {
			ds, err := svc.Deals(ctx, sc, f, query.DealQuery{PageSize: 3})
			for _, d := range ds.Deals {
				if err == nil {
					_, err = svc.DealDetail(ctx, sc, d.OpportunityID, asOf)
				}
			}
			return err
		})
	}
	// A contest of every category (its definition is written, its rankings read).
	call("contest ranking", func() error {
		ct, _, err := svc.CreateContest(ctx, query.Unrestricted, query.ContestInput{Name: "parity", Metric: query.ContestWonAmount,
			From: cut.From.Format(time.DateOnly), To: cut.To.Format(time.DateOnly), Categories: query.ContestCategories})
		if err == nil {
			_, err = svc.Ranking(ctx, query.Unrestricted, ct.ID)
		}
		return err
	})
	// Coaching plans (query/plans.go): one recorded, then listed, tracked and found due.
	call("plans", func() error {
		p, err := svc.CreatePlan(ctx, query.Unrestricted, query.PlanInput{RepID: rep, Metric: "win_rate", Goal: 0.99, Actions: "parity",
			Review: asOf.AddDate(0, 0, 30).Format(time.DateOnly), BaselineFrom: truth.From, BaselineTo: truth.AsOf}, asOf)
		if err == nil {
			_, err = svc.Plans(ctx, query.Scope{Name: "m", Role: query.RoleManager, Team: team}, "", "")
		}
		if err == nil {
			_, err = svc.Plan(ctx, query.Unrestricted, p.ID, asOf.AddDate(0, 0, 10))
		}
		if err == nil {
			_, err = svc.DuePlans(ctx, asOf.AddDate(0, 0, 31))
		}
		return err
	})
	// The forecast's backtest (pipelens bench forecast).
	call("backtest", func() error {
		qs, err := svc.BacktestQuarters(ctx, query.Unrestricted, query.Filter{})
		if err == nil && len(qs) > 0 {
			_, err = svc.Backtest(ctx, query.Unrestricted, query.Filter{Team: []string{team}}, qs[len(qs)-1], 4)
		}
		return err
	})
	// The forecasts' history serve computes after a publication (grouped by
	// each filter column), and forecasts of today that read it.
	call("forecast history", func() error { _, err := svc.PrecomputeForecasts(ctx, 0); return err })
	for _, x := range runs {
		call(x.name+": forecast of today", func() error {
			_, err := svc.Forecast(ctx, x.scope, x.f, query.ForecastRequest{Period: query.PeriodQuarter})
			return err
		})
	}
	// The daily series take a range only.
	for _, mt := range query.Metrics() {
		m := mt.Name
		for _, k := range mt.SegmentKinds {
			for _, rg := range []query.Filter{all, cut} {
				call("series "+m+" "+k, func() error { _, err := svc.DailySeries(ctx, query.Unrestricted, m, k, rg); return err })
			}
		}
		call("series "+m+" manager scope", func() error {
			_, err := svc.DailySeries(ctx, query.Scope{Name: "m", Role: query.RoleManager, Team: team}, m, "rep", all)
			return err
		})
	}
	return calls
}

// alertReads runs one alert evaluation the day after the export (default rules,
// emails left in the outbox), then asks the alert source for every metric and
// segment kind; it returns the number of reads asked directly.
func alertReads(t *testing.T, ctx context.Context, db *schemas.DB, truth *gen.Truth) int {
	t.Helper()
	asOf, _ := time.Parse(time.DateOnly, truth.AsOf)
	now := asOf.AddDate(0, 0, 1).Add(9 * time.Hour)
	eng, err := alerts.New(alerts.Options{DB: db, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.RunOnce(ctx, now); err != nil {
		t.Fatalf("alert evaluation: %v", err)
	}
	src := alerts.NewClickHouseSource(db, time.UTC)
	n := 0
	from, to := asOf.AddDate(0, 0, -120), asOf.AddDate(0, 0, 1)
	for _, m := range alerts.MetricNames() {
		for _, k := range []string{alerts.SegAll, alerts.SegTeam, alerts.SegTerritory, alerts.SegRep, alerts.SegProduct, alerts.SegSource} {
			if mt, err := query.LookupMetric(m); err != nil || !mt.Allows(k) {
				continue // the registry refuses it (activities by product)
			}
			n++
			if _, err := src.Series(ctx, m, k, from, to); err != nil {
				t.Fatalf("alert series %s by %s: %v", m, k, err)
			}
		}
	}
	n += 3
	if _, err := src.Org(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Deals(ctx, now); err != nil {
		t.Fatal(err)
	}
	if _, err := src.StageNorms(ctx, now); err != nil {
		t.Fatal(err)
	}
	return n
}

// reexport writes a second export a week later into dir/v2: a rep moved team
// and another renamed, accounts moved territory, amounts, owners, close dates
// and stages changed, some stage events added. Loading it publishes
// incrementally.
func reexport(t *testing.T, dir string) []string {
	t.Helper()
	out := filepath.Join(dir, "v2")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	read := func(name string) ([][]string, map[string]int) {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		return rows, col
	}
	var files []string
	write := func(name string, rows [][]string) {
		p := filepath.Join(out, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := csv.NewWriter(f)
		if err := w.WriteAll(rows); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(7 * 24 * time.Hour)
		_ = os.Chtimes(p, later, later)
		files = append(files, p)
	}
	reps, rc := read("reps.csv")
	var repIDs, teams []string
	for _, r := range reps[1:] {
		if r[rc["role"]] == "rep" {
			repIDs = append(repIDs, r[rc["rep_id"]])
			teams = append(teams, r[rc["team"]])
		}
	}
	for _, r := range reps[1:] {
		switch r[rc["rep_id"]] {
		case repIDs[0]:
			r[rc["team"]] = teams[len(teams)-1]
		case repIDs[1]:
			r[rc["name"]] += "（新）"
		}
	}
	write("reps.csv", reps)
	accts, ac := read("accounts.csv")
	for i, r := range accts[1:] {
		if i%10 == 3 {
			r[ac["territory"]] = "四川"
		}
	}
	write("accounts.csv", accts)
	opps, oc := read("opportunities.csv")
	for i, r := range opps[1:] {
		switch i % 6 {
		case 0:
			a, _ := strconv.ParseFloat(r[oc["amount"]], 64)
			r[oc["amount"]] = strconv.FormatFloat(a*1.25, 'f', 0, 64)
		case 1:
			r[oc["owner_id"]] = repIDs[(i/6)%len(repIDs)]
		case 2:
			if r[oc["closed"]] == "0" {
				if cd, err := time.Parse(time.DateOnly, r[oc["close_date"]]); err == nil {
					r[oc["close_date"]] = cd.AddDate(0, 0, 21).Format(time.DateOnly)
				}
			}
		case 3:
			if r[oc["closed"]] == "0" {
				r[oc["stage"]], r[oc["vendor_stage"]], r[oc["closed"]], r[oc["won"]] = "won", "赢单", "1", "1"
			}
		}
	}
	write("opportunities.csv", opps)
	evs, ec := read("stage_events.csv")
	keep := [][]string{evs[0]}
	for i, r := range evs[1:] {
		if i%50 == 7 {
			r[ec["stage"]], r[ec["stage_rank"]], r[ec["vendor_stage"]] = "negotiation", "4", "谈判"
			if at, err := time.Parse(time.DateTime, r[ec["entered_at"]]); err == nil {
				r[ec["entered_at"]] = at.Add(36 * time.Hour).Format(time.DateTime)
			}
			keep = append(keep, r)
		}
	}
	write("stage_events.csv", keep)
	return files
}
