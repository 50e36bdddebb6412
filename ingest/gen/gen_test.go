package gen_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/pipelens/pipelens/ingest/gen"
)

// table is a CSV file read back: its header and rows.
type table struct {
	col  map[string]int
	rows [][]string
}

func (t *table) get(row []string, name string) string { return row[t.col[name]] }

func (t *table) num(row []string, name string) float64 {
	v, err := strconv.ParseFloat(row[t.col[name]], 64)
	if err != nil {
		panic(fmt.Sprintf("column %s: %v", name, err))
	}
	return v
}

func readCSV(t testing.TB, path string, decode bool) *table {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if decode {
		r = simplifiedchinese.GB18030.NewDecoder().Reader(f)
	}
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	tb := &table{col: map[string]int{}, rows: recs[1:]}
	for i, h := range recs[0] {
		tb.col[h] = i
	}
	return tb
}

type sample struct {
	dir   string
	truth *gen.Truth
	t     map[string]*table
}

func generate(t testing.TB, cfg gen.Config) *sample {
	t.Helper()
	dir := t.TempDir()
	truth, err := gen.WriteDir(context.Background(), cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &sample{dir: dir, truth: truth, t: map[string]*table{}}
	for _, tb := range gen.Tables() {
		s.t[tb.Name] = readCSV(t, filepath.Join(dir, tb.Name+".csv"), false)
	}
	return s
}

func checksums(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%x", sha256.Sum256(b))
	}
	return out
}

