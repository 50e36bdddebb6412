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

// ownerDims adds the owner filters on rep_days.
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
	g, args := grainRange(f, daysOnly)
	c.add(g, args...)
	ownerDims(&c, f)
	return c
}

// repDaysSelects fills rep_days from opp_facts: the day rows (the created,
// closed and stage-entry numbers each dated by their own date, summed per owner
// and day), then the month rows from the day rows.
func (s *Service) repDaysSelects() []string {
	k := len(s.stages)
	ranks := make([]string, k)
	reached := make([]string, k)
	for i := range k {
		ranks[i] = fmt.Sprint(i + 1)
		reached[i] = fmt.Sprintf("countIf(furthest >= %d)", i+1)
	}
	rk := "[" + strings.Join(ranks, ", ") + "]"
	zu := fmt.Sprintf("arrayMap(i -> toUInt64(0), range(%d))", k)
	zf := fmt.Sprintf("arrayMap(i -> toFloat64(0), range(%d))", k)
	const owner = "owner_id, any(owner_name) AS o_name, any(team) AS o_team, any(manager_id) AS o_mgr, any(manager_name) AS o_mname"
	const noCreated = "toUInt64(0), toFloat64(0), toUInt64(0), toFloat64(0), toUInt64(0), toUInt64(0), "
	const noClosed = "toUInt64(0), toFloat64(0), toFloat64(0), toUInt64(0), toFloat64(0), toFloat64(0), toFloat64(0), "
	const days = "(toFloat64(toUInt32(ex)) - toFloat64(toUInt32(en))) / 86400"
	const left = "i = rk AND ex > toDateTime(0)"
	created := "SELECT created_date AS d, " + owner + ", count() AS c, sum(amount) AS ca, countIf(won = 1) AS cw, sumIf(amount, won = 1) AS cwa, countIf(lost = 1) AS cl, countIf(closed = 0) AS co, " +
		"[" + strings.Join(reached, ", ") + "] AS r, toUInt64(0) AS w, toFloat64(0) AS wa, toFloat64(0) AS wa2, toUInt64(0) AS l, toFloat64(0) AS la, toFloat64(0) AS cs, toFloat64(0) AS cs2, " +
		zu + " AS se, " + zu + " AS sl, " + zf + " AS sd, " + zf + " AS sd2 FROM opp_facts GROUP BY d, owner_id"
	closed := "SELECT close_date AS d, " + owner + ", " + noCreated + zu + ", " +
		"countIf(won = 1), sumIf(amount, won = 1), sumIf(amount * amount, won = 1), countIf(won = 0), sumIf(amount, won = 0), sumIf(" + cycleDays + ", won = 1), sumIf(" + cycleDays + " * " + cycleDays + ", won = 1), " +
		zu + ", " + zu + ", " + zf + ", " + zf + " FROM opp_facts WHERE closed = 1 GROUP BY d, owner_id"
	stages := "SELECT toDate(en, " + s.tz + ") AS d, " + owner + ", " + noCreated + zu + ", " + noClosed +
		"sumForEach(arrayMap(i -> toUInt64(i = rk), " + rk + ")), sumForEach(arrayMap(i -> toUInt64(" + left + "), " + rk + ")), " +
		"sumForEach(arrayMap(i -> if(" + left + ", " + days + ", toFloat64(0)), " + rk + ")), sumForEach(arrayMap(i -> if(" + left + ", " + days + " * " + days + ", toFloat64(0)), " + rk + ")) " +
		"FROM opp_facts ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk WHERE en > toDateTime(0) GROUP BY d, owner_id"
	const cols = `(grain, day, owner_id, owner_name, team, manager_id, manager_name, created, created_amount, created_won, created_won_amount,
    created_lost, created_open, reached, won, won_amount, won_amount_sq, lost, lost_amount, cycle_sum, cycle_sq,
    stage_entries, stage_left, stage_days, stage_days_sq) `
	dayRows := cols + "SELECT toUInt8(0), d, owner_id, any(o_name), any(o_team), any(o_mgr), any(o_mname), sum(c), sum(ca), sum(cw), sum(cwa), sum(cl), sum(co), sumForEach(r), " +
		"sum(w), sum(wa), sum(wa2), sum(l), sum(la), sum(cs), sum(cs2), sumForEach(se), sumForEach(sl), sumForEach(sd), sumForEach(sd2) FROM (" +
		created + " UNION ALL " + closed + " UNION ALL " + stages + ") GROUP BY d, owner_id"
	monthRows := cols + "SELECT toUInt8(1), toStartOfMonth(day) AS m, owner_id, any(owner_name), any(team), any(manager_id), any(manager_name), sum(created), sum(created_amount), sum(created_won), " +
		"sum(created_won_amount), sum(created_lost), sum(created_open), sumForEach(reached), sum(won), sum(won_amount), sum(won_amount_sq), sum(lost), sum(lost_amount), sum(cycle_sum), sum(cycle_sq), " +
		"sumForEach(stage_entries), sumForEach(stage_left), sumForEach(stage_days), sumForEach(stage_days_sq) FROM {self} WHERE grain = 0 GROUP BY m, owner_id"
	return []string{dayRows, monthRows}
}

// territoryDaysSelects fills territory_days from opp_facts: won and lost per
// close day, the month rows from them, and the open pipeline (grain 2).
func (s *Service) territoryDaysSelects() []string {
	const cols = "(grain, day, territory, segment, won, won_amount, lost, won_accounts, pipeline) "
	return []string{
		cols + "SELECT toUInt8(0), close_date AS d, territory, segment, countIf(won = 1), sumIf(amount, won = 1), countIf(lost = 1), uniqExactStateIf(account_id, won = 1), toFloat64(0) " +
			"FROM opp_facts WHERE territory != '' AND (won = 1 OR lost = 1) GROUP BY d, territory, segment",
		cols + "SELECT toUInt8(1), toStartOfMonth(day) AS m, territory, segment, sum(won), sum(won_amount), sum(lost), uniqExactMergeState(won_accounts), toFloat64(0) " +
			"FROM {self} WHERE grain = 0 GROUP BY m, territory, segment",
		// Every territory and segment of any deal gets a row, as the page lists
		// them even with nothing in the range.
		cols + "SELECT toUInt8(2), toDate('1970-01-01'), territory, segment, toUInt64(0), toFloat64(0), toUInt64(0), uniqExactStateIf(account_id, toUInt8(0)), sumIf(amount, closed = 0) " +
			"FROM opp_facts WHERE territory != '' GROUP BY territory, segment",
	}
}

// accountFactsSelect fills account_facts: the latest accounts with the dates
// their opportunities were created on.
func accountFactsSelect() string {
	return "(account_id, territory, segment, created) SELECT account_id, territory, segment, created FROM " +
		latest("accounts", "account_id", "account_id, territory, segment") + " AS a ANY LEFT JOIN " +
		"(SELECT account_id, arraySort(groupUniqArray(created_date)) AS created FROM opp_facts GROUP BY account_id) AS o USING account_id"
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
