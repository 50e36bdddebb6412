package query

import "github.com/pipelens/pipelens/schemas"

// The accounts won in a range from territory_firsts
// (schemas/migrations/0036_territory_firsts.sql): each account's rows carry the
// last day it won before them, so its first win of a range is the one row there
// whose prev is before the range, and counting accounts is summing rows. An
// account's first row has prev 1970-01-01, before every range (ParseFilter
// takes years from 1971).

// territoryFirstsSelect fills territory_firsts for publication N after
// territory_wins has its rows: the rows of every account N touched (its rows of
// territory_wins in N), as they are with N (sign 1) and, in an incremental
// publication, as readers count them now (sign -1); rows the two share cancel.
// A full publication starts the table afresh (readers count from N on).
func (b *pubBuilder) territoryFirstsSelect() string {
	wins := b.t("territory_wins")
	touched := " AND (territory, segment, account_id) IN (SELECT territory, segment, account_id FROM " + wins + " WHERE grain = 0 AND pub = " + b.n + ")"
	states := firstsState(wins, schemas.DeltaVisible(b.next)+touched, "1")
	if !b.p.Full {
		states += " UNION ALL " + firstsState(wins, schemas.DeltaVisible(b.v)+touched, "-1")
	}
	return "INSERT INTO " + b.t("territory_firsts") + " (grain, day, territory, segment, account_id, prev, n, pub) " +
		"SELECT tupleElement(r, 1) AS g, tupleElement(r, 2) AS d, territory, segment, account_id, tupleElement(r, 3) AS p, toUInt64(sum(s)), toUInt64(" + b.n + ") FROM (" +
		"SELECT territory, segment, account_id, s, arrayJoin(" + firstsRows + ") AS r FROM (" + states + ")" +
		") GROUP BY g, d, territory, segment, account_id, p HAVING sum(s) != 0"
}

// firstsState is, per account of territory_wins' rows under where, the days
// it won on (a day's sum above 0), sorted, with sign s.
func firstsState(wins, where, s string) string {
	return "SELECT territory, segment, account_id, toInt64(" + s + ") AS s, arraySort(groupArray(day)) AS days FROM (" +
		"SELECT territory, segment, account_id, day FROM " + wins + " WHERE grain = 0 AND " + where +
		" GROUP BY territory, segment, account_id, day HAVING toInt64(sum(won)) > 0) GROUP BY territory, segment, account_id"
}

// firstsRows turns an account's sorted win days into its rows: (grain, day,
// prev) for each day, and for each month's first win day the month's row.
const firstsRows = "arrayConcat(" +
	"arrayMap(i -> (toUInt8(0), days[i], if(i = 1, toDate('1970-01-01'), days[i - 1])), arrayEnumerate(days)), " +
	"arrayMap(i -> (toUInt8(1), toStartOfMonth(days[i]), if(i = 1, toDate('1970-01-01'), days[i - 1])), " +
	"arrayFilter(i -> i = 1 OR toStartOfMonth(days[i]) != toStartOfMonth(days[i - 1]), arrayEnumerate(days))))"

// wonAccountsSQL counts per cell the accounts with a won deal in f's range
// (under its territory and segment filters): on a single server the range's
// rows of territory_firsts whose account had not won since before the range;
// in cluster mode groupedWonAccountsSQL's.
func (s *Service) wonAccountsSQL(f Filter) (string, []any) {
	if s.db.Cluster != "" {
		return groupedWonAccountsSQL(f)
	}
	wc := territoryRollupWhere(f, false)
	wc.add("prev < toDate(?)", day(f.From))
	return "SELECT territory, segment, sum(n) AS accounts FROM territory_firsts" + wc.where() +
		" GROUP BY territory, segment HAVING accounts > 0", wc.args
}

// groupedWonAccountsSQL counts per cell the accounts whose won deals in f's
// range, summed from territory_wins per account, add up to more than none
// (territory_wins holds corrections, see 0007).
func groupedWonAccountsSQL(f Filter) (string, []any) {
	wc := territoryRollupWhere(f, false)
	return "SELECT territory, segment, countIf(w > 0) AS accounts FROM (SELECT territory, segment, account_id, sum(won) AS w FROM territory_wins" + wc.where() +
		" GROUP BY territory, segment, account_id) GROUP BY territory, segment", wc.args
}
