package detect

import (
	"math"
	"time"
)

type streamConfig struct {
	window     int     // past values for the robust baseline
	warmup     int     // values before any score is given
	suppress   int     // rows muted after an alarm
	fire       float64 // robust z that counts as an alarm for suppression
	tailMix    float64 // weight of the 5–95% range in the scale estimate
	seasonal   bool    // model a daily cycle when the data has one
	seasonDays int     // past days in the seasonal baseline
	seasonGain float64 // seasonal model is used when its scale is below this fraction of the plain one
	log        bool    // score log-transformed values for positive data
	gateWin    int     // a score counts only if z beats the recent maxima ...
	gateRatio  float64 // ... by this factor
	noExtend   bool    // alarms during a mute do not extend it
	relWin     int     // past z values for the per-series calibration
	relQ       float64 // quantile of past z the current z is compared with
	relMix     float64 // 0: absolute z only, 1: relative z only
	rangeTol   float64 // a value beyond the seen range by this fraction of it is a breakout (0: off)
	rangeBoost float64 // z added on a breakout
	rangeMode  int     // 0 additive boost, 1 strict priority
	fireScore  float64 // when > 0, an alarm is a score (before muting) at or above this
	rangeMinZ  float64 // a breakout also needs this robust z
}

var defaultStreamConfig = streamConfig{
	window:     400,
	warmup:     30,
	suppress:   100,
	fire:       15,
	tailMix:    1,
	seasonal:   true,
	seasonDays: 3,
	seasonGain: 0.5,
	relWin:     2000,
	relQ:       0.99,
	relMix:     0.5,
	rangeTol:   0.02,
	rangeMode:  1,
}

// Stream scores a series point by point from its past only. The zero value
// is not usable; create one with NewStream. A Stream is not safe for
// concurrent use.
type Stream struct {
	cfg      streamConfig
	raw      *slidingWindow // recent values
	res      *slidingWindow // recent seasonal residuals
	hist     []float64      // ring of past values for the seasonal lags
	n        int
	lastFire int

	zs    *slidingWindow // recent z values, for the gate
	zhist *slidingWindow // longer history of z, for calibration

	lo, hi float64 // range seen so far
	ranged bool

	lastT  time.Time
	steps  []float64 // first sampling intervals, to find the period
	period int       // rows per day, 0 while unknown or not applicable
}

// NewStream returns a streaming detector with the defaults tuned on NAB.
func NewStream() *Stream { return newStreamWith(defaultStreamConfig) }

func newStreamWith(cfg streamConfig) *Stream {
	return &Stream{
		cfg: cfg, raw: newSlidingWindow(cfg.window), res: newSlidingWindow(cfg.window),
		lastFire: -1 << 30, zs: newSlidingWindow(max(cfg.gateWin, 1)), zhist: newSlidingWindow(max(cfg.relWin, 1)),
	}
}

func robustScale(w *slidingWindow, med, tailMix float64) float64 {
	sigma := 1.4826 * madSorted(w.sorted, med)
	if tailMix > 0 {
		if s := tailMix * (w.quantile(0.95) - w.quantile(0.05)) / 3.29; s > sigma {
			sigma = s
		}
	}
	floor := 1e-3 * math.Max(math.Abs(med), 1e-6)
	return math.Max(sigma, floor)
}

