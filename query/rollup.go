package query

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The pre-aggregates (schemas/migrations/0005_serving.sql) answer the requests
// whose filters they are keyed by: rep_days those filtered at most by the owner
// (rep, team, manager), territory_days and account_facts those filtered at most
// by territory and segment. Any other filter reads opp_facts, which holds every
// dimension; the two paths give the same numbers (rollup_test.go).

// ownerOnly: the filter selects by owner attributes only, so rep_days answers it.
func (s *Service) ownerOnly(f Filter) bool {
	return !s.noRollup && len(f.Territory)+len(f.Product)+len(f.Source)+len(f.Segment) == 0
}

// placeOnly: the filter selects by territory and segment only, so
// territory_days and account_facts answer it.
func (s *Service) placeOnly(f Filter) bool {
	return !s.noRollup && len(f.Rep)+len(f.Team)+len(f.Manager)+len(f.Product)+len(f.Source) == 0
}

// ownerDims adds the owner filters (team, manager, rep id): rep_days, leads,
// activities.
func ownerDims(c *cond, f Filter) {
	c.in("team", f.Team)
	c.in("manager_id", f.Manager)
	c.in("owner_id", f.Rep)
}

// grainRange is the rows of a (grain, day) table that make up [f.From, f.To):
// the whole months inside it at grain 1, the days before the first and after
// the last whole month at grain 0. daysOnly reads days only (for weekly
// periods, which months do not add up to).
func grainRange(f Filter, daysOnly bool) (string, []any) {
	from, to := f.From, f.To
	m0 := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, from.Location())
	if !m0.Equal(from) {
		m0 = m0.AddDate(0, 1, 0)
	}
	m1 := time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, to.Location())
	if daysOnly || !m0.Before(m1) {
		return "(grain = 0 AND day >= toDate(?) AND day < toDate(?))", []any{day(from), day(to)}
	}
	return "((grain = 1 AND day >= toDate(?) AND day < toDate(?)) OR (grain = 0 AND ((day >= toDate(?) AND day < toDate(?)) OR (day >= toDate(?) AND day < toDate(?)))))",
		[]any{day(m0), day(m1), day(from), day(m0), day(m1), day(to)}
}

// repDaysWhere is the WHERE clause on rep_days for f.
func repDaysWhere(f Filter, daysOnly bool) cond {
	var c cond
	c.add(tokDelta)
	g, args := grainRange(f, daysOnly)
	c.add(g, args...)
	ownerDims(&c, f)
	return c
}

