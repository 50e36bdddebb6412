package alerts

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
)

// dealDefinitions is, per deal rule of e, the deals open at the generated
// export that meet the rule's definition as of now, keyed as the rule's
// anomalies are (rule|deal|id), each with the figures that put it there. It
// reads the generator's own record of each deal (its stage entry and its
// weekly snapshot rows), not the loaded data; only the stage norms (the
// percentiles of completed stays, tested against the stays in query/) come
// from the engine's source. The generator gives natural deals tails through
// every threshold, so a rule that misreads a deal, or a threshold moved,
// shows here as a deal too many or too few.
func dealDefinitions(t *testing.T, e *Engine, truth *gen.Truth, now time.Time) map[string]string {
	t.Helper()
	ctx := context.Background()
	org, err := e.src.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := e.src.StageNorms(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	norms := map[[2]string]StageNorm{}
	for _, n := range ns {
		norms[[2]string{n.Team, n.Stage}] = n
	}
	byID := org.byID()
	out := map[string]string{}
	for i := range e.cfg.Rules {
		r := &e.cfg.Rules[i]
		if !r.isDeal() {
			continue
		}
		recent := dayStart(now, e.loc).AddDate(0, 0, -r.Window)
		for _, d := range truth.OpenDeals {
			why := ""
			switch r.Detector {
			case "stuck_deal":
				n, ok := norms[[2]string{byID[d.OwnerID].Team, d.Stage}]
				if !ok || n.Count < 10 {
					n, ok = norms[[2]string{"", d.Stage}]
				}
				days := now.Sub(d.StageEntered).Hours() / 24
				if limit := math.Max(r.Threshold*n.P90, 14); ok && n.Count >= 10 && days > limit {
					why = fmt.Sprintf("%.1f days in %s > %.0f × p90 %.1f", days, d.Stage, r.Threshold, n.P90)
				}
			case "pushed_close":
				pushes, last := 0, time.Time{}
				for k := 1; k < len(d.SnapClose); k++ {
					if d.SnapClose[k] > d.SnapClose[k-1] { // YYYY-MM-DD sorts as dates
						pushes, last = pushes+1, mustDate(t, d.SnapDates[k])
					}
				}
				if float64(pushes) >= r.Threshold && !last.Before(recent) {
					why = fmt.Sprintf("%d pushes, the last on %s", pushes, last.Format(time.DateOnly))
				}
			case "amount_cut":
				// The newest snapshot in the window below (1 − threshold) of
				// the largest of the four before it.
				for k := len(d.SnapAmount) - 1; k >= 1 && !mustDate(t, d.SnapDates[k]).Before(recent); k-- {
					prev := 0.0
					for j := max(0, k-4); j < k; j++ {
						prev = math.Max(prev, d.SnapAmount[j])
					}
					if d.SnapAmount[k] < prev*(1-r.Threshold) {
						why = fmt.Sprintf("%.0f → %.0f on %s", prev, d.SnapAmount[k], d.SnapDates[k])
						break
					}
				}
			}
			if why != "" {
				out[r.Name+"|deal|"+d.OpportunityID] = why
			}
		}
	}
	return out
}
