package query

import (
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/pipelens/pipelens/ingest/gen"
)

// csvRows reads one of the generator's canonical files as maps by header.
func csvRows(t *testing.T, dir, name string) []map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	out := make([]map[string]string, 0, len(recs)-1)
	for _, r := range recs[1:] {
		m := make(map[string]string, len(r))
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func pt(t *testing.T, layout, s string) time.Time {
	t.Helper()
	v, err := time.Parse(layout, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func num(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func within(a, b float64) bool {
	return math.Abs(a-b) <= 1e-6*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// TestSampleAgainstPlainGo reads the generator's canonical files in plain Go and
// checks days in stage, pipeline movement, territories, scorecard counts, lead
// conversion and attainment against the service, for several filters.
func TestSampleAgainstPlainGo(t *testing.T) {
	sm := loadSample(t, gen.Config{Seed: 5})
	ctx := context.Background()
	dir := sm.dir
	const dt = "2006-01-02 15:04:05"

	type rep struct{ team, manager, territory string }
	reps := map[string]rep{}
	for _, r := range csvRows(t, dir, "reps.csv") {
		reps[r["rep_id"]] = rep{r["team"], r["manager_id"], r["territory"]}
	}
	type acct struct{ territory, segment string }
	accts := map[string]acct{}
	var acctIDs []string
	for _, a := range csvRows(t, dir, "accounts.csv") {
		accts[a["account_id"]] = acct{a["territory"], a["segment"]}
		acctIDs = append(acctIDs, a["account_id"])
	}
	type opp struct {
		id, owner, account, product, source, territory, segment string
		amount                                                  float64
		created, closeDate                                      time.Time
		closed, won                                             bool
		enter, exit                                             []time.Time // per stage rank 1..4; zero when never
	}
	type ev struct {
		at   time.Time
		rank int
	}
	evs := map[string][]ev{}
	for _, e := range csvRows(t, dir, "stage_events.csv") {
		r, _ := strconv.Atoi(e["stage_rank"])
		evs[e["opportunity_id"]] = append(evs[e["opportunity_id"]], ev{pt(t, dt, e["entered_at"]), r})
	}
	var opps []*opp
	byID := map[string]*opp{}
	for _, o := range csvRows(t, dir, "opportunities.csv") {
		x := &opp{id: o["opportunity_id"], owner: o["owner_id"], account: o["account_id"], product: o["product"], source: o["source"],
			amount: num(t, o["amount"]), created: pt(t, dt, o["created_at"]), closeDate: pt(t, time.DateOnly, o["close_date"]),
			closed: o["closed"] == "1", won: o["won"] == "1"}
		a := accts[x.account]
		x.territory, x.segment = a.territory, a.segment
		if x.territory == "" {
			x.territory = reps[x.owner].territory
		}
		// Days in stage: first entry into each stage, left at the next event to
		// another stage, or at the close date for a closed deal.
		e := evs[x.id]
		sort.Slice(e, func(i, j int) bool {
			if !e[i].at.Equal(e[j].at) {
				return e[i].at.Before(e[j].at)
			}
			return e[i].rank < e[j].rank
		})
		x.enter, x.exit = make([]time.Time, 4), make([]time.Time, 4)
		for k := 1; k <= 4; k++ {
			for i, v := range e {
				if v.rank != k {
					continue
				}
				x.enter[k-1] = v.at
				for _, w := range e[i+1:] {
					if w.rank != k {
						x.exit[k-1] = w.at
						break
					}
				}
				if x.exit[k-1].IsZero() && x.closed {
					x.exit[k-1] = x.closeDate
				}
				break
			}
		}
		opps = append(opps, x)
		byID[x.id] = x
	}
	dayOf := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	in := func(t time.Time, f Filter) bool { d := dayOf(t); return !d.Before(f.From) && d.Before(f.To) }
	one := func(l []string, v string) bool { return len(l) == 0 || has(l, v) }
	match := func(o *opp, f Filter) bool {
		r := reps[o.owner]
		return one(f.Team, r.team) && one(f.Manager, r.manager) && one(f.Rep, o.owner) && one(f.Territory, o.territory) &&
			one(f.Product, o.product) && one(f.Source, o.source) && one(f.Segment, o.segment)
	}

	asOf := pt(t, time.DateOnly, sm.truth.AsOf)
	to := time.Date(asOf.Year(), asOf.Month(), 1, 0, 0, 0, 0, time.UTC)
	year := Filter{From: to.AddDate(-1, 0, 0), To: to}
	o0 := opps[0]
	filters := []Filter{
		year,
		{From: year.From, To: year.To, Team: []string{reps[o0.owner].team}},
		{From: year.From.AddDate(0, 3, 0), To: year.To, Territory: []string{o0.territory}, Segment: []string{o0.segment}},
		{From: year.From, To: year.To.AddDate(0, -6, 0), Product: []string{o0.product}, Source: []string{o0.source}},
		{From: year.From, To: year.To, Manager: []string{reps[o0.owner].manager}, Rep: []string{o0.owner}},
	}
	for i, f := range filters {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			// Days in stage.
			dis, err := sm.svc.DaysInStage(ctx, Unrestricted, f, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range dis {
				var n, still int64
				var sum float64
				for _, o := range opps {
					en, ex := o.enter[g.Rank-1], o.exit[g.Rank-1]
					if !match(o, f) || en.IsZero() || !in(en, f) {
						continue
					}
					if ex.IsZero() {
						still++
						continue
					}
					n++
					sum += ex.Sub(en).Seconds() / 86400
				}
				if g.Count != n || g.StillIn != still || (n > 0 && !within(g.Mean, sum/float64(n))) {
					t.Errorf("days in %s: n=%d still=%d mean=%.4f; plain Go n=%d still=%d mean=%.4f", g.Stage, g.Count, g.StillIn, g.Mean, n, still, sum/float64(max(n, 1)))
				}
			}

			// Movement: opened, won and lost per month; pushes and pull-ins
			// between consecutive snapshots of open deals.
			mv, err := sm.svc.Movement(ctx, Unrestricted, f, Month)
			if err != nil {
				t.Fatal(err)
			}
			type mp struct{ opened, won, lost, pushed, pulled int64 }
			plain := map[string]*mp{}
			at := func(d time.Time) *mp {
				k := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
				if plain[k] == nil {
					plain[k] = &mp{}
				}
				return plain[k]
			}
			for _, o := range opps {
				if !match(o, f) {
					continue
				}
				if in(o.created, f) {
					at(o.created).opened++
				}
				if o.closed && in(o.closeDate, f) {
					if o.won {
						at(o.closeDate).won++
					} else {
						at(o.closeDate).lost++
					}
				}
			}
			type snap struct {
				date, close time.Time
				amount      float64
				closed      bool
			}
			snaps := map[string][]snap{}
			for _, s := range csvRows(t, dir, "opportunity_snapshots.csv") {
				snaps[s["opportunity_id"]] = append(snaps[s["opportunity_id"]], snap{pt(t, time.DateOnly, s["snapshot_date"]), pt(t, time.DateOnly, s["close_date"]), num(t, s["amount"]), s["closed"] == "1"})
			}
			for id, ss := range snaps {
				o := byID[id]
				if o == nil || !match(o, f) {
					continue
				}
				sort.Slice(ss, func(i, j int) bool { return ss[i].date.Before(ss[j].date) })
				for i := 1; i < len(ss); i++ {
					a, b := ss[i-1], ss[i]
					if a.closed || b.closed || !in(b.date, f) {
						continue
					}
					switch {
					case b.close.After(a.close):
						at(b.date).pushed++
					case b.close.Before(a.close):
						at(b.date).pulled++
					}
				}
			}
			for _, p := range mv.Periods {
				want := plain[p.Period]
				if want == nil {
					want = &mp{}
				}
				got := mp{p.Opened, p.Won, p.Lost, p.PushedOut, p.PulledIn}
				if got != *want {
					t.Errorf("movement %s: opened/won/lost/pushed/pulled %v; plain Go %v", p.Period, got, *want)
				}
				delete(plain, p.Period)
			}
			for k, v := range plain {
				if *v != (mp{}) {
					t.Errorf("movement: period %s missing: plain Go %v", k, *v)
				}
			}

			// Territories: accounts, white space, captured, won and lost.
			ts, err := sm.svc.Territories(ctx, Unrestricted, f)
			if err != nil {
				t.Fatal(err)
			}
			type tp struct {
				accounts, white, won, lost int64
				captured                   float64
			}
			terr := map[string]*tp{}
			tget := func(k string) *tp {
				if terr[k] == nil {
					terr[k] = &tp{}
				}
				return terr[k]
			}
			active := map[string]bool{}
			for _, o := range opps {
				if !match(o, f) {
					continue
				}
				if in(o.created, f) {
					active[o.account] = true
				}
				if o.territory == "" || !o.closed || !in(o.closeDate, f) {
					continue
				}
				x := tget(o.territory)
				if o.won {
					x.won++
					x.captured += o.amount
				} else {
					x.lost++
				}
			}
			for _, id := range acctIDs {
				a := accts[id]
				if a.territory == "" || !one(f.Territory, a.territory) || !one(f.Segment, a.segment) {
					continue
				}
				x := tget(a.territory)
				x.accounts++
				if !active[id] {
					x.white++
				}
			}
			for _, g := range ts {
				want := terr[g.Territory]
				if want == nil {
					want = &tp{}
				}
				if g.Accounts != want.accounts || g.WhiteSpace != want.white || g.Won != want.won || g.Lost != want.lost || !within(g.Captured, want.captured) {
					t.Errorf("territory %s: accounts %d white %d won %d lost %d captured %.0f; plain Go %+v", g.Territory, g.Accounts, g.WhiteSpace, g.Won, g.Lost, g.Captured, *want)
				}
			}

			// Scorecard counts: the cohort, won and lost in the range, won amount.
			rs, err := sm.svc.Reps(ctx, Unrestricted, f)
			if err != nil {
				t.Fatal(err)
			}
			type sp struct {
				deals, won, lost int64
				amount           float64
			}
			score := map[string]*sp{}
			for _, o := range opps {
				if !match(o, f) {
					continue
				}
				x := score[o.owner]
				if x == nil {
					x = &sp{}
					score[o.owner] = x
				}
				if in(o.created, f) {
					x.deals++
				}
				if o.closed && in(o.closeDate, f) {
					if o.won {
						x.won++
						x.amount += o.amount
					} else {
						x.lost++
					}
				}
			}
			if len(rs) == 0 {
				t.Errorf("no scorecards")
			}
			for _, r := range rs {
				want := score[r.RepID]
				if want == nil {
					want = &sp{}
				}
				if r.Deals != want.deals || r.Won != want.won || r.Lost != want.lost || !within(r.WonAmount, want.amount) {
					t.Errorf("scorecard %s: deals %d won %d lost %d amount %.0f; plain Go %+v", r.RepID, r.Deals, r.Won, r.Lost, r.WonAmount, *want)
				}
			}

			// Lead conversion by source: team, manager and territory are the owner's
			// (territory the lead's own when it has one); product and segment do not apply.
			lc, err := sm.svc.LeadConversion(ctx, Unrestricted, f)
			if err != nil {
				t.Fatal(err)
			}
			type lp struct{ leads, converted int64 }
			leads := map[string]*lp{}
			for _, l := range csvRows(t, dir, "leads.csv") {
				r := reps[l["owner_id"]]
				terr := l["territory"]
				if terr == "" {
					terr = r.territory
				}
				if !in(pt(t, dt, l["created_at"]), f) || !one(f.Team, r.team) || !one(f.Manager, r.manager) || !one(f.Rep, l["owner_id"]) ||
					!one(f.Territory, terr) || !one(f.Source, l["source"]) {
					continue
				}
				x := leads[l["source"]]
				if x == nil {
					x = &lp{}
					leads[l["source"]] = x
				}
				x.leads++
				if l["converted"] == "1" || l["opportunity_id"] != "" {
					x.converted++
				}
			}
			if len(lc.Sources) != len(leads) {
				t.Errorf("lead sources %d, plain Go %d", len(lc.Sources), len(leads))
			}
			for _, s := range lc.Sources {
				if want := leads[s.Source]; want == nil || s.Leads != want.leads || s.Converted != want.converted {
					t.Errorf("leads from %s: %d converted %d; plain Go %+v", s.Source, s.Leads, s.Converted, want)
				}
			}

			// Attainment of rep and team targets inside the range.
			att, err := sm.svc.Attainment(ctx, Unrestricted, f)
			if err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, tg := range att.Targets {
				if tg.Scope != "rep" && tg.Scope != "team" {
					continue
				}
				ps, pe := pt(t, time.DateOnly, tg.PeriodStart), pt(t, time.DateOnly, tg.PeriodEnd)
				booked := 0.0
				for _, o := range opps {
					if !o.won || !match(o, f) || o.closeDate.Before(ps) || !o.closeDate.Before(pe) || !in(o.closeDate, f) {
						continue
					}
					if tg.Scope == "rep" && o.owner == tg.ScopeID || tg.Scope == "team" && reps[o.owner].team == tg.ScopeID {
						booked += o.amount
					}
				}
				checked++
				if !within(tg.Booked, booked) {
					t.Errorf("attainment %s %s %s: booked %.0f; plain Go %.0f", tg.Scope, tg.ScopeID, tg.PeriodStart, tg.Booked, booked)
				}
			}
			if checked == 0 && len(f.Product) == 0 {
				t.Logf("no rep or team targets inside %s..%s", day(f.From), day(f.To))
			}
		})
	}
}
