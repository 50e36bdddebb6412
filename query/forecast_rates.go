package query

import "fmt"

// The rate history counts, for every deal and every reference day r_j = r_0 −
// 7j it was open at, its stage and age bucket at r_j and whether it was won
// within [r_j + lo, r_j + hi). Evaluating the stage at each (deal, day) pair
// is what made the forecast slow on millions of deals; instead each deal is
// cut into spans of j over which one stage entry is its latest (stageAt), and
// within a span the days of each age bucket, and of those the days it was won
// within the window, are ranges of j: counts come from the ranges' lengths.

// rateSpans is the SQL of a subquery with one row per (deal, span of j with
// one stage): v (the group value, the SELECT expression v), segment, amount, won, A = days(r_0) − days(created_date), C =
// days(r_0) − days(close_date), st and the span [a, b) (non-empty).
func (s *Service) rateSpans(p fcPlan, v, where string) string {
	d0 := "toInt64(toRelativeDayNum(toDate('" + p.refs[0] + "')))"
	// ks: the stage entries as time × 256 + rank, in time order; cs: the first
	// j at which entry k is no longer before r_j (r_j ≤ its day ⇔ j ≥ ⌈(d0 −
	// day)/7⌉), non-increasing.
	keys := "arraySort(arrayFilter(x -> x > 0, arrayMap((e, i) -> if(e > toDateTime(0), toUInt64(toUnixTimestamp(e)) * 256 + i, toUInt64(0)), entered, arrayEnumerate(entered))))"
	cs := "arrayMap(x -> " + ceil7("("+d0+" - toInt64(toRelativeDayNum(toDate(toDateTime(toUInt32(intDiv(x, 256))), "+s.tz+"))))") + ", ks)"
	// The deal is open at r_j (created before it, not closed before it) for jlo ≤ j < jhi: created_date < r_j ⇔
	// j < ⌈(d0 − created)/7⌉, not closed before r_j ⇔ j ≥ ⌈(d0 − close)/7⌉.
	// Before the first entry the deal is at the first stage; entry k is the
	// latest from cs[k] (excluded) down to cs[k+1].
	spans := "SELECT " + v + ", segment, amount, won, " + p.d0Minus("created_date") + " AS A, " + p.d0Minus("close_date") + " AS C, " +
		"if(closed = 1, greatest(0, " + ceil7(p.d0Minus("close_date")) + "), 0) AS jlo, " +
		fmt.Sprintf("least(%d, %s) AS jhi, ", len(p.refs), ceil7(p.d0Minus("created_date"))) +
		keys + " AS ks, " + cs + " AS cs, arrayConcat([toUInt64(1)], arrayMap(x -> x % 256, ks)) AS sts, " +
		"arrayConcat(cs, [toInt64(0)]) AS los, arrayConcat([toInt64(1000000)], cs) AS his FROM opp_facts" + where
	return "SELECT v, segment, amount, won, A, C, st, greatest(lo, jlo) AS a, least(hi, jhi) AS b FROM (" + spans +
		") ARRAY JOIN sts AS st, los AS lo, his AS hi WHERE greatest(lo, jlo) < least(hi, jhi)"
}

// rateSums is the SQL of, per age bucket, the number of reference days of a
// span in the bucket, of those won within the window, and both in amount.
func rateSums(p fcPlan) []string {
	// Age at r_j is A − 7j: age ≥ t ⇔ j < over(t).
	over := func(t int) string { return fmt.Sprintf("if(A - %d < 0, 0, intDiv(A - %d, 7) + 1)", t, t) }
	h0 := ceil7(fmt.Sprintf("(C + %d)", p.lo)) // won within the window ⇔ h0 ≤ j < h1
	h1 := ceil7(fmt.Sprintf("(C + %d)", p.hi))
	var out []string
	nb := len(ForecastAgeBuckets) + 1
	for i := 0; i < nb; i++ {
		lo, hi := "a", "b"
		if i < nb-1 {
			lo = "greatest(a, " + over(ForecastAgeBuckets[i]) + ")"
		}
		if i > 0 {
			hi = "least(b, " + over(ForecastAgeBuckets[i-1]) + ")"
		}
		n := "toUInt64(greatest(0, " + hi + " - " + lo + "))"
		w := "toUInt64(if(won = 1, greatest(0, least(" + hi + ", " + h1 + ") - greatest(" + lo + ", " + h0 + ")), 0))"
		out = append(out, "sum("+n+")", "sum("+w+")", "sum(amount * "+n+")", "sum(amount * "+w+")")
	}
	return out
}
