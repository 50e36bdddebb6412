package query

import (
	"math"
	"testing"
	"time"
)

// TestCompareRangesHand: the comparison ranges of a card, worked out by hand
// (METRICS.md "Comparisons"). A wrong one shows a director a change against
// the wrong days: a quarter to date against a whole quarter looks like a fall.
func TestCompareRangesHand(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, from, to, today string
		prevFrom, prevTo      string
		lastFrom, lastTo      string
		cut                   bool
	}{
		// A whole quarter in the past: the previous quarter, the same quarter a year earlier.
		{"full quarter", "2026-07-01", "2026-10-01", "2026-12-02", "2026-04-01", "2026-07-01", "2025-07-01", "2025-10-01", false},
		// Q1 of a leap year has 91 days, Q4 before it 92: whole months move by months.
		{"leap quarter", "2024-01-01", "2024-04-01", "2024-12-02", "2023-10-01", "2024-01-01", "2023-01-01", "2023-04-01", false},
		// This quarter on 2 December: 63 days elapsed (Oct 1 – Dec 2), so Jul 1 – Sep 1 and Oct 1 – Dec 2 a year earlier.
		{"quarter to date", "2026-10-01", "2027-01-01", "2026-12-02", "2026-07-01", "2026-09-02", "2025-10-01", "2025-12-03", true},
		// Year to date is [Jan 1, tomorrow): 336 days, the previous 336 days, and Jan 1 – Dec 2 a year earlier.
		{"year to date", "2026-01-01", "2026-12-03", "2026-12-02", "2025-01-30", "2026-01-01", "2025-01-01", "2025-12-03", false},
		// A year to date in a leap year, on 1 March: 61 days, and 29 February has no day a year earlier.
		{"leap year to date", "2024-01-01", "2024-03-02", "2024-03-01", "2023-11-01", "2024-01-01", "2023-01-01", "2023-03-02", false},
		// The whole of February 2024 (29 days) against January and February 2023 (28 days).
		{"leap february", "2024-02-01", "2024-03-01", "2024-06-01", "2024-01-01", "2024-02-01", "2023-02-01", "2023-03-01", false},
		// 29 February alone: the day before, and 28 February a year earlier.
		{"leap day", "2024-02-29", "2024-03-01", "2024-06-01", "2024-02-28", "2024-02-29", "2023-02-28", "2023-03-01", false},
		// A custom range of 10 days: the 10 days before.
		{"custom range", "2026-05-11", "2026-05-21", "2026-12-02", "2026-05-01", "2026-05-11", "2025-05-11", "2025-05-21", false},
		// A custom range running past today: 5 of its 30 days elapsed.
		{"custom to date", "2026-11-28", "2026-12-28", "2026-12-02", "2026-10-29", "2026-11-03", "2025-11-28", "2025-12-03", true},
		// Entirely in the future: nothing has elapsed, the whole ranges compare.
		{"future", "2027-01-01", "2027-04-01", "2026-12-02", "2026-10-01", "2027-01-01", "2026-01-01", "2026-04-01", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := func(s string) time.Time {
				v, err := time.ParseInLocation(time.DateOnly, s, sh)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			f := Filter{From: d(tc.from), To: d(tc.to), Team: []string{"East"}}
			got := CompareRanges(f, d(tc.today).Add(15*time.Hour))
			if g := day(got.Previous.From) + " " + day(got.Previous.To); g != tc.prevFrom+" "+tc.prevTo {
				t.Errorf("previous period of %s..%s on %s is %s, want %s %s", tc.from, tc.to, tc.today, g, tc.prevFrom, tc.prevTo)
			}
			if g := day(got.LastYear.From) + " " + day(got.LastYear.To); g != tc.lastFrom+" "+tc.lastTo {
				t.Errorf("same period last year of %s..%s on %s is %s, want %s %s", tc.from, tc.to, tc.today, g, tc.lastFrom, tc.lastTo)
			}
			if got.Cut != tc.cut {
				t.Errorf("cut = %v, want %v", got.Cut, tc.cut)
			}
			if len(got.Previous.Team) != 1 || len(got.LastYear.Team) != 1 {
				t.Errorf("the comparisons lost the team filter: %+v", got)
			}
			if got.Previous.From.Location() != sh || got.LastYear.To.Location() != sh {
				t.Errorf("the comparisons left the business time zone")
			}
		})
	}
}

// TestDeltaHand: rates change in points, counts and amounts relatively, and
// an empty side is a dash, never 0% or ∞.
func TestDeltaHand(t *testing.T) {
	f := Filter{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)}
	p := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		unit      string
		cur, prev *float64
		want      *float64
	}{
		{"rate", p(0.30), p(0.25), p(0.05)},
		{"amount", p(150), p(100), p(0.5)},
		{"count", p(5), p(0), nil},
		{"days", p(40), p(45), p(-5)},
		{"rate", p(0.3), nil, nil},
		{"rate", nil, p(0.3), nil},
	} {
		d := NewDelta(f, tc.unit, tc.cur, tc.prev, 3)
		switch {
		case tc.want == nil && d.Change != nil:
			t.Errorf("%s %v vs %v: change %v, want none", tc.unit, tc.cur, tc.prev, *d.Change)
		case tc.want != nil && (d.Change == nil || math.Abs(*d.Change-*tc.want) > 1e-9):
			t.Errorf("%s %v vs %v: change %v, want %v", tc.unit, *tc.cur, *tc.prev, d.Change, *tc.want)
		}
		if d.From != "2026-01-01" || d.To != "2026-02-01" {
			t.Errorf("delta range %s..%s", d.From, d.To)
		}
	}
	if Defined(0, 0) != nil || *Defined(0, 2) != 0 {
		t.Errorf("Defined: an empty period must be undefined, a zero with deals a zero")
	}
	if HigherIsBetter("cycle_time", "days") || !HigherIsBetter("bookings", "amount") || HigherIsBetter("deals_lost", "count") {
		t.Errorf("HigherIsBetter: cycle days fewer, bookings more, lost deals fewer is better")
	}
}
