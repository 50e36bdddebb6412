package dashboards

import (
	"context"
	"encoding/csv"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas/config"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestMavenCRMWinRate loads the public Maven CRM export (../shared/data/maven-crm)
// through ingest's auto-detection and checks the API's win rate and won amount
// per regional office, manager and rep against a plain reading of the CSV.
//
// Maven's regional office is a column of sales_teams.csv: ingest maps it to the
// rep's territory (accounts.csv has a country, office_location, but no
// territory). A deal's territory is its account's territory, else its owner's,
// so for this export group_by=territory is the regional office of the deal's
// sales agent. Maven's manager is a name, and ingest uses it as the manager's
// rep id, so group_by=manager keys are manager names; rep ids are agent names.
func TestMavenCRMWinRate(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "data", "maven-crm")
	if _, err := os.Stat(filepath.Join(dir, "sales_pipeline.csv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the Maven CRM export is not at %s (%v): CI runs with ../shared beside the project", dir, err)
		}
		t.Skipf("the Maven CRM export is not at %s (%v): this test needs ../shared beside the project", dir, err)
	}
	ctx := context.Background()
	db := schemastest.Open(t)
	in := ingest.New(db, ingest.Options{}, quietLogger())
	snap := ingest.LoadOptions{SnapshotDate: time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC)}
	files := []string{"sales_teams.csv", "accounts.csv", "sales_pipeline.csv"}
	want := map[string]string{"sales_teams.csv": "maven-teams", "accounts.csv": "maven-accounts", "sales_pipeline.csv": "maven"}
	for _, f := range files {
		rep, err := in.LoadFile(ctx, filepath.Join(dir, f), snap)
		if err != nil {
			t.Fatalf("load %s: %v", f, err)
		}
		if p := rep.Files[0].Profile; p != want[f] || rep.Files[0].Rejected != 0 {
			t.Fatalf("%s: detected as %q with %d rejects, want %q and none", f, p, rep.Files[0].Rejected, want[f])
		}
	}
	svc := query.New(db, time.UTC, quietLogger())
	if err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Auth.Tokens = []config.Token{{Name: "boss", Token: "tok-director", Role: "director"}}
	ts := httptest.NewServer(New(Options{Config: cfg, DB: db, Mount: []func(*Server){APIMount(svc)}}).Echo)
	t.Cleanup(ts.Close)

	// The CSV, read plainly.
	office, manager := map[string]string{}, map[string]string{}
	for _, r := range readCSV(t, filepath.Join(dir, "sales_teams.csv")) {
		manager[r["sales_agent"]], office[r["sales_agent"]] = r["manager"], r["regional_office"]
	}
	deals := readCSV(t, filepath.Join(dir, "sales_pipeline.csv"))

	type tally struct {
		won, lost int
		wonAmount float64
	}
	for _, rng := range []struct{ from, to string }{
		{"2016-10-01", "2018-01-01"}, // everything
		{"2017-04-01", "2017-07-01"}, // a quarter
		{"2017-03-15", "2017-03-16"}, // a single day
	} {
		from, to := mustDate(t, rng.from), mustDate(t, rng.to)
		for _, by := range []string{"territory", "manager", "rep"} {
			plain := map[string]*tally{}
			var total tally
			for _, d := range deals {
				if d["deal_stage"] != "Won" && d["deal_stage"] != "Lost" {
					continue
				}
				cd := mustDate(t, d["close_date"])
				if cd.Before(from) || !cd.Before(to) {
					continue
				}
				key := map[string]string{"territory": office[d["sales_agent"]], "manager": manager[d["sales_agent"]], "rep": d["sales_agent"]}[by]
				g := plain[key]
				if g == nil {
					g = &tally{}
					plain[key] = g
				}
				if d["deal_stage"] == "Won" {
					v, err := strconv.ParseFloat(d["close_value"], 64)
					if err != nil {
						t.Fatalf("close_value %q of %s: %v", d["close_value"], d["opportunity_id"], err)
					}
					g.won++
					g.wonAmount += v
					total.won++
					total.wonAmount += v
				} else {
					g.lost++
					total.lost++
				}
			}
			var got query.WinRate
			path := "/api/v1/winrate?group_by=" + by + "&from=" + rng.from + "&to=" + rng.to
			if c := get(t, ts, "tok-director", path, &got); c != 200 {
				t.Fatalf("%s: status %d", path, c)
			}
			if len(got.Groups) != len(plain) {
				t.Errorf("%s: %d groups, the CSV has %d", path, len(got.Groups), len(plain))
			}
			for _, g := range got.Groups {
				p := plain[g.Key]
				if p == nil {
					t.Errorf("%s: group %q is not in the CSV", path, g.Key)
					continue
				}
				wr := float64(p.won) / float64(p.won+p.lost)
				if g.Won != int64(p.won) || g.Lost != int64(p.lost) || math.Abs(g.WonAmount-p.wonAmount) > 0.005 || math.Abs(g.WinRate-wr) > 1e-9 {
					t.Errorf("%s %q: won %d lost %d won amount %.2f win rate %.4f; the CSV says %d, %d, %.2f, %.4f",
						path, g.Key, g.Won, g.Lost, g.WonAmount, g.WinRate, p.won, p.lost, p.wonAmount, wr)
				}
			}
			if got.Total.Won != int64(total.won) || got.Total.Lost != int64(total.lost) || math.Abs(got.Total.WonAmount-total.wonAmount) > 0.005 {
				t.Errorf("%s total: %+v; the CSV says won %d lost %d won amount %.2f", path, got.Total, total.won, total.lost, total.wonAmount)
			}
		}
	}
}

func readCSV(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func mustDate(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
