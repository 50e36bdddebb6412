package detect

import (
	"math"
	"time"
)

// streamConfig holds the Stream's tuning; the defaults were chosen on the
// NAB corpus (see TestStreamNABScore), never per file.
type streamConfig struct {
	window     int     // past values (and seasonal residuals) in the robust baseline
	warmup     int     // values before any score is given
	tailMix    float64 // weight of the 5–95% range in the scale, so heavy tails do not look anomalous
	seasonDays int     // past days in the seasonal baseline (daily cycle)
	seasonGain float64 // the seasonal model is used when its scale is below this fraction of the plain one
	relWin     int     // past z values for the per-series calibration
	relQ       float64 // quantile of past z the current z is compared with
	relMix     float64 // 0: absolute z only, 1: z relative to the series' own history only
	rangeTol   float64 // a value beyond the range seen so far by this fraction of it is a breakout
	rangeMinZ  float64 // a breakout also needs this robust z
	fire       float64 // robust z of an alarm, which mutes what follows
	suppress   int     // rows muted after an alarm; an alarm during the mute extends it
	recScore   float64 // least score of a record: a z above every earlier z of the series
	recTol     float64 // a record must beat the earlier maximum by this fraction
	recMinZ    float64 // and reach this z
	recAfter   int     // rows before records count (the first maxima are routine)
	muteMul    float64 // factor on scores during the mute: damped, so a much larger excursion still shows
	longWindow int     // past values in a second, longer robust baseline; z is the larger of the two (0: off)
}

var defaultStreamConfig = streamConfig{
	window:     400,
	warmup:     30,
	tailMix:    1,
	seasonDays: 5,
	seasonGain: 0.5,
	relWin:     2000,
	relQ:       0.99,
	relMix:     0.5,
	rangeTol:   0.02,
	rangeMinZ:  2,
	fire:       11,
	suppress:   150,
	recScore:   0.3,
	recTol:     0.2,
	recMinZ:    4,
	recAfter:   300,
	muteMul:    0.25,
	longWindow: 2000,
}

// Stream scores a series point by point from its past only. It combines a
// robust z-score at two scales (median and MAD, widened by the 5–95% range
// for heavy-tailed data, against the recent window and against a longer
// one; the larger z counts), a daily seasonal model used when the
// timestamps show a daily cycle that explains the data better, calibration
// against the series' own history of z, a boost for values beyond the range
// seen so far and for deviations larger than any the series has shown
// before (z records), and muting after an alarm so that one excursion gives
// one high score at its start. Muting damps scores rather than zeroing
// them, so that a much larger excursion during the mute still stands out.
//
// Scores are in [0,1]. Range breakouts score at least 0.5; z records at
// least 0.3; other points at most 0.5 (all lower while muted). On NAB the
// best corpus-wide alarm threshold was about 0.16.
//
// The zero value is not usable; create one with NewStream. A Stream is not
// safe for concurrent use.
type Stream struct {
	cfg      streamConfig
	raw      *slidingWindow // recent values
	res      *slidingWindow // recent seasonal residuals
	long     *slidingWindow // longer history of values
	zhist    *slidingWindow // longer history of z, for calibration
	hist     []float64      // past values for the seasonal lags
	zmax     float64        // largest z so far (after warmup)
	n        int
	lastFire int
	lo, hi   float64 // range seen so far
	ranged   bool

	lastT  time.Time
	steps  []float64 // first sampling intervals, to find the period
	period int       // rows per day; 0 while unknown, -1 when not daily-sampled
}

// NewStream returns a streaming detector with the defaults tuned on NAB.
func NewStream() *Stream { return newStreamWith(defaultStreamConfig) }

func newStreamWith(cfg streamConfig) *Stream {
	return &Stream{
		cfg:      cfg,
		raw:      newSlidingWindow(cfg.window),
		res:      newSlidingWindow(cfg.window),
		long:     newSlidingWindow(max(cfg.longWindow, 1)),
		zhist:    newSlidingWindow(cfg.relWin),
		lastFire: math.MinInt / 2,
	}
}

func robustScale(w *slidingWindow, med, tailMix float64) float64 {
	sigma := 1.4826 * madSorted(w.sorted, med)
	if s := tailMix * (w.quantile(0.95) - w.quantile(0.05)) / 3.29; s > sigma {
		sigma = s
	}
	return math.Max(sigma, 1e-3*math.Max(math.Abs(med), 1e-6))
}

