package gen

import (
	"cmp"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Stages in generator order: 0 lost, 1..4 open (lead, qualified, proposal,
// negotiation), 5 won.
const (
	stLost = 0
	stWon  = 5
)

var stageNames = [6]string{"lost", "lead", "qualified", "proposal", "negotiation", "won"}
var stageRanks = [6]uint8{0, 1, 2, 3, 4, 100}
var stageCN = [6]string{"输单", "线索", "需求确认", "方案/报价", "谈判", "赢单"}
var stageProb = [6]float32{0, 0.1, 0.25, 0.5, 0.75, 1}

// baseConv is the peer conversion from each open stage to the next (the last: to won).
var baseConv = [4]float64{0.62, 0.68, 0.60, 0.50}

// stageMedianDays is the typical time spent in each open stage.
var stageMedianDays = [5]float64{0, 6, 12, 16, 12}

const (
	blockSize     = 4096
	day           = 86400
	snapshotCount = 8   // weekly exports: two months of close-date and amount history
	weakFactor    = 0.4 // the weak rep's conversion at the planted stage, relative to peers
	weakStage     = 3   // proposal -> negotiation
	dropKeep      = 0.15
	// The shift team keeps this share of its wins from shiftWeeks before the
	// export on: a win rate near 13% falls below 3% for two months, which a
	// team closing 40-60 deals a week shows far beyond noise.
	shiftWinKeep  = 0.2
	shiftWeeks    = 8
	leadSpikeMult = 6.0
	// Natural stays, pushes and cuts have tails through and past what the deal
	// rules call stuck, pushed and cut: a natural deal may meet a rule's
	// definition, and a planted one is drawn from inside those tails. The
	// planted stuck deal has sat between stuckMinDays and stuckMaxDays in its
	// stage (natural stalls reach past both); the planted pushed deal was
	// pushed 4 to plantedMaxPushes times (natural deals, rarely, as often);
	// the planted cut keeps cutKeepMin to cutKeepMax of its amount (a natural
	// cut keeps 5% to 90%, most of them more than 80%).
	stuckMinDays, stuckMaxDays = 150, 300
	plantedMaxPushes           = 6
	cutKeepMin, cutKeepMax     = 0.2, 0.38
	// leadLagDays: a converted lead was created 1..leadLagDays days before its
	// opportunity.
	leadLagDays = 20
)

// naturalPushCum is the distribution of close-date pushes of a natural deal
// over the snapshot history: most never or once, a few twice, rarely three
// times or more, up to every week.
var naturalPushCum = cum([]float64{0.72, 0.205, 0.06, 0.011, 0.0028, 0.0008, 0.0003, 0.0001})

type generator struct {
	cfg     resolved
	org     *org
	planted bool

	fromUnix, endUnix, asOfUnix int64
	days                        int
	dayCum                      []float64
	prodCum, srcCNCum, srcInCum []float64
	snapDates                   [snapshotCount]int64 // unix seconds, midnight UTC
	q0                          int                  // quarter number of from: year*4 + quarter
	nq                          int
	year                        int

	// Planted truths.
	weakRep                   *rep
	dropTeam, shiftTeam       int
	dropStart, dropEnd        int // day indexes [start, end)
	shiftStart                int64
	spikeTerr, untappedTerr   int
	spikeDay                  int
	stuckIdx, pushIdx, cutIdx int
	stuckDays, pushes         int     // the planted stuck deal's days in stage; the pushed deal's pushes
	cutKeep                   float64 // the share of its amount the planted cut deal keeps

	// Aggregates, merged in block order.
	wonTerrSeg [][3]float64 // won amount closed in the market year
	wonRepQ    [][]float64
	leadsTerr  []int
	rows       [numTables]int
	deals      []PlantedDeal
	open       []OpenDeal
}

func mix(x uint64) uint64 { // splitmix64
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (g *generator) rng(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(uint64(g.cfg.Seed)), mix(stream^0x5ca1ab1e)))
}

func cum(ws []float64) []float64 {
	out := make([]float64, len(ws))
	s := 0.0
	for i, w := range ws {
		s += w
		out[i] = s
	}
	return out
}

// dayWeight is the relative number of opportunities and leads created on day i
// of a history of days days starting at from.
func dayWeight(from int64, i, days int) float64 {
	w := 1.0
	switch time.Unix(from+int64(i)*day, 0).UTC().Weekday() {
	case time.Saturday:
		w = 0.15
	case time.Sunday:
		w = 0.1
	}
	return w * (1 + 0.35*float64(i)/float64(days)) // the business grows
}

func newGenerator(cfg resolved) *generator {
	g := &generator{cfg: cfg, planted: !cfg.NoAnomalies}
	g.fromUnix, g.endUnix, g.asOfUnix = cfg.from.Unix(), cfg.end.Unix(), cfg.AsOf.Unix()
	g.days = int((g.endUnix - g.fromUnix) / day)
	for i := 0; i < g.days; i++ {
		g.dayCum = append(g.dayCum, dayWeight(g.fromUnix, i, g.days))
	}
	g.dayCum = cum(g.dayCum)
	pw := make([]float64, len(products))
	for i, p := range products {
		pw[i] = p.weight
	}
	g.prodCum, g.srcCNCum, g.srcInCum = cum(pw), cum(sourcesCNWeights), cum(sourcesIntlWeights)
	for k := 0; k < snapshotCount; k++ {
		g.snapDates[k] = g.asOfUnix - int64(7*(snapshotCount-1-k))*day
	}
	g.q0 = quarterNum(g.fromUnix)
	g.nq = quarterNum(g.asOfUnix) - g.q0 + 1
	g.year = cfg.AsOf.Year()

	r := g.rng(1 << 40)
	g.org = buildOrg(r, cfg.spec, cfg.AsOf)
	nAcc := max(200, min(cfg.spec.opps/8, 60000+cfg.spec.opps/40))
	g.org.buildAccounts(r, nAcc)
	g.wonTerrSeg = make([][3]float64, len(territories))
	g.leadsTerr = make([]int, len(territories))
	g.wonRepQ = make([][]float64, len(g.org.reps))
	for i := range g.wonRepQ {
		g.wonRepQ[i] = make([]float64, g.nq)
	}
	g.dropTeam, g.shiftTeam, g.spikeTerr, g.untappedTerr = -1, -1, -1, -1
	g.stuckIdx, g.pushIdx, g.cutIdx = -1, -1, -1
	if g.planted {
		g.plan(r)
	}
	return g
}

// plan picks the planted truths from the org.
func (g *generator) plan(r *rand.Rand) {
	var cn []int // teams in Chinese territories
	for i, t := range g.org.teams {
		if !territories[t.terrs[0]].intl {
			cn = append(cn, i)
		}
	}
	perm := r.Perm(len(cn))
	g.dropTeam = cn[perm[0]]
	weakTeam := cn[perm[2%len(perm)]]
	g.shiftTeam = g.pickShiftTeam(r, cn, weakTeam)
	var cands []*rep
	for _, p := range g.org.reps {
		if p.team == weakTeam {
			cands = append(cands, p)
		}
	}
	// The team's rep with the most selling capacity as drawn (enough deals past the
	// weak stage to tell), weak at one stage: conversion out of proposal at
	// weakFactor of the peers' average (1). Every other trait stays as drawn, like
	// any rep's, so the rep has natural strengths and weaknesses a scorecard may
	// also find; Truth.WeakRep.Traits records them.
	w := slices.MaxFunc(cands, func(a, b *rep) int { return cmp.Compare(a.capacity, b.capacity) })
	w.mult[weakStage-1] = weakFactor
	g.weakRep = w

	// A Monday about six weeks back: opportunities opened by the drop team collapse for a week.
	dropDay := g.cfg.AsOf.AddDate(0, 0, -42)
	dropDay = dropDay.AddDate(0, 0, -((int(dropDay.Weekday()) + 6) % 7))
	g.dropStart = int((dropDay.Unix() - g.fromUnix) / day)
	g.dropEnd = g.dropStart + 7
	// The shift team's win rate falls from a Monday shiftWeeks back to the end.
	shift := g.cfg.AsOf.AddDate(0, 0, -7*shiftWeeks)
	shift = shift.AddDate(0, 0, -((int(shift.Weekday()) + 6) % 7))
	g.shiftStart = shift.Unix()
	// A working day about three weeks back: one territory's leads spike.
	spike := g.cfg.AsOf.AddDate(0, 0, -19)
	for spike.Weekday() == time.Saturday || spike.Weekday() == time.Sunday {
		spike = spike.AddDate(0, 0, -1)
	}
	g.spikeDay = int((spike.Unix() - g.fromUnix) / day)
	spikeCands := []int{0, 1, 2, 3, 6}      // 上海 江苏 浙江 北京 广东
	untappedCands := []int{4, 7, 8, 11, 13} // 山东 福建 四川 湖北 河南
	g.spikeTerr = spikeCands[r.IntN(len(spikeCands))]
	g.untappedTerr = untappedCands[r.IntN(len(untappedCands))]
	if g.dropStart < 0 || g.spikeDay < 0 || g.shiftStart < g.fromUnix {
		g.dropTeam, g.shiftTeam, g.spikeTerr = -1, -1, -1 // history too short to plant anomalies
	}
	if n := g.cfg.spec.opps; n >= 100 {
		// Each planted deal needs its history (up to stuckMaxDays+40 days) inside the range.
		room := (g.asOfUnix - g.fromUnix) / day
		a, b, c := n/5+r.IntN(n/10), n/2+r.IntN(n/10), 4*n/5+r.IntN(n/10)
		if room >= stuckMaxDays+40 {
			g.stuckIdx = a
		}
		if room >= 110 {
			g.pushIdx, g.cutIdx = b, c
		}
	}
	g.stuckDays = stuckMinDays + r.IntN(stuckMaxDays-stuckMinDays+1)
	g.pushes = 4 + r.IntN(plantedMaxPushes-3)
	g.cutKeep = cutKeepMin + (cutKeepMax-cutKeepMin)*r.Float64()
}

// pickShiftTeam picks the team whose win rate falls: one of the larger half of
// the Chinese teams by selling capacity (a change in a team that closes a
// handful of deals a week is not one a manager could be told about with
// confidence), not the drop team, and not the weak rep's team when there is a
// choice (its late-stage conversion must stay ordinary).
func (g *generator) pickShiftTeam(r *rand.Rand, cn []int, weakTeam int) int {
	capOf := make(map[int]float64, len(cn))
	for _, p := range g.org.reps {
		capOf[p.team] += p.capacity
	}
	var cands []int
	for _, avoidWeak := range []bool{true, false} {
		cands = cands[:0]
		for _, t := range cn {
			if t != g.dropTeam && (!avoidWeak || t != weakTeam) {
				cands = append(cands, t)
			}
		}
		if len(cands) > 0 {
			break
		}
	}
	if len(cands) == 0 {
		return cn[0]
	}
	sort.SliceStable(cands, func(i, j int) bool { return capOf[cands[i]] > capOf[cands[j]] })
	return cands[r.IntN((len(cands)+1)/2)]
}

func quarterNum(unix int64) int {
	y, m, _ := civil(unix)
	return y*4 + (m-1)/3
}

func quarterStart(q int) time.Time {
	return time.Date(q/4, time.Month(q%4*3+1), 1, 0, 0, 0, 0, time.UTC)
}

// block is a run of opportunities (or the static org / final tail) and every row
// that belongs to them.
type block struct {
	idx    int
	lo, hi int
	chunks [numTables]*Chunk
	out    [numTables][]byte // formatted by a worker hook
	err    error

	wonTerrSeg [][3]float64
	wonRepQ    map[int][]float64 // by rep idx; only reps with wins in the block
	leadsTerr  []int
	deals      []PlantedDeal
	open       []OpenDeal
}

type hook func(b *block) error

// run generates every block, calls work on each (concurrently, any order), then
// ordered on each in output order, and returns the truth.
func (g *generator) run(ctx context.Context, work, ordered hook) (*Truth, error) {
	static := &block{idx: -1}
	static.chunks[tReps] = g.org.repChunk()
	static.chunks[tAccounts] = mergeChunks(g.org.accountChunks(len(g.org.accounts)))
	if err := g.finish(static, work, ordered); err != nil {
		return nil, err
	}

	n := g.cfg.spec.opps
	nb := (n + blockSize - 1) / blockSize
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slots := make([]chan *block, nb)
	for i := range slots {
		slots[i] = make(chan *block, 1)
	}
	workers := g.cfg.Workers
	sem := make(chan struct{}, 2*workers+2)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				// Take a slot before a block index, so the blocks holding slots are always
				// the oldest unconsumed ones and the consumer cannot starve.
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(next.Add(1) - 1)
				if i >= nb {
					<-sem
					return
				}
				b := g.genBlock(i)
				if work != nil && b.err == nil {
					b.err = work(b)
				}
				slots[i] <- b
			}
		}()
	}
	defer wg.Wait()
	for i := 0; i < nb; i++ {
		var b *block
		select {
		case b = <-slots[i]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		<-sem
		if b.err != nil {
			cancel()
			return nil, b.err
		}
		g.merge(b)
		if ordered != nil {
			if err := ordered(b); err != nil {
				cancel()
				return nil, err
			}
		}
	}
	tail, truth := g.tail()
	if err := g.finish(tail, work, ordered); err != nil {
		return nil, err
	}
	for t := range g.rows {
		truth.Rows[tables[t].Name] = g.rows[t]
	}
	return truth, nil
}

