package query

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/pipelens/pipelens/schemas/schemastest"
)

// randomFixture is generated data with stage histories (including skipped stages,
// backward moves and missing histories) for checking the SQL against plain Go.
func randomFixture(seed uint64, n int) *fixture {
	r := rand.New(rand.NewPCG(seed, 1))
	fx := &fixture{}
	teams := []string{"East", "West", "North"}
	terrs := []string{"T1", "T2", "T3", "T4"}
	segs := []string{"SMB", "Mid", "Enterprise"}
	for i := range 12 {
		tm := teams[i%3]
		fx.reps = append(fx.reps, frep{fmt.Sprintf("r%02d", i), fmt.Sprintf("Rep %d", i), "rep", "m" + tm, tm, terrs[i%4]})
	}
	for i := range 40 {
		fx.accounts = append(fx.accounts, facct{fmt.Sprintf("a%02d", i), "acct", terrs[r.IntN(4)], segs[r.IntN(3)], uint32(r.IntN(5000))})
	}
	base := ts("2023-10-01 00:00")
	for i := range n {
		id := fmt.Sprintf("o%04d", i)
		created := base.Add(time.Duration(r.IntN(300*24)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
		furthest := 1 + r.IntN(4)
		status := r.IntN(3) // 0 open, 1 won, 2 lost
		o := fopp{id: id, account: fx.accounts[r.IntN(40)].id, owner: fx.reps[r.IntN(12)].id, product: []string{"A", "B"}[r.IntN(2)],
			source: []string{"web", "event", "partner"}[r.IntN(3)], amount: float64(r.IntN(1000)), created: created}
		at := created
		hist := r.IntN(10) > 0
		for st := 1; st <= furthest; st++ {
			if st > 1 && r.IntN(5) == 0 {
				continue // skipped stage
			}
			if hist {
				fx.events = append(fx.events, fevent{id, DefaultStages[st-1], uint8(st), at})
			}
			at = at.Add(time.Duration(1+r.IntN(30*24)) * time.Hour)
		}
		o.stage = DefaultStages[furthest-1]
		o.closeDate = time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		switch status {
		case 1:
			o.stage, o.closed, o.won = "won", true, true
		case 2:
			o.stage, o.closed = "lost", true
		}
		if o.closed && hist {
			rank := uint8(100)
			if !o.won {
				rank = 0
			}
			fx.events = append(fx.events, fevent{id, o.stage, rank, at})
		}
		if !o.closed && !hist {
			o.stage = DefaultStages[furthest-1]
		}
		fx.opps = append(fx.opps, o)
	}
	return fx
}

// goFacts is the plain-Go reading of the data contract.
type goFact struct {
	fopp
	team, manager, territory, segment string
	furthest                          int
}

func goFacts(fx *fixture) []goFact {
	reps := map[string]frep{}
	for _, r := range fx.reps {
		reps[r.id] = r
	}
	accts := map[string]facct{}
	for _, a := range fx.accounts {
		accts[a.id] = a
	}
	maxRank := map[string]int{}
	for _, e := range fx.events {
		if e.rank >= 1 && e.rank < 100 && int(e.rank) > maxRank[e.opp] {
			maxRank[e.opp] = int(e.rank)
		}
	}
	var out []goFact
	for _, o := range fx.opps {
		g := goFact{fopp: o}
		rp := reps[o.owner]
		g.team, g.manager = rp.team, rp.manager
		a := accts[o.account]
		g.territory, g.segment = a.territory, a.segment
		if g.territory == "" {
			g.territory = rp.territory
		}
		g.furthest = max(1, maxRank[o.id])
		for i, st := range DefaultStages {
			if o.stage == st {
				g.furthest = max(g.furthest, i+1)
			}
		}
		if o.won {
			g.furthest = 100
		}
		out = append(out, g)
	}
	return out
}

func (g goFact) match(f Filter) bool {
	in := func(l []string, v string) bool { return len(l) == 0 || has(l, v) }
	return in(f.Team, g.team) && in(f.Manager, g.manager) && in(f.Rep, g.owner) && in(f.Territory, g.territory) &&
		in(f.Product, g.product) && in(f.Source, g.source) && in(f.Segment, g.segment)
}

func inRange(t time.Time, f Filter) bool {
	dd := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return !dd.Before(f.From) && dd.Before(f.To)
}

func TestMetricsAgainstPlainGo(t *testing.T) {
	db := schemastest.Open(t)
	fx := randomFixture(42, 3000)
	fx.load(t, db)
	s := New(db, time.UTC, quietLog())
	ctx := context.Background()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	facts := goFacts(fx)
	filters := []Filter{
		{From: d("2023-10-01"), To: d("2024-10-01")},
		{From: d("2024-01-01"), To: d("2024-04-01"), Team: []string{"East"}},
		{From: d("2024-02-01"), To: d("2024-08-01"), Territory: []string{"T2", "T3"}, Product: []string{"A"}},
		{From: d("2023-11-01"), To: d("2024-05-01"), Segment: []string{"SMB"}, Source: []string{"web", "partner"}},
		{From: d("2024-01-01"), To: d("2024-07-01"), Rep: []string{"r03", "r07"}, Manager: []string{"mEast", "mWest"}},
	}
	for i, f := range filters {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// Funnel: the cohort created in the range.
			reached := make([]int64, 4)
			var won, lost, open int64
			for _, g := range facts {
				if !g.match(f) || !inRange(g.created, f) {
					continue
				}
				for k := range 4 {
					if g.furthest >= k+1 {
						reached[k]++
					}
				}
				switch {
				case g.won:
					won++
				case g.closed:
					lost++
				default:
					open++
				}
			}
			fn, err := s.Funnel(ctx, Unrestricted, f)
			if err != nil {
				t.Fatal(err)
			}
			for k, st := range fn.Stages {
				if st.Reached != reached[k] {
					t.Errorf("reached(%s) = %d, plain Go says %d", st.Stage, st.Reached, reached[k])
				}
			}
			if fn.Won != won || fn.Lost != lost || fn.Open != open {
				t.Errorf("won/lost/open %d/%d/%d, plain Go %d/%d/%d", fn.Won, fn.Lost, fn.Open, won, lost, open)
			}
			// Win rate by team and cycle time: deals closed in the range.
			type wl struct{ won, lost int64 }
			byTeam := map[string]wl{}
			var cycles []float64
			for _, g := range facts {
				if !g.match(f) || !g.closed || !inRange(g.closeDate, f) {
					continue
				}
				x := byTeam[g.team]
				if g.won {
					x.won++
					cd := time.Date(g.created.Year(), g.created.Month(), g.created.Day(), 0, 0, 0, 0, time.UTC)
					cycles = append(cycles, g.closeDate.Sub(cd).Hours()/24)
				} else {
					x.lost++
				}
				byTeam[g.team] = x
			}
			wr, err := s.WinRate(ctx, Unrestricted, f, "team")
			if err != nil {
				t.Fatal(err)
			}
			if len(wr.Groups) != len(byTeam) {
				t.Errorf("win rate groups %d, plain Go %d", len(wr.Groups), len(byTeam))
			}
			for _, g := range wr.Groups {
				if x := byTeam[g.Key]; x.won != g.Won || x.lost != g.Lost {
					t.Errorf("team %s won/lost %d/%d, plain Go %d/%d", g.Key, g.Won, g.Lost, x.won, x.lost)
				}
			}
			ct, err := s.CycleTime(ctx, Unrestricted, f, "")
			if err != nil {
				t.Fatal(err)
			}
			sort.Float64s(cycles)
			med := 0.0
			if n := len(cycles); n > 0 {
				med = cycles[n/2]
				if n%2 == 0 {
					med = (cycles[n/2-1] + cycles[n/2]) / 2
				}
			}
			if ct.Total.Count != int64(len(cycles)) || !near(ct.Total.Median, med) {
				t.Errorf("cycle time n=%d median=%v, plain Go n=%d median=%v", ct.Total.Count, ct.Total.Median, len(cycles), med)
			}
		})
	}
}