// Update adds the observation at t and returns its anomaly score in [0,1],
// computed from earlier observations only. Non-finite values score 0 and
// are not learnt.
func (s *Stream) Update(t time.Time, v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	defer func() { s.n++ }()
	s.learnPeriod(t)
	season, hasSeason := s.seasonalBaseline()
	s.remember(v)
	if !s.ranged {
		s.lo, s.hi, s.ranged = v, v, true
	}
	if s.raw.len() < s.cfg.warmup {
		s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v)
		s.raw.push(v)
		if s.cfg.longWindow > 0 {
			s.long.push(v)
		}
		if hasSeason {
			s.res.push(v - season)
		}
		return 0
	}

	med := s.raw.quantile(0.5)
	sigma := robustScale(s.raw, med, s.cfg.tailMix)
	z := math.Abs(v-med) / sigma
	s.raw.push(v)
	if s.cfg.longWindow > 0 {
		// A value can be ordinary for the last day or so and still unlike
		// anything in the longer past (or the reverse): take the larger z.
		lm := s.long.quantile(0.5)
		z = math.Max(z, math.Abs(v-lm)/robustScale(s.long, lm, s.cfg.tailMix))
		s.long.push(v)
	}
	if hasSeason {
		r := v - season
		if s.res.len() >= s.cfg.warmup {
			rm := s.res.quantile(0.5)
			if rs := robustScale(s.res, rm, s.cfg.tailMix); rs < s.cfg.seasonGain*sigma {
				z = math.Abs(r-rm) / rs
			}
		}
		s.res.push(r)
	}

	// Calibrate: a z that is routine for this series counts for less.
	zc := z
	if s.zhist.len() >= 50 {
		ref := math.Max(s.zhist.quantile(s.cfg.relQ), 1)
		zc = math.Exp((1-s.cfg.relMix)*math.Log(z+1e-9) + s.cfg.relMix*math.Log(z/ref+1e-9))
	}
	s.zhist.push(z)
	// A record: a deviation larger than any this series has shown, once the
	// early maxima (which are routine) have passed.
	record := s.n >= s.cfg.recAfter && z >= s.cfg.recMinZ && z > s.zmax*(1+s.cfg.recTol)
	s.zmax = math.Max(s.zmax, z)

	score := zc / (zc + 10)
	tol := (s.hi - s.lo) * s.cfg.rangeTol
	breakout := s.hi > s.lo && (v > s.hi+tol || v < s.lo-tol) && z >= s.cfg.rangeMinZ
	s.lo, s.hi = math.Min(s.lo, v), math.Max(s.hi, v)
	if breakout {
		score = 0.5 + 0.5*score
	} else {
		score *= 0.5
	}
	if record {
		score = math.Max(score, s.cfg.recScore)
	}

	if s.n-s.lastFire < s.cfg.suppress {
		score *= s.cfg.muteMul
	}
	if z >= s.cfg.fire {
		s.lastFire = s.n
	}
	return score
}

// remember keeps enough past values for the seasonal lags.
func (s *Stream) remember(v float64) {
	if s.period < 0 {
		return
	}
	s.hist = append(s.hist, v)
	keep := max(s.period, 1) * s.cfg.seasonDays
	if s.period > 0 && len(s.hist) > 2*keep+64 {
		copy(s.hist, s.hist[len(s.hist)-keep:])
		s.hist = s.hist[:keep]
	}
}

// learnPeriod fixes the rows per day from the median of the first intervals.
func (s *Stream) learnPeriod(t time.Time) {
	if s.period != 0 {
		return
	}
	if !s.lastT.IsZero() {
		s.steps = append(s.steps, t.Sub(s.lastT).Seconds())
	}
	s.lastT = t
	if len(s.steps) < 64 {
		return
	}
	s.period = -1
	if med := medianOf(s.steps); med > 0 {
		if p := int(math.Round(86400 / med)); p >= 4 && p <= 2000 {
			s.period = p
		}
	}
	s.steps = nil
	if s.period < 0 {
		s.hist = nil
	}
}

// seasonalBaseline is the median of the values one, two, ... days back.
func (s *Stream) seasonalBaseline() (float64, bool) {
	if s.period <= 0 {
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
