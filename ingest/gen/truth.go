package gen

import (
	"math"
	"math/rand/v2"
	"time"
)

// Truth is what the generator planted, written as truth.json. Dates are YYYY-MM-DD
// in UTC; End dates are exclusive.
type Truth struct {
	Seed          int64          `json:"seed"`
	Size          string         `json:"size"`
	Opportunities int            `json:"opportunities"`
	From          string         `json:"from"`  // first day of history
	AsOf          string         `json:"as_of"` // export date, the last day with data
	NoAnomalies   bool           `json:"no_anomalies"`
	SnapshotDates []string       `json:"snapshot_dates"`
	Rows          map[string]int `json:"rows"` // rows written per canonical table

	WeakRep   *WeakRep        `json:"weak_rep,omitempty"`
	Untapped  *UntappedRegion `json:"untapped_territory,omitempty"`
	Anomalies []Anomaly       `json:"anomalies"`
	Deals     []PlantedDeal   `json:"deals"`
	// OpenDeals is every deal open at the export, when Config.OpenDeals asks:
	// what the deal rules read, for judging them by their definitions.
	OpenDeals []OpenDeal `json:"open_deals,omitempty"`
}

// OpenDeal is a deal open at the export as the generator made it: its stage
// and when it entered it, and its rows in the weekly snapshots.
type OpenDeal struct {
	OpportunityID string    `json:"opportunity_id"`
	OwnerID       string    `json:"owner_id"`
	Stage         string    `json:"stage"`
	StageEntered  time.Time `json:"stage_entered"`
	// One entry per snapshot the deal is in, oldest first.
	SnapDates  []string  `json:"snapshot_dates"`
	SnapClose  []string  `json:"snapshot_close_dates"`
	SnapAmount []float64 `json:"snapshot_amounts"`
}

// WeakRep is a rep whose conversion from FromStage to ToStage is Factor times the
// peers' average. Its other traits are drawn as every rep's are; Traits says
// where they put the rep against the others.
type WeakRep struct {
	RepID     string    `json:"rep_id"`
	Name      string    `json:"name"`
	Team      string    `json:"team"`
	FromStage string    `json:"from_stage"`
	ToStage   string    `json:"to_stage"`
	Factor    float64   `json:"factor"`
	Traits    RepTraits `json:"traits"`
}

// RepTraits are a rep's traits as the generator drew them, each relative to the
// other reps' average weighted by how many opportunities they are given (1 is
// the average): what the rep's numbers would tend to with unlimited deals.
type RepTraits struct {
	// Conversion out of lead, qualified, proposal and negotiation.
	Conversion [4]float64 `json:"conversion"`
	DealSize   float64    `json:"deal_size"`
	// Pace scales the rep's days in every stage, so cycle time too (above 1 is slower).
	Pace float64 `json:"pace"`
	// Activity is the rep's activities per deal for a deal of the same length.
	Activity float64 `json:"activity"`
	// Capacity is the rep's share of the opportunities created, against the
	// other reps' (unweighted) average.
	Capacity float64 `json:"capacity"`
}

// traitsOf is w's traits against every other rep of o.
func traitsOf(w *rep, o *org) RepTraits {
	var n, sum float64
	var mult [4]float64
	var size, pace, act float64
	for _, p := range o.reps {
		if p == w {
			continue
		}
		c := p.capacity
		n++
		sum += c
		for k := range mult {
			mult[k] += c * p.mult[k]
		}
		size, pace, act = size+c*p.size, pace+c*p.cycle, act+c*p.act
	}
	t := RepTraits{DealSize: w.size / (size / sum), Pace: w.cycle / (pace / sum),
		Activity: w.act / (act / sum), Capacity: w.capacity / (sum / n)}
	for k := range mult {
		t.Conversion[k] = w.mult[k] / (mult[k] / sum)
	}
	return t
}

