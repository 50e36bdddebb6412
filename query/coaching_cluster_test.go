package query

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/clustertest"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestCoachingOnCluster: the KAI and the coaching plans answer the same on a
// cluster of two shards of two replicas (migration 0010 replicated and
// distributed) as on one server, for the same sample.
func TestCoachingOnCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := clustertest.StartCluster(t)
	cfg := c.Config
	cfg.QueryTimeout = 20 * time.Second
	cdb := clustertest.OpenMigrated(t, ctx, cfg)
	sdb := schemastest.Open(t)
	cluster, single := New(cdb, time.UTC, quietLog()), New(sdb, time.UTC, quietLog())
	cing := ingest.New(cdb, ingest.Options{Publish: cluster.Refresh}, quietLog())
	sing := ingest.New(sdb, ingest.Options{Publish: single.Refresh}, quietLog())
	dir := t.TempDir()
	if _, err := gen.WriteDir(ctx, gen.Config{Seed: 11, Opportunities: 800}, dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder[filepath.Base(files[i])] < loadOrder[filepath.Base(files[j])] })
	for _, f := range files {
		for name, ing := range map[string]*ingest.Service{"cluster": cing, "one server": sing} {
			if got, err := loadStatus(ctx, ing, f); got != "committed" {
				t.Fatalf("%s: load %s: %s (%v)", name, f, got, err)
			}
		}
	}
	from, _ := time.Parse(time.DateOnly, "2026-01-01")
	to, _ := time.Parse(time.DateOnly, "2026-11-21")
	for _, f := range []Filter{{From: from, To: to}, {From: from, To: to, Team: []string{"华东一组"}}} {
		a, err := cluster.Activity(ctx, Unrestricted, f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := single.Activity(ctx, Unrestricted, f)
		if err != nil {
			t.Fatal(err)
		}
		if a.Total.Total == 0 {
			t.Fatalf("no activities in %v", f)
		}
		if path, ok := sameJSON(t, a, b); !ok {
			t.Errorf("activity %v differs at %s", f.Team, path)
		}
	}
	// The same plan recorded on both, then listed, tracked and reviewed.
	reps, err := single.Reps(ctx, Unrestricted, Filter{From: from, To: to, Team: []string{"华东一组"}})
	if err != nil || len(reps) == 0 {
		t.Fatalf("reps: %v", err)
	}
	rep := reps[0].RepID
	recorded := ts("2026-09-01 08:00")
	in := PlanInput{RepID: rep, Metric: "activities_per_week", Goal: 1000, Actions: "More visits.", Review: "2026-10-01", BaselineFrom: "2026-01-01", BaselineTo: "2026-09-01"}
	var got [2]Plan
	for i, s := range []*Service{cluster, single} {
		p, err := s.CreatePlan(ctx, Unrestricted, in, recorded)
		if err != nil {
			t.Fatal(err)
		}
		due, err := s.DuePlans(ctx, ts("2026-10-01 08:00"))
		if err != nil || len(due) != 1 || due[0].ID != p.ID {
			t.Fatalf("due plans: %v %+v", err, due)
		}
		if _, err := s.ReviewPlan(ctx, due[0], ts("2026-10-01 08:00")); err != nil {
			t.Fatal(err)
		}
		ps, err := s.Plans(ctx, Scope{Name: "m", Role: RoleManager, Team: "华东一组"}, rep, "")
		if err != nil || len(ps) != 1 || ps[0].Status != PlanReviewed {
			t.Fatalf("plans after the review: %v %+v", err, ps)
		}
		got[i] = ps[0]
		got[i].ID, got[i].CreatedAt, got[i].ReviewedAt = "", time.Time{}, nil
	}
	if path, ok := sameJSON(t, got[0], got[1]); !ok {
		t.Errorf("the reviewed plan differs at %s: cluster %+v, one server %+v", path, got[0].Result, got[1].Result)
	}
	t.Logf("plan on %s's activities per week: baseline %.2f, review %+v", rep, got[0].Baseline, *got[0].Result)
}
