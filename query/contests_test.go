package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// areaFixture is a hand-made data set for contests and tiers: reps with hire
// dates, accounts with revenue, activities on accounts (the shared fixture has
// neither).
type areaFixture struct {
	reps  []arep
	accts []aacct
	opps  []fopp
	acts  []aact
}

type arep struct {
	id, name, role, team string
	hired                time.Time
}
type aacct struct {
	id, name, territory, segment string
	revenue                      float64
	employees                    uint32
}
type aact struct {
	id, rep, account string
	at               time.Time
}

func (fx areaFixture) open(t *testing.T) (*Service, *schemas.DB) {
	t.Helper()
	db := schemastest.Open(t)
	return fx.load(t, db), db
}

// load writes the fixture under one committed run into db and publishes it.
func (fx areaFixture) load(t *testing.T, db *schemas.DB) *Service {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("load fixture: %v", err)
		}
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO ingest_runs (run_id, file, status, started_at, finished_at, updated_ns)",
		[]any{fixtureRun, "fixture", "committed", now, now, uint64(now.UnixNano())}))
	var rows [][]any
	for _, r := range fx.reps {
		rows = append(rows, []any{r.id, r.name, r.role, r.team, r.hired, uint8(1), fixtureRun, now})
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO reps (rep_id, name, role, team, hired_on, active, run_id, loaded_at)", rows...))
	rows = nil
	for _, a := range fx.accts {
		rows = append(rows, []any{a.id, a.name, a.territory, a.segment, a.revenue, a.employees, fixtureRun, now})
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO accounts (account_id, name, territory, segment, revenue, employees, run_id, loaded_at)", rows...))
	rows = nil
	for _, o := range fx.opps {
		rows = append(rows, []any{o.id, "deal " + o.id, o.account, o.owner, o.product, o.source, o.stage, o.amount, o.created, o.closeDate, b2u(o.closed), b2u(o.won), fixtureRun, now})
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO opportunities (opportunity_id, name, account_id, owner_id, product, source, stage, amount, created_at, close_date, closed, won, run_id, loaded_at)", rows...))
	rows = nil
	for _, a := range fx.acts {
		rows = append(rows, []any{a.id, "call", a.rep, a.account, a.at, fixtureRun, now})
	}
	if len(rows) > 0 {
		must(db.InsertRows(ctx, "fx", "INSERT INTO activities (activity_id, type, rep_id, account_id, occurred_at, run_id, loaded_at)", rows...))
	}
	s := New(db, time.UTC, quietLog())
	must(s.Refresh(ctx))
	return s
}

func won(id, account, owner string, amount float64, created, closed string) fopp {
	return fopp{id: id, account: account, owner: owner, stage: "won", amount: amount, created: ts(created + " 09:00"), closeDate: d(closed), closed: true, won: true}
}

func lost(id, account, owner string, amount float64, created, closed string) fopp {
	return fopp{id: id, account: account, owner: owner, stage: "lost", amount: amount, created: ts(created + " 09:00"), closeDate: d(closed), closed: true}
}

func open(id, account, owner string, amount float64, created string) fopp {
	return fopp{id: id, account: account, owner: owner, stage: "proposal", amount: amount, created: ts(created + " 09:00"), closeDate: d("2024-09-30")}
}

// contestFixture: Q2 2024 is the contest; its baseline is the 91 days before.
func contestFixture() areaFixture {
	return areaFixture{
		reps: []arep{
			{"m1", "Ming", "manager", "East", d("2015-01-01")},
			{"r1", "Rui", "rep", "East", d("2019-01-01")},
			{"r2", "Rosa", "rep", "East", d("2024-03-01")}, // newcomer
			{"r3", "Ravi", "rep", "West", d("2018-01-01")},
			{"r4", "Rex", "rep", "West", d("2023-12-01")}, // newcomer
			{"r5", "Nia", "rep", "North", d("2023-01-01")},
			{"r6", "Sam", "rep", "East", d("2015-06-01")},
		},
		accts: []aacct{{"A1", "Acme", "N", "SMB", 0, 0}, {"A2", "Beta", "N", "SMB", 0, 0}, {"A3", "Cato", "S", "SMB", 0, 0}, {"A4", "Dune", "S", "SMB", 0, 0}},
		opps: []fopp{
			won("o1", "A1", "r1", 500, "2024-03-01", "2024-04-10"),
			won("o2", "A2", "r3", 500, "2024-04-01", "2024-05-10"),
			won("o3", "A3", "r2", 200, "2024-04-02", "2024-05-20"),
			won("o4", "A3", "r4", 200, "2024-04-03", "2024-06-01"),
			lost("o5", "A4", "r4", 100, "2024-04-04", "2024-06-02"),
			won("o6", "A1", "r1", 400, "2024-01-05", "2024-02-01"), // baseline
			won("o8", "A4", "r5", 50, "2024-05-01", "2024-06-20"),
			won("o9", "A2", "r3", 70, "2024-06-01", "2024-07-01"), // the day after the contest
		},
	}
}

type rankLine struct {
	group string
	rank  int
	name  string
	value float64
}

func lines(cr CategoryRanking) string {
	var b strings.Builder
	for _, g := range cr.Groups {
		for _, r := range g.Rows {
			fmt.Fprintf(&b, "%s:%d %s %g; ", g.Name, r.Rank, r.Name, r.Value)
		}
	}
	return strings.TrimSpace(b.String())
}

// TestContestRankingsByHand: ties share a rank and the next one skips, the
// improvement is against the baseline, newcomers are hired within 180 days of
// the start, a new account is credited to its first won deal's owner, groups
// compete apart and reps of the listed teams outside every group compete as
// "others".
func TestContestRankingsByHand(t *testing.T) {
	s, _ := contestFixture().open(t)
	ctx := context.Background()
	admin := Scope{Name: "ada", Role: RoleAdmin}
	c, token, err := s.CreateContest(ctx, admin, ContestInput{
		Name: "Q2 push", Metric: ContestWonAmount, From: "2024-04-01", To: "2024-07-01", Reps: []string{"r5"},
		Groups:     []ContestGroup{{"seniors", []string{"r1", "r3", "r6"}}, {"juniors", []string{"r2", "r4"}}},
		Categories: []string{CategoryTop, CategoryImprovement, CategoryNewcomer, CategoryNewAccounts},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.BaselineFrom != "2024-01-01" || c.BaselineTo != "2024-04-01" || c.NewcomerDays != 180 || len(token) < 30 {
		t.Fatalf("defaults: baseline %s..%s, newcomer days %d, token %q; want 2024-01-01..2024-04-01 (the 91 days before), 180, a long token", c.BaselineFrom, c.BaselineTo, c.NewcomerDays, token)
	}
	rk, err := s.Ranking(ctx, admin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		// Ravi and Rui tie at 500: both first, Sam third.
		CategoryTop: "seniors:1 Ravi 500; seniors:1 Rui 500; seniors:3 Sam 0; juniors:1 Rex 200; juniors:1 Rosa 200; others:1 Nia 50;",
		// Ravi 500-0, Rui 500-400 (o6 in the baseline), Sam 0-0.
		CategoryImprovement: "seniors:1 Ravi 500; seniors:2 Rui 100; seniors:3 Sam 0; juniors:1 Rex 200; juniors:1 Rosa 200; others:1 Nia 50;",
		// Rosa (hired 2024-03-01) and Rex (2023-12-01) are within 180 days of 2024-04-01; Nia (2023-01-01) is not.
		CategoryNewcomer: "newcomers:1 Rex 200; newcomers:1 Rosa 200;",
		// A1 was first won in the baseline (o6): not new. A3's first win is Rosa's o3, not Rex's later o4. A4's is Nia's o8 (o5 was lost).
		CategoryNewAccounts: "seniors:1 Ravi 1; seniors:2 Rui 0; seniors:2 Sam 0; juniors:1 Rosa 1; juniors:2 Rex 0; others:1 Nia 1;",
	}
	if rk.Participants != 6 || len(rk.Categories) != 4 {
		t.Fatalf("%d participants, %d categories; want 6 (r1-r6, not the manager) and 4", rk.Participants, len(rk.Categories))
	}
	for _, cr := range rk.Categories {
		if got := lines(cr); got != want[cr.Category] {
			t.Errorf("%s ranking:\n got %s\nwant %s", cr.Category, got, want[cr.Category])
		}
	}
	imp := rk.Categories[1].Groups[0].Rows[1]
	if imp.Current == nil || *imp.Current != 500 || *imp.Baseline != 400 {
		t.Errorf("Rui's improvement row %+v: want current 500, baseline 400", imp)
	}
	// A manager sees the own team's rows with their ranks among everyone; a rep the own rows.
	mr, err := s.Ranking(ctx, Scope{Name: "ming", Role: RoleManager, Team: "East"}, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(mr.Categories[0]); got != "seniors:1 Rui 500; seniors:3 Sam 0; juniors:1 Rosa 200;" {
		t.Errorf("manager East sees %s; want Rui 1, Sam 3, Rosa 1 only", got)
	}
	rr, err := s.Ranking(ctx, Scope{Name: "rex", Role: RoleRep, Rep: "r4"}, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := lines(rr.Categories[3]); got != "juniors:2 Rex 0;" {
		t.Errorf("rep r4 sees %s; want only the own row juniors:2 Rex 0", got)
	}
}

// TestContestWinRateAndTeams: win rate is won/(won+lost) per rep; a contest of
// teams takes their reps, not their manager.
func TestContestWinRateAndTeams(t *testing.T) {
	s, _ := contestFixture().open(t)
	ctx := context.Background()
	admin := Scope{Name: "ada", Role: RoleAdmin}
	c, _, err := s.CreateContest(ctx, admin, ContestInput{Name: "West win rate", Metric: ContestWinRate, From: "2024-04-01", To: "2024-07-01", Teams: []string{"West", "East"}})
	if err != nil {
		t.Fatal(err)
	}
	rk, err := s.Ranking(ctx, admin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Ravi 1/1, Rosa 1/1, Rui 1/1, Rex 1/(1+1); Sam has nothing closed (0).
	if got := lines(rk.Categories[0]); got != ":1 Ravi 1; :1 Rosa 1; :1 Rui 1; :4 Rex 0.5; :5 Sam 0;" {
		t.Errorf("win rate ranking %s", got)
	}
}

// TestContestDefinitionsAndTokens: only admins and directors define contests;
// bad definitions name the field; the board token is stored hashed, a new one
// replaces it, a deleted contest is gone.
func TestContestDefinitionsAndTokens(t *testing.T) {
	s, db := areaFixture{reps: []arep{{"r1", "Rui", "rep", "East", d("2019-01-01")}}}.open(t)
	ctx := context.Background()
	admin := Scope{Name: "ada", Role: RoleAdmin}
	in := ContestInput{Name: "Q3", Metric: ContestDealsWon, From: "2024-07-01", To: "2024-10-01"}
	if _, _, err := s.CreateContest(ctx, Scope{Name: "m", Role: RoleManager, Team: "East"}, in); !errors.Is(err, ErrForbidden) {
		t.Errorf("a manager created a contest: %v", err)
	}
	for _, tc := range []struct {
		mod  func(*ContestInput)
		want string
	}{
		{func(c *ContestInput) { c.Metric = "revenue" }, "metric"},
		{func(c *ContestInput) { c.To = "2024-06-01" }, "to: 2024-06-01 is not after from"},
		{func(c *ContestInput) { c.From = "1 July" }, "from"},
		{func(c *ContestInput) { c.Categories = []string{"fastest"} }, "categories"},
		{func(c *ContestInput) { c.Groups = []ContestGroup{{"a", []string{"r1"}}, {"b", []string{"r1"}}} }, `rep "r1" is already in group "a"`},
		{func(c *ContestInput) { c.Name = " " }, "name"},
		{func(c *ContestInput) { c.Teams = []string{"Eest"} }, `teams: no rep is in team "Eest"`},
		{func(c *ContestInput) { c.Groups = []ContestGroup{{"a", []string{"r9"}}} }, `reps: no rep has the id "r9"`},
	} {
		x := in
		tc.mod(&x)
		_, _, err := s.CreateContest(ctx, admin, x)
		if !errors.Is(err, ErrBadFilter) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want a bad request naming %q", x, err, tc.want)
		}
	}
	c, tok, err := s.CreateContest(ctx, admin, in)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.Conn.QueryRow(ctx, "SELECT token_hash FROM contests WHERE contest_id = ?", c.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == tok || stored != hashToken(tok) {
		t.Errorf("stored %q for token %q: want its SHA-256, not the token", stored, tok)
	}
	if ok, _ := s.BoardTokenOK(ctx, c.ID, tok); !ok {
		t.Error("the token shown at creation does not open the board")
	}
	if ok, _ := s.BoardTokenOK(ctx, c.ID, tok+"x"); ok {
		t.Error("a wrong token opens the board")
	}
	tok2, err := s.RotateBoardToken(ctx, admin, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.BoardTokenOK(ctx, c.ID, tok); ok {
		t.Error("the old token still opens the board after a new one was made")
	}
	if ok, _ := s.BoardTokenOK(ctx, c.ID, tok2); !ok {
		t.Error("the new token does not open the board")
	}
	in.Name = "Q3 renamed"
	if _, err := s.UpdateContest(ctx, admin, c.ID, in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Contest(ctx, admin, c.ID)
	if err != nil || got.Name != "Q3 renamed" {
		t.Errorf("after the update: %+v, %v", got, err)
	}
	if ok, _ := s.BoardTokenOK(ctx, c.ID, tok2); !ok {
		t.Error("an update changed the board token")
	}
	if err := s.DeleteContest(ctx, admin, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Contest(ctx, admin, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a deleted contest reads as %v", err)
	}
	if cs, _ := s.Contests(ctx, admin); len(cs) != 0 {
		t.Errorf("a deleted contest is listed: %+v", cs)
	}
}

// TestImprovementBaselineOfARunningContest: 10 days into a 91-day contest, the
// improvement is measured against the baseline's first 10 days; a finished or
// future contest against the whole baseline.
func TestImprovementBaselineOfARunningContest(t *testing.T) {
	c := Contest{from: d("2024-04-01"), to: d("2024-07-01"), baseFrom: d("2024-01-01"), baseTo: d("2024-04-01")}
	for _, tc := range []struct{ now, from, to string }{
		{"2024-04-10", "2024-01-01", "2024-01-11"},
		{"2024-06-30", "2024-01-01", "2024-04-01"}, // the last day: the whole contest
		{"2024-08-01", "2024-01-01", "2024-04-01"},
		{"2024-03-01", "2024-01-01", "2024-04-01"},
	} {
		f, to := improvementBaseline(c, ts(tc.now+" 15:00"))
		if day(f) != tc.from || day(to) != tc.to {
			t.Errorf("on %s: baseline %s..%s, want %s..%s", tc.now, day(f), day(to), tc.from, tc.to)
		}
	}
}
