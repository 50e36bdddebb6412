//go:build integration

package query

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// loadGenerated streams the generator's sample straight into the canonical tables
// under one committed run (the ingest service's job in production).
func loadGenerated(tb testing.TB, db *schemas.DB, cfg gen.Config) *gen.Truth {
	tb.Helper()
	ctx := context.Background()
	const run = uint64(1)
	now := time.Now().UTC().Truncate(time.Second)
	if err := db.InsertRows(ctx, "gen", "INSERT INTO ingest_runs (run_id, status, updated_ns)", []any{run, "committed", uint64(1)}); err != nil {
		tb.Fatal(err)
	}
	truth, err := gen.Generate(ctx, cfg, gen.SinkFunc(func(ctx context.Context, c *gen.Chunk) error {
		names := make([]string, 0, len(c.Columns)+2)
		for _, col := range c.Columns {
			names = append(names, col.Name)
		}
		names = append(names, "run_id", "loaded_at")
		bctx, cancel := db.ContextTimeout(ctx, "gen-load", 30*time.Minute)
		defer cancel()
		b, err := db.Conn.PrepareBatch(bctx, "INSERT INTO "+c.Table+" ("+strings.Join(names, ", ")+")")
		if err != nil {
			return err
		}
		defer b.Close()
		for i, data := range c.Data {
			if err := b.Column(i).Append(data); err != nil {
				return err
			}
		}
		runs := make([]uint64, c.Len)
		at := make([]time.Time, c.Len)
		for i := range runs {
			runs[i], at[i] = run, now
		}
		if err := b.Column(len(c.Data)).Append(runs); err != nil {
			return err
		}
		if err := b.Column(len(c.Data) + 1).Append(at); err != nil {
			return err
		}
		return b.Send()
	}))
	if err != nil {
		tb.Fatal(err)
	}
	return truth
}

func TestPlantedTruths(t *testing.T) {
	db := schemastest.Open(t)
	truth := loadGenerated(t, db, gen.Config{Seed: 1})
	s := New(db, time.UTC, quietLog())
	ctx := context.Background()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	from, _ := time.Parse(time.DateOnly, truth.From)
	asOf, _ := time.Parse(time.DateOnly, truth.AsOf)
	all := Filter{From: from, To: asOf.AddDate(0, 0, 1)}
	if w := truth.WeakRep; w != nil {
		rs, err := s.Rep(ctx, Unrestricted, Filter{From: all.From, To: all.To, Team: []string{w.Team}}, w.RepID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range rs.Metrics {
			planted := m.Metric == "conversion" && m.Stage == w.FromStage
			if m.Metric == "win_rate" {
				// Win rate is the outcome of every stage's conversion: a rep who
				// loses deals at one stage wins fewer of them. Not a separate place.
				continue
			}
			switch {
			case planted && m.Verdict != Weakness:
				t.Errorf("planted weak rep %s: conversion out of %s not flagged weak: %+v", w.RepID, w.FromStage, m)
			case !planted && m.Verdict == Weakness:
				t.Errorf("planted weak rep %s flagged weak where nothing was planted: %+v", w.RepID, m)
			}
		}
		if rs.WorstStage != w.FromStage {
			t.Errorf("worst stage of %s = %q, want %q", w.RepID, rs.WorstStage, w.FromStage)
		}
	}
	if u := truth.Untapped; u != nil {
		y := Filter{From: time.Date(u.Year, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(u.Year+1, 1, 1, 0, 0, 0, 0, time.UTC)}
		ts, err := s.Territories(ctx, Unrestricted, y)
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) == 0 || ts[0].Territory != u.Territory {
			t.Errorf("first by headroom: %+v, want planted %s", ts[:min(3, len(ts))], u.Territory)
		}
	}
}