func (g *generator) finish(b *block, work, ordered hook) error {
	for t, c := range b.chunks {
		if c != nil {
			g.rows[t] += c.Len
		}
	}
	if work != nil {
		if err := work(b); err != nil {
			return err
		}
	}
	if ordered != nil {
		return ordered(b)
	}
	return nil
}

func (g *generator) merge(b *block) {
	for t, c := range b.chunks {
		if c != nil {
			g.rows[t] += c.Len
		}
	}
	for t := range b.wonTerrSeg {
		for s := range 3 {
			g.wonTerrSeg[t][s] += b.wonTerrSeg[t][s]
		}
		g.leadsTerr[t] += b.leadsTerr[t]
	}
	for ri := range g.wonRepQ { // rep order, not map order, for reproducible sums
		if qs, ok := b.wonRepQ[ri]; ok {
			for q, v := range qs {
				g.wonRepQ[ri][q] += v
			}
		}
	}
	g.deals = append(g.deals, b.deals...)
	g.open = append(g.open, b.open...)
}

func mergeChunks(cs []*Chunk) *Chunk {
	if len(cs) == 1 {
		return cs[0]
	}
	panic("gen: mergeChunks wants one chunk")
}

// oppState is the scratch for one opportunity.
type oppState struct {
	path  []int
	evS   []int
	evT   []int64
	snapE [snapshotCount]int64
	snapA [snapshotCount]float64
}

