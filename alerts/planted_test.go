package alerts

import (
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
	"github.com/pipelens/pipelens/schemas/schemastest"
)

// plantedRules are the rules the planted-anomaly tests run: what a team would
// configure for the metrics the generator plants changes in.
func plantedRules() *Config {
	return &Config{Rules: DefaultRules()}
}

type episode struct {
	key         string
	first, last time.Time
	a           Anomaly
}

// sweep evaluates the rules once per day over [from, to] and merges daily
// detections of the same key into episodes.
func sweep(t *testing.T, e *Engine, from, to time.Time) []*episode {
	t.Helper()
	ctx := context.Background()
	org, err := e.src.Org(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every day of the sweep reads the same rows: read each series once.
	src := &sweepSource{Source: e.src, from: from.AddDate(0, 0, -400), to: to.AddDate(0, 0, 1), cache: map[string][]SegmentSeries{}}
	ev := &evaluator{src: src, loc: e.loc, cal: e.cal, org: org}
	open := map[string]*episode{}
	var out []*episode
	for now := from; !now.After(to); now = now.AddDate(0, 0, 1) {
		for i := range e.cfg.Rules {
			r := &e.cfg.Rules[i]
			if r.isDeal() && !now.Equal(to) {
				continue // deal rules judge the latest export only
			}
			as, err := ev.rule(ctx, r, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range as {
				if p := open[a.Key]; p != nil && now.Sub(p.last) <= 24*time.Hour {
					p.last = now
					continue
				}
				p := &episode{key: a.Key, first: now, last: now, a: a}
				open[a.Key] = p
				out = append(out, p)
			}
		}
	}
	return out
}

// sweepSource answers Series from one read of [from, to) per metric and kind.
type sweepSource struct {
	Source
	from, to time.Time
	cache    map[string][]SegmentSeries
}

func (s *sweepSource) Series(ctx context.Context, metric, kind string, from, to time.Time) ([]SegmentSeries, error) {
	if from.Before(s.from) || to.After(s.to) {
		return s.Source.Series(ctx, metric, kind, from, to)
	}
	all, ok := s.cache[metric+"|"+kind]
	if !ok {
		var err error
		all, err = s.Source.Series(ctx, metric, kind, s.from, s.to)
		if err != nil {
			return nil, err
		}
		s.cache[metric+"|"+kind] = all
	}
	i := int(from.Sub(s.from).Hours()/24 + 0.5)
	j := int(to.Sub(s.from).Hours()/24 + 0.5)
	out := make([]SegmentSeries, 0, len(all))
	for _, x := range all {
		x.Points = x.Points[i:j]
		out = append(out, x)
	}
	return out, nil
}

var genMetric = map[string]string{"leads_created": MetricLeads, "opportunities_opened": MetricOppsOpened, "win_rate": MetricWinRate}

// explains says whether a planted anomaly accounts for an episode: same metric,
// same segment (or one of the planted team's reps, or the org total when the
// planted segment drives it), found while it lasted or within three days
// after (a week after for findings of the seven-day test, whose window still
// holds the planted days).
func explains(p gen.Anomaly, ep *episode, org Org) bool {
	a := ep.a
	if genMetric[p.Metric] != a.Metric {
		return false
	}
	start, _ := time.Parse(time.DateOnly, p.Start)
	end, _ := time.Parse(time.DateOnly, p.End)
	// A seven-day test holds the planted days for a week after they end.
	late := 3
	if a.Grain == "week" {
		late = 7
	}
	if ep.first.Before(start) || ep.first.After(end.AddDate(0, 0, late)) {
		return false
	}
	if (p.Direction == "down") != (a.Direction < 0) {
		return false
	}
	switch {
	case a.SegmentKind == p.SegmentKind && a.Segment == p.SegmentValue:
		return true
	case a.SegmentKind == SegAll:
		return drivenBy(a.Drivers, p, org)
	case a.SegmentKind == SegRep && p.SegmentKind == SegTeam && org.byID()[a.Segment].Team == p.SegmentValue:
		return true
	}
	return false
}

// drivenBy says whether an org-wide finding's drivers name the planted
// segment (its team, or a rep of its team or territory) with at least a
// quarter of the org's move: any other org-wide episode of the metric in the
// planted days has a cause of its own.
func drivenBy(ds []Driver, p gen.Anomaly, org Org) bool {
	reps := org.byID()
	for _, d := range ds {
		if d.Share < 0.25 {
			continue
		}
		switch {
		case d.Kind == SegTeam && p.SegmentKind == SegTeam && d.Key == p.SegmentValue:
			return true
		case d.Kind == SegRep && p.SegmentKind == SegTeam && reps[d.Key].Team == p.SegmentValue:
			return true
		case d.Kind == SegRep && p.SegmentKind == SegTerritory && reps[d.Key].Territory == p.SegmentValue:
			return true
		case d.Kind == SegTeam && p.SegmentKind == SegTerritory && teamCovers(org, d.Key, p.SegmentValue):
			return true
		}
	}
	return false
}

// teamCovers: one of team's reps works territory.
func teamCovers(org Org, team, territory string) bool {
	for _, r := range org.Reps {
		if r.Team == team && r.Territory == territory {
			return true
		}
	}
	return false
}

func dealKind(rule string) string {
	return map[string]string{"stuck_deal": "stuck", "pushed_close": "pushed", "amount_cut": "cut"}[rule]
}

type prResult struct {
	tp, planted, episodes, explained int
	missed, false_                   []string
}

func scorePlanted(truth *gen.Truth, eps []*episode, org Org) prResult {
	var r prResult
	r.planted = len(truth.Anomalies) + len(truth.Deals)
	r.episodes = len(eps)
	found := map[string]bool{}
	for _, ep := range eps {
		ok := false
		if ep.a.Deal != nil {
			for _, d := range truth.Deals {
				if d.OpportunityID == ep.a.Deal.ID && d.Kind == dealKind(ep.a.Detector) {
					ok, found["deal:"+d.Kind+":"+d.OpportunityID] = true, true
				}
			}
		} else {
			for _, p := range truth.Anomalies {
				if explains(p, ep, org) {
					ok, found[p.ID] = true, true
				}
			}
		}
		if ok {
			r.explained++
		} else {
			r.false_ = append(r.false_, fmt.Sprintf("%s on %s (%s %.1f vs %.1f, score %.1f)", ep.key, ep.first.Format(time.DateOnly), ep.a.Kind, ep.a.Actual, ep.a.Expected, ep.a.Score))
		}
	}
	for _, p := range truth.Anomalies {
		if found[p.ID] {
			r.tp++
		} else {
			r.missed = append(r.missed, p.ID+" "+p.SegmentKind+"="+p.SegmentValue+" "+p.Start)
		}
	}
	for _, d := range truth.Deals {
		if found["deal:"+d.Kind+":"+d.OpportunityID] {
			r.tp++
		} else {
			r.missed = append(r.missed, "deal "+d.Kind+" "+d.OpportunityID)
		}
	}
	return r
}

func (r prResult) precision() float64 {
	if r.episodes == 0 {
		return 1
	}
	return float64(r.explained) / float64(r.episodes)
}

func (r prResult) recall() float64 {
	if r.planted == 0 {
		return 1
	}
	return float64(r.tp) / float64(r.planted)
}

// sample is one generated data set the planted tests run on.
type sample struct {
	size string
	opps int // 0: the size's default
	seed int64
}

func (s sample) config() gen.Config {
	return gen.Config{Seed: s.seed, Size: s.size, Opportunities: s.opps}
}

func (s sample) String() string {
	if s.opps > 0 {
		return fmt.Sprintf("%s-%d-seed%d", s.size, s.opps, s.seed)
	}
	return fmt.Sprintf("%s-seed%d", s.size, s.seed)
}

// plantedSamples are the samples the tests check: the demo's configuration
// (12,000 opportunities over a year) with two seeds, and the medium size.
// PIPELENS_ALERT_SAMPLES ("demo:2,3,4 small:1 medium:5") adds more for a
// wider look.
func plantedSamples() []sample {
	out := []sample{{"small", demoOpps, 1}, {"small", demoOpps, 7}, {"medium", 0, 3}}
	for _, part := range strings.Fields(os.Getenv("PIPELENS_ALERT_SAMPLES")) {
		size, seeds, _ := strings.Cut(part, ":")
		opps := 0
		if size == "demo" {
			size, opps = "small", demoOpps
		}
		for _, x := range strings.Split(seeds, ",") {
			if n, err := strconv.ParseInt(x, 10, 64); err == nil {
				out = append(out, sample{size, opps, n})
			}
		}
	}
	return out
}

// demoOpps is the opportunity count of `pipelens demo`.
const demoOpps = 12000

// rateEvidence is the two-proportion z of the planted team's win rate since
// the planted start against the 26 weeks before, on the loaded data: how
// visible the planted change is at all.
func rateEvidence(t *testing.T, e *Engine, p gen.Anomaly, asOf time.Time) float64 {
	start := mustDate(t, p.Start)
	ss, err := e.src.Series(context.Background(), MetricWinRate, SegTeam, start.AddDate(0, 0, -26*7), asOf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Key != p.SegmentValue {
			continue
		}
		var bn, bd, an, ad float64
		for _, x := range s.Points {
			if x.Date.Before(start) {
				bn, bd = bn+x.Num, bd+x.Den
			} else {
				an, ad = an+x.Num, ad+x.Den
			}
		}
		pool := (bn + an) / (bd + ad)
		return (an/ad - bn/bd) / math.Sqrt(pool*(1-pool)*(1/ad+1/bd))
	}
	return 0
}

// TestPlantedAnomaliesFound runs the rules day by day over the generator's
// samples and checks they find what it planted, on the planted dates and
// segments, without crying wolf.
//
// A planted change is required only when the data shows it: in the small
// sample a team closes about 13 deals a week at a win rate near 13%, and the
// planted cut to 40% of the wins is often within what clean samples do on
// their own (the clean small sample of seed 6 has the same drop), so the
// win-rate shift must be found only where its evidence (z on the planted
// dates) reaches 4. The medium sample has the volume to see it every time.
func TestPlantedAnomaliesFound(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps three months of evaluations")
	}
	for _, sm := range plantedSamples() {
		t.Run(sm.String(), func(t *testing.T) {
			db := schemastest.Open(t)
			truth := loadGen(t, db, sm.config())
			e, err := New(Options{DB: db, Rules: plantedRules(), Logger: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			asOf := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
			eps := sweep(t, e, asOf.AddDate(0, 0, -84), asOf)
			org, _ := e.src.Org(context.Background())
			r := scorePlanted(truth, eps, org)
			sort.Strings(r.false_)
			t.Logf("%s: planted %d anomalies + %d deals; episodes: %d; precision %.2f (%d/%d), recall %.2f (%d/%d)",
				sm, len(truth.Anomalies), len(truth.Deals), r.episodes, r.precision(), r.explained, r.episodes, r.recall(), r.tp, r.planted)
			var must []string
		missed:
			for _, m := range r.missed {
				t.Logf("missed: %s", m)
				if strings.HasPrefix(m, "team-winrate-shift") {
					for _, p := range truth.Anomalies {
						if p.ID == "team-winrate-shift" {
							z := rateEvidence(t, e, p, asOf)
							t.Logf("  evidence of the planted win-rate change on its own dates: z = %.1f", z)
							if math.Abs(z) < 4 {
								continue missed
							}
						}
					}
				}
				must = append(must, m)
			}
			for _, f := range r.false_ {
				t.Logf("unexplained: %s", f)
			}
			if len(must) > 0 {
				t.Errorf("recall %.2f: managers would not hear of %s", r.recall(), strings.Join(must, "; "))
			}
			if r.precision() < 0.8 {
				t.Errorf("precision %.2f: %d of %d alert episodes have no planted cause", r.precision(), r.episodes-r.explained, r.episodes)
			}
		})
	}
}

// TestQuietOnCleanSample: on samples with nothing planted, the same rules stay
// (almost) silent.
func TestQuietOnCleanSample(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps three months of evaluations")
	}
	for _, sm := range plantedSamples() {
		t.Run(sm.String(), func(t *testing.T) {
			db := schemastest.Open(t)
			cfg := sm.config()
			cfg.NoAnomalies = true
			truth := loadGen(t, db, cfg)
			e, err := New(Options{DB: db, Rules: plantedRules(), Logger: quietLog()})
			if err != nil {
				t.Fatal(err)
			}
			asOf := mustDate(t, truth.AsOf).AddDate(0, 0, 1)
			eps := sweep(t, e, asOf.AddDate(0, 0, -84), asOf)
			evals := 84 * 5 // daily metric rules × days
			t.Logf("%s clean: %d alert episodes over 84 days of evaluations", sm, len(eps))
			for _, ep := range eps {
				t.Logf("false alarm: %s on %s (%s %.1f vs %.1f, score %.1f)", ep.key, ep.first.Format(time.DateOnly), ep.a.Kind, ep.a.Actual, ep.a.Expected, ep.a.Score)
			}
			if len(eps) > 1 {
				t.Errorf("%d alert episodes on a sample with no anomalies (%d rule-days): managers would learn to ignore the emails", len(eps), evals)
			}
		})
	}
}
