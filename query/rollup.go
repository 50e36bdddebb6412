package query

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
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

// accountDim is the deal dimension (product or source) and its values when f
// names exactly one of them and no owner: account_dims and territory_dim_days
// hold the accounts' and territories' numbers per value of each (their
// territory and segment are columns).
func (s *Service) accountDim(f Filter) (dim string, values []string, ok bool) {
	if s.noRollup || len(f.Rep)+len(f.Team)+len(f.Manager) != 0 || (len(f.Product) == 0) == (len(f.Source) == 0) {
		return "", nil, false
	}
	if len(f.Product) > 0 {
		return "product", f.Product, true
	}
	return "source", f.Source, true
}

// ownerDims adds the owner filters (team, manager, rep id): rep_days, leads,
// activities.
func ownerDims(c *cond, f Filter) {
	c.in("team", f.Team)
	c.in("manager_id", f.Manager)
	c.in("owner_id", f.Rep)
}

// wholeMonths are the whole months [m0, m1) inside [f.From, f.To); ok is false
// when there are none.
func wholeMonths(f Filter) (m0, m1 time.Time, ok bool) {
	from, to := f.From, f.To
	m0 = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, from.Location())
	if !m0.Equal(from) {
		m0 = m0.AddDate(0, 1, 0)
	}
	m1 = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, to.Location())
	return m0, m1, m0.Before(m1)
}