// UntappedRegion is the territory with the largest headroom (market potential minus
// won amount closed in the market year), by a clear margin over the runner-up.
type UntappedRegion struct {
	Territory        string  `json:"territory"`
	Year             int     `json:"year"`
	Currency         string  `json:"currency"`
	Potential        float64 `json:"potential"`
	Captured         float64 `json:"captured"`
	Headroom         float64 `json:"headroom"`
	RunnerUp         string  `json:"runner_up"`
	RunnerUpHeadroom float64 `json:"runner_up_headroom"`
}

// Anomaly is a planted change in a metric for one segment over [Start, End).
type Anomaly struct {
	ID           string  `json:"id"`
	Metric       string  `json:"metric"`       // opportunities_opened, leads_created, win_rate
	SegmentKind  string  `json:"segment_kind"` // team, territory
	SegmentValue string  `json:"segment_value"`
	Start        string  `json:"start"`
	End          string  `json:"end"`
	Direction    string  `json:"direction"` // up, down
	Factor       float64 `json:"factor"`    // planted multiplier on the metric's normal level
	Description  string  `json:"description"`
}

// PlantedDeal is one deal with a planted problem.
type PlantedDeal struct {
	Kind          string   `json:"kind"` // stuck, pushed, cut
	OpportunityID string   `json:"opportunity_id"`
	Stage         string   `json:"stage"`
	DaysInStage   int      `json:"days_in_stage,omitempty"` // stuck: days in Stage at the export
	Pushes        int      `json:"pushes,omitempty"`        // pushed: close date moved later this many times
	CloseDates    []string `json:"close_dates,omitempty"`   // pushed: close date in each snapshot
	AmountBefore  float64  `json:"amount_before,omitempty"` // cut: amount in the previous snapshot
	AmountAfter   float64  `json:"amount_after,omitempty"`  // cut: amount at the export
}

// tail makes the rows that need the whole run: the lead spike, targets and market,
// and the truth.
func (g *generator) tail() (*block, *Truth) {
	r := g.rng(1 << 41)
	b := &block{idx: -2}
	tr := &Truth{
		Seed: g.cfg.Seed, Size: g.cfg.Size, Opportunities: g.cfg.spec.opps,
		From: dateString(g.fromUnix), AsOf: dateString(g.asOfUnix), NoAnomalies: g.cfg.NoAnomalies,
		Rows: map[string]int{}, Anomalies: []Anomaly{}, Deals: []PlantedDeal{},
	}
	for _, s := range g.snapDates {
		tr.SnapshotDates = append(tr.SnapshotDates, dateString(s))
	}

	var lr leadRows
	if g.spikeTerr >= 0 {
		t := &territories[g.spikeTerr]
		base := float64(g.leadsTerr[g.spikeTerr]) / float64(g.days)
		extra := max(12, int(math.Round((leadSpikeMult-1)*base)))
		var reps []*rep
		for _, p := range g.org.reps {
			if p.terr == g.spikeTerr {
				reps = append(reps, p)
			}
		}
		for j := 0; j < extra; j++ {
			p := reps[r.IntN(len(reps))]
			status := "open"
			if r.IntN(4) == 0 {
				status = "disqualified"
			}
			created := workTime(r, g.fromUnix+int64(g.spikeDay)*day, t)
			lr.add("LS-"+pad(j+1, 5), created, g.source(r, t), p.id, "", t.name, status, 0, 0, "")
		}
		spikeDay := g.fromUnix + int64(g.spikeDay)*day
		tr.Anomalies = append(tr.Anomalies,
			Anomaly{
				ID: "team-opened-drop", Metric: "opportunities_opened", SegmentKind: "team", SegmentValue: g.org.teams[g.dropTeam].name,
				Start: dateString(g.fromUnix + int64(g.dropStart)*day), End: dateString(g.fromUnix + int64(g.dropEnd)*day),
				Direction: "down", Factor: dropKeep,
				Description: "opportunities opened by the team fall to about 15% of normal for one week",
			},
			Anomaly{
				ID: "territory-leads-spike", Metric: "leads_created", SegmentKind: "territory", SegmentValue: t.name,
				Start: dateString(spikeDay), End: dateString(spikeDay + day),
				Direction: "up", Factor: leadSpikeMult,
				Description: "leads created in the territory jump to about 6 times a normal day",
			},
			Anomaly{
				ID: "team-winrate-shift", Metric: "win_rate", SegmentKind: "team", SegmentValue: g.org.teams[g.shiftTeam].name,
				Start: dateString(g.shiftStart), End: dateString(g.endUnix),
				Direction: "down", Factor: shiftWinKeep,
				Description: "the team's win rate (by count, deals closed) drops to a lower level and stays there",
			})
	}
	g.pendingLeads(r, &lr)
	b.chunks[tLeads] = lr.chunk()
	if w := g.weakRep; w != nil {
		tr.WeakRep = &WeakRep{RepID: w.id, Name: w.name, Team: w.teamName,
			FromStage: stageNames[weakStage], ToStage: stageNames[weakStage+1], Factor: weakFactor, Traits: traitsOf(w, g.org)}
	}
	tr.Deals = append(tr.Deals, g.deals...)
	tr.OpenDeals = g.open

	b.chunks[tTargets] = g.targets(r)
	var untapped *UntappedRegion
	b.chunks[tMarket], untapped = g.market(r)
	tr.Untapped = untapped
	return b, tr
}

