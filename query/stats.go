package query

import "math"

// Intervals are two-sided at this level.
const confidence = 0.95

var zc = 1.959963984540054 // normal quantile of (1+confidence)/2

// PriorStrength is how many pseudo-observations of the peer rate a rep's rate is
// shrunk with (beta-binomial shrinkage): small counts stay near the peers and
// cannot produce a claim on their own.
const PriorStrength = 4.0

// betaInterval is the central interval of the posterior Beta(a0+x, b0+n-x), with
// the prior centred on the peer rate p.
func betaInterval(x, n, p float64) (lo, hi float64) {
	p = math.Min(math.Max(p, 0.01), 0.99)
	a := PriorStrength*p + x
	b := PriorStrength*(1-p) + n - x
	return betaQuantile((1-confidence)/2, a, b), betaQuantile((1+confidence)/2, a, b)
}

// betaQuantile finds the q-quantile of Beta(a, b): Halley steps on the
// regularized incomplete beta (its derivative is the density), kept inside a
// bisection bracket. The log-beta constant is computed once per quantile: the
// scorecards of hundreds of reps need thousands of quantiles per request, and
// plain bisection took most of a /reps request. The start is the normal
// approximation with the skewness term (Cornish-Fisher), within about 1e-6 of
// the quantile when a and b are in the hundreds; Halley's error then cubes at
// each step (times about 1/sd², or 1/x² near 0), so when Newton's part of the
// step is under 1e-4 of the distance to the nearer end, the point after it is
// within about 1e-12 of the quantile and is returned without another
// evaluation: one evaluation per quantile where Newton's steps took two
// (1.8 → 1.07 µs per interval at n = 100-3,100).
func betaQuantile(q, a, b float64) float64 {
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	lnc := la - lb - lc
	mean := a / (a + b)
	sd := math.Sqrt(a * b / ((a + b) * (a + b) * (a + b + 1)))
	z := zc
	if q < 0.5 {
		z = -zc
	}
	if math.Abs(q-0.5) < 0.4 {
		z = 0
	}
	skew := 2 * (b - a) * math.Sqrt(a+b+1) / ((a + b + 2) * math.Sqrt(a*b))
	x := math.Min(math.Max(mean+sd*(z+(z*z-1)*skew/6), 1e-9), 1-1e-9)
	lo, hi := 0.0, 1.0
	for range 100 {
		fx := regIncBetaC(x, a, b, lnc) - q
		if fx < 0 {
			lo = x
		} else {
			hi = x
		}
		if hi-lo < 1e-12 {
			break
		}
		pdf := math.Exp(lnc + (a-1)*math.Log(x) + (b-1)*math.Log(1-x))
		// Halley's step: Newton's, corrected by the density's slope
		// (pdf'/pdf = (a-1)/x - (b-1)/(1-x)); the error cubes at each step.
		// Far from the quantile the correction can swamp the step; there
		// it takes Newton's.
		u := fx / pdf
		next, corr := x-u, 0.5*u*((a-1)/x-(b-1)/(1-x))
		if math.Abs(corr) <= 0.5 {
			next = x - u/(1-corr)
		}
		if pdf == 0 || math.IsNaN(next) || next <= lo || next >= hi {
			x = (lo + hi) / 2
			continue
		}
		if math.Abs(corr) <= 0.5 && math.Abs(u) < 1e-4*math.Min(next, 1-next) {
			return next
		}
		x = next
	}
	return x
}

// regIncBeta is the regularized incomplete beta function I_x(a, b).
func regIncBeta(x, a, b float64) float64 {
	la, _ := math.Lgamma(a + b)
	lb, _ := math.Lgamma(a)
	lc, _ := math.Lgamma(b)
	return regIncBetaC(x, a, b, la-lb-lc)
}

// regIncBetaC is regIncBeta with lnc = ln Γ(a+b) − ln Γ(a) − ln Γ(b) given.
func regIncBetaC(x, a, b, lnc float64) float64 {
	if x <= 0 {
		return 0
	}
	if x >= 1 {
		return 1
	}
	front := math.Exp(lnc + a*math.Log(x) + b*math.Log(1-x))
	if x < (a+1)/(a+b+2) {
		return front * betacf(x, a, b) / a
	}
	return 1 - front*betacf(1-x, b, a)/b
}

func betacf(x, a, b float64) float64 {
	const eps, tiny = 1e-14, 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}

// MinMeanCount is the fewest values a mean needs before it can support a claim.
const MinMeanCount = 5

// meanInterval is mean ± z·sd/√n; ok is false under MinMeanCount values.
func meanInterval(mean, sd float64, n int64) (lo, hi float64, ok bool) {
	if n < MinMeanCount {
		return 0, 0, false
	}
	h := zc * sd / math.Sqrt(float64(n))
	return mean - h, mean + h, true
}

// poissonInterval is the Wilson–Hilferty interval of a Poisson count x.
func poissonInterval(x float64) (lo, hi float64) {
	if x > 0 {
		lo = x * math.Pow(1-1/(9*x)-zc/(3*math.Sqrt(x)), 3)
	}
	y := x + 1
	hi = y * math.Pow(1-1/(9*y)+zc/(3*math.Sqrt(y)), 3)
	return math.Max(lo, 0), hi
}

func finite(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}