// grainRange is the rows of a (grain, day) table that make up [f.From, f.To):
// the whole months inside it at grain 1, the days before the first and after
// the last whole month at grain 0. daysOnly reads days only (for weekly
// periods, which months do not add up to).
func grainRange(f Filter, daysOnly bool) (string, []any) {
	from, to := f.From, f.To
	m0, m1, ok := wholeMonths(f)
	if daysOnly || !ok {
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
	const owner = "owner_id, owner_name, team, manager_id, manager_name, sign"
	created, closed, stages := s.repDayParts(src, owner, func(d string) string { return d })
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

// teamDaysSelect fills team_days (0028) from rep_days' rows of publication
// pub, both grains and both signs summed per team and manager: sums over a
// range of team_days equal rep_days' when no filter names a rep. Each shard
// sums its own rep_days in cluster mode.
func teamDaysSelect(t func(string) string, pub uint64) string {
	n := u(pub)
	return "INSERT INTO " + t("team_days") + " (grain, day, team, manager_id, created, created_amount, created_won, created_won_amount, created_lost, created_open, reached, " +
		"won, won_amount, lost, lost_amount, pub) SELECT grain, day, team, manager_id, sum(created), sum(created_amount), sum(created_won), sum(created_won_amount), " +
		"sum(created_lost), sum(created_open), sumForEach(reached), sum(won), sum(won_amount), sum(lost), sum(lost_amount), pub FROM " + t("rep_days") +
		" WHERE pub = " + n + " GROUP BY grain, day, team, manager_id, pub"
}

// repDimDims are rep_dim_months' and dim_days' dimensions: the deal columns a
// filter may select by that rep_days does not carry.
var repDimDims = []string{"product", "source", "segment", "territory"}

// perDimRows is src with each row repeated once per dimension (dims, else
// repDimDims), with columns dim and value.
func perDimRows(src string, dims ...string) string {
	if len(dims) == 0 {
		dims = repDimDims
	}
	pairs := make([]string, len(dims))
	for i, d := range dims {
		pairs[i] = "('" + d + "', " + d + ")"
	}
	return "(SELECT " + deltaCols + ", sign, tupleElement(dv, 1) AS dim, tupleElement(dv, 2) AS value FROM " + src +
		" ARRAY JOIN [" + strings.Join(pairs, ", ") + "] AS dv)"
}

// allDimRows is perDimRows(src) and each row once more with dim and value
// empty: the rows of every value, which a request without a filter reads
// (stay_hist, deal_hist).
func allDimRows(src string) string {
	return "(SELECT * FROM " + perDimRows(src) + " UNION ALL SELECT " + deltaCols + ", sign, '' AS dim, '' AS value FROM " + src + ")"
}

// dimDaysSelects fill dim_days (0029) from src, signed opp_facts rows: team_days'
// columns per dimension value, team, manager and day (the cohort's by creation,
// won and lost by close), then the month rows of publication pub from its day
// rows. The outer sum adds at most one row of each sign per column, as in
// repDimSelect.
func (s *Service) dimDaysSelects(t func(string) string, src string, pub uint64) []string {
	const key = "dim, value, team, manager_id, sign"
	created, closed, _ := s.repDayParts(perDimRows(src), key, func(d string) string { return d })
	ins := "INSERT INTO " + t("dim_days") + " (dim, value, grain, day, team, manager_id, created, created_amount, created_won, created_won_amount, created_lost, created_open, reached, " +
		"won, won_amount, lost, lost_amount, pub) "
	n := u(pub)
	dayRows := ins + "SELECT dim, value, toUInt8(0), d, team, manager_id, sum(c), sum(ca), sum(cw), sum(cwa), sum(cl), sum(co), sumForEach(r), sum(w), sum(wa), sum(l), sum(la), " +
		"toUInt64(" + n + ") FROM (" + created + " UNION ALL " + closed + ") GROUP BY dim, value, d, team, manager_id"
	monthRows := ins + "SELECT dim, value, toUInt8(1), toStartOfMonth(day) AS m, team, manager_id, sum(created), sum(created_amount), sum(created_won), sum(created_won_amount), " +
		"sum(created_lost), sum(created_open), sumForEach(reached), sum(won), sum(won_amount), sum(lost), sum(lost_amount), pub FROM " + t("dim_days") +
		" WHERE grain = 0 AND pub = " + n + " GROUP BY dim, value, m, team, manager_id, pub"
	return []string{dayRows, monthRows}
}

// repDimSelect fills rep_dim_months (0022) from src, signed opp_facts rows:
// rep_days' numbers per owner, month and each deal dimension's value. Each
// row of src is repeated once per dimension before the parts sum it, so every
// sum adds rows in src's order and the outer one adds at most one row of each
// sign per column (the parts' other columns are zeros): the same floats on
// every server version.
func (s *Service) repDimSelect(t func(string) string, src string, pub uint64) string {
	perDim := perDimRows(src)
	const key = "dim, value, owner_id, team, manager_id, sign"
	created, closed, stages := s.repDayParts(perDim, key, func(d string) string { return "toStartOfMonth(" + d + ")" })
	return "INSERT INTO " + t("rep_dim_months") + " (dim, value, day, owner_id, team, manager_id, created_won, reached, won, won_amount, won_amount_sq, lost, lost_amount, " +
		"cycle_sum, cycle_sq, stage_entries, stage_left, stage_days, stage_days_sq, pub) " +
		"SELECT dim, value, d, owner_id, team, manager_id, sum(cw), sumForEach(r), sum(w), sum(wa), sum(wa2), sum(l), sum(la), " +
		"sum(cs), sum(cs2), sumForEach(se), sumForEach(sl), sumForEach(sd), sumForEach(sd2), toUInt64(" + u(pub) + ") FROM (" +
		created + " UNION ALL " + closed + " UNION ALL " + stages + ") GROUP BY dim, value, d, owner_id, team, manager_id"
}

// repDayParts are the three reads of src that rep_days' numbers come from, each
// summed per key and date (dateOf of the date that dates the number): the
// created cohort by creation date, the closes by close date and the first
// entries into each stage by the entry's business day. Each has every column
// (d, key, c, ca, cw, cwa, cl, co, r, w, wa, wa2, l, la, cs, cs2, se, sl, sd,
// sd2), zero where the part has none, so they UNION ALL.
func (s *Service) repDayParts(src, key string, dateOf func(string) string) (created, closed, stages string) {
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
	// Every part names every column: a server that drops the columns an outer
	// query leaves unused drops them by name from each part.
	const noCreated = "toUInt64(0) AS c, toFloat64(0) AS ca, toUInt64(0) AS cw, toFloat64(0) AS cwa, toUInt64(0) AS cl, toUInt64(0) AS co, "
	const noClosed = "toUInt64(0) AS w, toFloat64(0) AS wa, toFloat64(0) AS wa2, toUInt64(0) AS l, toFloat64(0) AS la, toFloat64(0) AS cs, toFloat64(0) AS cs2, "
	noStays := zu + " AS se, " + zu + " AS sl, " + zf + " AS sd, " + zf + " AS sd2"
	const days = "(toFloat64(toUInt32(ex)) - toFloat64(toUInt32(en))) / 86400"
	const left = "i = rk AND ex > toDateTime(0)"
	created = "SELECT " + dateOf("created_date") + " AS d, " + key + ", toUInt64(sum(sign)) AS c, sum(sign * amount) AS ca, toUInt64(sumIf(sign, won = 1)) AS cw, sumIf(sign * amount, won = 1) AS cwa, " +
		"toUInt64(sumIf(sign, lost = 1)) AS cl, toUInt64(sumIf(sign, closed = 0)) AS co, [" + strings.Join(reached, ", ") + "] AS r, " + noClosed + noStays +
		" FROM " + src + " GROUP BY d, " + key
	closed = "SELECT " + dateOf("close_date") + " AS d, " + key + ", " + noCreated + zu + " AS r, " +
		"toUInt64(sumIf(sign, won = 1)) AS w, sumIf(sign * amount, won = 1) AS wa, sumIf(sign * amount * amount, won = 1) AS wa2, toUInt64(sumIf(sign, won = 0)) AS l, sumIf(sign * amount, won = 0) AS la, " +
		"sumIf(sign * " + cycleDays + ", won = 1) AS cs, sumIf(sign * " + cycleDays + " * " + cycleDays + ", won = 1) AS cs2, " + noStays +
		" FROM " + src + " WHERE closed = 1 GROUP BY d, " + key
	stages = "SELECT " + dateOf("toDate(en, "+s.tz+")") + " AS d, " + key + ", " + noCreated + zu + " AS r, " + noClosed +
		"sumForEach(arrayMap(i -> toUInt64(toInt64(i = rk) * sign), " + rk + ")) AS se, sumForEach(arrayMap(i -> toUInt64(toInt64(" + left + ") * sign), " + rk + ")) AS sl, " +
		"sumForEach(arrayMap(i -> if(" + left + ", " + days + ", toFloat64(0)) * sign, " + rk + ")) AS sd, sumForEach(arrayMap(i -> if(" + left + ", " + days + " * " + days + ", toFloat64(0)) * sign, " + rk + ")) AS sd2 " +
		"FROM " + src + " ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk WHERE en > toDateTime(0) GROUP BY d, " + key
	return created, closed, stages
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

// teamTotals is one team's won and lost deals and amounts closed in a range
// and its deals created there, from team_days or rep_days.
type teamTotals struct {
	team                  string
	won, lost, created    uint64
	wonAmount, lostAmount float64
}

// teamsServe: repDayTeams answers f (rep_days with a rep filter, else the
// cubes).
func (s *Service) teamsServe(f Filter) bool { return s.ownerOnly(f) || s.cubeServes(f) }

// repDayTeams reads teamTotals for f (teamsServe): the win rate
// by team, the opened deals and the bookings of the same range and filter read
// these rows, from the teamCube (cubeSums), or, with a rep filter, in one
// statement over rep_days that a page asking for them at once shares
// (sharedRead). Ordered by team.
func (s *Service) repDayTeams(ctx context.Context, f Filter) ([]teamTotals, error) {
	if s.cubeServes(f) {
		sums, err := cubeSums(ctx, s, f, false, true, func(r *teamDay) string { return r.team })
		if err != nil {
			return nil, err
		}
		out := make([]teamTotals, 0, len(sums))
		for _, team := range slices.Sorted(maps.Keys(sums)) {
			a := sums[team]
			out = append(out, teamTotals{team: team, won: a.won, lost: a.lost, created: a.created, wonAmount: a.wonAmount, lostAmount: a.lostAmount})
		}
		return out, nil
	}
	c := repDaysWhere(f, false)
	q := "SELECT team, sum(won), sum(lost), sum(won_amount), sum(lost_amount), sum(created) FROM rep_days" + c.where() + " GROUP BY team ORDER BY team"
	return sharedRead(ctx, s, q+fmt.Sprintf("%q", c.args), func(ctx context.Context) ([]teamTotals, error) {
		var out []teamTotals
		err := s.query(ctx, "team-totals", q, c.args, func(r driverRows) error {
			var t teamTotals
			if err := r.Scan(&t.team, &t.won, &t.lost, &t.wonAmount, &t.lostAmount, &t.created); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		})
		return out, err
	})
}