func TestSameSeedGivesIdenticalFiles(t *testing.T) {
	ctx := context.Background()
	write := func(cfg gen.Config) map[string]string {
		dir := t.TempDir()
		if _, err := gen.WriteDir(ctx, cfg, dir); err != nil {
			t.Fatal(err)
		}
		return checksums(t, dir)
	}
	a := write(gen.Config{Seed: 7, Workers: 1})
	b := write(gen.Config{Seed: 7, Workers: 3})
	if len(a) != 10 {
		t.Errorf("wrote %d files, want 9 tables and truth.json", len(a))
	}
	for name, sum := range a {
		if b[name] != sum {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
	c := write(gen.Config{Seed: 8})
	if c["opportunities.csv"] == a["opportunities.csv"] || c["stage_events.csv"] == a["stage_events.csv"] {
		t.Error("a different seed gives the same opportunities")
	}
	for _, v := range gen.Vendors {
		d1, d2 := t.TempDir(), t.TempDir()
		for _, d := range []string{d1, d2} {
			if _, err := gen.WriteVendor(ctx, gen.Config{Seed: 7}, d, v); err != nil {
				t.Fatal(err)
			}
		}
		s1, s2 := checksums(t, d1), checksums(t, d2)
		for name, sum := range s1 {
			if s2[name] != sum {
				t.Errorf("%s export %s differs between two runs with the same seed", v, name)
			}
		}
	}
}

func TestConfig(t *testing.T) {
	if _, err := gen.WriteDir(context.Background(), gen.Config{Size: "huge"}, t.TempDir()); err == nil {
		t.Error("an unknown size was accepted")
	}
	s := generate(t, gen.Config{Seed: 1, Opportunities: 700, Months: 6, AsOf: time.Date(2025, 3, 31, 15, 0, 0, 0, time.UTC)})
	if n := len(s.t["opportunities"].rows); n != 700 {
		t.Errorf("wrote %d opportunities, want the 700 asked for", n)
	}
	if s.truth.AsOf != "2025-03-31" || s.truth.From != "2024-10-01" {
		t.Errorf("range %s..%s, want 2024-10-01..2025-03-31", s.truth.From, s.truth.AsOf)
	}
	o := s.t["opportunities"]
	for _, row := range o.rows {
		if c := o.get(row, "created_at"); c < "2024-10-01" || c >= "2025-04-01" {
			t.Fatalf("opportunity created %s outside the range", c)
		}
	}
}

// furthest returns each opportunity's furthest open stage rank (5 when won).
func furthest(s *sample) map[string]int {
	ev := s.t["stage_events"]
	out := map[string]int{}
	for _, row := range ev.rows {
		id := ev.get(row, "opportunity_id")
		r := int(ev.num(row, "stage_rank"))
		if r == 100 {
			r = 5
		}
		if r > out[id] {
			out[id] = r
		}
	}
	return out
}

// reachedByOwner counts, per owner, the closed opportunities whose furthest stage
// reached each rank 1..5 (5 = won). Open ones have not had their chance yet.
func reachedByOwner(s *sample) map[string]*[6]float64 {
	fur := furthest(s)
	o := s.t["opportunities"]
	reached := map[string]*[6]float64{}
	for _, row := range o.rows {
		if o.get(row, "closed") != "1" {
			continue
		}
		owner := o.get(row, "owner_id")
		if reached[owner] == nil {
			reached[owner] = &[6]float64{}
		}
		for k := 1; k <= fur[o.get(row, "opportunity_id")]; k++ {
			reached[owner][k]++
		}
	}
	return reached
}

// stageVsPeers compares an owner's conversion from rank k to k+1 with everybody
// else's pooled: the ratio and a binomial z score (how many standard errors below).
func stageVsPeers(reached map[string]*[6]float64, owner string, k int) (ratio, z float64) {
	var pn, px float64
	for o, r := range reached {
		if o != owner {
			pn, px = pn+r[k], px+r[k+1]
		}
	}
	p := px / pn
	n, x := reached[owner][k], reached[owner][k+1]
	return x / n / p, (x - n*p) / math.Sqrt(n*p*(1-p))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	return s[len(s)/2]
}

func TestPlantedTruthsAreInTheFiles(t *testing.T) {
	// 12,000 opportunities: enough deals per rep past the weak stage to tell.
	s := generate(t, gen.Config{Seed: 3, Opportunities: 12000})
	tr := s.truth
	if tr.WeakRep == nil || tr.Untapped == nil || len(tr.Anomalies) != 3 || len(tr.Deals) != 3 {
		t.Fatalf("truth is missing planted items: %+v", tr)
	}
	for _, tb := range gen.Tables() {
		if got := len(s.t[tb.Name].rows); got != tr.Rows[tb.Name] {
			t.Errorf("truth says %d %s rows, the file has %d", tr.Rows[tb.Name], tb.Name, got)
		}
	}

	t.Run("weak rep", func(t *testing.T) {
		reached := reachedByOwner(s)
		stage := map[string]int{"lead": 1, "qualified": 2, "proposal": 3, "negotiation": 4}[tr.WeakRep.FromStage]
		// The other stages are as drawn: the files must agree with the traits the
		// truth records (a rep drawn below the average may convert clearly below it).
		for k := 1; k <= 4; k++ {
			ratio, z := stageVsPeers(reached, tr.WeakRep.RepID, k)
			trait := tr.WeakRep.Traits.Conversion[k-1]
			t.Logf("stage %d: %.2f of peers (z %.1f), drawn %.2f", k, ratio, z, trait)
			if k == stage && (ratio > 0.6 || z > -4 || trait > 0.5) {
				t.Errorf("weak rep %s converts at %.2f of peers (z %.1f, drawn %.2f) from stage %d: not clearly below", tr.WeakRep.RepID, ratio, z, trait, k)
			}
			if k != stage && (z < -3.5 && trait >= 1 || z > 3.5 && trait <= 1) {
				t.Errorf("weak rep %s converts at %.2f of peers (z %.1f) from stage %d, against a drawn %.2f", tr.WeakRep.RepID, ratio, z, k, trait)
			}
		}
	})

	t.Run("untapped territory", func(t *testing.T) {
		acctTerr := map[string]string{}
		a := s.t["accounts"]
		for _, row := range a.rows {
			acctTerr[a.get(row, "account_id")] = a.get(row, "territory")
		}
		head := map[string]float64{}
		m := s.t["market"]
		for _, row := range m.rows {
			head[m.get(row, "territory")] += m.num(row, "potential")
		}
		o := s.t["opportunities"]
		year := tr.AsOf[:4]
		for _, row := range o.rows {
			if o.get(row, "won") == "1" && o.get(row, "close_date")[:4] == year {
				head[acctTerr[o.get(row, "account_id")]] -= o.num(row, "amount")
			}
		}
		best, second := "", math.Inf(-1)
		for terr, h := range head {
			if best == "" || h > head[best] {
				if best != "" {
					second = math.Max(second, head[best])
				}
				best = terr
			} else {
				second = math.Max(second, h)
			}
		}
		if best != tr.Untapped.Territory {
			t.Fatalf("largest headroom is in %s, truth says %s", best, tr.Untapped.Territory)
		}
		if head[best] < 1.5*second {
			t.Errorf("headroom %.0f is not clearly above the runner-up's %.0f", head[best], second)
		}
		if math.Abs(head[best]-tr.Untapped.Headroom) > 1 {
			t.Errorf("headroom from the files %.0f, truth says %.0f", head[best], tr.Untapped.Headroom)
		}
	})

	anomaly := func(id string) gen.Anomaly {
		for _, a := range tr.Anomalies {
			if a.ID == id {
				return a
			}
		}
		t.Fatalf("no anomaly %s in truth", id)
		return gen.Anomaly{}
	}
	repTeam := map[string]string{}
	r := s.t["reps"]
	for _, row := range r.rows {
		repTeam[r.get(row, "rep_id")] = r.get(row, "team")
	}

	t.Run("opened drop", func(t *testing.T) {
		a := anomaly("team-opened-drop")
		in, weeks := openedByWeek(s, repTeam, a.SegmentValue, a.Start)
		if mean := meanOf(weeks); float64(in) > 0.4*mean {
			t.Errorf("team %s opened %d in the week of %s, normal weeks %.1f: no drop", a.SegmentValue, in, a.Start, mean)
		}
	})

	t.Run("leads spike", func(t *testing.T) {
		a := anomaly("territory-leads-spike")
		on, days := leadsByDay(s, a.SegmentValue, a.Start)
		if med := median(days); float64(on) < 3*med || on < 10 {
			t.Errorf("territory %s had %d leads on %s, a median day %.1f: no spike", a.SegmentValue, on, a.Start, med)
		}
	})

	t.Run("win rate shift", func(t *testing.T) {
		a := anomaly("team-winrate-shift")
		before, after := winRates(s, repTeam, a.SegmentValue, a.Start)
		if after > 0.7*before {
			t.Errorf("team %s win rate %.2f before %s and %.2f after: no shift", a.SegmentValue, before, a.Start, after)
		}
	})

	t.Run("deals", func(t *testing.T) {
		checkPlantedDeals(t, s)
	})
}

func openedByWeek(s *sample, repTeam map[string]string, team, weekStart string) (int, []float64) {
	start, _ := time.Parse(time.DateOnly, weekStart)
	from, _ := time.Parse(time.DateOnly, s.truth.From)
	asOf, _ := time.Parse(time.DateOnly, s.truth.AsOf)
	counts := map[int]int{}
	o := s.t["opportunities"]
	for _, row := range o.rows {
		if repTeam[o.get(row, "owner_id")] != team {
			continue
		}
		c, _ := time.Parse(time.DateTime, o.get(row, "created_at"))
		counts[int(math.Floor(c.Sub(start).Hours()/24/7))]++
	}
	var weeks []float64
	for w := int(from.Sub(start).Hours()/24/7) + 1; start.AddDate(0, 0, 7*(w+1)).Before(asOf); w++ {
		if w != 0 {
			weeks = append(weeks, float64(counts[w]))
		}
	}
	return counts[0], weeks
}

func leadsByDay(s *sample, terr, dayStr string) (int, []float64) {
	counts := map[string]int{}
	l := s.t["leads"]
	for _, row := range l.rows {
		if l.get(row, "territory") == terr {
			counts[l.get(row, "created_at")[:10]]++
		}
	}
	var days []float64
	from, _ := time.Parse(time.DateOnly, s.truth.From)
	asOf, _ := time.Parse(time.DateOnly, s.truth.AsOf)
	for d := from; d.Before(asOf); d = d.AddDate(0, 0, 1) {
		if ds := d.Format(time.DateOnly); ds != dayStr && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			days = append(days, float64(counts[ds]))
		}
	}
	return counts[dayStr], days
}

func winRates(s *sample, repTeam map[string]string, team, start string) (before, after float64) {
	var w, n [2]float64
	o := s.t["opportunities"]
	for _, row := range o.rows {
		if repTeam[o.get(row, "owner_id")] != team || o.get(row, "closed") != "1" {
			continue
		}
		k := 0
		if o.get(row, "close_date") >= start {
			k = 1
		}
		n[k]++
		if o.get(row, "won") == "1" {
			w[k]++
		}
	}
	return w[0] / n[0], w[1] / n[1]
}

func meanOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// snapshotsOf returns an opportunity's snapshot rows in date order.
func snapshotsOf(s *sample, id string) [][]string {
	sn := s.t["opportunity_snapshots"]
	var out [][]string
	for _, row := range sn.rows {
		if sn.get(row, "opportunity_id") == id {
			out = append(out, row)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][sn.col["snapshot_date"]] < out[j][sn.col["snapshot_date"]] })
	return out
}

