package query

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestRepPassEqualsOnePass: the scorecards' numbers read from opp_facts (the
// created cohort), opp_closes and opp_stays are those of the one pass over
// opp_facts they replaced, rep by rep, for every kind of filter, in a business
// zone east of UTC, after re-exports that replaced deal versions.
func TestRepPassEqualsOnePass(t *testing.T) {
	ctx := context.Background()
	_, s, loc := reexportedHome(t, 5, 2000)
	filters := reexportFilters(loc)
	reps := 0
	for i, f := range filters {
		got, want := map[string]*repStats{}, map[string]*repStats{}
		if err := s.repPass(ctx, f, func(id string, st *repStats) { got[id] = st }); err != nil {
			t.Fatal(err)
		}
		if err := s.repPassFacts(ctx, f, func(id string, st *repStats) { want[id] = st }); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Errorf("filter %d: %d reps, the one pass %d", i, len(got), len(want))
		}
		for id, w := range want {
			g, ok := got[id]
			if !ok {
				t.Errorf("filter %d: rep %s missing", i, id)
				continue
			}
			if diff := repStatsDiff(g, w); diff != "" {
				t.Errorf("filter %d: rep %s: %s", i, id, diff)
			}
		}
		reps += len(want)
	}
	if reps < 50 {
		t.Errorf("%d rep rows over all filters: the test compares too little", reps)
	}
}

func repStatsDiff(a, b *repStats) string {
	var out []string
	near := func(name string, x, y float64) {
		if math.Abs(x-y) > 1e-9*math.Max(1, math.Abs(y)) {
			out = append(out, fmt.Sprintf("%s %v, want %v", name, x, y))
		}
	}
	for i := range b.reached {
		near(fmt.Sprintf("reached[%d]", i), a.reached[i], b.reached[i])
		near(fmt.Sprintf("stageN[%d]", i), float64(a.stageN[i]), float64(b.stageN[i]))
		near(fmt.Sprintf("stageMean[%d]", i), a.stageMean[i], b.stageMean[i])
		near(fmt.Sprintf("stageSD[%d]", i), a.stageSD[i], b.stageSD[i])
	}
	near("cohortWon", a.cohortWon, b.cohortWon)
	near("won", a.won, b.won)
	near("lost", a.lost, b.lost)
	near("wonAmt", a.wonAmt, b.wonAmt)
	near("dealMean", a.dealMean, b.dealMean)
	near("dealSD", a.dealSD, b.dealSD)
	near("cycleN", float64(a.cycleN), float64(b.cycleN))
	near("cycleMean", a.cycleMean, b.cycleMean)
	near("cycSD", a.cycSD, b.cycSD)
	return strings.Join(out, "; ")
}

// repPassFacts is the one pass over opp_facts repPass replaced (kept here to
// check it against): it reads every rep's numbers in one pass over opp_facts: the funnel of
// the cohort created in the range, the deals closed in the range (win rate, deal
// size, cycle) and the days in each stage of the first entries in the range (as
// DaysInStage counts them). One scan instead of three is what keeps the
// scorecards inside a page's time budget at millions of deals.
func (s *Service) repPassFacts(ctx context.Context, f Filter, each func(id string, st *repStats)) error {
	const (
		cr  = "(created_date >= toDate(?) AND created_date < toDate(?))"
		cl  = "(closed = 1 AND close_date >= toDate(?) AND close_date < toDate(?))"
		wcl = "(closed = 1 AND close_date >= toDate(?) AND close_date < toDate(?) AND won = 1)"
	)
	rng := []any{day(f.From), day(f.To)}
	var cols []string
	var args []any
	col := func(expr string, n int) {
		cols = append(cols, expr)
		for range n {
			args = append(args, rng...)
		}
	}
	k := len(s.stages)
	for i := range k {
		col(fmt.Sprintf("countIf(%s AND furthest >= %d)", cr, i+1), 1)
	}
	col("countIf("+cr+" AND won = 1)", 1)
	col("countIf("+wcl+")", 1)
	col("countIf("+cl+" AND won = 0)", 1)
	col("sumIf(amount, "+wcl+")", 1)
	col("if(countIf("+wcl+") > 0, avgIf(amount, "+wcl+"), 0)", 2)
	col("if(countIf("+wcl+") > 1, stddevSampIf(amount, "+wcl+"), 0)", 2)
	col("if(countIf("+wcl+") > 0, avgIf("+cycleDays+", "+wcl+"), 0)", 2)
	col("if(countIf("+wcl+") > 1, stddevSampIf("+cycleDays+", "+wcl+"), 0)", 2)
	for i := range k {
		en, ex := fmt.Sprintf("entered[%d]", i+1), fmt.Sprintf("exited[%d]", i+1)
		in := "(" + en + " > toDateTime(0) AND toDate(" + en + ", " + s.tz + ") >= toDate(?) AND toDate(" + en + ", " + s.tz + ") < toDate(?) AND " + ex + " > toDateTime(0))"
		days := "(toFloat64(toUInt32(" + ex + ")) - toFloat64(toUInt32(" + en + "))) / 86400"
		col("countIf("+in+")", 1)
		col("if(countIf("+in+") > 0, avgIf("+days+", "+in+"), 0)", 2)
		col("if(countIf("+in+") > 1, stddevSampIf("+days+", "+in+"), 0)", 2)
	}
	// Whether the rep entered any stage in the range (left or not): such a rep had
	// a days-in-stage row, so it is listed even without a deal in the other sets.
	col("countIf(arrayExists(e -> e > toDateTime(0) AND toDate(e, "+s.tz+") >= toDate(?) AND toDate(e, "+s.tz+") < toDate(?), entered))", 1)
	var c cond
	dims(&c, f, "")
	args = append(args, c.args...)
	q := "SELECT owner_id, " + strings.Join(cols, ", ") + " FROM opp_facts" + c.prewhere() + " GROUP BY owner_id"
	return s.query(ctx, "reps-pass-facts", q, args, func(r driverRows) error {
		var id string
		reached := make([]uint64, k)
		var cohortWon, w, l, entries uint64
		st := s.newStats()
		dst := []any{&id}
		for i := range reached {
			dst = append(dst, &reached[i])
		}
		dst = append(dst, &cohortWon, &w, &l, &st.wonAmt, &st.dealMean, &st.dealSD, &st.cycleMean, &st.cycSD)
		stageN := make([]uint64, k)
		for i := range k {
			dst = append(dst, &stageN[i], &st.stageMean[i], &st.stageSD[i])
		}
		dst = append(dst, &entries)
		if err := r.Scan(dst...); err != nil {
			return err
		}
		for i := range k {
			st.reached[i] = float64(reached[i])
			st.stageN[i] = int64(stageN[i])
		}
		st.cohortWon, st.won, st.lost, st.cycleN = float64(cohortWon), float64(w), float64(l), int64(w)
		if reached[0] == 0 && w+l == 0 && entries == 0 {
			return nil // nothing in the range: not a rep with deals
		}
		each(id, st)
		return nil
	})
}