func roundTo(x, unit float64) float64 { return math.Round(x/unit) * unit }

// at returns a time on the day of unix, inside the territory's business hours.
func workTime(r *rand.Rand, unix int64, t *territory) int64 {
	return unix - unix%day + int64(t.workStartUTC)*3600 + int64(r.IntN(9*3600))
}

func (g *generator) pickCreated(r *rand.Rand, p *rep, opp bool) int64 {
	for try := 0; ; try++ {
		d := pickCum(r, g.dayCum)
		if opp && p.team == g.dropTeam && d >= g.dropStart && d < g.dropEnd && try < 30 && r.Float64() > dropKeep {
			continue
		}
		return workTime(r, g.fromUnix+int64(d)*day, &territories[p.terr])
	}
}

// advance returns when a deal leaves stage s entered at t.
func (g *generator) advance(r *rand.Rand, t int64, s int, p *rep, tr *territory) int64 {
	days := stageMedianDays[s] * p.cycle * math.Exp(0.6*r.NormFloat64())
	if r.Float64() < 0.04 {
		days *= 4 // a stall
	}
	next := workTime(r, t+int64(days*day), tr)
	if next <= t+60 {
		next = t + 60 + int64(r.IntN(3600))
	}
	return next
}

func (g *generator) genBlock(bi int) *block {
	b := &block{idx: bi, lo: bi * blockSize, hi: min((bi+1)*blockSize, g.cfg.spec.opps)}
	b.wonTerrSeg = make([][3]float64, len(territories))
	b.leadsTerr = make([]int, len(territories))
	b.wonRepQ = map[int][]float64{}
	r := g.rng(uint64(bi))
	n := b.hi - b.lo
	var (
		or  oppRows
		er  eventRows
		sr  snapshotRows
		lr  leadRows
		ar  activityRows
		st  oppState
		buf []byte
	)
	or.grow(n)
	er.grow(n * 4)
	lr.grow(n*2 + n/2)
	ar.grow(n*3 + n/4)
	sr.grow(n / 2)
	for i := b.lo; i < b.hi; i++ {
		g.genOpp(r, i, b, &st, &or, &er, &sr, &lr, &ar, &buf)
	}
	// Leads that never became opportunities.
	nu := n * 3 / 2
	for j := 0; j < nu; j++ {
		p := g.org.pickRep(r)
		tr := &territories[p.terr]
		created := g.pickCreated(r, p, false)
		acct := ""
		if r.IntN(5) < 2 {
			accts := g.org.terrAccts[p.terr]
			acct = g.org.accounts[accts[r.IntN(len(accts))]].id
		}
		status := "disqualified"
		switch {
		case created >= g.asOfUnix-30*day:
			status = "open"
		case r.IntN(10) < 3:
			status = "nurturing"
		}
		buf = append(buf[:0], "LU-"...)
		buf = appendPad(buf, bi, 5)
		buf = append(buf, '-')
		buf = appendPad(buf, j+1, 5)
		lr.add(string(buf), created, g.source(r, tr), p.id, acct, tr.name, status, 0, 0, "")
		b.leadsTerr[p.terr]++
	}
	b.chunks[tOpps] = or.chunk()
	b.chunks[tEvents] = er.chunk()
	b.chunks[tSnapshots] = sr.chunk()
	b.chunks[tLeads] = lr.chunk()
	b.chunks[tActivities] = ar.chunk()
	return b
}