// repDaysSelects fills rep_days from src, signed opp_facts rows (a sign column:
// 1 adds a version, -1 cancels one): the day rows (the created, closed and
// stage-entry numbers each dated by their own date, summed per owner and day),
// then the month rows of publication pub from its day rows. Counts of negative
// rows are stored as two's complement (see 0007_publications.sql). rep_days is
// t("rep_days"): a publication fills each shard's local table from the shard's
// own opp_facts in cluster mode (the rows are additive, so the shards' partial
// sums add up to one server's).
func (s *Service) repDaysSelects(t func(string) string, src string, pub uint64) []string {
	k := len(s.stages)
	ranks := make([]string, k)
	reached := make([]string, k)
	for i := range k {
		ranks[i] = fmt.Sprint(i + 1)
		reached[i] = fmt.Sprintf("toUInt64(sumIf(sign, furthest >= %d))", i+1)
	}
	rk := "[" + strings.Join(ranks, ", ") + "]"
	zu := fmt.Sprintf("arrayMap(i -> toUInt64(0), range(%d))", k)
	zf := fmt.Sprintf("arrayMap(i -> toFloat64(0), range(%d))", k)
	const owner = "owner_id, owner_name, team, manager_id, manager_name, sign"
	const noCreated = "toUInt64(0), toFloat64(0), toUInt64(0), toFloat64(0), toUInt64(0), toUInt64(0), "
	const noClosed = "toUInt64(0), toFloat64(0), toFloat64(0), toUInt64(0), toFloat64(0), toFloat64(0), toFloat64(0), "
	const days = "(toFloat64(toUInt32(ex)) - toFloat64(toUInt32(en))) / 86400"
	const left = "i = rk AND ex > toDateTime(0)"
	created := "SELECT created_date AS d, " + owner + ", toUInt64(sum(sign)) AS c, sum(sign * amount) AS ca, toUInt64(sumIf(sign, won = 1)) AS cw, sumIf(sign * amount, won = 1) AS cwa, " +
		"toUInt64(sumIf(sign, lost = 1)) AS cl, toUInt64(sumIf(sign, closed = 0)) AS co, [" + strings.Join(reached, ", ") + "] AS r, " +
		"toUInt64(0) AS w, toFloat64(0) AS wa, toFloat64(0) AS wa2, toUInt64(0) AS l, toFloat64(0) AS la, toFloat64(0) AS cs, toFloat64(0) AS cs2, " +
		zu + " AS se, " + zu + " AS sl, " + zf + " AS sd, " + zf + " AS sd2 FROM " + src + " GROUP BY d, " + owner
	closed := "SELECT close_date AS d, " + owner + ", " + noCreated + zu + ", " +
		"toUInt64(sumIf(sign, won = 1)), sumIf(sign * amount, won = 1), sumIf(sign * amount * amount, won = 1), toUInt64(sumIf(sign, won = 0)), sumIf(sign * amount, won = 0), " +
		"sumIf(sign * " + cycleDays + ", won = 1), sumIf(sign * " + cycleDays + " * " + cycleDays + ", won = 1), " +
		zu + ", " + zu + ", " + zf + ", " + zf + " FROM " + src + " WHERE closed = 1 GROUP BY d, " + owner
	stages := "SELECT toDate(en, " + s.tz + ") AS d, " + owner + ", " + noCreated + zu + ", " + noClosed +
		"sumForEach(arrayMap(i -> toUInt64(toInt64(i = rk) * sign), " + rk + ")), sumForEach(arrayMap(i -> toUInt64(toInt64(" + left + ") * sign), " + rk + ")), " +
		"sumForEach(arrayMap(i -> if(" + left + ", " + days + ", toFloat64(0)) * sign, " + rk + ")), sumForEach(arrayMap(i -> if(" + left + ", " + days + " * " + days + ", toFloat64(0)) * sign, " + rk + ")) " +
		"FROM " + src + " ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk WHERE en > toDateTime(0) GROUP BY d, " + owner
	const cols = `(grain, day, owner_id, owner_name, team, manager_id, manager_name, created, created_amount, created_won, created_won_amount,
    created_lost, created_open, reached, won, won_amount, won_amount_sq, lost, lost_amount, cycle_sum, cycle_sq,
    stage_entries, stage_left, stage_days, stage_days_sq, sign, pub) `
	n := u(pub)
	dayRows := cols + "SELECT toUInt8(0), d, owner_id, owner_name, team, manager_id, manager_name, sum(c), sum(ca), sum(cw), sum(cwa), sum(cl), sum(co), sumForEach(r), " +
		"sum(w), sum(wa), sum(wa2), sum(l), sum(la), sum(cs), sum(cs2), sumForEach(se), sumForEach(sl), sumForEach(sd), sumForEach(sd2), sign, toUInt64(" + n + ") FROM (" +
		created + " UNION ALL " + closed + " UNION ALL " + stages + ") GROUP BY d, " + owner
	monthRows := cols + "SELECT toUInt8(1), toStartOfMonth(day) AS m, owner_id, owner_name, team, manager_id, manager_name, sum(created), sum(created_amount), sum(created_won), " +
		"sum(created_won_amount), sum(created_lost), sum(created_open), sumForEach(reached), sum(won), sum(won_amount), sum(won_amount_sq), sum(lost), sum(lost_amount), sum(cycle_sum), sum(cycle_sq), " +
		"sumForEach(stage_entries), sumForEach(stage_left), sumForEach(stage_days), sumForEach(stage_days_sq), sign, pub FROM " + t("rep_days") + " WHERE grain = 0 AND pub = " + n +
		" GROUP BY m, owner_id, owner_name, team, manager_id, manager_name, sign, pub"
	return []string{dayRows, monthRows}
}

// sdOf is the sample standard deviation from a count, a sum and a sum of
// squares (0 under two values).
func sdOf(n, sum, sq float64) float64 {
	if n < 2 {
		return 0
	}
	v := (sq - sum*sum/n) / (n - 1)
	if v <= 0 {
		return 0
	}
	return math.Sqrt(v)
}

// meanOf is sum/n, 0 for no values.
func meanOf(n, sum float64) float64 {
	if n <= 0 {
		return 0
	}
	return sum / n
}

// padded is a with at least k elements (sumForEach over no rows is []).
func padded[T any](a []T, k int) []T {
	for len(a) < k {
		var z T
		a = append(a, z)
	}
	return a
}
