package ingest

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/query"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// heldoutTruth is truth.json of a held-out export (testdata/heldout/README.md):
// files written from the vendors' documentation by a session that never read
// this loader, with the truth derived from the files alone.
type heldoutTruth struct {
	File    string `json:"file"`
	Rows    int64  `json:"rows"`
	Valid   int64  `json:"valid"`
	Rejects []struct {
		Row    int64  `json:"row"`
		Column string `json:"column"`
		Reason string `json:"reason"`
	} `json:"rejects"`
	Duplicates []struct {
		ID     string  `json:"id"`
		Rows   []int64 `json:"rows"`
		Winner int64   `json:"winner_row"`
	} `json:"duplicates"`
	PerOwner map[string]struct {
		Won     int64    `json:"won"`
		Lost    int64    `json:"lost"`
		Open    int64    `json:"open"`
		WinRate *float64 `json:"win_rate"`
	} `json:"per_owner"`
}

// heldoutReasons maps truth's reject reasons to ours.
var heldoutReasons = map[string]string{"amount_not_numeric": "bad_amount", "invalid_date": "bad_date", "missing_stage": "unknown_stage"}

// TestHeldOutExports loads each held-out export by auto-detection into a fresh
// database and checks it against its truth: the vendor's profile, rows read,
// opportunities loaded, every reject at its row and column and no other, the
// later row of a repeated Id loaded, and per owner won, lost, open and win
// rate as /api/v1/winrate?group_by=rep and /api/v1/deals give them.
func TestHeldOutExports(t *testing.T) {
	for _, c := range []struct{ dir, profile string }{
		{"salesforce", "salesforce"}, {"salesforce_report", "salesforce-report"}, {"salesforce_report_small", "salesforce-report"},
		{"salesforce_report_uk", "salesforce-report"}, {"hubspot", "hubspot"}, {"hubspot_xlsx", "hubspot"},
		{"zoho", "zoho"}, {"fxiaoke", "fxiaoke"}, {"fxiaoke_xlsx", "fxiaoke"},
	} {
		t.Run(c.dir, func(t *testing.T) { checkHeldOut(t, c.dir, c.profile) })
	}
}