func (g *generator) source(r *rand.Rand, tr *territory) string {
	if tr.intl {
		return sourcesIntl[pickCum(r, g.srcInCum)]
	}
	return sourcesCN[pickCum(r, g.srcCNCum)]
}

var activityTypes = []string{"call", "email", "meeting", "visit"}
var activityCumCN = cum([]float64{0.4, 0.3, 0.18, 0.12})
var activityCumIntl = cum([]float64{0.35, 0.4, 0.2, 0.05})

func (g *generator) genOpp(r *rand.Rand, i int, b *block, st *oppState, or *oppRows, er *eventRows, sr *snapshotRows, lr *leadRows, ar *activityRows, buf *[]byte) {
	p := g.org.pickRep(r)
	tr := &territories[p.terr]
	accts := g.org.terrAccts[p.terr]
	a := &g.org.accounts[accts[r.IntN(len(accts))]]
	created := g.pickCreated(r, p, true)
	prod := &products[pickCum(r, g.prodCum)]
	amount := prod.base * segAmountMult[a.seg] * p.size * math.Exp(0.35*r.NormFloat64())
	if tr.intl {
		amount *= usdPerCNY
	}
	amount = math.Max(1000, roundTo(amount, 100))
	source := g.source(r, tr)

	// Outcome first (furthest stage by per-rep conversions), then the path to it.
	start := 1
	if r.Float64() < 0.12 {
		start = 2
	}
	furthest, won := start, false
	for s := start; s <= 4; s++ {
		if r.Float64() >= baseConv[s-1]*p.mult[s-1] {
			break
		}
		if s == 4 {
			won = true
		} else {
			furthest = s + 1
		}
	}
	path := append(st.path[:0], start)
	for s := start + 1; s <= furthest; s++ {
		if s < furthest && r.Float64() < 0.07 {
			continue // skipped stage: counts as passed
		}
		path = append(path, s)
		if s >= 3 && r.Float64() < 0.05 {
			path = append(path, s-1, s) // a regression and a recovery
		}
	}
	st.path = path
	evS, evT := st.evS[:0], st.evT[:0]
	t := created
	for j, s := range path {
		if j > 0 {
			t = g.advance(r, t, path[j-1], p, tr)
		}
		evS, evT = append(evS, s), append(evT, t)
	}
	terminal := stLost
	if won {
		terminal = stWon
	}
	evS, evT = append(evS, terminal), append(evT, g.advance(r, t, path[len(path)-1], p, tr))

	kind := ""
	switch i {
	case g.stuckIdx:
		kind = "stuck"
	case g.pushIdx:
		kind = "pushed"
	case g.cutIdx:
		kind = "cut"
	}
	if kind != "" {
		evS, evT, created, amount = g.plantedPath(r, kind, tr, evS[:0], evT[:0], amount)
	}
	// Cut at the export: later events have not happened yet.
	k := len(evT)
	for k > 0 && evT[k-1] >= g.endUnix {
		k--
	}
	evS, evT = evS[:k], evT[:k]
	last := evS[k-1]
	closed := last == stLost || last == stWon
	if closed && last == stWon && p.team == g.shiftTeam && evT[k-1] >= g.shiftStart && r.Float64() > shiftWinKeep {
		evS[k-1], last = stLost, stLost
	}
	won = last == stWon
	st.evS, st.evT = evS, evT

	var closeDate int64
	if closed {
		closeDate = evT[k-1] - evT[k-1]%day
	} else {
		closeDate = evT[k-1] - evT[k-1]%day + int64(10+r.IntN(66))*day
		if closeDate < g.asOfUnix+2*day {
			closeDate = g.asOfUnix + int64(2+r.IntN(58))*day
		}
	}

	// Snapshot history, backwards from the export: close dates pushed out, amounts cut.
	st.snapA[snapshotCount-1], st.snapE[snapshotCount-1] = amount, closeDate
	forecast := closeDate + int64(r.IntN(24)-3)*day // what a closed deal was expected to close on
	// Pushes as naturalPushCum says, and one cut in seven deals, each between
	// two consecutive snapshots (transition s: from snapshot s-1 to s). A cut
	// takes 10% to 95% of the amount: most near a fifth, one in twelve more
	// than 60%.
	var pushAt [snapshotCount]bool
	for n := pickCum(r, naturalPushCum); n > 0; {
		if k := 1 + r.IntN(snapshotCount-1); !pushAt[k] {
			pushAt[k] = true
			n--
		}
	}
	cutAt := -1
	if r.Float64() < 0.15 {
		cutAt = 1 + r.IntN(snapshotCount-1)
	}
	for s := snapshotCount - 2; s >= 0; s-- {
		st.snapA[s] = st.snapA[s+1]
		if s+1 == cutAt {
			st.snapA[s] = roundTo(st.snapA[s+1]/(1-0.1-0.85*math.Pow(r.Float64(), 6)), 100)
		}
		if closed {
			st.snapE[s] = forecast
		} else {
			st.snapE[s] = st.snapE[s+1]
			if pushAt[s+1] {
				st.snapE[s] -= int64(14+r.IntN(32)) * day
			}
		}
	}
	if kind != "" {
		g.plantedSnapshots(kind, st, &closeDate, &amount)
		d := PlantedDeal{Kind: kind, OpportunityID: oppID(i), Stage: stageNames[last]}
		switch kind {
		case "stuck":
			d.DaysInStage = int((g.endUnix - evT[k-1]) / day)
		case "pushed":
			for j, e := range st.snapE {
				d.CloseDates = append(d.CloseDates, dateString(e))
				if j > 0 && e > st.snapE[j-1] {
					d.Pushes++
				}
			}
		case "cut":
			d.AmountBefore, d.AmountAfter = st.snapA[snapshotCount-2], st.snapA[snapshotCount-1]
		}
		b.deals = append(b.deals, d)
	}

	id := oppID(i)
	name := a.short + " - " + prod.name
	lostReason := ""
	if last == stLost {
		if tr.intl {
			lostReason = lostReasonsEN[r.IntN(len(lostReasonsEN))]
		} else {
			lostReason = lostReasonsCN[r.IntN(len(lostReasonsCN))]
		}
	}
	or.add(id, name, a.id, p.id, prod.name, source, last, amount, tr.currency, created, closeDate, closed, lostReason, g.asOfUnix)
	for j := range evS {
		er.add(id, evS[j], evT[j])
	}
	if won && closeDate >= g.fromUnix {
		if y, _, _ := civil(closeDate); y == g.year {
			b.wonTerrSeg[a.terr][a.seg] += amount
		}
		q := quarterNum(closeDate) - g.q0
		if q >= 0 && q < g.nq {
			qs := b.wonRepQ[p.idx-g.firstRepIdx()]
			if qs == nil {
				qs = make([]float64, g.nq)
				b.wonRepQ[p.idx-g.firstRepIdx()] = qs
			}
			qs[q] += amount
		}
	}

	// Weekly snapshots: open deals, and deals closed in the four weeks before.
	var od *OpenDeal
	if g.cfg.OpenDeals && !closed {
		b.open = append(b.open, OpenDeal{OpportunityID: id, OwnerID: p.id, Stage: stageNames[last], StageEntered: time.Unix(evT[k-1], 0).UTC()})
		od = &b.open[len(b.open)-1]
	}
	for s := 0; s < snapshotCount; s++ {
		cut := g.snapDates[s] + day
		if created >= cut {
			continue
		}
		j := 0
		for j+1 < len(evT) && evT[j+1] < cut {
			j++
		}
		ss := evS[j]
		sClosed := ss == stLost || ss == stWon
		ce := st.snapE[s]
		if sClosed {
			if evT[j] < cut-28*day {
				continue
			}
			ce = evT[j] - evT[j]%day
		}
		sr.add(g.snapDates[s], id, p.id, a.id, prod.name, ss, st.snapA[s], tr.currency, ce, sClosed, ss == stWon)
		if od != nil {
			od.SnapDates = append(od.SnapDates, dateString(g.snapDates[s]))
			od.SnapClose = append(od.SnapClose, dateString(ce))
			od.SnapAmount = append(od.SnapAmount, st.snapA[s])
		}
	}

	// The lead it came from.
	if r.Float64() < 0.65 {
		lc := workTime(r, created-int64(r.IntN(leadLagDays)+1)*day, tr)
		if lc >= created {
			lc = created - 3600
		}
		*buf = append(append((*buf)[:0], "LD-"...), id[4:]...)
		lr.add(string(*buf), lc, source, p.id, a.id, tr.name, "converted", 1, created, id)
		b.leadsTerr[p.terr]++
	}

	// Activities over the deal's life.
	end := g.endUnix
	if closed {
		end = evT[k-1]
	}
	life := end - created
	lambda := math.Min(14, p.act*(0.8+float64(life)/day/20))
	nAct := poisson(r, lambda)
	acum := activityCumCN
	if tr.intl {
		acum = activityCumIntl
	}
	for j := 0; j < nAct; j++ {
		typ := pickCum(r, acum)
		at := created + int64(r.Float64()*float64(life))
		var dur uint32
		switch typ {
		case 0:
			dur = uint32(3 + r.IntN(28))
		case 2:
			dur = uint32(30 + 15*r.IntN(5))
		case 3:
			dur = uint32(60 + 30*r.IntN(5))
		}
		*buf = append(append((*buf)[:0], "ACT-"...), id[4:]...)
		*buf = append(*buf, '-')
		*buf = appendPad(*buf, j+1, 2)
		ar.add(string(*buf), activityTypes[typ], p.id, id, a.id, at, dur)
	}
}