// TestNaturalDealsHaveTails: without planted deals, most open deals' close
// dates are never or once pushed and most cuts are small, but the tails reach
// through what the deal rules call stuck, pushed and cut, and into the
// planted deals' ranges (150-300 days in a stage, 4-6 pushes, cuts of 62-80%):
// no planted value sits where natural deals never go.
func TestNaturalDealsHaveTails(t *testing.T) {
	s := generate(t, gen.Config{Seed: 5, Opportunities: 12000, NoAnomalies: true})
	sn, o, ev := s.t["opportunity_snapshots"], s.t["opportunities"], s.t["stage_events"]
	byOpp := map[string][][]string{}
	for _, row := range sn.rows {
		if sn.get(row, "closed") == "0" {
			id := sn.get(row, "opportunity_id")
			byOpp[id] = append(byOpp[id], row)
		}
	}
	hist := map[int]int{}
	var cuts []float64
	for _, rows := range byOpp {
		sort.Slice(rows, func(i, j int) bool { return sn.get(rows[i], "snapshot_date") < sn.get(rows[j], "snapshot_date") })
		pushes := 0
		for i := 1; i < len(rows); i++ {
			if sn.get(rows[i], "close_date") > sn.get(rows[i-1], "close_date") {
				pushes++
			}
			if a, b := sn.num(rows[i-1], "amount"), sn.num(rows[i], "amount"); b < a {
				cuts = append(cuts, 1-b/a)
			}
		}
		hist[pushes]++
	}
	n := len(byOpp)
	if n < 500 {
		t.Fatalf("only %d open deals in the snapshots", n)
	}
	sort.Float64s(cuts)
	big := len(cuts) - sort.SearchFloat64s(cuts, 0.62)
	t.Logf("open deals by close-date pushes: %v; %d cuts, median %.2f, %d of 62%% or more, largest %.2f", hist, len(cuts), cuts[len(cuts)/2], big, cuts[len(cuts)-1])
	if float64(hist[0]+hist[1]) < 0.85*float64(n) || hist[3] > n/50 {
		t.Errorf("pushes %v of %d deals: want most 0-1, few 2, rare 3", hist, n)
	}
	if hist[4]+hist[5]+hist[6]+hist[7] == 0 {
		t.Errorf("no natural deal pushed 4 times or more: the pushed rule's threshold sits in a gap")
	}
	if med := cuts[len(cuts)/2]; med > 0.3 || big == 0 || cuts[len(cuts)-1] < 0.8 {
		t.Errorf("cuts: median %.2f, %d of 62%% or more, largest %.2f: want most small and a tail past 80%%", med, big, cuts[len(cuts)-1])
	}

	asOf, _ := time.Parse(time.DateOnly, s.truth.AsOf)
	asOf = asOf.AddDate(0, 0, 1)
	lastEntered := map[string]time.Time{}
	for _, row := range ev.rows {
		at, _ := time.Parse(time.DateTime, ev.get(row, "entered_at"))
		lastEntered[ev.get(row, "opportunity_id")] = at // events are in time order
	}
	var stays []float64
	for _, row := range o.rows {
		if o.get(row, "closed") == "0" {
			stays = append(stays, asOf.Sub(lastEntered[o.get(row, "opportunity_id")]).Hours()/24)
		}
	}
	sort.Float64s(stays)
	long := len(stays) - sort.SearchFloat64s(stays, 150)
	t.Logf("open deals' days in their stage: median %.0f, p99 %.0f, %d of 150 or more, longest %.0f", stays[len(stays)/2], stays[len(stays)*99/100], long, stays[len(stays)-1])
	if stays[len(stays)/2] > 30 || long == 0 || long > len(stays)/50 {
		t.Errorf("open deals' stays: median %.0f, %d of %d at 150 days or more: want most short and a thin tail past 150", stays[len(stays)/2], long, len(stays))
	}
}

