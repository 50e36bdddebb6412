package dashboards

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { schemastest.Main(m) }

func loadAPIFixture(t *testing.T, db *schemas.DB) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	run := uint64(1)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO ingest_runs (run_id, status, updated_ns)", []any{run, "committed", uint64(1)}))
	must(db.InsertRows(ctx, "fx", "INSERT INTO reps (rep_id, name, role, manager_id, team, territory, run_id, loaded_at)",
		[]any{"m1", "Ming", "manager", "", "East", "North", run, now},
		[]any{"r1", "Rui", "rep", "m1", "East", "North", run, now},
		[]any{"r3", "Ravi", "rep", "m2", "West", "South", run, now}))
	day := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	opp := func(id, owner, stage string, amount float64, created, closeDate string, closed, won uint8) []any {
		return []any{id, owner, stage, amount, day(created), day(closeDate), closed, won, run, now}
	}
	must(db.InsertRows(ctx, "fx", "INSERT INTO opportunities (opportunity_id, owner_id, stage, amount, created_at, close_date, closed, won, run_id, loaded_at)",
		opp("o1", "r1", "won", 100, "2024-01-02", "2024-02-10", 1, 1),
		opp("o2", "r1", "lost", 50, "2024-01-03", "2024-02-01", 1, 0),
		opp("o3", "r1", "proposal", 80, "2024-01-15", "2024-04-30", 0, 0),
		opp("o5", "r3", "lost", 30, "2024-02-10", "2024-03-01", 1, 0)))
	must(query.New(db, time.UTC, nil).Refresh(ctx))
}

func newAPIServer(t *testing.T) *httptest.Server {
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	cfg := config.Default()
	cfg.Auth.Tokens = []config.Token{
		{Name: "boss", Token: "tok-director", Role: "director"},
		{Name: "ming", Token: "tok-east", Role: "manager", Team: "East"},
		{Name: "ravi", Token: "tok-ravi", Role: "rep", Rep: "r3"},
	}
	s := New(Options{Config: cfg, DB: db, Mount: []func(*Server){MountAPI}})
	ts := httptest.NewServer(s.Echo)
	t.Cleanup(ts.Close)
	return ts
}

func get(t *testing.T, ts *httptest.Server, token, path string, into any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("%s: %v: %s", path, err, b)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Logf("%s -> %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

func TestAPI(t *testing.T) {
	ts := newAPIServer(t)
	const q1 = "from=2024-01-01&to=2024-04-01"
	var fn struct {
		Stages []struct {
			Stage   string `json:"stage"`
			Reached int    `json:"reached"`
		} `json:"stages"`
		Won, Lost, Open int
	}
	if c := get(t, ts, "tok-director", "/api/v1/funnel?"+q1, &fn); c != 200 || len(fn.Stages) != 4 || fn.Stages[0].Stage != "lead" || fn.Stages[0].Reached != 4 || fn.Won != 1 || fn.Lost != 2 || fn.Open != 1 {
		t.Errorf("director funnel: %d %+v", c, fn)
	}
	if c := get(t, ts, "tok-east", "/api/v1/funnel?"+q1, &fn); c != 200 || fn.Stages[0].Reached != 3 {
		t.Errorf("manager funnel shows other teams' deals: %d %+v", c, fn)
	}
	var wr struct {
		Groups []struct {
			Key     string  `json:"key"`
			Won     int     `json:"won"`
			Lost    int     `json:"lost"`
			WinRate float64 `json:"win_rate"`
		} `json:"groups"`
	}
	if c := get(t, ts, "tok-director", "/api/v1/winrate?"+q1+"&group_by=rep", &wr); c != 200 || len(wr.Groups) != 2 || wr.Groups[0].Key != "r1" || wr.Groups[0].WinRate != 0.5 {
		t.Errorf("win rate by rep: %d %+v", c, wr)
	}
	for _, c := range []struct {
		token, path string
		code        int
	}{
		{"", "/api/v1/funnel", 401},
		{"nope", "/api/v1/funnel", 401},
		{"tok-east", "/api/v1/funnel?" + q1 + "&team=West", 403},
		{"tok-ravi", "/api/v1/winrate?" + q1 + "&rep=r1", 403},
		{"tok-director", "/api/v1/funnel?from=2024-02-30", 400},
		{"tok-director", "/api/v1/winrate?group_by=colour", 400},
		{"tok-director", "/api/v1/deals?page=x", 400},
		{"tok-east", "/api/v1/reps/r3?" + q1, 404},
		{"tok-director", "/api/v1/reps/r3?" + q1, 200},
	} {
		if got := get(t, ts, c.token, c.path, nil); got != c.code {
			t.Errorf("%s with %q: status %d, want %d", c.path, c.token, got, c.code)
		}
	}
	for _, p := range []string{"conversion?period=week", "cycle?group_by=team", "days-in-stage", "movement", "leads", "attainment", "coverage",
		"reps", "territories", "deals?status=open&sort=-close", "series?metric=bookings&segment_kind=team"} {
		var v any
		if c := get(t, ts, "tok-director", "/api/v1/"+p+sep(p)+q1, &v); c != 200 {
			t.Errorf("%s: status %d", p, c)
		}
	}
}

func TestOpenAPIGolden(t *testing.T) {
	ts := newAPIServer(t)
	resp, err := http.Get(ts.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("the OpenAPI document needs no token: status %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "openapi.json")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("the OpenAPI document changed; review and run go test ./dashboards -run OpenAPI -update")
	}
}

func sep(p string) string {
	for _, r := range p {
		if r == '?' {
			return "&"
		}
	}
	return "?"
}
