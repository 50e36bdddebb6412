package salesgen

import (
	"math"
	"testing"
	"time"
)

// The truth is what the values are drawn around: before any anomaly, the
// standardised deviations of the days have mean about 0 and variance about
// 1, for counts and amounts alike.
func TestTruthIsTheDaysLaw(t *testing.T) {
	for _, metric := range []string{"count", "amount"} {
		var n, sum, sq float64
		for _, kind := range Kinds {
			ss, _ := Generate(7, kind, 40)
			for _, s := range ss {
				if s.Metric != metric {
					continue
				}
				first := s.Anomalies[0].Start
				for _, a := range s.Anomalies {
					if a.Start.Before(first) {
						first = a.Start
					}
				}
				for i, d := range s.Dates {
					if !d.Before(first) || s.Truth[i].SD == 0 {
						continue
					}
					u := (s.Values[i] - s.Truth[i].Base) / s.Truth[i].SD
					n, sum, sq = n+1, sum+u, sq+u*u
				}
			}
		}
		mean := sum / n
		v := sq/n - mean*mean
		t.Logf("%s: %.0f days, mean %.3f, variance %.3f", metric, n, mean, v)
		if math.Abs(mean) > 0.05 || math.Abs(v-1) > 0.1 {
			t.Errorf("%s: %.0f days before the anomalies: mean %.3f, variance %.3f of (value − base)/sd, want 0 and 1", metric, n, mean, v)
		}
	}
}

// The ideal bound finds every anomaly far outside the noise and cannot reach
// precision 0.9 on anomalies inside it when ordinary days outnumber them.
func TestIdealBound(t *testing.T) {
	far := []Series{{Anomalies: []Anomaly{{Visibility: 12}, {Visibility: 12}}}}
	far[0].Dates = make([]time.Time, JudgedFrom+1000)
	id := IdealAt(far, 0.9)
	if !id.Reached || id.Recall < 0.99 || id.Days != 1000 {
		t.Errorf("visibility 12, 1000 days: %+v, want recall ≥ 0.99", id)
	}
	far[0].Anomalies = []Anomaly{{Visibility: 0}, {Visibility: 0}}
	if id := IdealAt(far, 0.9); id.Reached {
		t.Errorf("visibility 0, 1000 days: %+v, want no threshold reaching precision 0.9", id)
	}
}

// The oracle finds the spikes far outside the noise on their day, and opens
// one alert for a run of flagged days.
func TestOracleFindsWhatStandsOut(t *testing.T) {
	ss, _ := Generate(7, Spike, 20)
	found, far := 0, 0
	for _, s := range ss {
		days := OracleJudge(6)(s)
		for k := 1; k < len(days); k++ {
			if days[k].Sub(days[k-1]) <= OracleResolveDays*24*time.Hour {
				t.Fatalf("%s: alerts on %s and %s, within %d days of each other", s.Name, days[k-1], days[k], OracleResolveDays)
			}
		}
		r := score(s, days)
		for b := range r.ByVisibility {
			if VisibilityBands[b] >= 8 {
				found += r.ByVisibility[b].Detected
				far += r.ByVisibility[b].Planted
			}
		}
	}
	if far == 0 || found < far*9/10 {
		t.Errorf("oracle at z 6 found %d of %d spikes of visibility ≥ 8, want ≥ 90%%", found, far)
	}
}
