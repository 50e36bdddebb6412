package query

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestIncrementalEqualsFull: a home where every file was published on its own
// (each publication recomputing only what its run touched, with cancelling rows
// for the versions it replaced) answers every metric exactly as a home where the
// same files were published at once from scratch. The second round of files
// changes amounts, owners, close dates, stages, a rep's team, accounts'
// territories, activities' reps and leads' sources, owners and conversions:
// what a re-export a week later does.
func TestIncrementalEqualsFull(t *testing.T) {
	ctx := context.Background()
	files := sampleAndReexport(t, 11, 3000)

	dbA, inc := loadEach(t, files, time.UTC)
	var incremental uint64
	if err := dbA.Conn.QueryRow(ctx, "SELECT countIf(full = 0) FROM publications").Scan(&incremental); err != nil || incremental < 5 {
		t.Fatalf("incremental publications: %d (%v); want most of the %d loads", incremental, err, len(files))
	}

	dbB := schemastest.Open(t)
	whole := New(dbB, time.UTC, quietLog())
	if _, err := ingest.New(dbB, ingest.Options{}, quietLog()).LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"}); err != nil {
		t.Fatal(err)
	}
	p, err := whole.Publish(ctx)
	if err != nil || p == nil || !p.Full {
		t.Fatalf("full publication: %+v, %v", p, err)
	}
	compareAll(t, inc, whole)
}