// pendingLeads writes the leads of opportunities that will be created after the
// export: a converted lead is created 1..leadLagDays days before its
// opportunity, so the leads of the export's last weeks include some that have
// not converted yet. Without them the lead flow would sag towards the export,
// a drop nothing planted explains. The opportunities themselves continue the
// same daily rate past the export and are not written.
func (g *generator) pendingLeads(r *rand.Rand, lr *leadRows) {
	total := g.dayCum[len(g.dayCum)-1]
	var fw []float64
	for i := g.days; i < g.days+leadLagDays; i++ {
		fw = append(fw, dayWeight(g.fromUnix, i, g.days))
	}
	fcum := cum(fw)
	n := int(math.Round(float64(g.cfg.spec.opps) * fcum[len(fcum)-1] / total))
	for j := 0; j < n; j++ {
		p := g.org.pickRep(r)
		tr := &territories[p.terr]
		created := workTime(r, g.endUnix+int64(pickCum(r, fcum))*day, tr)
		if r.Float64() >= 0.65 {
			continue
		}
		lc := workTime(r, created-int64(r.IntN(leadLagDays)+1)*day, tr)
		if lc >= created {
			lc = created - 3600
		}
		accts := g.org.terrAccts[p.terr]
		acct := g.org.accounts[accts[r.IntN(len(accts))]].id
		source := g.source(r, tr)
		if lc >= g.endUnix {
			continue
		}
		lr.add("LP-"+pad(j+1, 6), lc, source, p.id, acct, tr.name, "open", 0, 0, "")
	}
}

// targets sets quarterly bookings quotas per rep and team near what each sells.
func (g *generator) targets(r *rand.Rand) *Chunk {
	var tr targetRows
	months := float64(g.cfg.spec.months)
	teamQ := make([][]float64, len(g.org.teams))
	for i := range teamQ {
		teamQ[i] = make([]float64, g.nq)
	}
	add := func(scope, id string, q int, amount float64, currency string) {
		tr.scope = append(tr.scope, scope)
		tr.scopeID = append(tr.scopeID, id)
		tr.start = append(tr.start, quarterStart(g.q0+q))
		tr.end = append(tr.end, quarterStart(g.q0+q+1))
		tr.metric = append(tr.metric, "bookings")
		tr.amount = append(tr.amount, amount)
		tr.currency = append(tr.currency, currency)
	}
	for ri, p := range g.org.reps {
		total := 0.0
		for _, v := range g.wonRepQ[ri] {
			total += v
		}
		perQ := math.Max(total/months*3, 50000)
		for q := 0; q < g.nq; q++ {
			amt := roundTo(perQ*(0.95+0.35*r.Float64()), 1000)
			teamQ[p.team][q] += amt
			add("rep", p.id, q, amt, territories[p.terr].currency)
		}
	}
	for ti, t := range g.org.teams {
		for q := 0; q < g.nq; q++ {
			add("team", t.name, q, roundTo(teamQ[ti][q]*1.05, 1000), territories[t.terrs[0]].currency)
		}
	}
	return tr.chunk()
}