func checkHeldOut(t *testing.T, dir, profile string) {
	dir = filepath.Join("testdata", "heldout", dir)
	b, err := os.ReadFile(filepath.Join(dir, "truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth heldoutTruth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatal(err)
	}
	db := schemastest.Open(t)
	s := newTest(db, Options{}, nil)
	fr := load(t, s, filepath.Join(dir, truth.File), LoadOptions{SnapshotDate: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)})
	if fr.Profile != profile {
		t.Errorf("profile %s, want %s", fr.Profile, profile)
	}
	if fr.Read != truth.Rows || fr.Loaded != truth.Valid || fr.Rejected != int64(len(truth.Rejects)) || fr.Duplicates != int64(len(truth.Duplicates)) {
		t.Errorf("read %d loaded %d rejected %d duplicates %d; want %d, %d, %d, %d (warnings %v)", fr.Read, fr.Loaded, fr.Rejected, fr.Duplicates,
			truth.Rows, truth.Valid, len(truth.Rejects), len(truth.Duplicates), fr.Warnings)
	}
	if profile == "salesforce-report" && fr.Warnings["report_footer_lines"] != 5 {
		t.Errorf("warnings %v, want report_footer_lines 5 (the footer after the data)", fr.Warnings)
	}
	checkHeldOutRejects(t, db, fr.RunID, truth)
	kept := map[string]int64{}
	for _, d := range fr.SampleDuplicates {
		kept[d.Key] = d.Kept
	}
	for _, d := range truth.Duplicates {
		if kept[d.ID] != d.Winner {
			t.Errorf("duplicate %s (rows %v): kept row %d, want %d", d.ID, d.Rows, kept[d.ID], d.Winner)
		}
	}
	checkHeldOutOwners(t, db, truth)
	checkHeldOutReps(t, db, truth, "")
	if strings.HasPrefix(dir, filepath.Join("testdata", "heldout", "zoho")) {
		// A reps file loaded afterwards replaces an owner's stub, whatever order.
		path := filepath.Join(t.TempDir(), "reps.csv")
		if err := os.WriteFile(path, []byte("rep_id,name,team,role\nAisha Nguyen,Aisha N.,East,rep\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		load(t, s, path, LoadOptions{})
		checkHeldOutReps(t, db, truth, "Aisha Nguyen")
	}
}

// checkHeldOutReps: every owner has a scorecard (/api/v1/reps, /api/v1/reps/{id})
// named as the file writes it, with no team, except withRow, which a reps file
// names "Aisha N." in team East.
func checkHeldOutReps(t *testing.T, db *schemas.DB, truth heldoutTruth, withRow string) {
	t.Helper()
	q := query.New(db, nil, nil)
	f := query.Filter{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	reps, err := q.Reps(context.Background(), query.Unrestricted, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != len(truth.PerOwner) {
		t.Errorf("%d reps, want %d (one per owner)", len(reps), len(truth.PerOwner))
	}
	for owner, w := range truth.PerOwner {
		r, err := q.Rep(context.Background(), query.Unrestricted, f, owner)
		name, team := owner, ""
		if owner == withRow {
			name, team = "Aisha N.", "East"
		}
		if err != nil || r.Name != name || r.Team != team || r.Won != w.Won || r.Lost != w.Lost {
			t.Errorf("rep %s: %+v (%v); want name %q team %q won %d lost %d", owner, r, err, name, team, w.Won, w.Lost)
		}
	}
}

// checkHeldOutRejects compares the run's recorded rejects with truth's.
func checkHeldOutRejects(t *testing.T, db *schemas.DB, run uint64, truth heldoutTruth) {
	t.Helper()
	type rej struct {
		row            int64
		column, reason string
	}
	var got, want []rej
	for _, r := range truth.Rejects {
		want = append(want, rej{r.Row, r.Column, heldoutReasons[r.Reason]})
	}
	ctx, cancel := db.Context(context.Background(), "test-rejects")
	defer cancel()
	rows, err := db.Conn.Query(ctx, "SELECT row, column, reason FROM ingest_rejects WHERE run_id = ? ORDER BY row", run)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var r rej
		var row uint64
		if err := rows.Scan(&row, &r.column, &r.reason); err != nil {
			t.Fatal(err)
		}
		r.row = int64(row)
		got = append(got, r)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].row < want[j].row })
	if len(got) != len(want) {
		t.Errorf("rejects %v, want %v", got, want)
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("reject %v, want %v", got[i], want[i])
		}
	}
}

// checkHeldOutOwners compares per owner counts and win rates with truth's,
// through query.Service as the API reads them.
func checkHeldOutOwners(t *testing.T, db *schemas.DB, truth heldoutTruth) {
	t.Helper()
	q := query.New(db, nil, nil)
	ctx := context.Background()
	f := query.Filter{From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}
	wr, err := q.WinRate(ctx, query.Unrestricted, f, "rep")
	if err != nil {
		t.Fatal(err)
	}
	type counts struct {
		won, lost, open int64
		rate            float64
	}
	got := map[string]counts{}
	for _, g := range wr.Groups {
		c := got[g.Key]
		c.won, c.lost, c.rate = g.Won, g.Lost, g.WinRate
		got[g.Key] = c
	}
	total := int64(0)
	for page := 1; ; page++ {
		d, err := q.Deals(ctx, query.Unrestricted, f, query.DealQuery{Basis: "open", Status: "open", Page: page, PageSize: 500})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range d.Deals {
			c := got[x.OwnerID]
			c.open++
			got[x.OwnerID] = c
		}
		total += int64(len(d.Deals))
		if len(d.Deals) == 0 || total >= d.Total {
			break
		}
	}
	if len(got) != len(truth.PerOwner) {
		t.Errorf("%d owners %v, want %d", len(got), got, len(truth.PerOwner))
	}
	for owner, w := range truth.PerOwner {
		g := got[owner]
		rate := 0.0
		if w.WinRate != nil {
			rate = *w.WinRate
		}
		if g.won != w.Won || g.lost != w.Lost || g.open != w.Open || math.Abs(g.rate-rate) > 5e-7 {
			t.Errorf("%s: won %d lost %d open %d win rate %.6f; want %d, %d, %d, %.6f", owner, g.won, g.lost, g.open, g.rate, w.Won, w.Lost, w.Open, rate)
		}
	}
}
