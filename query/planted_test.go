package query

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
)

// TestPlantedTruths loads generated samples (the demo's seed and two more)
// through ingest and checks that pipelens finds what the generator planted: the
// weak rep is weak at the planted stage and nowhere else, and the untapped
// territory ranks first by headroom.
func TestPlantedTruths(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			sm := loadSample(t, gen.Config{Seed: seed, Opportunities: 12000})
			ctx := context.Background()
			all := sm.sampleRange()
			w := sm.truth.WeakRep
			if w == nil {
				t.Fatal("the generator planted no weak rep")
			}
			// Against all reps (the director's view): the generator makes the weak
			// rep exactly ordinary at every other stage, where ordinary is the
			// population of reps, so nothing else may be claimed weak.
			rs, err := sm.svc.Rep(ctx, Unrestricted, all, w.RepID)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range rs.Metrics {
				planted := m.Metric == "conversion" && m.Stage == w.FromStage
				switch {
				case planted && m.Verdict != Weakness:
					t.Errorf("a manager would not see that rep %s loses deals at %s: %+v", w.RepID, w.FromStage, m)
				case !planted && m.Verdict == Weakness:
					t.Errorf("rep %s is flagged weak where nothing was planted (planted: %s): %+v", w.RepID, w.FromStage, m)
				case m.Metric == "win_rate" && (len(m.ExplainedBy) != 1 || m.ExplainedBy[0] != w.FromStage):
					t.Errorf("the rep's low win rate is not attributed to %s: %+v", w.FromStage, m)
				}
			}
			if rs.WorstStage != w.FromStage || rs.Weaknesses != 1 {
				t.Errorf("scorecard of %s: worst stage %q, %d weaknesses; want %q, 1", w.RepID, rs.WorstStage, rs.Weaknesses, w.FromStage)
			}
			// Against the own team (the manager's view) the planted stage still
			// stands out and is the worst stage. Other metrics are not checked here:
			// three team mates are a small peer group, and the generator gives every
			// rep its own deal size and pace.
			rs, err = sm.svc.Rep(ctx, Unrestricted, Filter{From: all.From, To: all.To, Team: []string{w.Team}}, w.RepID)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range rs.Metrics {
				if m.Metric == "conversion" && m.Stage == w.FromStage && m.Verdict != Weakness {
					t.Errorf("against team %s, rep %s's conversion out of %s is not flagged weak: %+v", w.Team, w.RepID, w.FromStage, m)
				}
			}
			if rs.WorstStage != w.FromStage {
				t.Errorf("against team %s, worst stage of %s = %q, want %q", w.Team, w.RepID, rs.WorstStage, w.FromStage)
			}

			u := sm.truth.Untapped
			if u == nil {
				t.Fatal("the generator planted no untapped territory")
			}
			y := Filter{From: time.Date(u.Year, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(u.Year+1, 1, 1, 0, 0, 0, 0, time.UTC)}
			ts, err := sm.svc.Territories(ctx, Unrestricted, y)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) < 2 || ts[0].Territory != u.Territory {
				t.Fatalf("first by headroom: %+v, want planted %s", ts[:min(3, len(ts))], u.Territory)
			}
			if ts[1].Territory != u.RunnerUp {
				t.Logf("runner-up by headroom %s, the generator's %s (the generator counts only market potential)", ts[1].Territory, u.RunnerUp)
			}
		})
	}
}