// Update adds the observation at t and returns its anomaly score in [0,1]:
// near 1 when v breaks sharply from the recent past. It is computed from
// earlier observations only.
func (s *Stream) Update(t time.Time, v float64) float64 {
	defer func() { s.n++ }()
	if s.cfg.log {
		v = math.Copysign(math.Log1p(math.Abs(v)), v)
	}
	s.learnPeriod(t)
	season, hasSeason := s.seasonalBaseline()
	if s.cfg.seasonal {
		s.hist = append(s.hist, v)
		if s.period > 0 && len(s.hist) > 2*s.period*s.cfg.seasonDays+64 {
			keep := s.period * s.cfg.seasonDays
			copy(s.hist, s.hist[len(s.hist)-keep:])
			s.hist = s.hist[:keep]
		}
	}
	if !s.ranged {
		s.lo, s.hi, s.ranged = v, v, true
	}
	if s.raw.len() < s.cfg.warmup {
		s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v)
		s.raw.push(v)
		if hasSeason {
			s.res.push(v - season)
		}
		return 0
	}
	med := s.raw.quantile(0.5)
	sigma := robustScale(s.raw, med, s.cfg.tailMix)
	z := math.Abs(v-med) / sigma
	s.raw.push(v)
	if hasSeason {
		r := v - season
		if s.res.len() >= s.cfg.warmup {
			rm := s.res.quantile(0.5)
			rs := robustScale(s.res, rm, s.cfg.tailMix)
			if rs < s.cfg.seasonGain*sigma {
				z = math.Abs(r-rm) / rs
			}
		}
		s.res.push(r)
	}
	zc := z
	if s.cfg.relWin > 0 {
		if s.zhist.len() >= 50 {
			ref := math.Max(s.zhist.quantile(s.cfg.relQ), 1)
			zc = math.Exp((1-s.cfg.relMix)*math.Log(z+1e-9) + s.cfg.relMix*math.Log(z/ref+1e-9))
		}
		s.zhist.push(z)
	}
	score := zc / (zc + 10)
	if s.cfg.rangeTol > 0 {
		tol := (s.hi - s.lo) * s.cfg.rangeTol
		breakout := s.hi > s.lo && (v > s.hi+tol || v < s.lo-tol) && z >= s.cfg.rangeMinZ
		s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v)
		switch {
		case s.cfg.rangeMode == 1 && breakout:
			score = 0.5 + 0.5*score
		case s.cfg.rangeMode == 1:
			score = 0.5 * score
		case breakout:
			zc += s.cfg.rangeBoost
			score = zc / (zc + 10)
		}
	}
	pre := score
	if s.cfg.gateWin > 0 {
		if s.zs.len() > 0 && z <= s.cfg.gateRatio*s.zs.sorted[s.zs.len()-1] {
			score *= 0.1
		}
		s.zs.push(z)
	}
	muted := s.n-s.lastFire < s.cfg.suppress
	if muted {
		score *= 0.1
	}
	fired := z >= s.cfg.fire
	if s.cfg.fireScore > 0 {
		fired = pre >= s.cfg.fireScore
	}
	if fired && !(muted && s.cfg.noExtend) {
		s.lastFire = s.n
	}
	return score
}

// learnPeriod fixes the rows-per-day from the median of the first intervals.
func (s *Stream) learnPeriod(t time.Time) {
	if !s.cfg.seasonal || s.period != 0 || len(s.steps) >= 64 {
		return
	}
	if !s.lastT.IsZero() {
		s.steps = append(s.steps, t.Sub(s.lastT).Seconds())
	}
	s.lastT = t
	if len(s.steps) == 64 {
		cp := append([]float64(nil), s.steps...)
		med := medianOf(cp)
		if med > 0 {
			p := int(math.Round(86400 / med))
			if p >= 4 && p <= 2000 {
				s.period = p
			}
		}
		if s.period == 0 {
			s.period = -1
		}
	}
}

// seasonalBaseline is the median of the values one, two, ... days back.
func (s *Stream) seasonalBaseline() (float64, bool) {
	if !s.cfg.seasonal || s.period <= 0 {
		return 0, false
	}
	var lags [8]float64
	k := 0
	for d := 1; d <= s.cfg.seasonDays && d <= len(lags); d++ {
		i := len(s.hist) - d*s.period
		if i < 0 {
			break
		}
		lags[k] = s.hist[i]
		k++
	}
	if k == 0 {
		return 0, false
	}
	return medianOf(lags[:k]), true
}
