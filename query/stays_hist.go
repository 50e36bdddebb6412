package query

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Days in stage without a grouping, from the histogram of stay lengths
// (schemas/migrations/0034_stay_hist.sql): stay_hist's sums over the range give
// each stage's count, mean, deviation and still-in and the length bucket of
// each middle stay; stay_lens gives the lengths of the stays in those buckets,
// whose order places the middle values exactly. The answer is the one
// daysInStageSQL computes over opp_stays (TestStaysEqualFactsArrays and
// TestRollupsMatchFacts compare them).

// staySecs is a stay's length in seconds (negative for an exit before its
// entry): stayDays is staySecs / 86 400, the same float.
const staySecs = "(toInt64(toUInt32(ex)) - toInt64(toUInt32(en)))"

// stayBucket is a stay's length bucket: whole days, truncated toward zero, so
// a longer stay is never in a lower bucket.
const stayBucket = "toInt32(intDiv(" + staySecs + ", 86400))"

// stayLensSelect is the INSERT … SELECT of the lengths of the stays that left
// of the opp_facts rows of publication n (as staysSelect).
func stayLensSelect(t func(string) string, n, tz string) string {
	return "INSERT INTO " + t("stay_lens") + " (opportunity_id, pub, rk, b, en_day, s, territory, segment, product, source) " +
		"SELECT opportunity_id, pub, toUInt8(rk), " + stayBucket + ", toDate(en, " + tz + "), " + staySecs + ", territory, segment, product, source FROM " + t("opp_facts") +
		" ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk WHERE pub = " + n + " AND en > toDateTime(0) AND " + stayDone
}

// stayHistSelects fill stay_hist from src, signed opp_facts rows: per
// dimension value (and an empty dim for all), entry day, stage and length bucket
// (bucket 0 for the stays still in), then the month rows of publication n from its day rows.
func stayHistSelects(t func(string) string, src, n, tz string) []string {
	ins := "INSERT INTO " + t("stay_hist") + " (dim, value, grain, day, rk, b, n, still, days, days_sq, pub) "
	// Each sign is summed apart, then the two sums added: a replaced stay's
	// days cancel its new version's exactly, in any order the server reads.
	dayRows := ins + "SELECT dim, value, toUInt8(0), d, r, bk, sum(cn), sum(cs), sum(sd), sum(sq), toUInt64(" + n + ") FROM (" +
		"SELECT dim, value, toDate(en, " + tz + ") AS d, toUInt8(rk) AS r, if(" + stayDone + ", " + stayBucket + ", toInt32(0)) AS bk, sign, " +
		"toUInt64(sumIf(sign, " + stayDone + ")) AS cn, toUInt64(sumIf(sign, ex = toDateTime(0))) AS cs, sumIf(sign * " + stayDays + ", " + stayDone + ") AS sd, " +
		"sumIf(sign * " + stayDays + " * " + stayDays + ", " + stayDone + ") AS sq FROM " + allDimRows(src) +
		" ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk WHERE en > toDateTime(0) GROUP BY dim, value, d, r, bk, sign) GROUP BY dim, value, d, r, bk"
	monthRows := ins + "SELECT dim, value, toUInt8(1), toStartOfMonth(day) AS m, rk, b, sum(n), sum(still), sum(days), sum(days_sq), pub FROM " + t("stay_hist") +
		" WHERE grain = 0 AND pub = " + n + " GROUP BY dim, value, m, rk, b, pub"
	return []string{dayRows, monthRows}
}

// stayHistServes: stay_hist answers DaysInStage for f without a grouping (no
// owner filter, at most one deal dimension). Without a filter it reads the
// rows of the empty dim.
func (s *Service) stayHistServes(f Filter, groupBy string) bool {
	_, _, n := dealDim(f)
	return !s.noRollup && groupBy == "" && len(f.Rep)+len(f.Team)+len(f.Manager) == 0 && n <= 1
}

// stayBucketSums is one stage's stay_hist sums in one length bucket.
type stayBucketSums struct {
	rk           int
	b            int32
	n, still     uint64
	days, daysSq float64
}

// stageHist is one stage's buckets, in bucket order, and the number of its
// stays that left.
type stageHist struct {
	rk      int
	buckets []stayBucketSums
	n       uint64
}

// middle is the bucket holding the stay of rank r and r's rank inside it.
func (h stageHist) middle(r uint64) (x stayBucketSums, in uint64) {
	for _, x := range h.buckets {
		if r < x.n {
			return x, r
		}
		r -= x.n
	}
	return stayBucketSums{}, 0
}

// histWhere is the WHERE clause on stay_hist or deal_hist for f: the rows of
// its one deal dimension's values (the empty dim's without one) in its range,
// whole months at grain 1 and the other days at grain 0.
func histWhere(f Filter) (c cond, dim string, values []string) {
	dim, values, _ = dealDim(f)
	c.add(tokDelta)
	c.add("dim = ?", dim)
	c.in("value", values)
	g, args := grainRange(f, false)
	c.add(g, args...)
	return c, dim, values
}

// daysInStageHist is DaysInStage for f when stayHistServes.
func (s *Service) daysInStageHist(ctx context.Context, f Filter) ([]StageDurations, error) {
	c, dim, values := histWhere(f)
	var stages []*stageHist
	err := s.query(ctx, "days-in-stage-hist", "SELECT rk, b, sum(n), sum(still), sum(days), sum(days_sq) FROM stay_hist"+c.where()+" GROUP BY rk, b ORDER BY rk, b", c.args, func(r driverRows) error {
		var x stayBucketSums
		var rk uint8
		if err := r.Scan(&rk, &x.b, &x.n, &x.still, &x.days, &x.daysSq); err != nil {
			return err
		}
		x.rk = int(rk)
		if len(stages) == 0 || stages[len(stages)-1].rk != x.rk {
			stages = append(stages, &stageHist{rk: x.rk})
		}
		h := stages[len(stages)-1]
		h.buckets = append(h.buckets, x)
		h.n += x.n
		return nil
	})
	if err != nil {
		return nil, err
	}
	lens, err := s.middleLengths(ctx, f, dim, values, stages)
	if err != nil {
		return nil, err
	}
	out := []StageDurations{}
	for _, h := range stages {
		if g, ok := s.histDurations(h, lens); ok {
			out = append(out, g)
		}
	}
	return out, nil
}

