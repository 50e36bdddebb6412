package query

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestRegistrySeriesHand checks the registry's ratio metrics and aliases on the
// hand fixture, computed by hand from its deals and stage events.
func TestRegistrySeriesHand(t *testing.T) {
	s := newHand(t)
	ctx := context.Background()
	sum := func(metric, kind, seg string) (num, den, val float64) {
		t.Helper()
		ser, err := s.DailySeries(ctx, Unrestricted, metric, kind, q1)
		if err != nil {
			t.Fatalf("series %s by %q: %v", metric, kind, err)
		}
		pts, ok := ser[seg]
		if !ok {
			t.Fatalf("series %s by %q: no segment %q in %v", metric, kind, seg, ser)
		}
		if len(pts) != 91 {
			t.Fatalf("series %s: %d days, want 91", metric, len(pts))
		}
		for _, p := range pts {
			num += p.Num
			den += p.Den
			val += p.Value
		}
		return
	}
	// Closed in Q1: o7 won 01-25, o2 lost 02-01, o1 won 02-10, o5 lost 03-01,
	// o4 won 03-15: 3 of 5.
	if n, d, _ := sum("win_rate", "all", "all"); n != 3 || d != 5 {
		t.Errorf("win rate in Q1: %v/%v, want 3/5", n, d)
	}
	// Stays that ended in Q1 (day left): o7 lead 13 d, o1 lead 3, o2 lead 5,
	// o1 qualified 5, o1 proposal 10, o3 lead 10, o7 qualified 23, o2
	// qualified 24 (lost, did not move on), o1 negotiation 21, o5 lead 2, o5
	// qualified 8, o5 proposal 10 (02-20 to 03-01 of a leap year; lost): 12
	// stays, 10 moved on, 134 days.
	if n, d, _ := sum("stage_conversion", "", "all"); n != 10 || d != 12 {
		t.Errorf("stage conversion in Q1: %v/%v, want 10/12", n, d)
	}
	if n, d, _ := sum("days_in_stage", "all", "all"); math.Abs(n-134) > 1e-9 || d != 12 {
		t.Errorf("days in stage in Q1: %v days over %v stays, want 134 over 12", n, d)
	}
	// West is r3 alone: o5's three stays, 2 of them moved on, 20 days.
	if n, d, _ := sum("stage_conversion", "team", "West"); n != 2 || d != 3 {
		t.Errorf("West stage conversion: %v/%v, want 2/3", n, d)
	}
	// A day's value is the day's ratio: 01-25 had o3 lead (10 d) and o7
	// qualified (23 d) end, mean 16.5.
	ser, _ := s.DailySeries(ctx, Unrestricted, "days_in_stage", "", q1)
	if p := ser["all"][24]; p.Day.Format("2006-01-02") != "2024-01-25" || p.Value != 16.5 || p.Den != 2 {
		t.Errorf("days in stage on 2024-01-25: %+v, want 16.5 over 2 stays", p)
	}
	// Old and registry names give the same series.
	for old, name := range map[string]string{"opportunities": "opportunities_opened", "won": "deals_won", "lost": "deals_lost"} {
		_, _, a := sum(old, "team", "East")
		_, _, b := sum(name, "team", "East")
		if a != b {
			t.Errorf("%s %v != %s %v", old, a, name, b)
		}
	}
	if _, _, v := sum("deals_won", "rep", "r1"); v != 2 {
		t.Errorf("r1 won in Q1: %v, want 2 (o7, o1)", v)
	}
	// Refusals name what is wrong.
	if _, err := s.DailySeries(ctx, Unrestricted, "activities", "product", q1); !errors.Is(err, ErrBadFilter) {
		t.Errorf("activities by product: %v, want a bad-filter error", err)
	}
	if _, err := s.DailySeries(ctx, Unrestricted, "close_rate", "", q1); !errors.Is(err, ErrBadFilter) {
		t.Errorf("unknown metric: %v", err)
	}
	// Every registry metric allows its kinds.
	for _, m := range Metrics() {
		for _, k := range m.SegmentKinds {
			if _, err := s.DailySeries(ctx, Unrestricted, m.Name, k, q1); err != nil {
				t.Errorf("%s by %s: %v", m.Name, k, err)
			}
		}
	}
	// The last loaded day: o4 closed 2024-03-15 is the latest created/closed
	// day of the opportunities, l5 created 2024-05-03 of the leads.
	for src, want := range map[string]string{"opportunities": "2024-03-15", "leads": "2024-05-03", "activities": "2024-02-11"} {
		d, ok, err := s.LastLoadedDay(ctx, src)
		if err != nil || !ok || d.Format("2006-01-02") != want {
			t.Errorf("last loaded day of %s: %v %v %v, want %s", src, d, ok, err, want)
		}
	}
}