// TestLeadFlowIsStationaryToTheExport: leads created in the export's last
// weeks include those whose opportunity comes later (not converted yet), so
// the flow does not sag towards the export.
func TestLeadFlowIsStationaryToTheExport(t *testing.T) {
	s := generate(t, gen.Config{Seed: 2, Opportunities: 12000, NoAnomalies: true})
	asOf, _ := time.Parse(time.DateOnly, s.truth.AsOf)
	l := s.t["leads"]
	var last, before float64
	open := 0
	for _, row := range l.rows {
		c, _ := time.Parse(time.DateTime, l.get(row, "created_at"))
		switch back := asOf.Sub(c).Hours() / 24; {
		case back < 21 && back >= 0:
			last++
			if l.get(row, "converted") == "0" && l.get(row, "status") == "open" {
				open++
			}
		case back >= 21 && back < 63:
			before++
		}
	}
	// Six weeks before against the last three: the business grows ~3% a
	// month; Poisson noise of ~2,000 leads is ~2%.
	ratio := last / 21 / (before / 42)
	if ratio < 0.95 || ratio > 1.12 {
		t.Errorf("leads per day in the last 3 weeks are %.2f times the 6 weeks before: the lead flow sags or jumps at the export", ratio)
	}
	if open == 0 {
		t.Errorf("no open leads in the last 3 weeks")
	}
}