// histDurations is one stage's figures from its buckets' sums and the middle
// lengths; ok is false when the range holds none of its stays (every one was
// replaced).
func (s *Service) histDurations(h *stageHist, lens map[bucketKey]map[uint64]int64) (g StageDurations, ok bool) {
	var still uint64
	var sum, sq float64
	for _, x := range h.buckets {
		still += x.still
		sum += x.days
		sq += x.daysSq
	}
	if h.n == 0 && still == 0 {
		return g, false
	}
	g.Rank, g.Key, g.Name, g.Count, g.StillIn = h.rk, "all", "all", int64(h.n), int64(still)
	if g.Rank >= 1 && g.Rank <= len(s.stages) {
		g.Stage = s.stages[g.Rank-1]
	}
	if h.n > 0 {
		lo, hi := h.lengthAt(lens, (h.n-1)/2), h.lengthAt(lens, h.n/2)
		g.Median = (float64(hi)/86400 + float64(lo)/86400) / 2
		g.Mean = sum / float64(h.n)
		g.StdDev = sdOf(float64(h.n), sum, sq)
	}
	return g, true
}

// bucketKey names one stage's length bucket.
type bucketKey struct {
	rk int
	b  int32
}

// lengthAt is the length in seconds of the stay of rank r (0-based, in length
// order) of h's stage, from the lengths middleLengths picked.
func (h stageHist) lengthAt(lens map[bucketKey]map[uint64]int64, r uint64) int64 {
	x, in := h.middle(r)
	return lens[bucketKey{h.rk, x.b}][in]
}

// middleBuckets are the buckets holding each stage's middle stays, in stage
// order, with stay_hist's count of each and the in-bucket ranks (0-based) of
// the middle stays it holds.
func middleBuckets(stages []*stageHist) (keys []bucketKey, want map[bucketKey]uint64, ranks map[bucketKey][]uint64) {
	want, ranks = map[bucketKey]uint64{}, map[bucketKey][]uint64{}
	for _, h := range stages {
		if h.n == 0 {
			continue
		}
		for _, r := range []uint64{(h.n - 1) / 2, h.n / 2} {
			x, in := h.middle(r)
			k := bucketKey{h.rk, x.b}
			if _, ok := want[k]; !ok {
				keys = append(keys, k)
			}
			want[k] = x.n
			if !slices.Contains(ranks[k], in) {
				ranks[k] = append(ranks[k], in)
			}
		}
	}
	return keys, want, ranks
}

// middleLengths reads, in the buckets that hold each stage's middle stays,
// the lengths of the stays of f's range at the middle ranks (in-bucket rank
// to seconds), and checks the buckets' counts against stay_hist's.
// quantilesExact picks each one with a partial sort (nth_element): the
// element at index ⌊level·n⌋ of the bucket's n sorted lengths, so rank r
// (0-based) of a bucket of n is level (r + ½)/n, ⌊level·n⌋ = r for any n
// below 2^50. Every bucket gets every level and keeps its own; sorting each
// bucket whole (arraySort of groupArray) took 28-30 ms at the large sample,
// this 10-12 ms.
func (s *Service) middleLengths(ctx context.Context, f Filter, dim string, values []string, stages []*stageHist) (map[bucketKey]map[uint64]int64, error) {
	keys, want, ranks := middleBuckets(stages)
	lens := map[bucketKey]map[uint64]int64{}
	if len(keys) == 0 {
		return lens, nil
	}
	in := make([]string, len(keys))
	var levels []string
	at := map[bucketKey][]int{} // the indexes of each bucket's ranks' levels
	for i, k := range keys {
		in[i] = fmt.Sprintf("(rk = %d AND b = %d)", k.rk, k.b)
		for _, r := range ranks[k] {
			at[k] = append(at[k], len(levels))
			levels = append(levels, strconv.FormatFloat((float64(r)+0.5)/float64(want[k]), 'g', -1, 64))
		}
	}
	var c cond
	c.add(tokFacts)
	c.add("(" + strings.Join(in, " OR ") + ")")
	dateRange(&c, "en_day", f)
	if dim != "" {
		c.in(dim, values)
	}
	got := map[bucketKey]uint64{}
	q := "SELECT rk, b, count(), quantilesExact(" + strings.Join(levels, ", ") + ")(s) FROM stay_lens" + c.prewhere() + " GROUP BY rk, b"
	err := s.query(ctx, "days-in-stage-lengths", q, c.args, func(r driverRows) error {
		var rk uint8
		var b int32
		var n uint64
		var vs []int64
		if err := r.Scan(&rk, &b, &n, &vs); err != nil {
			return err
		}
		k := bucketKey{int(rk), b}
		got[k], lens[k] = n, map[uint64]int64{}
		for i, r := range ranks[k] {
			if j := at[k][i]; j < len(vs) {
				lens[k][r] = vs[j]
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for k, n := range want {
		if got[k] != n {
			return nil, fmt.Errorf("days in stage: stage %d, bucket %d: stay_hist counts %d stays, stay_lens holds %d", k.rk, k.b, n, got[k])
		}
	}
	return lens, nil
}
