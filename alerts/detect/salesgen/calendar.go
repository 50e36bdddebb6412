package salesgen

import (
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
)

// China's holidays and 调休 working days are facts, not shapes: the generator
// reads the State Council's calendar the engine's preset holds.
var cn = detect.CNCalendar()

func isHoliday(d time.Time) bool { return cn.Holidays[d.Format(time.DateOnly)] }
func isSwapped(d time.Time) bool { return cn.WorkingDays[d.Format(time.DateOnly)] }

func working(d time.Time) bool {
	if isHoliday(d) {
		return false
	}
	if isSwapped(d) {
		return true
	}
	return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
}

// lastWorkingDay: no working day follows d within its month.
func lastWorkingDay(d time.Time) bool {
	if !working(d) {
		return false
	}
	for n := d.AddDate(0, 0, 1); n.Month() == d.Month(); n = n.AddDate(0, 0, 1) {
		if working(n) {
			return false
		}
	}
	return true
}
