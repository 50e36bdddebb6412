package main

import (
	"testing"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/alerts/detect"
	"github.com/pipelens/pipelens/alerts/detect/salesgen"
)

// The rows bench nab scores at the shipped sensitivity's score or above are
// exactly the rows where the shipped rules open an alert: the other levels
// add rows below that score, never above it.
func TestNABShippedLevelIsTheShippedAlerts(t *testing.T) {
	det, _, err := engineDetector("cn", "")
	if err != nil {
		t.Fatal(err)
	}
	var below int
	for _, kind := range salesgen.Kinds {
		ss, err := salesgen.Generate(salesgen.TuneSeeds[0], kind, 1)
		if err != nil {
			t.Fatal(err)
		}
		s := ss[0]
		shipped, err := alerts.BenchRules(s.Metric, "")
		if err != nil {
			t.Fatal(err)
		}
		scores := det(detect.Series{Path: s.Name, Times: s.Dates, Values: s.Values})
		dates, values, rowOf, _ := alerts.BenchDays(s.Dates, s.Values)
		want := map[int]bool{}
		for _, a := range alerts.BenchJudge(shipped, dates, values, alerts.CNCalendar()) {
			for r := a.Row; r < len(rowOf); r++ {
				if rowOf[r] >= 0 {
					want[rowOf[r]] = true
					break
				}
			}
		}
		for i, sc := range scores {
			if got := sc >= shippedZ/topZ; got != want[i] {
				t.Errorf("%s row %d (%s): score %.3f, shipped rules open an alert there: %v", s.Name, i, s.Dates[i].Format("2006-01-02"), sc, want[i])
			}
			if sc > 0 && sc < shippedZ/topZ {
				below++
			}
		}
		if len(want) == 0 {
			t.Errorf("%s: the shipped rules open no alert; the test compares nothing", s.Name)
		}
	}
	if below == 0 {
		t.Error("no row scored below the shipped level: the more sensitive levels add nothing")
	}
}
