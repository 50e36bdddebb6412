package detect

import (
	"math"
	"testing"
	"time"
)

// weekly is a noiseless year of a daily count: 20 on weekdays, 40 on the last
// weekday of each month, 4 on Saturdays, 2 on Sundays (no calendar).
func weekly(days int) []DailyPoint {
	d0 := time.Date(2025, 1, 6, 0, 0, 0, 0, time.UTC) // a Monday
	out := make([]DailyPoint, days)
	for i := range out {
		d := d0.AddDate(0, 0, i)
		v := 20.0
		switch d.Weekday() {
		case time.Saturday:
			v = 4
		case time.Sunday:
			v = 2
		default:
			if lastWeekday(d) {
				v = 40
			}
		}
		out[i] = DailyPoint{Date: d, Value: v}
	}
	return out
}

func lastWeekday(d time.Time) bool {
	for n := d.AddDate(0, 0, 1); n.Month() == d.Month(); n = n.AddDate(0, 0, 1) {
		if n.Weekday() != time.Saturday && n.Weekday() != time.Sunday {
			return false
		}
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

// On the noiseless series every residual of the history is 0, so the spread
// is the Poisson floor 0.5 on the square-root scale, and by hand:
//   - an ordinary Wednesday of 60: z = (√60.375 − √20.375)/0.5 = 6.512;
//   - a month end (not a quarter end) is expected at 40 (the median of the m
//     month ends before it, all at twice the level), and a month end of 20
//     scores (√20.375 − √40.375)/0.5, widened by the median's own error:
//     divided by √(1 + π/2/m).
func TestDailyHandCase(t *testing.T) {
	pts := weekly(371)
	// The last day: the first Wednesday from day 300 on.
	n := 300
	for pts[n-1].Date.Weekday() != time.Wednesday || lastWeekday(pts[n-1].Date) {
		n++
	}
	day := append([]DailyPoint(nil), pts[:n]...)
	day[n-1].Value = 60
	m := NewDaily(day, Calendar{}, true, 1)
	if got := m.Expected(n - 1); math.Abs(got-20) > 1e-9 {
		t.Errorf("ordinary Wednesday expected %.4f, want 20", got)
	}
	want := (math.Sqrt(60.375) - math.Sqrt(20.375)) / 0.5
	if got := m.Z(n - 1); math.Abs(got-want) > 1e-9 {
		t.Errorf("Wednesday of 60: z %.4f, want %.4f", got, want)
	}
	if got := m.Z(n - 8); got != 0 {
		t.Errorf("an ordinary day of the history: z %.4f, want 0", got)
	}

	// A month end that is not a quarter end, judged with 20.
	e := 300
	for !lastWeekday(pts[e].Date) || pts[e].Date.Month()%3 == 0 {
		e++
	}
	me := 0
	for i := 0; i < e; i++ {
		if lastWeekday(pts[i].Date) && pts[i].Date.Month()%3 != 0 {
			me++
		}
	}
	end := append([]DailyPoint(nil), pts[:e+1]...)
	end[e].Value = 20
	m = NewDaily(end, Calendar{}, true, 1)
	if got := m.Expected(e); math.Abs(got-40) > 1e-9 {
		t.Errorf("month end expected %.4f, want 40", got)
	}
	wantZ := (math.Sqrt(20.375) - math.Sqrt(40.375)) / 0.5 / math.Sqrt(1+math.Pi/2/float64(me))
	if got := m.Z(e); math.Abs(got-wantZ) > 1e-9 {
		t.Errorf("month end of 20: z %.4f, want %.4f", got, wantZ)
	}
}

// The last ten weekdays at 30 instead of 20: the 10-day run without its most
// extreme day sums 9 × (√30.375 − √20.375), against the floor 0.5 × √9 of
// a noiseless history: z = 5.98; the 4-day run alone (z 3.45) would not do.
func TestDailyShiftHandCase(t *testing.T) {
	pts := weekly(371)
	// The first Friday from day 300 on whose last 14 days hold no month end.
	n := 300
	for {
		ok := pts[n-1].Date.Weekday() == time.Friday
		for i := n - 14; i < n && ok; i++ {
			ok = !lastWeekday(pts[i].Date)
		}
		if ok {
			break
		}
		n++
	}
	pts = pts[:n]
	k := 0
	for i := n - 1; k < 10; i-- {
		if wd := pts[i].Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
			pts[i].Value = 30
			k++
		}
	}
	m := NewDaily(pts, Calendar{}, true, 14)
	run := m.Shift(4)
	want := 9 * (math.Sqrt(30.375) - math.Sqrt(20.375)) / 1.5
	if !run.Found || run.Dir != 1 || len(run.Days) != 10 || math.Abs(run.Z-want) > 1e-9 {
		t.Errorf("shift: found %v dir %d over %d days, z %.4f; want found up over 10 days, z %.4f", run.Found, run.Dir, len(run.Days), run.Z, want)
	}
	if quiet := NewDaily(weekly(n), Calendar{}, true, 14).Shift(4); quiet.Found {
		t.Errorf("the unshifted series shows a shift: z %.2f", quiet.Z)
	}
}

// A week of collapse at the end of the history, then the usual 20 again: the
// judged days are measured against the level of the history's last four
// weeks (still 20: five low days of about twenty do not move the median), not
// against a window shrinking onto the collapse, so the recovery is no shift.
func TestDailyRecoveryIsNoShift(t *testing.T) {
	pts := weekly(371)
	n := len(pts)
	hist := n - 14
	k := 0
	for i := hist - 3; k < 5; i-- {
		if wd := pts[i].Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
			pts[i].Value = 2
			k++
		}
	}
	m := NewDaily(pts, Calendar{}, true, 14)
	for i := hist; i < n; i++ {
		if want := pts[i].Value; math.Abs(m.Expected(i)-want) > 1e-9 {
			t.Errorf("judged day %s expected %.2f, want %.0f", pts[i].Date.Format(time.DateOnly), m.Expected(i), want)
		}
	}
	if run := m.Shift(4); run.Found {
		t.Errorf("the recovery after the collapse shows a shift: dir %d, z %.2f over %d days", run.Dir, run.Z, len(run.Days))
	}
}
