package ingest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

func TestMain(m *testing.M) { schemastest.Main(m) }

// newTest is New with the publication the binary wires in: loads become
// visible (query.Service.Publish) as in production.
func newTest(db *schemas.DB, o Options, log *slog.Logger) *Service {
	if db != nil && o.Publish == nil {
		q := query.New(db, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
		o.Publish = q.Refresh
	}
	return New(db, o, log)
}

// threshold is an Options.RejectThreshold.
func threshold(t float64) *float64 { return &t }

func newService(t testing.TB, db *schemas.DB, opts Options) *Service {
	t.Helper()
	return newTest(db, opts, nil)
}

// count returns the committed rows of a table.
func count(t testing.TB, db *schemas.DB, table, where string) uint64 {
	t.Helper()
	q := "SELECT count() FROM " + table + " WHERE run_id IN (" + CommittedRunsSQL() + ")"
	if where != "" {
		q += " AND " + where
	}
	var n uint64
	ctx, cancel := db.Context(context.Background(), "test-count")
	defer cancel()
	if err := db.Conn.QueryRow(ctx, q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func countAll(t testing.TB, db *schemas.DB, table string) uint64 {
	t.Helper()
	var n uint64
	ctx, cancel := db.Context(context.Background(), "test-count")
	defer cancel()
	if err := db.Conn.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func sharedData(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", sub)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data %s not present (%v): CI runs with ../shared beside the project", dir, err)
		}
		t.Skipf("shared data %s not present (%v): the real-export test needs ../shared beside the project", dir, err)
	}
	return dir
}

func load(t *testing.T, s *Service, path string, o LoadOptions) FileReport {
	t.Helper()
	rep, err := s.LoadFile(context.Background(), path, o)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	return rep.Files[0]
}

func TestMavenCRM(t *testing.T) {
	dir := sharedData(t, "maven-crm")
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	snap := LoadOptions{SnapshotDate: time.Date(2017, 12, 31, 0, 0, 0, 0, time.UTC)}
	acc := load(t, s, filepath.Join(dir, "accounts.csv"), snap)
	teams := load(t, s, filepath.Join(dir, "sales_teams.csv"), snap)
	pipe := load(t, s, filepath.Join(dir, "sales_pipeline.csv"), snap)
	if acc.Profile != "maven-accounts" || teams.Profile != "maven-teams" || pipe.Profile != "maven" {
		t.Fatalf("profiles detected: %s, %s, %s; want maven-accounts, maven-teams, maven", acc.Profile, teams.Profile, pipe.Profile)
	}
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"accounts", count(t, db, "accounts", ""), 85},
		{"reps (35 agents + 6 managers)", count(t, db, "reps", ""), 41},
		{"managers", count(t, db, "reps", "role = 'manager'"), 6},
		{"opportunities", count(t, db, "opportunities", ""), 8800},
		{"won", count(t, db, "opportunities", "won = 1"), 4238},
		{"lost", count(t, db, "opportunities", "closed = 1 AND won = 0"), 2473},
		{"open at lead (Prospecting)", count(t, db, "opportunities", "stage = 'lead'"), 500},
		{"GTXPro normalised", count(t, db, "opportunities", "product = 'GTXPro'"), 0},
		{"GTX Pro", count(t, db, "opportunities", "product = 'GTX Pro'"), 1480},
		{"stage events (8300 engaging + 6711 closed)", count(t, db, "stage_events", ""), 15011},
		// Prospecting deals carry no engage date: created on the export date
		// (first seen), reported as warnings, and without an Engaging event.
		{"Prospecting created on the export date", count(t, db, "opportunities", "stage = 'lead' AND toDate(created_at) = '2017-12-31'"), 500},
		{"created_defaulted warnings", uint64(pipe.Warnings["created_defaulted"]), 500},
		{"snapshots", count(t, db, "opportunity_snapshots", ""), 8800},
		{"technolgy fixed", count(t, db, "accounts", "industry = 'technology'"), 12},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	if pipe.Rejected != 0 || pipe.Loaded != 8800 || pipe.Read != 8800 {
		t.Errorf("pipeline report: read %d loaded %d rejected %d %v; want 8800/8800/0", pipe.Read, pipe.Loaded, pipe.Rejected, pipe.RejectsByReason)
	}
	// The M/D/YYYY variant holds the same deals: same content, other bytes, loads the same.
	v := load(t, s, filepath.Join(dir, "variants", "sales_pipeline_kisaraF_mdy_dates.csv"), snap)
	if v.Loaded != 8800 || v.Rejected != 0 || v.DateOrder != "m/d/y" {
		t.Errorf("m/d/y variant: loaded %d rejected %d order %s", v.Loaded, v.Rejected, v.DateOrder)
	}
	if n := count(t, db, "(SELECT * FROM opportunities WHERE run_id IN ("+CommittedRunsSQL()+") ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id)", "close_date = '2017-03-01' AND opportunity_id = '1C1I7A6R'"); n != 1 {
		t.Errorf("1C1I7A6R close date read from 3/1/2017: got %d rows with 2017-03-01", n)
	}
}

func TestSalesforceOpportunity(t *testing.T) {
	dir := sharedData(t, "salesforce-opportunity")
	db := schemastest.Open(t)
	s := newService(t, db, Options{})
	opp := load(t, s, filepath.Join(dir, "Opportunity.csv"), LoadOptions{SnapshotDate: time.Date(2022, 8, 1, 0, 0, 0, 0, time.UTC)})
	hist := load(t, s, filepath.Join(dir, "Opportunity History.csv"), LoadOptions{})
	if opp.Profile != "salesforce" || hist.Profile != "salesforce-history" {
		t.Fatalf("profiles: %s, %s", opp.Profile, hist.Profile)
	}
	if opp.DateOrder != "d/m/y" || hist.DateOrder != "d/m/y" {
		t.Errorf("date order: %s, %s; want d/m/y", opp.DateOrder, hist.DateOrder)
	}
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"opportunities", count(t, db, "opportunities", ""), 219},
		// StageName wins over contradicting IsClosed/IsWon (137 rows): the
		// export's stage history and its expected output follow StageName.
		{"closed (StageName wins)", count(t, db, "opportunities", "closed = 1"), 146},
		{"won (StageName wins)", count(t, db, "opportunities", "won = 1"), 89},
		{"stage won", count(t, db, "opportunities", "stage = 'won'"), 89},
		{"stage lost", count(t, db, "opportunities", "stage = 'lost'"), 57},
		{"closed exactly when StageName says so", count(t, db, "opportunities", "closed = (vendor_stage IN ('Closed Won', 'Closed Lost')) AND won = (vendor_stage = 'Closed Won')"), 219},
		{"contradictions reported", uint64(opp.Warnings["stage_contradicts_flags"]), 137},
		{"stage events", count(t, db, "stage_events", ""), 584},
		{"history origin", count(t, db, "stage_events", "origin = 'history'"), 584},
		{"created 14 March", count(t, db, "opportunities", "opportunity_id = '0068d000002OrZqAAK' AND toDate(created_at) = '2022-03-14'"), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	if opp.Rejected != 0 || hist.Rejected != 0 {
		t.Errorf("rejects: %v %v", opp.RejectsByReason, hist.RejectsByReason)
	}
}
