package salesgen

import (
	"math"
	"time"

	"github.com/pipelens/pipelens/alerts/detect"
)

// The oracle is a reference, not a detector: it reads each day's Truth (the
// expected value without planted anomalies, wander included, and the day's
// standard deviation), which no detector can know. What it reaches at a
// precision shows how much of a planted set can be told from the noise at
// all, so the engine's figures can be read against it.

// oracleRuns are the trailing runs of present days the oracle sums: a day,
// half a week, a week, two and four weeks.
var oracleRuns = []int{1, 3, 7, 14, 28}

// OracleScores is, for each present day of s, the largest |Σ(x − base)| /
// √Σsd² over the runs of oracleRuns present days that end on it: a day's
// deviation or a run's together, in units of their known noise.
func OracleScores(s Series) []float64 {
	out := make([]float64, len(s.Values))
	for i := range out {
		for _, k := range oracleRuns {
			if i+1 < k {
				break
			}
			var dev, v float64
			for j := i + 1 - k; j <= i; j++ {
				dev += s.Values[j] - s.Truth[j].Base
				v += s.Truth[j].SD * s.Truth[j].SD
			}
			if v > 0 {
				out[i] = math.Max(out[i], math.Abs(dev)/math.Sqrt(v))
			}
		}
	}
	return out
}

// OracleResolveDays is how long a flagged key stays open without being
// flagged again, as the engine's default resolve_after for metric rules.
const OracleResolveDays = 14

// OracleJudge opens an alert on a day whose OracleScores reach z, unless a
// day within the OracleResolveDays before it was flagged (the alert is still
// open then, as the engine keeps an event open).
func OracleJudge(z float64) Judge {
	return func(s Series) []time.Time {
		var out []time.Time
		var last time.Time
		for i, sc := range OracleScores(s) {
			if sc < z {
				continue
			}
			if last.IsZero() || s.Dates[i].Sub(last) > OracleResolveDays*24*time.Hour {
				out = append(out, s.Dates[i])
			}
			last = s.Dates[i]
		}
		return out
	}
}

// Ideal is the most any detector could reach on a set of series if their
// noise were Gaussian and it knew, for each planted anomaly, its days and its
// direction: one one-sided test per judged day at threshold Z, each anomaly
// found with probability Φ(Visibility − Z), each ordinary day a false alert
// with probability 1 − Φ(Z). It ignores that a real detector must also
// guess which days and which direction to test, so it is generous.
type Ideal struct {
	Z, Precision, Recall float64
	Planted, Days        int  // anomalies, judged days
	Reached              bool // some Z reaches the precision asked for
}

// IdealAt is the Ideal with the best recall among thresholds whose expected
// precision is at least minPrecision.
func IdealAt(series []Series, minPrecision float64) Ideal {
	var vis []float64
	days := 0
	for _, s := range series {
		days += max(0, len(s.Dates)-JudgedFrom)
		for _, a := range s.Anomalies {
			vis = append(vis, a.Visibility)
		}
	}
	best := Ideal{Planted: len(vis), Days: days}
	phi := func(x float64) float64 { return detect.NormalTail(-x) } // P(Z ≤ x)
	for z := 0.5; z <= 8; z += 0.01 {
		var found float64
		for _, v := range vis {
			found += phi(v - z)
		}
		falses := float64(days) * (1 - phi(z))
		p, r := found/(found+falses), found/float64(len(vis))
		if p >= minPrecision && (!best.Reached || r > best.Recall) {
			best = Ideal{Z: z, Precision: p, Recall: r, Planted: len(vis), Days: days, Reached: true}
		}
	}
	return best
}