func (g *generator) firstRepIdx() int { return g.org.reps[0].idx }

func oppID(i int) string { return "OPP-" + pad(i+1, 8) }

func poisson(r *rand.Rand, lambda float64) int {
	l, k, p := math.Exp(-lambda), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// plantedPath replaces a deal's history with the planted one.
func (g *generator) plantedPath(r *rand.Rand, kind string, tr *territory, evS []int, evT []int64, amount float64) ([]int, []int64, int64, float64) {
	at := func(daysBack int) int64 { return workTime(r, g.asOfUnix-int64(daysBack)*day, tr) }
	var created int64
	switch kind {
	case "stuck": // in proposal for g.stuckDays
		created = at(g.stuckDays + 40)
		evS = append(evS, 1, 2, 3)
		evT = append(evT, created, at(g.stuckDays+22), at(g.stuckDays))
	case "pushed":
		created = at(110)
		evS = append(evS, 1, 2, 3, 4)
		evT = append(evT, created, at(98), at(80), at(45))
	case "cut":
		created = at(80)
		evS = append(evS, 1, 2, 3, 4)
		evT = append(evT, created, at(72), at(55), at(30))
		amount = roundTo(amount*2, 100)
	}
	return evS, evT, created, amount
}

func (g *generator) plantedSnapshots(kind string, st *oppState, closeDate *int64, amount *float64) {
	switch kind {
	case "stuck":
		for s := range st.snapE {
			st.snapE[s], st.snapA[s] = g.asOfUnix+30*day, *amount
		}
	case "pushed":
		// Pushed again each time it came due: g.pushes later close dates
		// over the weekly exports, each a week or more beyond its export.
		close := g.snapDates[0] + 14*day
		held := snapshotCount - 1 - g.pushes // transitions without a push
		for s := range st.snapE {
			if s > 0 {
				if s <= held {
					close = max(close, g.snapDates[s]+7*day)
				} else {
					close += 14 * day
				}
			}
			st.snapE[s], st.snapA[s] = close, *amount
		}
	case "cut": // cut to g.cutKeep in the last week
		for s := range st.snapE {
			st.snapE[s], st.snapA[s] = g.asOfUnix+25*day, *amount
		}
		st.snapA[snapshotCount-1] = roundTo(*amount*g.cutKeep, 100)
	}
	*closeDate, *amount = st.snapE[snapshotCount-1], st.snapA[snapshotCount-1]
}

func mkS[T any](n int) []T { return make([]T, 0, n) }

func (r *oppRows) grow(n int) {
	r.id, r.name, r.account, r.owner, r.product = mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n)
	r.pipeline, r.source, r.stage, r.vstage, r.currency = mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n)
	r.lostReason, r.sys, r.amount, r.prob = mkS[string](n), mkS[string](n), mkS[float64](n), mkS[float32](n)
	r.created, r.closeDate, r.snapshot = mkS[time.Time](n), mkS[time.Time](n), mkS[time.Time](n)
	r.closed, r.won = mkS[uint8](n), mkS[uint8](n)
}

