package query

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// TestDaysInStageMedianIsTheMiddle: the days-in-stage median (quantileExact,
// not a sorted array) is the middle duration, or the mean of the two middle
// ones for an even count (METRICS.md), per stage and rep, computed here in Go
// from the durations themselves. A wrong median is a manager told his team's
// deals sit longer (or shorter) in a stage than they do.
func TestDaysInStageMedianIsTheMiddle(t *testing.T) {
	db := schemastest.Open(t)
	randomFixture(11, 2500).load(t, db)
	ctx := context.Background()
	s := New(db, time.UTC, quietLog())
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	f := Filter{From: time.Date(2023, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)}
	type key struct {
		rank int
		rep  string
	}
	durs := map[key][]float64{}
	q := "SELECT rk, owner_id, (toFloat64(toUInt32(ex)) - toFloat64(toUInt32(en))) / 86400 FROM opp_facts " +
		"ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk " +
		"WHERE {facts} AND en > toDateTime(0) AND ex > toDateTime(0) AND toDate(en, 'UTC') >= toDate(?) AND toDate(en, 'UTC') < toDate(?)"
	err := s.query(ctx, "test", q, []any{day(f.From), day(f.To)}, func(r driverRows) error {
		var rk uint32
		var rep string
		var d float64
		if err := r.Scan(&rk, &rep, &d); err != nil {
			return err
		}
		k := key{int(rk), rep}
		durs[k] = append(durs[k], d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.DaysInStage(ctx, Unrestricted, f, "rep")
	if err != nil {
		t.Fatal(err)
	}
	even, odd := 0, 0
	for _, g := range got {
		d := durs[key{g.Rank, g.Key}]
		if int64(len(d)) != g.Count {
			t.Fatalf("stage %d rep %s: %d durations, days in stage counts %d", g.Rank, g.Key, len(d), g.Count)
		}
		if len(d) == 0 {
			if g.Median != 0 {
				t.Errorf("stage %d rep %s: median %v of no duration, want 0", g.Rank, g.Key, g.Median)
			}
			continue
		}
		sort.Float64s(d)
		n := len(d)
		want := d[n/2]
		if n%2 == 0 {
			want = (d[n/2-1] + d[n/2]) / 2
			if d[n/2-1] != d[n/2] {
				even++
			}
		} else {
			odd++
		}
		if g.Median != want {
			t.Errorf("stage %d rep %s (%d durations): median %v, want %v", g.Rank, g.Key, n, g.Median, want)
		}
	}
	// Both kinds of count, and even counts whose middle values differ (where
	// the upper middle alone would be wrong), or the test proves little.
	if even < 5 || odd < 5 {
		t.Fatalf("only %d even counts with two different middles and %d odd counts in %d groups", even, odd, len(got))
	}
}
