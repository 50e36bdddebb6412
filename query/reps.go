package query

import (
	"context"
	"fmt"
	"golang.org/x/sync/errgroup"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// Verdicts of a scorecard metric.
const (
	Strength = "strength"
	Weakness = "weakness"
)

// MetricScore is one metric of a rep against the peers.
type MetricScore struct {
	Metric string  `json:"metric"` // conversion, win_rate, deal_size, cycle_time, days_in_stage, activities_per_week
	Stage  string  `json:"stage,omitempty"`
	Value  float64 `json:"value"`
	// N is the count behind Value (deals reaching the stage, closed deals, ...).
	N    int64   `json:"n"`
	Low  float64 `json:"low"`
	High float64 `json:"high"`
	// Peer is the peer group's value (the other reps in the filter).
	Peer float64 `json:"peer"`
	// HigherIsBetter is false for durations.
	HigherIsBetter bool `json:"higher_is_better"`
	// Verdict is "strength" or "weakness" when the interval clears Peer, else "".
	Verdict string `json:"verdict,omitempty"`
	// ExplainedBy (win rate only) names the stages whose conversion verdict
	// accounts for a win rate that clears the peers; Verdict is then empty, so
	// the weakness is claimed once, at the stage.
	ExplainedBy []string `json:"explained_by,omitempty"`
	HintEN      string   `json:"hint_en,omitempty"`
	HintZH      string   `json:"hint_zh,omitempty"`
}

// RepScore is a rep's scorecard.
type RepScore struct {
	RepID     string        `json:"rep_id"`
	Name      string        `json:"name"`
	Team      string        `json:"team"`
	ManagerID string        `json:"manager_id"`
	Territory string        `json:"territory"`
	Deals     int64         `json:"deals"`
	Won       int64         `json:"won"`
	Lost      int64         `json:"lost"`
	WonAmount float64       `json:"won_amount"`
	Metrics   []MetricScore `json:"metrics"`
	// WorstStage is the stage where the rep loses the most deals beyond what the
	// peers' conversion predicts ("" when no stage loses more than expected).
	WorstStage       string  `json:"worst_stage,omitempty"`
	WorstStageExcess float64 `json:"worst_stage_excess_losses,omitempty"`
	Strengths        int     `json:"strengths"`
	Weaknesses       int     `json:"weaknesses"`
}

// repStats is what the scorecard reads per rep.
type repStats struct {
	reached          []float64
	cohortWon        float64
	won, lost        float64
	wonAmt           float64
	dealMean, dealSD float64
	cycleN           int64
	cycleMean, cycSD float64
	stageN           []int64
	stageMean        []float64
	stageSD          []float64
	activities       float64
}

// statsOf is id's entry of stats, a new one when it has none.
func (s *Service) statsOf(stats map[string]*repStats, id string) *repStats {
	st := stats[id]
	if st == nil {
		st = s.newStats()
		stats[id] = st
	}
	return st
}

func (s *Service) newStats() *repStats {
	k := len(s.stages)
	return &repStats{reached: make([]float64, k), stageN: make([]int64, k), stageMean: make([]float64, k), stageSD: make([]float64, k)}
}

// Reps is the scorecard of every rep in scope with deals or the rep role,
// against the other reps in the filter.
func (s *Service) Reps(ctx context.Context, sc Scope, f Filter) ([]RepScore, error) {
	return s.scorecards(ctx, sc, f, "")
}

// Rep is one rep's scorecard; ErrNotFound when the rep is not in the caller's scope.
func (s *Service) Rep(ctx context.Context, sc Scope, f Filter, id string) (RepScore, error) {
	out, err := s.scorecards(ctx, sc, f, id)
	if err != nil {
		return RepScore{}, err
	}
	for _, r := range out {
		if r.RepID == id {
			return r, nil
		}
	}
	return RepScore{}, fmt.Errorf("%w: rep %q", ErrNotFound, id)
}

func (s *Service) scorecards(ctx context.Context, sc Scope, f Filter, only string) ([]RepScore, error) {
	f, err := s.scope(sc, f)
	if err != nil {
		return nil, err
	}
	if sc.Role == RoleRep {
		// A rep sees only the own scorecard, but it is compared with the team.
		reps, err := s.repDims(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range reps {
			if r.id == sc.Rep {
				f.Rep, f.Team, only = nil, []string{r.team}, sc.Rep
			}
		}
	}
	stats := map[string]*repStats{}
	get := func(id string) *repStats { return s.statsOf(stats, id) }
	// The activities and the reps are small, independent reads: run them while
	// the deals' numbers are read.
	var (
		acts    map[string]int64
		reps    []repDim
		actsErr error
		repsErr error
		wg      sync.WaitGroup
	)
	wg.Add(2)
	go func() { defer wg.Done(); acts, actsErr = s.activityCounts(ctx, f) }()
	go func() { defer wg.Done(); reps, repsErr = s.repDims(ctx) }()
	pass := s.repPass
	if s.ownerOnly(f) {
		pass = s.repPassRollup
	}
	err = pass(ctx, f, func(id string, st *repStats) { stats[id] = st })
	wg.Wait()
	for _, e := range []error{err, actsErr, repsErr} {
		if e != nil {
			return nil, e
		}
	}
	for id, n := range acts {
		get(id).activities = float64(n)
	}
	var list []repDim
	for _, r := range withOwnerStubs(reps, stats) {
		if !r.visible(f) {
			continue
		}
		if _, ok := stats[r.id]; ok || r.role == "rep" {
			list = append(list, r)
			get(r.id)
		}
	}
	weeks := f.To.Sub(f.From).Hours() / (24 * 7)
	// Peers of a rep = everyone else: pool all once, then take the rep out.
	total := s.newStats()
	for _, r := range list {
		addStats(total, stats[r.id])
	}
	var sel []repDim
	for _, r := range list {
		if only == "" || r.id == only {
			sel = append(sel, r)
		}
	}
	out := make([]RepScore, len(sel))
	// Scoring is pure CPU (interval quantiles); spread it over the cores.
	workers := min(runtime.GOMAXPROCS(0), max(1, len(sel)/16))
	var sw sync.WaitGroup
	for w := range workers {
		sw.Add(1)
		go func() {
			defer sw.Done()
			for i := w; i < len(sel); i += workers {
				r := sel[i]
				peer := s.without(total, stats[r.id])
				out[i] = s.score(r, stats[r.id], peer, float64(len(list)-1), weeks)
			}
		}()
	}
	sw.Wait()
	sort.Slice(out, func(i, j int) bool { return out[i].RepID < out[j].RepID })
	return out, nil
}

// repSums are a rep's scorecard numbers as counts, sums and sums of squares:
// what rep_days, rep_dim_months and the reads of the deals all give, and what
// adds up over them.
type repSums struct {
	reached, left                 []uint64
	cohortWon, won, lost, entries uint64
	wonAmt, wonAmtSq              float64
	cycSum, cycSq                 float64
	days, daysSq                  []float64
}

func (s *Service) newSums() *repSums {
	k := len(s.stages)
	return &repSums{reached: make([]uint64, k), left: make([]uint64, k), days: make([]float64, k), daysSq: make([]float64, k)}
}

// add adds o's numbers to r's.
func (r *repSums) add(o *repSums) {
	for i := range r.reached {
		r.reached[i] += o.reached[i]
		r.left[i] += o.left[i]
		r.days[i] += o.days[i]
		r.daysSq[i] += o.daysSq[i]
	}
	r.cohortWon += o.cohortWon
	r.won += o.won
	r.lost += o.lost
	r.entries += o.entries
	r.wonAmt += o.wonAmt
	r.wonAmtSq += o.wonAmtSq
	r.cycSum += o.cycSum
	r.cycSq += o.cycSq
}

// empty: nothing in the range, so not a rep with deals.
func (r *repSums) empty() bool { return r.reached[0] == 0 && r.won+r.lost == 0 && r.entries == 0 }

// stats turns the sums into the scorecard's means and spreads.
func (s *Service) stats(r *repSums) *repStats {
	st := s.newStats()
	for i := range r.reached {
		st.reached[i] = float64(r.reached[i])
		n := float64(r.left[i])
		st.stageN[i], st.stageMean[i], st.stageSD[i] = int64(r.left[i]), meanOf(n, r.days[i]), sdOf(n, r.days[i], r.daysSq[i])
	}
	n := float64(r.won)
	st.cohortWon, st.won, st.lost, st.cycleN = float64(r.cohortWon), n, float64(r.lost), int64(r.won)
	st.wonAmt, st.dealMean, st.dealSD = r.wonAmt, meanOf(n, r.wonAmt), sdOf(n, r.wonAmt, r.wonAmtSq)
	st.cycleMean, st.cycSD = meanOf(n, r.cycSum), sdOf(n, r.cycSum, r.cycSq)
	return st
}

// repRollupCols are the sums of a rep_days or rep_dim_months read per owner,
// in the order scanSums reads them.
const repRollupCols = "owner_id, sumForEach(reached), sum(created_won), sum(won), sum(lost), sum(won_amount), sum(won_amount_sq), sum(cycle_sum), sum(cycle_sq), " +
	"sumForEach(stage_left), sumForEach(stage_days), sumForEach(stage_days_sq), sum(arraySum(stage_entries))"

// scanSums reads a row of repRollupCols.
func (s *Service) scanSums(r driverRows) (string, *repSums, error) {
	var id string
	x := s.newSums()
	var reached, left []uint64
	var days, sq []float64
	if err := r.Scan(&id, &reached, &x.cohortWon, &x.won, &x.lost, &x.wonAmt, &x.wonAmtSq, &x.cycSum, &x.cycSq, &left, &days, &sq, &x.entries); err != nil {
		return "", nil, err
	}
	copy(x.reached, reached)
	copy(x.left, left)
	copy(x.days, days)
	copy(x.daysSq, sq)
	return id, x, nil
}

// repPass reads every rep's numbers from the three serving tables sorted by
// the date each set is chosen by, so a filter by product, source, segment or
// territory reads the range's rows only: the funnel of the cohort created in
// the range (opp_facts, by creation date), the deals closed in the range (win
// rate, deal size, cycle; opp_closes, by close date) and the days in each
// stage of the entries in the range (as DaysInStage counts them; opp_stays,
// by entry day). With one of those four filters the range's whole months come
// from rep_dim_months instead, and the three reads read only the days before
// the first and after the last whole month. The reads run at once.
func (s *Service) repPass(ctx context.Context, f Filter, each func(id string, st *repStats)) error {
	var mu sync.Mutex
	sums := map[string]*repSums{}
	// add adds x to id's sums; the caller holds mu.
	add := func(id string, x *repSums) {
		if sums[id] == nil {
			sums[id] = s.newSums()
		}
		sums[id].add(x)
	}
	spans := []daySpan{{f.From, f.To}}
	g, gctx := errgroup.WithContext(ctx)
	if dim, values, m0, m1, ok := s.dimMonths(f); ok {
		spans = edgeSpans(f, m0, m1)
		g.Go(func() error { return s.repMonths(gctx, f, dim, values, m0, m1, &mu, add) })
	}
	if len(spans) > 0 {
		g.Go(func() error { return s.repCreated(gctx, f, spans, &mu, add) })
		g.Go(func() error { return s.repClosed(gctx, f, spans, &mu, add) })
		g.Go(func() error { return s.repStays(gctx, f, spans, &mu, add) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for id, x := range sums {
		if !x.empty() {
			each(id, s.stats(x))
		}
	}
	return nil
}

// daySpan is the days [from, to).
type daySpan struct{ from, to time.Time }

// inSpans adds col within any of spans.
func inSpans(c *cond, col string, spans []daySpan) {
	var or []string
	var args []any
	for _, sp := range spans {
		or = append(or, col+" >= toDate(?) AND "+col+" < toDate(?)")
		args = append(args, day(sp.from), day(sp.to))
	}
	c.add("(("+strings.Join(or, ") OR (")+"))", args...)
}

// dimMonths: f selects by exactly one of rep_dim_months' dimensions (and by
// owners at most), and its range holds whole months [m0, m1).
func (s *Service) dimMonths(f Filter) (dim string, values []string, m0, m1 time.Time, ok bool) {
	if s.noRollup {
		return "", nil, m0, m1, false
	}
	dim, values, n := dealDim(f)
	m0, m1, ok = wholeMonths(f)
	return dim, values, m0, m1, ok && n == 1
}

// dimMonthsWhere selects rep_dim_months' rows of the whole months [m0, m1),
// the deals whose dim is one of values, and f's owners.
func dimMonthsWhere(f Filter, dim string, values []string, m0, m1 time.Time) cond {
	var c cond
	c.add(tokDelta)
	c.add("dim = ?", dim)
	c.in("value", values)
	c.add("day >= toDate(?) AND day < toDate(?)", day(m0), day(m1))
	ownerDims(&c, f)
	return c
}

// edgeSpans are the days of f's range outside its whole months [m0, m1).
func edgeSpans(f Filter, m0, m1 time.Time) []daySpan {
	var out []daySpan
	if f.From.Before(m0) {
		out = append(out, daySpan{f.From, m0})
	}
	if m1.Before(f.To) {
		out = append(out, daySpan{m1, f.To})
	}
	return out
}

// repMonths reads the owners' sums of the whole months [m0, m1) from
// rep_dim_months, for the deals whose dim is one of values.
func (s *Service) repMonths(ctx context.Context, f Filter, dim string, values []string, m0, m1 time.Time, mu *sync.Mutex, add func(string, *repSums)) error {
	c := dimMonthsWhere(f, dim, values, m0, m1)
	q := "SELECT " + repRollupCols + " FROM rep_dim_months" + c.where() + " GROUP BY owner_id"
	return s.query(ctx, "reps-months", q, c.args, func(r driverRows) error {
		id, x, err := s.scanSums(r)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		add(id, x)
		return nil
	})
}

// repCreated reads the funnel of the cohort created in spans per owner.
func (s *Service) repCreated(ctx context.Context, f Filter, spans []daySpan, mu *sync.Mutex, add func(string, *repSums)) error {
	k := len(s.stages)
	cols := make([]string, k)
	for i := range k {
		cols[i] = fmt.Sprintf("countIf(furthest >= %d)", i+1)
	}
	var c cond
	inSpans(&c, "created_date", spans)
	dims(&c, f, "")
	q := "SELECT owner_id, " + strings.Join(cols, ", ") + ", countIf(won = 1) FROM opp_facts" + c.prewhere() + " GROUP BY owner_id"
	return s.query(ctx, "reps-created", q, c.args, func(r driverRows) error {
		var id string
		x := s.newSums()
		dst := []any{&id}
		for i := range x.reached {
			dst = append(dst, &x.reached[i])
		}
		if err := r.Scan(append(dst, &x.cohortWon)...); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		add(id, x)
		return nil
	})
}

// repClosed reads the deals closed in spans per owner: won and lost, and the
// won deals' amounts and cycles with their squares.
func (s *Service) repClosed(ctx context.Context, f Filter, spans []daySpan, mu *sync.Mutex, add func(string, *repSums)) error {
	var c cond
	c.add("closed = 1")
	inSpans(&c, "close_date", spans)
	dims(&c, f, "")
	const w = "won = 1"
	q := "SELECT owner_id, countIf(" + w + "), countIf(won = 0), sumIf(amount, " + w + "), sumIf(amount * amount, " + w + "), " +
		"sumIf(" + cycleDays + ", " + w + "), sumIf(" + cycleDays + " * " + cycleDays + ", " + w + ") FROM opp_closes" + c.prewhere() + " GROUP BY owner_id"
	return s.query(ctx, "reps-closed", q, c.args, func(r driverRows) error {
		var id string
		x := s.newSums()
		if err := r.Scan(&id, &x.won, &x.lost, &x.wonAmt, &x.wonAmtSq, &x.cycSum, &x.cycSq); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		add(id, x)
		return nil
	})
}

// repStays reads, per owner and stage, the stays entered in spans that left
// (count, days and their squares) and every entry in them (a rep who entered
// a stage has a days-in-stage row, so is listed).
func (s *Service) repStays(ctx context.Context, f Filter, spans []daySpan, mu *sync.Mutex, add func(string, *repSums)) error {
	var c cond
	inSpans(&c, "en_day", spans)
	dims(&c, f, "")
	q := "SELECT owner_id, toUInt32(rk), countIf(" + stayDone + "), sumIf(" + stayDays + ", " + stayDone + "), sumIf(" + stayDays + " * " + stayDays + ", " + stayDone + "), count() " +
		"FROM opp_stays" + c.prewhere() + " GROUP BY owner_id, rk"
	k := len(s.stages)
	return s.query(ctx, "reps-stays", q, c.args, func(r driverRows) error {
		var id string
		var rk uint32
		x := s.newSums()
		var left uint64
		var days, sq float64
		if err := r.Scan(&id, &rk, &left, &days, &sq, &x.entries); err != nil {
			return err
		}
		if i := int(rk) - 1; i >= 0 && i < k {
			x.left[i], x.days[i], x.daysSq[i] = left, days, sq
		}
		mu.Lock()
		defer mu.Unlock()
		add(id, x)
		return nil
	})
}

// repPassRollup reads what repPass reads from rep_days, for filters by owner
// only: a few thousand rows instead of every deal, summed in memory when the
// repCube covers the range.
func (s *Service) repPassRollup(ctx context.Context, f Filter, each func(id string, st *repStats)) error {
	cube, err := s.repCube(ctx)
	if err != nil {
		return err
	}
	if cube.covers(f) {
		for id, x := range s.repCubeSums(cube, f) {
			if !x.empty() {
				each(id, s.stats(x))
			}
		}
		return nil
	}
	return s.repRollupRead(ctx, f, each)
}

// repRollupRead is repPassRollup's statement over rep_days.
func (s *Service) repRollupRead(ctx context.Context, f Filter, each func(id string, st *repStats)) error {
	c := repDaysWhere(f, false)
	q := "SELECT " + repRollupCols + " FROM rep_days" + c.where() + " GROUP BY owner_id"
	return s.query(ctx, "reps-rollup", q, c.args, func(r driverRows) error {
		id, x, err := s.scanSums(r)
		if err != nil {
			return err
		}
		if !x.empty() {
			each(id, s.stats(x))
		}
		return nil
	})
}

// addStats pools o into p: counts add; means are pooled weighted by their counts
// (the pooled standard deviation is not needed: peers are the reference value).
func addStats(p, o *repStats) {
	for i := range p.reached {
		p.reached[i] += o.reached[i]
		if n := p.stageN[i] + o.stageN[i]; n > 0 {
			p.stageMean[i] = (p.stageMean[i]*float64(p.stageN[i]) + o.stageMean[i]*float64(o.stageN[i])) / float64(n)
			p.stageN[i] = n
		}
	}
	p.cohortWon += o.cohortWon
	if n := p.won + o.won; n > 0 {
		p.dealMean = (p.dealMean*p.won + o.dealMean*o.won) / n
	}
	if n := p.cycleN + o.cycleN; n > 0 {
		p.cycleMean = (p.cycleMean*float64(p.cycleN) + o.cycleMean*float64(o.cycleN)) / float64(n)
		p.cycleN = n
	}
	p.won += o.won
	p.lost += o.lost
	p.wonAmt += o.wonAmt
	p.activities += o.activities
}

// without is the pool p minus o (o was added to p with addStats).
func (s *Service) without(p, o *repStats) *repStats {
	x := s.newStats()
	sub := func(mean float64, n float64, omean float64, on float64) float64 {
		if n-on <= 0 {
			return 0
		}
		return (mean*n - omean*on) / (n - on)
	}
	for i := range p.reached {
		x.reached[i] = p.reached[i] - o.reached[i]
		x.stageN[i] = p.stageN[i] - o.stageN[i]
		x.stageMean[i] = sub(p.stageMean[i], float64(p.stageN[i]), o.stageMean[i], float64(o.stageN[i]))
	}
	x.cohortWon = p.cohortWon - o.cohortWon
	x.dealMean = sub(p.dealMean, p.won, o.dealMean, o.won)
	x.cycleN = p.cycleN - o.cycleN
	x.cycleMean = sub(p.cycleMean, float64(p.cycleN), o.cycleMean, float64(o.cycleN))
	x.won, x.lost, x.wonAmt, x.activities = p.won-o.won, p.lost-o.lost, p.wonAmt-o.wonAmt, p.activities-o.activities
	return x
}

func (s *Service) score(r repDim, st, peer *repStats, npeers, weeks float64) RepScore {
	rs := RepScore{RepID: r.id, Name: r.name, Team: r.team, ManagerID: r.manager, Territory: r.territory,
		Deals: int64(st.reached[0]), Won: int64(st.won), Lost: int64(st.lost), WonAmount: st.wonAmt, Metrics: []MetricScore{}}
	k := len(s.stages)
	next := func(x *repStats, i int) float64 {
		if i+1 < k {
			return x.reached[i+1]
		}
		return x.cohortWon
	}
	worst := 0.0
	for i := range k {
		n, x := st.reached[i], next(st, i)
		pc := ratio(next(peer, i), peer.reached[i])
		m := MetricScore{Metric: "conversion", Stage: s.stages[i], Value: ratio(x, n), N: int64(n), Peer: pc, HigherIsBetter: true}
		if n > 0 && peer.reached[i] > 0 {
			m.Low, m.High = betaInterval(x, n, pc)
			// Losses beyond what the peers' conversion predicts.
			if excess := (n - x) - n*(1-pc); excess > worst && m.Value < pc {
				worst, rs.WorstStage = excess, s.stages[i]
			}
		}
		rs.Metrics = append(rs.Metrics, m)
	}
	rs.WorstStageExcess = worst
	{
		n := st.won + st.lost
		pr := ratio(peer.won, peer.won+peer.lost)
		m := MetricScore{Metric: "win_rate", Value: ratio(st.won, n), N: int64(n), Peer: pr, HigherIsBetter: true}
		if n > 0 && peer.won+peer.lost > 0 {
			m.Low, m.High = betaInterval(st.won, n, pr)
		}
		rs.Metrics = append(rs.Metrics, m)
	}
	mean := func(name, stage string, v, sd float64, n int64, pv float64, pn int64, higher bool) {
		m := MetricScore{Metric: name, Stage: stage, Value: v, N: n, Peer: pv, HigherIsBetter: higher}
		if lo, hi, ok := meanInterval(v, sd, n); ok && pn > 0 {
			m.Low, m.High = lo, hi
		} else {
			m.Low, m.High = math.Inf(-1), math.Inf(1)
		}
		rs.Metrics = append(rs.Metrics, m)
	}
	mean("deal_size", "", st.dealMean, st.dealSD, int64(st.won), peer.dealMean, int64(peer.won), true)
	mean("cycle_time", "", st.cycleMean, st.cycSD, st.cycleN, peer.cycleMean, peer.cycleN, false)
	for i := range k {
		mean("days_in_stage", s.stages[i], st.stageMean[i], st.stageSD[i], st.stageN[i], peer.stageMean[i], peer.stageN[i], false)
	}
	if weeks > 0 && npeers > 0 {
		lo, hi := poissonInterval(st.activities)
		rs.Metrics = append(rs.Metrics, MetricScore{Metric: "activities_per_week", Value: st.activities / weeks, N: int64(st.activities),
			Low: lo / weeks, High: hi / weeks, Peer: peer.activities / npeers / weeks, HigherIsBetter: true})
	}
	for i := range rs.Metrics {
		m := &rs.Metrics[i]
		if m.N > 0 && !math.IsInf(m.Low, 0) && (m.Low != 0 || m.High != 0) {
			up, down := m.Peer*(1+MinEffect), m.Peer*(1-MinEffect)
			better, worse := m.Low > up, m.High < down
			if !m.HigherIsBetter {
				better, worse = m.High < down, m.Low > up
			}
			switch {
			case better:
				m.Verdict = Strength
			case worse:
				m.Verdict = Weakness
			}
		}
		m.Low, m.High = finite(m.Low), finite(m.High)
	}
	attributeWinRate(rs.Metrics)
	for i := range rs.Metrics {
		m := &rs.Metrics[i]
		switch m.Verdict {
		case Strength:
			rs.Strengths++
		case Weakness:
			rs.Weaknesses++
			m.HintEN, m.HintZH = hint(m.Metric, m.Stage)
		}
	}
	return rs
}

// MinEffect is the smallest difference from the peers worth a claim, relative to
// the peer value: with hundreds of deals even a 3% difference is statistically
// certain, but it is not what a manager should coach on. A strength or weakness
// needs the whole interval beyond peer × (1 ± MinEffect).
const MinEffect = 0.10

// attributeWinRate makes win rate a derived outcome. Win rate is the product of
// the stage conversions (of the deals that closed), so a rep who loses deals at
// one stage shows a lower win rate as a matter of arithmetic. When a stage
// conversion already carries the same verdict, the win rate's verdict is moved
// to ExplainedBy (those stages) instead of being claimed as a second, separate
// weakness; a win rate that clears the peers with no stage to blame (small
// losses spread over every stage) is still claimed.
func attributeWinRate(ms []MetricScore) {
	wr := -1
	for i := range ms {
		if ms[i].Metric == "win_rate" {
			wr = i
		}
	}
	if wr < 0 || ms[wr].Verdict == "" {
		return
	}
	var stages []string
	for _, m := range ms {
		if m.Metric == "conversion" && m.Verdict == ms[wr].Verdict {
			stages = append(stages, m.Stage)
		}
	}
	if len(stages) > 0 {
		ms[wr].Verdict, ms[wr].ExplainedBy = "", stages
	}
}

// hint is the coaching hint for a weakness, in English and Chinese.
func hint(metric, stage string) (en, zh string) {
	zs := map[string]string{"lead": "线索", "qualified": "需求确认", "proposal": "方案/报价", "negotiation": "谈判"}[stage]
	if zs == "" {
		zs = stage
	}
	switch metric {
	case "conversion":
		switch stage {
		case "lead":
			return "Qualify earlier: confirm need, budget and decision maker in the first call before opening more leads.",
				"尽早做需求确认：首次沟通就确认需求、预算和决策人，再开拓更多线索。"
		case "qualified":
			return "Deals stall after qualification: agree a concrete next step and a proposal date with the buyer.",
				"需求确认后推进乏力：与客户约定明确的下一步和方案提交时间。"
		case "proposal":
			return "Proposals do not move to negotiation: review proposals with the manager and tie them to the buyer's stated pain.",
				"方案难以进入谈判：与经理一起复盘方案，紧扣客户提出的痛点。"
		case "negotiation":
			return "Negotiations are lost: rehearse pricing objections and involve the manager before the final offer.",
				"谈判阶段丢单偏多：演练价格异议处理，最终报价前请经理参与。"
		}
		return "Conversion out of " + stage + " is below peers: review the lost deals of that stage together.",
			"「" + zs + "」阶段转化低于同组：一起复盘该阶段丢失的商机。"
	case "win_rate":
		return "Win rate is below peers: drop weak deals earlier and focus time on the ones with a confirmed decision maker.",
			"赢单率低于同组：尽早放弃弱商机，把时间投入已确认决策人的商机。"
	case "deal_size":
		return "Deals are smaller than peers': propose bundles and multi-year terms, and qualify larger accounts.",
			"客单价低于同组：尝试组合方案和多年合同，多开发大客户。"
	case "cycle_time":
		return "Deals take longer to close than peers': set a mutual close plan with dates at qualification.",
			"成交周期长于同组：在需求确认时与客户共同制定带日期的成交计划。"
	case "days_in_stage":
		return "Deals sit longer in " + stage + " than peers': book the next meeting before leaving each one.",
			"商机在「" + zs + "」阶段停留时间长于同组：每次会面结束前约好下一次会面。"
	case "activities_per_week":
		return "Fewer customer activities than peers: block time each week for calls and visits.",
			"客户拜访和沟通少于同组：每周固定安排电话和拜访时间。"
	}
	return "", ""
}

// activityCounts is activities per rep in [from, to) for the reps the filter
// selects, from rep_activity_days (see Refresh).
func (s *Service) activityCounts(ctx context.Context, f Filter) (map[string]int64, error) {
	if !s.noRollup {
		return s.activityCountsInMemory(ctx, f)
	}
	return s.activityCountsRead(ctx, f)
}

// activityCountsRead is activityCounts' statement over rep_activity_days.
func (s *Service) activityCountsRead(ctx context.Context, f Filter) (map[string]int64, error) {
	var c cond
	c.add(tokDelta)
	dateRange(&c, "day", f)
	c.in("rep_id", f.Rep)
	var rc cond
	rc.in("team", f.Team)
	rc.in("manager_id", f.Manager)
	rc.in("territory", f.Territory)
	if len(rc.sql) > 0 {
		// GLOBAL: the reps are read whole, whatever the shards of rep_activity_days.
		c.add("rep_id GLOBAL IN (SELECT rep_id FROM "+latest("reps", "rep_id", "rep_id, team, manager_id, territory")+rc.where()+")", rc.args...)
	}
	out := map[string]int64{}
	q := "SELECT rep_id, sum(activities) FROM rep_activity_days" + c.where() + " GROUP BY rep_id"
	err := s.query(ctx, "activities", q, c.args, func(r driverRows) error {
		var id string
		var n uint64
		if err := r.Scan(&id, &n); err != nil {
			return err
		}
		out[id] = int64(n)
		return nil
	})
	return out, err
}

// activityCountsInMemory is activityCounts from the actCube.
func (s *Service) activityCountsInMemory(ctx context.Context, f Filter) (map[string]int64, error) {
	c, err := s.actCube(ctx)
	if err != nil {
		return nil, err
	}
	keep := func(id string) bool { return selects(f.Rep, id) }
	if len(f.Team)+len(f.Manager)+len(f.Territory) > 0 {
		reps, err := s.repDims(ctx)
		if err != nil {
			return nil, err
		}
		in := map[string]bool{}
		for _, r := range reps {
			if selects(f.Team, r.team) && selects(f.Manager, r.manager) && selects(f.Territory, r.territory) {
				in[r.id] = true
			}
		}
		keep = func(id string) bool { return selects(f.Rep, id) && in[id] }
	}
	return c.counts(f, keep), nil
}

// withOwnerStubs adds to the reps rows a rep for each owner of deals the reps
// table lacks (an opportunity export loaded without a reps file): named as the
// deals write the owner, without team, manager or territory. A reps row always
// wins, whenever it was loaded: the stub exists only while no row does.
func withOwnerStubs(reps []repDim, stats map[string]*repStats) []repDim {
	known := make(map[string]bool, len(reps))
	for _, r := range reps {
		known[r.id] = true
	}
	var stubs []repDim
	for id := range stats {
		if id != NoRep && !known[id] {
			stubs = append(stubs, repDim{id: id, name: id, role: "rep"})
		}
	}
	if len(stubs) == 0 {
		return reps
	}
	sort.Slice(stubs, func(i, j int) bool { return stubs[i].id < stubs[j].id })
	return append(append([]repDim(nil), reps...), stubs...)
}
