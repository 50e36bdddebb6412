package main

import (
	"testing"

	"github.com/pipelens/pipelens/alerts"
	"github.com/pipelens/pipelens/alerts/detect"
	"github.com/pipelens/pipelens/alerts/detect/salesgen"
)

// The rows bench nab counts as the shipped sensitivity's detections are
// exactly the rows where the shipped rules open an alert, and the other
// sensitivities detect elsewhere too.
func TestNABShippedLevelIsTheShippedAlerts(t *testing.T) {
	det, _ := engineDetector("cn", "")
	shippedBit := -1
	for k, z := range benchSensitivities {
		if z == shippedZ {
			shippedBit = k
		}
	}
	if shippedBit < 0 {
		t.Fatalf("the shipped z %g is not among %v", shippedZ, benchSensitivities)
	}
	var others int
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
		for _, a := range alerts.BenchJudge(shipped, dates, values, detect.CNCalendar()) {
			if r := fileRow(rowOf, a.Row); r >= 0 {
				want[r] = true
			}
		}
		for i, sc := range scores {
			if got := uint(sc)&(1<<shippedBit) != 0; got != want[i] {
				t.Errorf("%s row %d (%s): levels %b, shipped rules open an alert there: %v", s.Name, i, s.Dates[i].Format("2006-01-02"), uint(sc), want[i])
			}
			if sc > 0 && !want[i] {
				others++
			}
		}
		if len(want) == 0 {
			t.Errorf("%s: the shipped rules open no alert; the test compares nothing", s.Name)
		}
	}
	if others == 0 {
		t.Error("no other sensitivity detects a row the shipped one does not: they are not applied")
	}
}