// market sets potential per territory and segment from what was won there, then
// gives the untapped territory a headroom well above every other's.
func (g *generator) market(r *rand.Rand) (*Chunk, *UntappedRegion) {
	nT := len(territories)
	pot := make([][3]float64, nT)
	accts := make([][3]int, nT)
	for _, a := range g.org.accounts {
		accts[a.terr][a.seg]++
	}
	headroom := func(t int) float64 {
		h := 0.0
		for s := range 3 {
			h += pot[t][s] - g.wonTerrSeg[t][s]
		}
		return h
	}
	for t := range nT {
		for s := range 3 {
			captured := g.wonTerrSeg[t][s]
			if captured > 0 {
				pot[t][s] = roundTo(captured/(0.3+0.25*r.Float64()), 10000)
			} else {
				p := float64(accts[t][s]+1) * products[0].base * segAmountMult[s]
				if territories[t].intl {
					p *= usdPerCNY
				}
				pot[t][s] = roundTo(p, 10000)
			}
			pot[t][s] = math.Max(pot[t][s], roundTo(captured, 10000)+10000)
		}
	}
	var out *UntappedRegion
	if u := g.untappedTerr; u >= 0 {
		other, runner := 0.0, -1
		for t := range nT {
			if h := headroom(t); t != u && (runner < 0 || h > other) {
				other, runner = h, t
			}
		}
		if extra := 2.5*other - headroom(u); extra > 0 {
			sum := pot[u][0] + pot[u][1] + pot[u][2]
			for s := range 3 {
				pot[u][s] = roundTo(pot[u][s]+extra*pot[u][s]/sum, 10000) + 10000
			}
		}
		captured := g.wonTerrSeg[u][0] + g.wonTerrSeg[u][1] + g.wonTerrSeg[u][2]
		out = &UntappedRegion{
			Territory: territories[u].name, Year: g.year, Currency: territories[u].currency,
			Potential: pot[u][0] + pot[u][1] + pot[u][2], Captured: captured, Headroom: headroom(u),
			RunnerUp: territories[runner].name, RunnerUpHeadroom: headroom(runner),
		}
	}
	var mr marketRows
	for t := range nT {
		for s := range 3 {
			mr.territory = append(mr.territory, territories[t].name)
			mr.segment = append(mr.segment, segments[s])
			mr.industry = append(mr.industry, "")
			mr.year = append(mr.year, uint16(g.year))
			mr.potential = append(mr.potential, pot[t][s])
			mr.accounts = append(mr.accounts, uint32(accts[t][s]*(3+r.IntN(4))+1))
			mr.currency = append(mr.currency, territories[t].currency)
		}
	}
	return mr.chunk(), out
}

// civil returns the UTC calendar date of a unix time (Howard Hinnant's algorithm),
// much faster than time.Time.Date in hot loops.
func civil(unix int64) (y, m, d int) {
	z := unix / day
	if unix < 0 && unix%day != 0 {
		z--
	}
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	dd := doy - (153*mp+2)/5 + 1
	mm := mp + 3
	if mp >= 10 {
		mm = mp - 9
	}
	if mm <= 2 {
		yy++
	}
	return int(yy), int(mm), int(dd)
}

func dateString(unix int64) string {
	return string(appendDate(nil, unix))
}

func appendDate(b []byte, unix int64) []byte {
	y, m, d := civil(unix)
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-', byte('0'+d/10), byte('0'+d%10))
}

func appendDateTime(b []byte, unix int64) []byte {
	b = appendDate(b, unix)
	s := unix % day
	if s < 0 {
		s += day
	}
	h, mi, se := s/3600, s/60%60, s%60
	return append(b, ' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+se/10), byte('0'+se%10))
}