// TestOlderLayoutIsRebuilt: a warehouse whose last publication an older build
// wrote (another serving layout, here the one before rep_dim_months) is
// stale: a table this build reads lacks its rows, so the reps by product would
// miss whole months. serve rebuilds such a warehouse before it listens
// (upgradeServing); the rebuild is a full publication, after which the
// answers equal those read without the pre-aggregates.
func TestOlderLayoutIsRebuilt(t *testing.T) {
	ctx := context.Background()
	db, s := loadEach(t, sampleAndReexport(t, 3, 800), time.UTC)
	plain := New(db, time.UTC, quietLog())
	plain.noRollup = true
	if stale, err := s.ServingStale(ctx); err != nil || stale {
		t.Fatalf("freshly published: stale %v (%v)", stale, err)
	}
	f := Filter{From: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Product: []string{"SaaS 企业版"}}
	reps := func(s *Service) []RepScore {
		t.Helper()
		r, err := s.Reps(ctx, Unrestricted, f)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	want := reps(plain)
	if len(want) == 0 {
		t.Fatal("no reps sell the product: the test compares nothing")
	}
	// What the build before rep_dim_months left: no rows there, and its layout
	// in the last publication's fingerprint.
	if err := db.Conn.Exec(ctx, "ALTER TABLE rep_dim_months DELETE WHERE 1"); err != nil {
		t.Fatal(err)
	}
	publishedByOlderLayout(t, db)
	waitMutations(t, db)
	if stale, err := s.ServingStale(ctx); err != nil || !stale {
		t.Fatalf("published by the older layout: stale %v (%v), want true", stale, err)
	}
	if _, ok := sameJSON(t, reps(s), want); ok {
		t.Fatal("reps by product read the emptied rep_dim_months and still matched: the test proves nothing")
	}
	p, err := s.Publish(ctx)
	if err != nil || p == nil || !p.Full {
		t.Fatalf("rebuild: %+v, %v; want a full publication", p, err)
	}
	if stale, err := s.ServingStale(ctx); err != nil || stale {
		t.Fatalf("rebuilt: stale %v (%v)", stale, err)
	}
	if path, ok := sameJSON(t, reps(s), want); !ok {
		t.Errorf("reps by product after the rebuild differ from opp_facts' at %s", path)
	}
}

// TestCollectAfterGrace: after a full publication the rows it replaced stay
// until it has been visible for the grace period (a request that took the
// version before it still reads them), then Collect deletes them without a
// publication, and every answer stays the same.
func TestCollectAfterGrace(t *testing.T) {
	ctx := context.Background()
	db, s := loadEach(t, sampleAndReexport(t, 4, 600), time.UTC)
	// A full rebuild, as after an upgrade of the serving layout.
	publishedByOlderLayout(t, db)
	if p, err := s.Publish(ctx); err != nil || p == nil || !p.Full {
		t.Fatalf("rebuild: %+v, %v; want a full publication", p, err)
	}
	f := Filter{From: time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	answers := func() []any {
		t.Helper()
		fu, err := s.Funnel(ctx, Unrestricted, f)
		if err != nil {
			t.Fatal(err)
		}
		wr, err := s.WinRate(ctx, Unrestricted, f, "team")
		if err != nil {
			t.Fatal(err)
		}
		rp, err := s.Reps(ctx, Unrestricted, Filter{From: f.From, To: f.To, Segment: []string{"enterprise"}})
		if err != nil {
			t.Fatal(err)
		}
		return []any{fu, wr, rp}
	}
	old := func() uint64 {
		t.Helper()
		waitMutations(t, db)
		v, err := db.CurrentVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		if err := db.Conn.QueryRow(ctx, "SELECT (SELECT count() FROM opp_facts WHERE pub < "+u(v.Base)+") + (SELECT count() FROM rep_days WHERE pub < "+u(v.Base)+")").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := answers()
	n := old()
	if n == 0 {
		t.Fatal("no rows older than the full publication: the test proves nothing")
	}
	if err := s.Collect(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if m := old(); m != n {
		t.Fatalf("within the grace period %d of %d older rows were deleted", n-m, n)
	}
	if err := s.Collect(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if m := old(); m != 0 {
		t.Fatalf("after the grace period %d older rows are left", m)
	}
	if path, ok := sameJSON(t, answers(), before); !ok {
		t.Errorf("answers changed when the replaced rows went, at %s", path)
	}
}

// publishedByOlderLayout records an empty publication whose fingerprint names
// the layout before rep_dim_months, as the build before it would have.
func publishedByOlderLayout(t *testing.T, db *schemas.DB) {
	t.Helper()
	ctx := context.Background()
	v, err := db.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Conn.Exec(ctx, "INSERT INTO publications (pub, runs, full, fingerprint, touched, published_at) SELECT pub + 1, [], 0, "+
		"replaceOne(fingerprint, 'serving="+servingVersion+"', 'serving=13'), 0, now() FROM publications WHERE pub = "+u(v.Pub)); err != nil {
		t.Fatal(err)
	}
}

// waitMutations waits until ClickHouse has applied every mutation of the
// database.
func waitMutations(t *testing.T, db *schemas.DB) {
	t.Helper()
	for left := uint64(1); left > 0; time.Sleep(50 * time.Millisecond) {
		if err := db.Conn.QueryRow(context.Background(), "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0").Scan(&left); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHashCollisionPublishesInFull: readers test a row's visibility by a hash
// of its key and publication (schemas.EntityVisible). With the hash narrowed
// to three values, every incremental publication that replaces versions hides
// rows that were not replaced; the check before the commit finds them and the
// publication is done again in full, so every answer still equals a home
// published at once from scratch, and no gone row is left.
func TestHashCollisionPublishesInFull(t *testing.T) {
	ctx := context.Background()
	files := sampleAndReexport(t, 11, 3000)
	old, had := os.LookupEnv("PIPELENS_FAULT")
	if err := os.Setenv("PIPELENS_FAULT", "visibility-hash-collide"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if had {
			_ = os.Setenv("PIPELENS_FAULT", old)
		} else {
			_ = os.Unsetenv("PIPELENS_FAULT")
		}
	})
	dbA, inc := loadEach(t, files, time.UTC)
	var full, incremental, gone uint64
	if err := dbA.Conn.QueryRow(ctx, "SELECT countIf(full = 1), countIf(full = 0), (SELECT count() FROM opp_gone) + (SELECT count() FROM account_gone) FROM publications").Scan(&full, &incremental, &gone); err != nil {
		t.Fatal(err)
	}
	// The first round of files publishes incrementally what replaces nothing;
	// the re-export replaces versions in every file of opportunities.
	if full < 3 || incremental == 0 || gone != 0 {
		t.Fatalf("%d full and %d incremental publications, %d gone rows; want the re-export's in full and none gone", full, incremental, gone)
	}
	dbB := schemastest.Open(t)
	whole := New(dbB, time.UTC, quietLog())
	if _, err := ingest.New(dbB, ingest.Options{}, quietLog()).LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"}); err != nil {
		t.Fatal(err)
	}
	if _, err := whole.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	compareAll(t, inc, whole)
}

// loadEach loads files one by one into a fresh database, each published on
// its own, and returns it with a Service in loc over it.
func loadEach(t *testing.T, files []string, loc *time.Location) (*schemas.DB, *Service) {
	t.Helper()
	db := schemastest.Open(t)
	s := New(db, loc, quietLog())
	ing := ingest.New(db, ingest.Options{Publish: s.Refresh}, quietLog())
	for _, f := range files {
		rep, err := ing.LoadFile(context.Background(), f, ingest.LoadOptions{Source: "canonical"})
		if err != nil || rep.Files[0].Status != ingest.StatusCommitted {
			t.Fatalf("load %s: %v %+v", f, err, rep)
		}
		// Read team_days, dim_days, cycle_days, rep_days and
		// rep_activity_days into memory at each version, so the next one
		// extends them with its own rows (inmemory.go), as serve's Warm does.
		if err := s.Warm(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return db, s
}

// sampleAndReexport writes the sample of seed with n opportunities and its
// re-export a week later (modifiedExports), and returns the files in load order.
func sampleAndReexport(t *testing.T, seed int64, n int) []string {
	t.Helper()
	dir := t.TempDir()
	if _, err := gen.WriteDir(context.Background(), gen.Config{Seed: seed, Opportunities: n}, dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder[filepath.Base(files[i])] < loadOrder[filepath.Base(files[j])] })
	return append(files, modifiedExports(t, dir)...)
}

// reexportedHome loads the sample of seed and n opportunities and its
// re-export (sampleAndReexport) file by file, each published on its own, into
// a fresh database, and returns it with a Service in Asia/Shanghai (days that
// are not UTC's) over it.
func reexportedHome(t *testing.T, seed int64, n int) (*schemas.DB, *Service, *time.Location) {
	t.Helper()
	files := sampleAndReexport(t, seed, n)
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	db, s := loadEach(t, files, loc)
	return db, s, loc
}

// reexportFilters are the filters the equality tests over reexportedHome ask
// in loc: wide and cut ranges, each kind of filter, a single day and a range
// with nothing in it.
func reexportFilters(loc *time.Location) []Filter {
	d := func(s string) time.Time {
		x, _ := time.ParseInLocation(time.DateOnly, s, loc)
		return x
	}
	return []Filter{
		{From: d("2025-11-01"), To: d("2026-12-01")},
		{From: d("2026-02-17"), To: d("2026-09-09")},
		{From: d("2026-03-01"), To: d("2026-10-01"), Team: []string{"华东一组"}},
		{From: d("2026-01-01"), To: d("2026-12-01"), Territory: []string{"上海", "北京", "广东"}},
		{From: d("2026-01-01"), To: d("2026-12-01"), Segment: []string{"enterprise"}, Source: []string{"website", "referral"}},
		{From: d("2025-06-01"), To: d("2026-12-01"), Product: []string{"SaaS 企业版", "实施服务"}},
		{From: d("2026-05-01"), To: d("2026-05-02")},
		{From: d("2030-01-01"), To: d("2030-02-01")},
		{From: d("2026-04-01"), To: d("2026-07-01"), Product: []string{"SaaS 企业版"}},
		{From: d("2026-06-03"), To: d("2026-06-04")},
	}
}

// compareServices asks a and b every metric under several filters; any
// difference fails t. The filters run as parallel subtests of t: they finish
// when the function that called compareServices returns.
func compareServices(t *testing.T, a, b *Service) {
	t.Helper()
	ctx := context.Background()
	d := func(s string) time.Time {
		x, _ := time.Parse(time.DateOnly, s)
		return x
	}
	filters := []Filter{
		{From: d("2025-11-01"), To: d("2026-12-01")},
		{From: d("2026-02-17"), To: d("2026-09-09")},
		{From: d("2026-03-01"), To: d("2026-10-01"), Team: []string{"华东一组"}},
		{From: d("2026-01-01"), To: d("2026-12-01"), Territory: []string{"上海", "北京", "广东"}},
		{From: d("2026-01-01"), To: d("2026-12-01"), Segment: []string{"enterprise"}},
		{From: d("2025-12-17"), To: d("2026-10-09"), Product: []string{"SaaS 企业版"}},
	}
	for i, f := range filters {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			check := func(name string, get func(s *Service) (any, error)) {
				t.Helper()
				x, err := get(a)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				y, err := get(b)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if path, ok := sameJSON(t, x, y); !ok {
					t.Errorf("%s differs at %s", name, path)
				}
			}
			check("funnel", func(s *Service) (any, error) { return s.Funnel(ctx, Unrestricted, f) })
			for _, p := range []string{Week, Month} {
				check("conversion "+p, func(s *Service) (any, error) { return s.Conversion(ctx, Unrestricted, f, p) })
				check("movement "+p, func(s *Service) (any, error) { return s.Movement(ctx, Unrestricted, f, p) })
			}
			for _, g := range []string{"", "rep", "team", "territory"} {
				check("winrate "+g, func(s *Service) (any, error) { return s.WinRate(ctx, Unrestricted, f, g) })
				check("cycle "+g, func(s *Service) (any, error) { return s.CycleTime(ctx, Unrestricted, f, g) })
			}
			for _, g := range []string{"", "team"} {
				check("days in stage "+g, func(s *Service) (any, error) { return s.DaysInStage(ctx, Unrestricted, f, g) })
			}
			for _, m := range []string{"pipeline_created", "bookings", "win_rate"} {
				check("series "+m, func(s *Service) (any, error) { return s.DailySeries(ctx, Unrestricted, m, "team", f) })
			}
			check("reps", func(s *Service) (any, error) { return s.Reps(ctx, Unrestricted, f) })
			check("territories", func(s *Service) (any, error) { return s.Territories(ctx, Unrestricted, f) })
			check("deals", func(s *Service) (any, error) {
				return s.Deals(ctx, Unrestricted, f, DealQuery{Sort: "-amount", PageSize: 50})
			})
		})
	}
}

// modifiedExports writes a second export of the sample in dir/v2: what changed
// in the CRM since the first.
func modifiedExports(t *testing.T, dir string) []string {
	t.Helper()
	out := filepath.Join(dir, "v2")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	var repIDs []string
	rewrite := func(name string, fn func(i int, col map[string]int, row []string) []string) string {
		rows := readCSV(t, filepath.Join(dir, name))
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		keep := [][]string{rows[0]}
		for i, r := range rows[1:] {
			if r = fn(i, col, r); r != nil {
				keep = append(keep, r)
			}
		}
		path := filepath.Join(out, name)
		writeCSV(t, path, keep)
		// A week later than the first export.
		later := time.Now().Add(7 * 24 * time.Hour)
		_ = os.Chtimes(path, later, later)
		return path
	}
	var teams []string
	rewrite("reps.csv", func(i int, col map[string]int, r []string) []string {
		if r[col["role"]] == "rep" {
			repIDs = append(repIDs, r[col["rep_id"]])
			teams = append(teams, r[col["team"]])
		}
		return r
	})
	reps := rewrite("reps.csv", func(i int, col map[string]int, r []string) []string {
		switch r[col["rep_id"]] {
		case repIDs[0]:
			r[col["team"]] = teams[len(teams)-1] // moved to another team
		case repIDs[1]:
			r[col["name"]] += "（新）"
		}
		return r
	})
	accounts := rewrite("accounts.csv", func(i int, col map[string]int, r []string) []string {
		if i%10 == 3 {
			r[col["territory"]] = "四川"
		}
		return r
	})
	opps := rewrite("opportunities.csv", func(i int, col map[string]int, r []string) []string {
		switch i % 5 {
		case 0:
			a, _ := strconv.ParseFloat(r[col["amount"]], 64)
			r[col["amount"]] = strconv.FormatFloat(a*1.25, 'f', 0, 64)
		case 1:
			r[col["owner_id"]] = repIDs[(i/5)%len(repIDs)]
		case 2:
			if r[col["closed"]] == "0" {
				cd, err := time.Parse(time.DateOnly, r[col["close_date"]])
				if err == nil {
					r[col["close_date"]] = cd.AddDate(0, 0, 21).Format(time.DateOnly)
				}
			}
		case 3:
			if r[col["closed"]] == "0" {
				r[col["stage"]], r[col["vendor_stage"]], r[col["closed"]], r[col["won"]] = "won", "赢单", "1", "1"
			}
		case 4:
			// Won deals change too: one closed 45 days earlier (its account's
			// wins move), one reopened (a win taken back).
			if r[col["won"]] != "1" {
				break
			}
			if i%10 == 4 {
				cd, err := time.Parse(time.DateOnly, r[col["close_date"]])
				if err == nil {
					r[col["close_date"]] = cd.AddDate(0, 0, -45).Format(time.DateOnly)
				}
			} else {
				r[col["stage"]], r[col["vendor_stage"]], r[col["closed"]], r[col["won"]] = "negotiation", "谈判", "0", "0"
			}
		}
		return r
	})
	acts := rewrite("activities.csv", func(i int, col map[string]int, r []string) []string {
		if i%4 == 0 {
			r[col["rep_id"]] = repIDs[i%len(repIDs)]
		}
		return r
	})
	events := rewrite("stage_events.csv", func(i int, col map[string]int, r []string) []string {
		if i%50 == 7 {
			r[col["stage"]], r[col["stage_rank"]], r[col["vendor_stage"]] = "negotiation", "4", "谈判"
			at, err := time.Parse(time.DateTime, r[col["entered_at"]])
			if err == nil {
				r[col["entered_at"]] = at.Add(36 * time.Hour).Format(time.DateTime)
			}
			return r
		}
		return nil
	})
	leads := rewrite("leads.csv", func(i int, col map[string]int, r []string) []string {
		switch i % 6 {
		case 0:
			r[col["source"]] = "展会"
		case 1:
			r[col["owner_id"]] = repIDs[(i/6)%len(repIDs)]
		case 2:
			r[col["converted"]] = "1"
		case 3:
			return r
		}
		return nil
	})
	// Deals that name the lead they came from (issue 12's lead links).
	var links [][]string
	for i, r := range readCSV(t, filepath.Join(dir, "leads.csv")) {
		if i == 0 {
			links = append(links, []string{"lead_id", "opportunity_id", "source_system"})
		} else if i%9 == 4 {
			links = append(links, []string{r[0], fmt.Sprintf("LINK-%d", i), "test"})
		}
	}
	linkFile := filepath.Join(out, "lead_links.csv")
	writeCSV(t, linkFile, links)
	return []string{reps, accounts, opps, events, acts, leads, linkFile}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func writeCSV(t *testing.T, path string, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
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
}

var _ = schemas.RunLoaded
