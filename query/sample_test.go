package query

import (
	"context"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest"
	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// loadOrder loads dimensions before the facts that refer to them.
var loadOrder = map[string]int{"reps.csv": 0, "accounts.csv": 1, "market.csv": 2, "targets.csv": 3, "opportunities.csv": 4,
	"opportunity_snapshots.csv": 5, "stage_events.csv": 6, "leads.csv": 7, "activities.csv": 8}

// sample is a generated data set loaded the way production loads it: the
// generator's canonical files through ingest, then Refresh.
type sample struct {
	svc   *Service
	truth *gen.Truth
	dir   string
}

func loadSample(t testing.TB, cfg gen.Config) *sample {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	truth, err := gen.WriteDir(ctx, cfg, dir)
	if err != nil {
		t.Fatalf("generate sample: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.csv"))
	sort.Slice(files, func(i, j int) bool { return loadOrder[filepath.Base(files[i])] < loadOrder[filepath.Base(files[j])] })
	db := schemastest.Open(t)
	rep, err := ingest.New(db, ingest.Options{}, quietLog()).LoadFiles(ctx, files, ingest.LoadOptions{Source: "canonical"})
	if err != nil {
		t.Fatalf("load sample: %v", err)
	}
	if rep.Rejected != 0 {
		t.Fatalf("load sample: %d rows rejected", rep.Rejected)
	}
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	return &sample{svc: s, truth: truth, dir: dir}
}

// sampleRange is the sample's whole history.
func (sm *sample) sampleRange() Filter {
	from, _ := time.Parse(time.DateOnly, sm.truth.From)
	asOf, _ := time.Parse(time.DateOnly, sm.truth.AsOf)
	return Filter{From: from, To: asOf.AddDate(0, 0, 1)}
}