func (r *oppRows) add(id, name, account, owner, product, source string, stage int, amount float64, currency string, created, closeDate int64, closed bool, lostReason string, snapshot int64) {
	r.id = append(r.id, id)
	r.name = append(r.name, name)
	r.account = append(r.account, account)
	r.owner = append(r.owner, owner)
	r.product = append(r.product, product)
	r.pipeline = append(r.pipeline, "default")
	r.source = append(r.source, source)
	r.stage = append(r.stage, stageNames[stage])
	r.vstage = append(r.vstage, stageCN[stage])
	r.amount = append(r.amount, amount)
	r.currency = append(r.currency, currency)
	r.prob = append(r.prob, stageProb[stage])
	r.created = append(r.created, unixTime(created))
	r.closeDate = append(r.closeDate, unixTime(closeDate))
	r.closed = append(r.closed, b2u(closed))
	r.won = append(r.won, b2u(stage == stWon))
	r.lostReason = append(r.lostReason, lostReason)
	r.snapshot = append(r.snapshot, unixTime(snapshot))
	r.sys = append(r.sys, sourceSystem)
}

func (r *eventRows) grow(n int) {
	r.opp, r.stage, r.rank = make([]string, 0, n), make([]string, 0, n), make([]uint8, 0, n)
	r.vstage, r.entered, r.origin = make([]string, 0, n), make([]time.Time, 0, n), make([]string, 0, n)
}