func checkPlantedDeals(t *testing.T, s *sample) {
	o, ev, sn := s.t["opportunities"], s.t["stage_events"], s.t["opportunity_snapshots"]
	asOf, _ := time.Parse(time.DateOnly, s.truth.AsOf)
	lastEntered := map[string]time.Time{}
	for _, row := range ev.rows {
		at, _ := time.Parse(time.DateTime, ev.get(row, "entered_at"))
		lastEntered[ev.get(row, "opportunity_id")] = at // events are in time order
	}
	opp := map[string][]string{}
	for _, row := range o.rows {
		opp[o.get(row, "opportunity_id")] = row
	}
	for _, d := range s.truth.Deals {
		row := opp[d.OpportunityID]
		if row == nil {
			t.Errorf("planted %s deal %s is not in opportunities.csv", d.Kind, d.OpportunityID)
			continue
		}
		if o.get(row, "closed") != "0" || o.get(row, "stage") != d.Stage {
			t.Errorf("planted %s deal %s: closed=%s stage=%s, want open in %s", d.Kind, d.OpportunityID, o.get(row, "closed"), o.get(row, "stage"), d.Stage)
		}
		snaps := snapshotsOf(s, d.OpportunityID)
		switch d.Kind {
		case "stuck":
			// Between 150 and 300 days, where natural stalls also reach
			// (TestNaturalDealsHaveTails).
			days := asOf.Sub(lastEntered[d.OpportunityID]).Hours() / 24
			if days < 149 || days > 301 || int(days+0.5) != d.DaysInStage {
				t.Errorf("stuck deal %s has been in %s %.1f days, truth says %d: want 150 to 300", d.OpportunityID, d.Stage, days, d.DaysInStage)
			}
		case "pushed":
			pushes := 0
			for i := 1; i < len(snaps); i++ {
				if sn.get(snaps[i], "close_date") > sn.get(snaps[i-1], "close_date") {
					pushes++
				}
			}
			if pushes < 4 || pushes > 6 || pushes != d.Pushes {
				t.Errorf("pushed deal %s: close date pushed %d times in %d snapshots, truth says %d", d.OpportunityID, pushes, len(snaps), d.Pushes)
			}
		case "cut":
			n := len(snaps)
			if n < 2 {
				t.Fatalf("cut deal %s has %d snapshots", d.OpportunityID, n)
			}
			before, after := sn.num(snaps[n-2], "amount"), sn.num(snaps[n-1], "amount")
			if keep := after / before; keep < 0.19 || keep > 0.39 || before != d.AmountBefore || after != d.AmountAfter || o.num(row, "amount") != after {
				t.Errorf("cut deal %s: amount %.0f -> %.0f (opportunity %.0f), truth %.0f -> %.0f", d.OpportunityID, before, after, o.num(row, "amount"), d.AmountBefore, d.AmountAfter)
			}
		}
	}
}

