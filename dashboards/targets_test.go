package dashboards

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func newTargetsServer(t *testing.T) *httptest.Server {
	t.Helper()
	db := schemastest.Open(t)
	loadAPIFixture(t, db)
	cfg := config.Default()
	cfg.Auth.Tokens = []config.Token{
		{Name: "boss", Token: "tok-director", Role: "director"},
		{Name: "ming", Token: "tok-east", Role: "manager", Team: "East"},
		{Name: "ravi", Token: "tok-ravi", Role: "rep", Rep: "r3"},
	}
	q := query.New(db, time.UTC, nil)
	ing := ingest.New(db, ingest.Options{MaxUploadBytes: 1 << 20, Publish: q.Refresh}, quietLogger())
	s := New(Options{Config: cfg, DB: db, Query: q, Ingest: ing, Logger: quietLogger(), Mount: []func(*Server){APIMount(q)}})
	ts := httptest.NewServer(s.Echo)
	t.Cleanup(ts.Close)
	return ts
}

func post(t *testing.T, ts *httptest.Server, token, path string, body any, into any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, ts.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(out, into); err != nil {
			t.Fatalf("%s: %v: %s", path, err, out)
		}
	}
	if resp.StatusCode != http.StatusOK {
		t.Logf("POST %s -> %d %s", path, resp.StatusCode, out)
	}
	return resp.StatusCode
}

// TestTargetVersionsAPI: a split stored as a version (month rows per team), a
// hand-set row replacing one of them as the next version, bad rows refused
// with nothing stored, and the top-down against bottom-up view reading the
// versions in force; each under its caller's scope.
func TestTargetVersionsAPI(t *testing.T) {
	ts := newTargetsServer(t)
	var sp query.TargetSplit
	if code := get(t, ts, "tok-director", "/api/v1/targets/split?year=2025&amount=1000&periods=manual&weights=1,2,3,4&groups=even", &sp); code != http.StatusOK {
		t.Fatalf("split: %d", code)
	}
	if sp.Quarters[0].Amount != 100 || sp.Quarters[3].Amount != 400 || sp.Groups[0].Amount != 500 {
		t.Errorf("manual split 1:2:3:4, even among 2 teams: %+v %+v", sp.Quarters, sp.Groups)
	}
	split := map[string]any{"year": 2025, "amount": 1000, "group_by": "team", "periods": "even", "groups": "even"}
	if code := post(t, ts, "tok-east", "/api/v1/targets", split, nil); code != http.StatusForbidden {
		t.Errorf("a manager storing targets: %d, want 403", code)
	}
	var rep ingest.Report
	if code := post(t, ts, "tok-director", "/api/v1/targets", split, &rep); code != http.StatusOK || rep.Loaded != 24 {
		t.Fatalf("store a split: %d, %+v; want 24 month rows loaded", code, rep)
	}
	hand := map[string]any{"rows": []map[string]any{{"scope": "team", "scope_id": "East", "period_start": "2025-01-01", "period_end": "2025-02-01", "amount": 50}}}
	if code := post(t, ts, "tok-director", "/api/v1/targets", hand, nil); code != http.StatusOK {
		t.Fatalf("store a row by hand: %d", code)
	}
	bad := map[string]any{"rows": []map[string]any{{"scope": "team", "scope_id": "East", "period_start": "2025-01-01", "period_end": "2025-02-01", "amount": 7},
		{"scope": "division", "scope_id": "X", "period_start": "2025-01-01", "period_end": "2025-02-01", "amount": 1}}}
	if code := post(t, ts, "tok-director", "/api/v1/targets", bad, nil); code != http.StatusBadRequest {
		t.Errorf("a bad row: %d, want 400", code)
	}
	var vs struct{ Versions []query.TargetVersion }
	if code := get(t, ts, "tok-director", "/api/v1/targets/versions", &vs); code != http.StatusOK {
		t.Fatalf("versions: %d", code)
	}
	if len(vs.Versions) != 2 || vs.Versions[0].Rows != 1 || vs.Versions[0].InForce != 1 || vs.Versions[1].Rows != 24 || vs.Versions[1].InForce != 23 ||
		math.Abs(vs.Versions[1].Total-1000) > 1e-6 || vs.Versions[0].File == "" {
		t.Errorf("versions %+v; want the hand row (1 in force) over the split (23 of 24 in force, total 1000), nothing of the bad body", vs.Versions)
	}
	if code := get(t, ts, "tok-east", "/api/v1/targets/versions", nil); code != http.StatusForbidden {
		t.Errorf("a manager reading every team's versions: %d, want 403", code)
	}
	// Q1 2025: East's months are 50 (by hand) + 500/12 + 500/12 in cents;
	// West's 3 × 500/12.
	var tv query.TargetsView
	if code := get(t, ts, "tok-director", "/api/v1/targets?as_of=2025-01-15", &tv); code != http.StatusOK {
		t.Fatalf("targets: %d", code)
	}
	levels := map[string]query.TargetLevel{}
	for _, l := range tv.Levels {
		levels[l.Level+":"+l.Key] = l
	}
	east, west, company := levels["team:East"], levels["team:West"], levels["company:"]
	if tv.From != "2025-01-01" || !east.HasTarget || math.Abs(east.Target-(50+41.67+41.67)) > 0.011 || math.Abs(west.Target-125) > 0.011 ||
		math.Abs(company.Target-(east.Target+west.Target)) > 1e-6 || math.Abs(east.Difference-(east.Forecast-east.Target)) > 1e-6 {
		t.Errorf("top-down against bottom-up %+v", tv.Levels)
	}
	var mine query.TargetsView
	if code := get(t, ts, "tok-ravi", "/api/v1/targets?as_of=2025-01-15", &mine); code != http.StatusOK {
		t.Fatalf("rep's targets: %d", code)
	}
	for _, l := range mine.Levels {
		if l.Level == "company" || l.Level == "rep" && l.Key != "r3" || l.Level == "team" && l.Key != "West" {
			t.Errorf("rep r3 sees %s %s", l.Level, l.Key)
		}
	}
}