func (r *eventRows) add(opp string, stage int, t int64) {
	r.opp = append(r.opp, opp)
	r.stage = append(r.stage, stageNames[stage])
	r.rank = append(r.rank, stageRanks[stage])
	r.vstage = append(r.vstage, stageCN[stage])
	r.entered = append(r.entered, unixTime(t))
	r.origin = append(r.origin, "history")
}

func (r *snapshotRows) grow(n int) {
	r.date, r.closeDate = mkS[time.Time](n), mkS[time.Time](n)
	r.opp, r.owner, r.account, r.product, r.stage, r.currency = mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n)
	r.amount, r.closed, r.won = mkS[float64](n), mkS[uint8](n), mkS[uint8](n)
}

func (r *snapshotRows) add(date int64, opp, owner, account, product string, stage int, amount float64, currency string, closeDate int64, closed, won bool) {
	r.date = append(r.date, unixTime(date))
	r.opp = append(r.opp, opp)
	r.owner = append(r.owner, owner)
	r.account = append(r.account, account)
	r.product = append(r.product, product)
	r.stage = append(r.stage, stageNames[stage])
	r.amount = append(r.amount, amount)
	r.currency = append(r.currency, currency)
	r.closeDate = append(r.closeDate, unixTime(closeDate))
	r.closed = append(r.closed, b2u(closed))
	r.won = append(r.won, b2u(won))
}