func TestStageHistoriesAreConsistent(t *testing.T) {
	s := generate(t, gen.Config{Seed: 5})
	ranks := map[string]string{"lead": "1", "qualified": "2", "proposal": "3", "negotiation": "4", "won": "100", "lost": "0"}
	ev, o := s.t["stage_events"], s.t["opportunities"]
	type last struct{ stage, at string }
	lasts := map[string]last{}
	prev := map[string]string{}
	for _, row := range ev.rows {
		id, st, at := ev.get(row, "opportunity_id"), ev.get(row, "stage"), ev.get(row, "entered_at")
		if ranks[st] != ev.get(row, "stage_rank") {
			t.Fatalf("%s: stage %s has rank %s", id, st, ev.get(row, "stage_rank"))
		}
		if p, ok := prev[id]; ok && at <= p {
			t.Fatalf("%s: events out of order (%s after %s)", id, at, p)
		}
		if l, ok := lasts[id]; ok && (l.stage == "won" || l.stage == "lost") {
			t.Fatalf("%s: event after the deal closed", id)
		}
		prev[id], lasts[id] = at, last{st, at}
	}
	asOf := s.truth.AsOf
	for _, row := range o.rows {
		id := o.get(row, "opportunity_id")
		l, ok := lasts[id]
		if !ok {
			t.Fatalf("%s has no stage history", id)
		}
		st := o.get(row, "stage")
		if st != l.stage {
			t.Fatalf("%s: stage %s but the last event is %s", id, st, l.stage)
		}
		closed, won := o.get(row, "closed"), o.get(row, "won")
		wantClosed, wantWon := "0", "0"
		if st == "won" || st == "lost" {
			wantClosed = "1"
		}
		if st == "won" {
			wantWon = "1"
		}
		if closed != wantClosed || won != wantWon {
			t.Fatalf("%s: stage %s with closed=%s won=%s", id, st, closed, won)
		}
		if closed == "1" && o.get(row, "close_date") != l.at[:10] {
			t.Fatalf("%s: closed on %s but close_date %s", id, l.at[:10], o.get(row, "close_date"))
		}
		if o.get(row, "created_at") > l.at || l.at[:10] > asOf {
			t.Fatalf("%s: history %s outside created %s .. as of %s", id, l.at, o.get(row, "created_at"), asOf)
		}
		if closed == "0" && o.get(row, "close_date") <= asOf {
			t.Fatalf("%s: open with an expected close %s not after the export", id, o.get(row, "close_date"))
		}
	}
	// The funnel has everything a dashboard needs to show.
	counts := map[string]int{}
	for _, row := range o.rows {
		counts[o.get(row, "stage")]++
	}
	for _, st := range []string{"lead", "qualified", "proposal", "negotiation", "won", "lost"} {
		if counts[st] == 0 {
			t.Errorf("no opportunity ends in %s", st)
		}
	}
	skips, regressions := 0, 0
	var prevRank int
	prevID := ""
	for _, row := range ev.rows {
		id, r := ev.get(row, "opportunity_id"), int(ev.num(row, "stage_rank"))
		if id == prevID && r >= 1 && r <= 4 {
			if r > prevRank+1 {
				skips++
			}
			if r < prevRank {
				regressions++
			}
		}
		prevID, prevRank = id, r
	}
	if skips == 0 || regressions == 0 {
		t.Errorf("histories have %d skips and %d regressions, want some of each", skips, regressions)
	}
}

func TestReferencesResolve(t *testing.T) {
	s := generate(t, gen.Config{Seed: 11})
	ids := func(table, col string) map[string][]string {
		tb := s.t[table]
		out := map[string][]string{}
		for _, row := range tb.rows {
			out[tb.get(row, col)] = row
		}
		return out
	}
	reps, accts, opps := ids("reps", "rep_id"), ids("accounts", "account_id"), ids("opportunities", "opportunity_id")
	check := func(table, col string, in map[string][]string, optional bool) {
		tb := s.t[table]
		for _, row := range tb.rows {
			v := tb.get(row, col)
			if v == "" && optional {
				continue
			}
			if in[v] == nil {
				t.Fatalf("%s.%s %q refers to nothing", table, col, v)
			}
		}
	}
	check("opportunities", "owner_id", reps, false)
	check("opportunities", "account_id", accts, false)
	check("stage_events", "opportunity_id", opps, false)
	check("opportunity_snapshots", "opportunity_id", opps, false)
	check("opportunity_snapshots", "owner_id", reps, false)
	check("leads", "owner_id", reps, false)
	check("leads", "account_id", accts, true)
	check("leads", "opportunity_id", opps, true)
	check("activities", "rep_id", reps, false)
	check("activities", "opportunity_id", opps, false)
	check("accounts", "parent_id", accts, true)
	check("reps", "manager_id", reps, true)
	r := s.t["reps"]
	roles := map[string]int{}
	wantBoss := map[string]string{"rep": "manager", "manager": "director", "director": ""}
	for _, row := range r.rows {
		role := r.get(row, "role")
		roles[role]++
		boss := r.get(row, "manager_id")
		got := ""
		if boss != "" {
			got = r.get(reps[boss], "role")
		}
		if got != wantBoss[role] {
			t.Errorf("%s (%s) reports to a %q, want a %q", r.get(row, "rep_id"), role, got, wantBoss[role])
		}
	}
	if roles["director"] != 1 || roles["manager"] < 3 || roles["rep"] < 20 {
		t.Errorf("org has %v, want 1 director, several managers and ~25 reps", roles)
	}
	tg := s.t["targets"]
	for _, row := range tg.rows {
		if tg.get(row, "scope") == "rep" && reps[tg.get(row, "scope_id")] == nil {
			t.Fatalf("target for unknown rep %s", tg.get(row, "scope_id"))
		}
	}
}

func TestNoAnomaliesPlantsNothing(t *testing.T) {
	planted := generate(t, gen.Config{Seed: 3, Opportunities: 12000})
	quiet := generate(t, gen.Config{Seed: 3, Opportunities: 12000, NoAnomalies: true})
	tr := quiet.truth
	if tr.WeakRep != nil || tr.Untapped != nil || len(tr.Anomalies) != 0 || len(tr.Deals) != 0 || !tr.NoAnomalies {
		t.Fatalf("NoAnomalies truth still plants: %+v", tr)
	}
	repTeam := map[string]string{}
	r := quiet.t["reps"]
	for _, row := range r.rows {
		repTeam[r.get(row, "rep_id")] = r.get(row, "team")
	}
	// Where the planted sample has its anomalies, the quiet one is ordinary.
	for _, a := range planted.truth.Anomalies {
		switch a.ID {
		case "team-opened-drop":
			in, weeks := openedByWeek(quiet, repTeam, a.SegmentValue, a.Start)
			if float64(in) < 0.5*meanOf(weeks) {
				t.Errorf("quiet sample: team %s opened %d in the week of %s, normal %.1f", a.SegmentValue, in, a.Start, meanOf(weeks))
			}
		case "territory-leads-spike":
			on, days := leadsByDay(quiet, a.SegmentValue, a.Start)
			if float64(on) > 2.5*median(days)+3 {
				t.Errorf("quiet sample: territory %s had %d leads on %s, median %.1f", a.SegmentValue, on, a.Start, median(days))
			}
		case "team-winrate-shift":
			before, after := winRates(quiet, repTeam, a.SegmentValue, a.Start)
			if after < 0.75*before {
				t.Errorf("quiet sample: team %s win rate %.2f before %s, %.2f after", a.SegmentValue, before, a.Start, after)
			}
		}
	}
	// Nobody converts clearly below peers at any stage.
	reached := reachedByOwner(quiet)
	for owner := range reached {
		for k := 1; k <= 4; k++ {
			if ratio, z := stageVsPeers(reached, owner, k); ratio < 0.6 && z < -4 {
				t.Errorf("quiet sample: rep %s converts at %.2f of peers (z %.1f) from stage %d", owner, ratio, z, k)
			}
		}
	}
}

type countSink struct {
	rows  map[string]int
	order []string
}

func (c *countSink) Write(_ context.Context, ch *gen.Chunk) error {
	if len(ch.Data) != len(ch.Columns) {
		return fmt.Errorf("%s: %d data columns for %d columns", ch.Table, len(ch.Data), len(ch.Columns))
	}
	for i, d := range ch.Data {
		n := -1
		switch v := d.(type) {
		case []string:
			n = len(v)
		case []uint8:
			n = len(v)
		case []uint16:
			n = len(v)
		case []uint32:
			n = len(v)
		case []float32:
			n = len(v)
		case []float64:
			n = len(v)
		case []time.Time:
			n = len(v)
		}
		if n != ch.Len {
			return fmt.Errorf("%s.%s: %d values (%T) in a chunk of %d", ch.Table, ch.Columns[i].Name, n, d, ch.Len)
		}
	}
	if c.rows[ch.Table] == 0 {
		c.order = append(c.order, ch.Table)
	}
	c.rows[ch.Table] += ch.Len
	return nil
}

func TestGenerateStreamsTypedChunks(t *testing.T) {
	sink := &countSink{rows: map[string]int{}}
	truth, err := gen.Generate(context.Background(), gen.Config{Seed: 2, Opportunities: 10000}, sink)
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range gen.Tables() {
		if sink.rows[tb.Name] != truth.Rows[tb.Name] || sink.rows[tb.Name] == 0 {
			t.Errorf("%s: sink got %d rows, truth says %d", tb.Name, sink.rows[tb.Name], truth.Rows[tb.Name])
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := gen.Generate(ctx, gen.Config{Seed: 2, Opportunities: 50000}, sink); err == nil {
		t.Error("a cancelled context did not stop generation")
	}
}

func TestVendorExportsHoldTheSameDeals(t *testing.T) {
	canon := generate(t, gen.Config{Seed: 4})
	o := canon.t["opportunities"]
	total, won := 0.0, 0
	for _, row := range o.rows {
		total += o.num(row, "amount")
		if o.get(row, "won") == "1" {
			won++
		}
	}
	cases := []struct {
		vendor, file, amount, stage, wonStage string
		gb                                    bool
		header                                []string
	}{
		{"salesforce", "Opportunity.csv", "Amount", "StageName", "Closed Won", false,
			[]string{"Id", "Name", "AccountId", "OwnerId", "StageName", "Amount", "CloseDate", "CreatedDate", "IsClosed", "IsWon", "LeadSource", "Type"}},
		{"hubspot", "deals.csv", "Amount", "Deal Stage", "Closed Won", false,
			[]string{"Deal Name", "Deal Stage", "Amount", "Close Date", "Create Date", "Deal owner", "Associated Company", "Pipeline", `Date entered "Closed Won (Sales Pipeline)"`}},
		{"fxiaoke", "商机.csv", "金额", "销售阶段", "赢单", true,
			[]string{"商机名称", "商机编号", "销售阶段", "金额", "负责人", "客户名称", "创建时间", "结单日期", "来源"}},
	}
	for _, c := range cases {
		t.Run(c.vendor, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := gen.WriteVendor(context.Background(), gen.Config{Seed: 4}, dir, c.vendor); err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.gb && bytes.Contains(raw, []byte("商机")) {
				t.Error("fxiaoke export is UTF-8, want GB18030")
			}
			tb := readCSV(t, filepath.Join(dir, c.file), c.gb)
			for _, h := range c.header {
				if _, ok := tb.col[h]; !ok {
					t.Errorf("%s has no %q column", c.file, h)
				}
			}
			if len(tb.rows) != len(o.rows) {
				t.Errorf("%s has %d deals, canonical %d", c.file, len(tb.rows), len(o.rows))
			}
			vt, vw := 0.0, 0
			for _, row := range tb.rows {
				vt += tb.num(row, c.amount)
				if tb.get(row, c.stage) == c.wonStage {
					vw++
				}
			}
			if math.Abs(vt-total) > 0.01 || vw != won {
				t.Errorf("%s: total %.0f with %d won, canonical %.0f with %d won", c.file, vt, vw, total, won)
			}
		})
	}
	if _, err := gen.WriteVendor(context.Background(), gen.Config{}, t.TempDir(), "zoho"); err == nil {
		t.Error("an unknown vendor was accepted")
	}
}

func BenchmarkWriteDir(b *testing.B) {
	for _, size := range []string{"small", "medium", "large"} {
		b.Run("size="+size, func(b *testing.B) {
			if size == "large" && testing.Short() {
				b.Skip("large size skipped in -short")
			}
			dir := b.TempDir()
			b.ReportAllocs()
			var truth *gen.Truth
			start := time.Now()
			for b.Loop() {
				var err error
				if truth, err = gen.WriteDir(context.Background(), gen.Config{Seed: 1, Size: size}, dir); err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds() / float64(b.N)
			rows := 0
			for _, n := range truth.Rows {
				rows += n
			}
			b.ReportMetric(float64(rows)/sec, "rows/s")
			b.ReportMetric(float64(truth.Rows["stage_events"])/sec, "stage_events/s")
			b.ReportMetric(float64(rows), "rows")
		})
	}
}
