package detect

import "math"

// CountTail returns P(X ≤ x) and P(X ≥ x) for a count X with mean mu and
// variance phi·mu: Poisson when phi ≤ 1, else negative binomial (the usual
// model of counts that vary more than Poisson: campaigns, busy weeks). x is
// rounded to the nearest integer.
func CountTail(x, mu, phi float64) (lower, upper float64) {
	k := math.Round(math.Max(x, 0))
	if mu <= 0 || math.IsNaN(mu) {
		if k == 0 {
			return 1, 1
		}
		return 1, 0
	}
	logPMF, ratio := poissonTerms(mu)
	if phi > 1.0001 {
		logPMF, ratio = nbTerms(mu, phi)
	}
	// Sum the smaller side term by term from x outward; the other side is its
	// complement plus the term at x.
	at := math.Exp(logPMF(k))
	if k <= mu {
		lower = sumDown(logPMF, ratio, k)
		upper = math.Min(1, 1-lower+at)
	} else {
		upper = sumUp(logPMF, ratio, k)
		lower = math.Min(1, 1-upper+at)
	}
	return math.Max(lower, 0), math.Max(upper, 0)
}

// poissonTerms returns log P(X = j) and P(X = j+1)/P(X = j).
func poissonTerms(mu float64) (func(float64) float64, func(float64) float64) {
	return func(j float64) float64 {
			lg, _ := math.Lgamma(j + 1)
			return j*math.Log(mu) - mu - lg
		}, func(j float64) float64 {
			return mu / (j + 1)
		}
}

// nbTerms parameterises the negative binomial by mean and variance phi·mu:
// size r = mu/(phi−1), success probability q = 1/phi.
func nbTerms(mu, phi float64) (func(float64) float64, func(float64) float64) {
	r := mu / (phi - 1)
	q := 1 / phi
	return func(j float64) float64 {
			a, _ := math.Lgamma(j + r)
			b, _ := math.Lgamma(r)
			c, _ := math.Lgamma(j + 1)
			return a - b - c + r*math.Log(q) + j*math.Log1p(-q)
		}, func(j float64) float64 {
			return (j + r) / (j + 1) * (1 - q)
		}
}

func sumDown(logPMF, ratio func(float64) float64, k float64) float64 {
	t := math.Exp(logPMF(k))
	s := t
	for j := k - 1; j >= 0; j-- {
		// P(j) = P(j+1) / ratio(j)
		t /= ratio(j)
		s += t
		if t < s*1e-15 {
			break
		}
	}
	return math.Min(s, 1)
}

func sumUp(logPMF, ratio func(float64) float64, k float64) float64 {
	t := math.Exp(logPMF(k))
	s := t
	for j := k; j < k+1e6; j++ {
		t *= ratio(j)
		s += t
		if t < s*1e-15 && ratio(j) < 1 {
			break
		}
	}
	return math.Min(s, 1)
}

// NormalTail is P(Z ≥ z) for a standard normal Z.
func NormalTail(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// Trials is one period of a rate: successes out of trials.
type Trials struct{ Num, Den float64 }

// RateShiftResult is the strongest change of a rate found by RateShift.
type RateShiftResult struct {
	Index         int     // first period of the new level
	Before, After float64 // rates before Index and from Index on
	DenBefore     float64 // trials before Index
	DenAfter      float64 // trials from Index on
	Z             float64 // two-proportion z, inflated for overdispersion
	P             float64 // two-sided p-value, Bonferroni-corrected for the candidates tried
	Dispersion    float64 // between-period variance over binomial variance (≥ 1)
	Candidates    int
	Persistent    bool // every later part of the new level stays on its side
	Found         bool // a candidate had the volume to be judged
}

// RateShift looks for a lasting change of a rate (won/closed, moved-on/entered)
// that started in one of the last maxBack periods: for each candidate start c it
// compares the rate of periods [c, n) with that of [0, c) by a two-proportion
// test whose variance is inflated by the overdispersion of the earlier periods
// (a beta-binomial view: periods differ more than coin flips would). Both sides
// need minDen trials (the earlier side twice that), so 3 of 10 never outweighs
// 300 of 1000. The new level must persist: when it spans two periods or more,
// its first and second halves must each lie on the same side of the old rate.
func RateShift(ps []Trials, maxBack int, minDen float64) RateShiftResult {
	n := len(ps)
	best := RateShiftResult{P: 1}
	if n < 3 {
		return best
	}
	cands := 0
	for c := n - 1; c >= max(1, n-maxBack); c-- {
		var bn, bd, an, ad float64
		for _, p := range ps[:c] {
			bn, bd = bn+p.Num, bd+p.Den
		}
		for _, p := range ps[c:] {
			an, ad = an+p.Num, ad+p.Den
		}
		if ad < minDen || bd < 2*minDen {
			continue
		}
		cands++
		p0, p1 := bn/bd, an/ad
		phi := rateDispersion(ps[:c], p0)
		pool := (bn + an) / (bd + ad)
		v := pool * (1 - pool)
		if v <= 0 {
			continue
		}
		z := (p1 - p0) / math.Sqrt(phi*v*(1/ad+1/bd))
		if !best.Found || math.Abs(z) > math.Abs(best.Z) {
			best = RateShiftResult{Index: c, Before: p0, After: p1, DenBefore: bd, DenAfter: ad, Z: z, Dispersion: phi, Found: true}
			best.Persistent = persistent(ps[c:], p0, z)
		}
	}
	best.Candidates = cands
	if best.Found {
		best.P = math.Min(1, 2*NormalTail(math.Abs(best.Z))*float64(cands))
	}
	return best
}

// rateDispersion is Pearson's χ²/(k−1) of the periods around p0, at least 1 and
// at most 4 (a few periods can not vouch for more).
func rateDispersion(ps []Trials, p0 float64) float64 {
	if p0 <= 0 || p0 >= 1 {
		return 1
	}
	var chi float64
	k := 0
	for _, p := range ps {
		if p.Den < 5 {
			continue
		}
		d := p.Num - p.Den*p0
		chi += d * d / (p.Den * p0 * (1 - p0))
		k++
	}
	if k < 4 {
		return 1
	}
	return math.Min(math.Max(chi/float64(k-1), 1), 4)
}

func persistent(after []Trials, p0, z float64) bool {
	if len(after) < 2 {
		return false
	}
	h := len(after) / 2
	side := func(ps []Trials) float64 {
		var n, d float64
		for _, p := range ps {
			n, d = n+p.Num, d+p.Den
		}
		if d == 0 {
			return 0
		}
		return n/d - p0
	}
	a, b := side(after[:h]), side(after[h:])
	if z < 0 {
		return a < 0 && b < 0
	}
	return a > 0 && b > 0
}