func (r *leadRows) grow(n int) {
	r.id, r.source, r.owner, r.account, r.territory = mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n)
	r.status, r.opp, r.sys = mkS[string](n), mkS[string](n), mkS[string](n)
	r.created, r.convertedAt, r.converted = mkS[time.Time](n), mkS[time.Time](n), mkS[uint8](n)
}

func (r *leadRows) add(id string, created int64, source, owner, account, territory, status string, converted uint8, convertedAt int64, opp string) {
	r.id = append(r.id, id)
	r.created = append(r.created, unixTime(created))
	r.source = append(r.source, source)
	r.owner = append(r.owner, owner)
	r.account = append(r.account, account)
	r.territory = append(r.territory, territory)
	r.status = append(r.status, status)
	r.converted = append(r.converted, converted)
	r.convertedAt = append(r.convertedAt, unixTime(convertedAt))
	r.opp = append(r.opp, opp)
	r.sys = append(r.sys, sourceSystem)
}

func (r *activityRows) grow(n int) {
	r.id, r.typ, r.rep, r.opp, r.account, r.sys = mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n), mkS[string](n)
	r.occurred, r.duration = mkS[time.Time](n), mkS[uint32](n)
}

func (r *activityRows) add(id, typ, rep, opp, account string, at int64, dur uint32) {
	r.id = append(r.id, id)
	r.typ = append(r.typ, typ)
	r.rep = append(r.rep, rep)
	r.opp = append(r.opp, opp)
	r.account = append(r.account, account)
	r.occurred = append(r.occurred, unixTime(at))
	r.duration = append(r.duration, dur)
	r.sys = append(r.sys, sourceSystem)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }
