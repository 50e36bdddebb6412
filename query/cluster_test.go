package query

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/clustertest"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestClusterEqualsSingleServer loads the same exports into a real cluster (two
// shards of two replicas with ZooKeeper, schemas/clustertest) and into one
// server, through ingest and its publications, and asks both every metric after
// each load: the generated sample file by file, a re-export a week later that
// changes amounts, owners, close dates, stages, a rep's team, accounts'
// territories and activities' reps, a load that fails its reject threshold, and
// a third export during which a replica of the second shard is killed. The
// answers must be the same (floats to 1e-9 relative).
func TestClusterEqualsSingleServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t0 := time.Now()
	c := clustertest.StartCluster(t)
	cfg := c.Config
	// A publication waits for the replicas (SYSTEM SYNC REPLICA) at most this
	// long: one that needs a part only the killed replica holds gives up sooner.
	cfg.QueryTimeout = 6 * time.Second
	cdb := clustertest.OpenMigrated(t, ctx, cfg)
	t.Logf("cluster of %d servers up in %s, migrated in %s", c.Replicas(), c.StartupTime.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	sdb := schemastest.Open(t)

	cluster := New(cdb, time.UTC, quietLog())
	single := New(sdb, time.UTC, quietLog())
	cing := ingest.New(cdb, ingest.Options{Publish: cluster.Refresh}, quietLog())
	sing := ingest.New(sdb, ingest.Options{Publish: single.Refresh}, quietLog())

	dir := t.TempDir()
	if _, err := gen.WriteDir(ctx, gen.Config{Seed: 11, Opportunities: 2000}, dir); err != nil {
		t.Fatal(err)
	}
	sample, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Slice(sample, func(i, j int) bool { return loadOrder[filepath.Base(sample[i])] < loadOrder[filepath.Base(sample[j])] })

	// Each file is its own load and publication, as a watched folder loads them
	// (the first publication is full, the others incremental). (Not several
	// files in one LoadFiles call: ingest's Recover, run before each file,
	// reads ingest_runs through the Distributed table, and a replica that has
	// not yet fetched the previous file's "loaded" row makes that run look
	// abandoned. A publication syncs ingest_runs first.)
	load := func(ing *ingest.Service, f, want string) {
		t.Helper()
		if got, err := loadStatus(ctx, ing, f); got != want {
			t.Fatalf("load %s: %s (%v), want %s", f, got, err, want)
		}
	}
	round := func(name string, files []string, want string) {
		t.Helper()
		tl := time.Now()
		for _, f := range files {
			load(sing, f, want)
		}
		ts := time.Since(tl)
		tl = time.Now()
		for _, f := range files {
			load(cing, f, want)
		}
		tc := time.Since(tl)
		tl = time.Now()
		compareVersions(ctx, t, cdb, sdb)
		if !t.Run(name, func(t *testing.T) { compareAll(t, cluster, single) }) {
			t.FailNow()
		}
		t.Logf("%s: %d files loaded (and published) in %s on the cluster, %s on one server; every metric compared in %s",
			name, len(files), tc.Round(time.Millisecond), ts.Round(time.Millisecond), time.Since(tl).Round(time.Millisecond))
	}

	round("sample", sample, ingest.StatusCommitted)
	round("reexport", modifiedExports(t, dir), ingest.StatusCommitted)
	round("rejected", []string{badAmounts(t, dir)}, ingest.StatusFailed)
	t.Logf("visible serving rows (cluster, one server): %v", servingCounts(ctx, t, cdb, sdb))

	// An abandoned publication: rows numbered V+1 on the second replica of
	// each shard, as a publisher leaves them that dies before recording its
	// publication: facts and deltas that would count, gone rows that would hide
	// visible facts. The next publication removes them before it reuses the
	// number, whichever replica they are on.
	v, err := cdb.CurrentVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, vs := u(v.Pub+1), v.String()
	for _, i := range []int{1, 3} {
		onServer(ctx, t, c, i, "INSERT INTO opp_gone_local (opportunity_id, pub, gone_at) SELECT opportunity_id, pub, toUInt64("+n+") FROM opp_facts_local WHERE pub <= "+vs+" LIMIT 50")
		onServer(ctx, t, c, i, "INSERT INTO opp_facts_local (opportunity_id, owner_id, team, territory, segment, amount, created_date, close_date, closed, won, furthest, pub) "+
			"SELECT opportunity_id, owner_id, team, territory, segment, amount * 100, created_date, close_date, closed, won, furthest, toUInt64("+n+") FROM opp_facts_local WHERE pub <= "+vs+" LIMIT 50")
		onServer(ctx, t, c, i, "INSERT INTO rep_days_local (grain, day, owner_id, team, created, created_amount, won, won_amount, sign, pub) "+
			"SELECT grain, day, owner_id, team, created, created_amount, won, won_amount, sign, toUInt64("+n+") FROM rep_days_local WHERE pub <= "+vs+" LIMIT 100")
		onServer(ctx, t, c, i, "INSERT INTO rep_dim_months_local (dim, value, day, owner_id, team, won, won_amount, reached, pub) "+
			"SELECT dim, value, day, owner_id, team, won * 7, won_amount, reached, toUInt64("+n+") FROM rep_dim_months_local WHERE pub <= "+vs+" LIMIT 100")
		onServer(ctx, t, c, i, "INSERT INTO account_facts_local (account_id, territory, segment, created, pub) SELECT account_id, territory, segment, [], toUInt64("+n+") FROM account_facts_local WHERE pub <= "+vs+" LIMIT 50")
	}

	// A third export, during which a replica holding some of its rows alone
	// is killed. Fetches of opportunities_local stop on both replicas of shard
	// 2, so the export's opportunities stay on the replica of shard 2 that took
	// them; that replica is killed (SIGKILL) as soon as they are in, before the
	// load is published. The load must not become visible without them: its
	// publication waits for the replicas (up to the query timeout) and gives
	// up, and so does the next file's, while the loads and the readers fail
	// over to the other replica. The runs stay loaded, invisible; once the
	// replica is back, the next publication makes them visible.
	var third []string
	for _, f := range modifiedExports(t, filepath.Join(dir, "v2")) {
		switch st, err := loadStatus(ctx, sing, f); st {
		case ingest.StatusCommitted:
			third = append(third, f)
		case ingest.StatusDuplicate:
			// The second export's content again: nothing to load.
		default:
			t.Fatalf("load %s: %s (%v)", f, st, err)
		}
	}
	waitReplicasAgree(ctx, t, c)
	shard2 := [2]int{2, 3}
	for _, i := range shard2 {
		onServer(ctx, t, c, i, "SYSTEM STOP FETCHES opportunities_local")
	}
	before := publishedFiles(ctx, t, cdb)
	victim := -1
	var killErr error
	kill := ingest.New(cdb, ingest.Options{Publish: cluster.Refresh, Progress: func(p ingest.Progress) {
		if !p.Done || filepath.Base(p.File) != "opportunities.csv" || victim >= 0 {
			return
		}
		// Called by the load between its inserts and its publication.
		var n [2]uint64
		for j, i := range shard2 {
			db, err := schemas.OpenAddr(ctx, c.Addr(i), clustertest.Database, 10*time.Second, quietLog())
			if err != nil {
				killErr = err
				return
			}
			killErr = db.Conn.QueryRow(ctx, "SELECT count() FROM opportunities_local").Scan(&n[j])
			db.Close()
		}
		survivor := shard2[1]
		victim = shard2[0]
		if n[1] > n[0] {
			victim, survivor = survivor, victim
		}
		c.KillReplica(victim)
		db, err := schemas.OpenAddr(ctx, c.Addr(survivor), clustertest.Database, 10*time.Second, quietLog())
		if err == nil {
			err = db.Conn.Exec(ctx, "SYSTEM START FETCHES opportunities_local")
			db.Close()
		}
		killErr = errors.Join(killErr, err)
	}}, quietLog())
	tk := time.Now()
	var notVisible []string
	for _, f := range third {
		st, err := loadStatus(ctx, kill, f)
		t.Logf("third export, server %d killed: %s %s after %s (%v)", victim, filepath.Base(f), st, time.Since(tk).Round(time.Millisecond), err)
		if st != ingest.StatusCommitted {
			notVisible = append(notVisible, f)
		}
	}
	if victim < 0 || killErr != nil {
		t.Fatalf("no replica killed during the opportunities load (%v)", killErr)
	}
	// While it is down, the cluster has published the files the single server
	// did except those whose rows it cannot all read; the readers answer.
	var missing []string
	for _, f := range notVisible {
		missing = append(missing, filepath.Base(f))
	}
	if got, want := publishedFiles(ctx, t, cdb), minus(publishedFiles(ctx, t, sdb), missing); !slices.Equal(got, want) {
		t.Fatalf("with server %d down the cluster published %v, want %v (before the third export: %v)", victim, got, want, before)
	}
	if !slices.Contains(missing, "opportunities.csv") {
		t.Errorf("the opportunities on the killed server only became visible: %v not published", missing)
	}
	if _, err := cluster.Funnel(ctx, Unrestricted, Filter{From: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Errorf("read with server %d down: %v", victim, err)
	}
	tr := time.Now()
	c.StartReplica(victim)
	// Loaded runs wait for the next publication (which fails while the
	// restarted replica's tables are read-only, until its old ZooKeeper session
	// expires); failed loads load again.
	for deadline := time.Now().Add(time.Minute); ; {
		err := cluster.Refresh(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("publish after server %d restarted: %v", victim, err)
		}
		t.Logf("publish after server %d restarted: %v; again", victim, err)
		time.Sleep(time.Second)
	}
	for _, f := range notVisible {
		if st, err := loadStatus(ctx, cing, f); st != ingest.StatusCommitted && st != ingest.StatusDuplicate {
			t.Fatalf("reload %s after server %d restarted: %s (%v)", f, victim, st, err)
		}
	}
	waitReplicasAgree(ctx, t, c)
	t.Logf("server %d restarted, %d files republished and every replica in agreement in %s", victim, len(notVisible), time.Since(tr).Round(time.Millisecond))
	compareVersions(ctx, t, cdb, sdb)
	// Through server 0 and through the restarted server, which reads its own
	// shard from itself.
	db2, err := schemas.Open(ctx, c.ConfigAt(victim), t.TempDir(), quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	t.Run("after-restart", func(t *testing.T) {
		t.Run("server-0", func(t *testing.T) { t.Parallel(); compareAll(t, cluster, single) })
		t.Run(fmt.Sprintf("server-%d", victim), func(t *testing.T) { t.Parallel(); compareAll(t, New(db2, time.UTC, quietLog()), single) })
	})
	t.Logf("visible serving rows (cluster, one server): %v; whole test %s", servingCounts(ctx, t, cdb, sdb), time.Since(t0).Round(time.Millisecond))
}

// loadStatus loads one file and returns its status (committed, loaded,
// duplicate, failed) and the load's error.
func loadStatus(ctx context.Context, ing *ingest.Service, f string) (string, error) {
	rep, err := ing.LoadFile(ctx, f, ingest.LoadOptions{Source: "canonical"})
	if rep == nil || len(rep.Files) == 0 {
		return "no report", err
	}
	return rep.Files[0].Status, err
}

// compareAll is compareServices plus the metrics it leaves out (leads,
// activities, targets, today's forecast from the history a stored), as
// parallel subtests of t.
func compareAll(t *testing.T, a, b *Service) {
	t.Helper()
	compareServices(t, a, b)
	t.Run("more", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		from, _ := time.Parse(time.DateOnly, "2025-11-01")
		to, _ := time.Parse(time.DateOnly, "2026-12-01")
		if _, err := a.PrecomputeForecasts(ctx, 0); err != nil {
			t.Fatalf("forecasts' history: %v", err)
		}
		// What the alert engine's deal rules read: the open deals with their
		// latest stage change, currency and snapshot history.
		for _, asOf := range []time.Time{to, to.AddDate(0, -1, -15)} {
			x, err := a.OpenDeals(ctx, asOf)
			if err != nil {
				t.Fatalf("open deals: %v", err)
			}
			y, err := b.OpenDeals(ctx, asOf)
			if err != nil {
				t.Fatalf("open deals: %v", err)
			}
			if path, ok := sameJSON(t, x, y); !ok || len(x) == 0 {
				t.Errorf("open deals at %s (%d) differ at %s", asOf.Format(time.DateOnly), len(x), path)
			}
		}
		for _, f := range []Filter{{From: from, To: to}, {From: from, To: to, Team: []string{"华东一组"}}} {
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
					t.Errorf("%s %v differs at %s", name, f.Team, path)
				}
			}
			check("leads", func(s *Service) (any, error) { return s.LeadConversion(ctx, Unrestricted, f) })
			check("attainment", func(s *Service) (any, error) { return s.Attainment(ctx, Unrestricted, f) })
			check("coverage", func(s *Service) (any, error) { return s.Coverage(ctx, Unrestricted, f) })
			check("territory headroom", func(s *Service) (any, error) { return s.TerritoryHeadroom(ctx, Unrestricted, f) })
			check("forecast", func(s *Service) (any, error) { return s.Forecast(ctx, Unrestricted, f, ForecastRequest{}) })
			for _, m := range SeriesMetrics {
				check("series "+m, func(s *Service) (any, error) { return s.DailySeries(ctx, Unrestricted, m, "team", f) })
			}
		}
	})
}

