package query

import "time"

// Comparisons are the two ranges a number is compared with (METRICS.md,
// "Comparisons"): the previous period of the same length, immediately before,
// and the same period a year earlier. Both keep every other filter. When the
// range runs past today (this quarter to date) both are cut to the days that
// have elapsed, so a partial period is compared like for like.
type Comparisons struct {
	Previous Filter
	LastYear Filter
	// Cut: the range ends after today and the comparisons cover only as many
	// days as have elapsed in it.
	Cut bool
}

// Comparisons are the comparison ranges of f as of now in the business time zone.
func (s *Service) Comparisons(f Filter) Comparisons {
	return CompareRanges(f, time.Now().In(s.loc))
}

// CompareRanges are the comparison ranges of f as of today (a time on that
// day, in the business time zone). A range of whole months (from and to on
// the 1st) moves back by its months (a quarter's previous period is the
// previous quarter), any other range by its days; last year moves the dates
// back a year (29 February becomes the 28th).
func CompareRanges(f Filter, today time.Time) Comparisons {
	loc := f.From.Location()
	end := time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, loc) // the elapsed part ends with today
	out := Comparisons{Previous: f, LastYear: f}
	to := f.To
	if f.To.After(end) && f.From.Before(end) {
		out.Cut, to = true, end
	}
	elapsed := daysBetween(f.From, to)
	whole := f.From.Day() == 1 && f.To.Day() == 1
	if whole {
		months := (f.To.Year()-f.From.Year())*12 + int(f.To.Month()-f.From.Month())
		out.Previous.From = f.From.AddDate(0, -months, 0)
	} else {
		out.Previous.From = f.From.AddDate(0, 0, -daysBetween(f.From, f.To))
	}
	out.Previous.To = f.From
	if cut := out.Previous.From.AddDate(0, 0, elapsed); out.Cut && cut.Before(out.Previous.To) {
		out.Previous.To = cut
	}
	out.LastYear.From = yearEarlier(f.From)
	if whole && !out.Cut {
		out.LastYear.To = f.To.AddDate(-1, 0, 0)
	} else {
		out.LastYear.To = yearEarlier(to.AddDate(0, 0, -1)).AddDate(0, 0, 1) // the last day's date a year earlier, inclusive
	}
	return out
}

// yearEarlier is the same date a year earlier; 29 February becomes the 28th.
func yearEarlier(t time.Time) time.Time {
	d := t.Day()
	if t.Month() == time.February && d == 29 {
		d = 28
	}
	return time.Date(t.Year()-1, t.Month(), d, 0, 0, 0, 0, t.Location())
}

// Delta is a number of a comparison range and how the current number differs
// from it. Value is null when the number is undefined there (a win rate with
// nothing closed: N is 0), never a fake zero; Change is null when either side
// is undefined, or, for a relative change, when the earlier value is 0.
type Delta struct {
	From   string   `json:"from"`
	To     string   `json:"to"`
	Value  *float64 `json:"value"`
	Change *float64 `json:"change"`
	N      int64    `json:"n"`
}

// NewDelta compares cur with prev over the range of f. unit says how: rate
// (a share: the change is the difference, 0.031 = +3.1 percentage points),
// days and ratio (the difference, in days or ×), count and amount (relative:
// 0.12 = +12%).
func NewDelta(f Filter, unit string, cur, prev *float64, n int64) Delta {
	d := Delta{From: day(f.From), To: day(f.To), Value: prev, N: n}
	if cur == nil || prev == nil {
		return d
	}
	var c float64
	switch unit {
	case "rate", "days", "ratio":
		c = *cur - *prev
	default:
		if *prev == 0 {
			return d
		}
		c = *cur / *prev - 1
	}
	d.Change = &c
	return d
}

// Defined is v, or null when n is 0 (nothing to measure).
func Defined(v float64, n int64) *float64 {
	if n == 0 {
		return nil
	}
	return &v
}

// HigherIsBetter says which way a number is good news: the registry's
// direction for its metrics; days (cycle time) and a scorecard's weaknesses
// are better fewer; other numbers (coverage, velocity) better higher.
func HigherIsBetter(metric, unit string) bool {
	if m, err := LookupMetric(metric); err == nil {
		return m.HigherIsBetter
	}
	return unit != "days" && metric != "weaknesses"
}
