package salesgen

import (
	"math"
	"reflect"
	"testing"
	"time"
)

// The same seed gives the same series and the same report; another seed
// gives other series.
func TestReportIsReproduciblePerSeed(t *testing.T) {
	for _, kind := range Kinds {
		a, err := Generate(TuneSeeds[0], kind, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Generate(TuneSeeds[0], kind, 2)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%s: seed %d generated different series twice", kind, TuneSeeds[0])
		}
		c, _ := Generate(TuneSeeds[1], kind, 2)
		if reflect.DeepEqual(a[0].Values, c[0].Values) {
			t.Errorf("%s: seeds %d and %d generated the same series", kind, TuneSeeds[0], TuneSeeds[1])
		}
		r1 := score(a[0], EngineJudge(a[0]))
		r2 := score(b[0], EngineJudge(b[0]))
		if !reflect.DeepEqual(r1, r2) {
			t.Errorf("%s: the report of one series differs between runs: %+v vs %+v", kind, r1, r2)
		}
		if r1.Planted != 3 {
			t.Errorf("%s: %d anomalies planted, want 3", kind, r1.Planted)
		}
	}
}

// Tuning and report seeds never meet, and there are twenty report seeds.
func TestSeedsAreDeclaredApart(t *testing.T) {
	if len(ReportSeeds) != 20 {
		t.Errorf("%d report seeds, want 20", len(ReportSeeds))
	}
	tune := map[uint64]bool{}
	for _, s := range TuneSeeds {
		tune[s] = true
	}
	for _, s := range ReportSeeds {
		if tune[s] {
			t.Errorf("seed %d is both a tuning and a report seed", s)
		}
	}
}

// Planted sizes start inside the natural variation: among many planted
// anomalies some are small enough to be lost in a day's noise, and none sits
// beyond a gap above it.
func TestPlantedSizesOverlapTheNoise(t *testing.T) {
	var small, all int
	for _, kind := range Kinds {
		ss, _ := Generate(99, kind, 40)
		for _, s := range ss {
			for _, a := range s.Anomalies {
				all++
				if a.Size > -0.25 && a.Size < 0.25 {
					small++
				}
			}
		}
	}
	if small == 0 || small == all {
		t.Errorf("%d of %d planted anomalies change the expected value by less than 25%%: want some, not all", small, all)
	}
}

// Visibility spreads every kind's planted anomalies from inside the noise
// (below 3) to plainly visible (8 and more) with every band between used:
// no gap for a threshold to sit in.
func TestVisibilitySpansTheNoise(t *testing.T) {
	for _, kind := range Kinds {
		var bands [len(VisibilityBands)]int
		ss, _ := Generate(99, kind, 40)
		for _, s := range ss {
			for _, a := range s.Anomalies {
				if !(a.Visibility >= 0) || math.IsInf(a.Visibility, 0) {
					t.Fatalf("%s %s: visibility %v", s.Name, a.Start.Format(time.DateOnly), a.Visibility)
				}
				bands[band(a.Visibility)]++
			}
		}
		for b, n := range bands {
			if n == 0 {
				t.Errorf("%s: no planted anomaly of visibility in band %d (from %g): %v", kind, b, VisibilityBands[b], bands)
			}
		}
	}
}

// The report's visibility bands add up to its totals.
func TestBandsAddUp(t *testing.T) {
	ss, _ := Generate(TuneSeeds[0], LevelShift, 3)
	for _, s := range ss {
		r := score(s, EngineJudge(s))
		var p, d int
		for _, b := range r.ByVisibility {
			p, d = p+b.Planted, d+b.Detected
		}
		if p != r.Planted || d != r.Detected {
			t.Errorf("%s: bands hold %d planted, %d detected; totals %d, %d", s.Name, p, d, r.Planted, r.Detected)
		}
	}
}