// compareVersions checks that both published the same loads: the files of the
// published runs.
func compareVersions(ctx context.Context, t *testing.T, a, b *schemas.DB) {
	t.Helper()
	if x, y := publishedFiles(ctx, t, a), publishedFiles(ctx, t, b); !slices.Equal(x, y) {
		t.Fatalf("published files differ:\ncluster    %v\none server %v", x, y)
	}
}

// publishedFiles is the file names of the published runs, sorted.
func publishedFiles(ctx context.Context, t *testing.T, db *schemas.DB) []string {
	t.Helper()
	var files []string
	q := "SELECT arraySort(groupArray(f)) FROM (SELECT run_id, any(file) AS f FROM ingest_runs WHERE run_id GLOBAL IN (" + schemas.CommittedRunIDs + ") GROUP BY run_id)"
	if err := db.Conn.QueryRow(ctx, q).Scan(&files); err != nil {
		t.Fatalf("read publications: %v", err)
	}
	return files
}

// minus is sorted a without one of each of b.
func minus(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, x := range b {
		if i := slices.Index(out, x); i >= 0 {
			out = slices.Delete(out, i, i+1)
		}
	}
	return out
}

// onServer runs q on server i.
func onServer(ctx context.Context, t *testing.T, c *clustertest.Cluster, i int, q string) {
	t.Helper()
	db, err := schemas.OpenAddr(ctx, c.Addr(i), clustertest.Database, 10*time.Second, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Conn.Exec(ctx, q); err != nil {
		t.Fatalf("server %d: %s: %v", i, q, err)
	}
}

// servingCounts is the visible serving rows (cluster and single server).
func servingCounts(ctx context.Context, t *testing.T, dbs ...*schemas.DB) map[string][]uint64 {
	t.Helper()
	out := map[string][]uint64{}
	for _, db := range dbs {
		v, err := db.CurrentVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []struct{ table, where string }{
			{"opp_facts", schemas.EntityVisible(v, "opportunity_id", db.ShardLocal("opp_gone"))},
			{"opp_moves", schemas.EntityVisible(v, "opportunity_id", db.ShardLocal("opp_gone"))},
			{"account_facts", schemas.EntityVisible(v, "account_id", db.ShardLocal("account_gone"))},
			{"rep_days", schemas.DeltaVisible(v)},
		} {
			var n uint64
			qctx, cancel := db.Context(ctx, "test-count")
			err := db.Conn.QueryRow(qctx, "SELECT count() FROM "+q.table+" WHERE "+q.where).Scan(&n)
			cancel()
			if err != nil {
				t.Fatalf("count %s: %v", q.table, err)
			}
			out[q.table] = append(out[q.table], n)
		}
	}
	return out
}

// badAmounts writes an opportunities export with one amount in ten unreadable:
// the load fails its reject threshold (5%) and changes nothing.
func badAmounts(t *testing.T, dir string) string {
	t.Helper()
	rows := readCSV(t, filepath.Join(dir, "opportunities.csv"))
	col := -1
	for i, h := range rows[0] {
		if h == "amount" {
			col = i
		}
	}
	for i := 1; i < len(rows); i++ {
		if i%10 == 0 {
			rows[i][col] = "n/a"
		} else {
			rows[i][col] += "0" // ten times: visible if the load leaked
		}
	}
	out := filepath.Join(dir, "bad")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "opportunities.csv")
	writeCSV(t, path, rows)
	return path
}

// waitReplicasAgree waits until both replicas of each shard hold the same rows
// of every table pipelens writes (SYSTEM SYNC REPLICA on each, then the local
// row counts compared).
func waitReplicasAgree(ctx context.Context, t *testing.T, c *clustertest.Cluster) {
	t.Helper()
	tables := append(append([]string{"publications", "ingest_runs"}, rawTables...), servingNames()...)
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts := make([]string, c.Replicas())
		err := func() error {
			for i := range c.Replicas() {
				db, err := schemas.OpenAddr(ctx, c.Addr(i), clustertest.Database, 10*time.Second, quietLog())
				if err != nil {
					return err
				}
				defer db.Close()
				var parts []string
				for _, tb := range tables {
					var n uint64
					if err := db.Conn.Exec(ctx, "SYSTEM SYNC REPLICA "+tb+"_local"); err != nil {
						return fmt.Errorf("server %d: sync %s: %w", i, tb, err)
					}
					if err := db.Conn.QueryRow(ctx, "SELECT count() FROM "+tb+"_local").Scan(&n); err != nil {
						return err
					}
					parts = append(parts, fmt.Sprintf("%s=%d", tb, n))
				}
				counts[i] = strings.Join(parts, " ")
			}
			return nil
		}()
		agree := err == nil
		for i := 0; agree && i < c.Replicas(); i++ {
			for j := i + 1; j < c.Replicas(); j++ {
				if c.ShardOf(i) == c.ShardOf(j) && counts[i] != counts[j] {
					agree = false
				}
			}
		}
		if agree {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("replicas disagree after 60s (%v):\n%s", err, strings.Join(counts, "\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
