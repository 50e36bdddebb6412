package query

import (
	"fmt"
	"strings"
)

// Stage stays (METRICS.md, "Days in stage"): one opp_stays row per opportunity
// version and open stage it entered, written by a publication from the
// opp_facts rows it writes (schemas/migrations/0018_opp_stays.sql). Readers
// filter it by entry day, which it is sorted by, instead of ARRAY JOINing
// every opp_facts row; the {facts} rule holds unchanged, since a stay carries
// its opp_facts row's opportunity_id and pub.

// stayCols are the columns of opp_stays copied from opp_facts as they are.
const stayCols = "owner_id, owner_name, team, manager_id, manager_name, territory, segment, product, source"

// staysSelect is the INSERT … SELECT of the stays of the opp_facts rows of
// publication n (t names the shard's tables, as in factsSelect): the open
// stages each entered, with the entry's business day in tz.
func staysSelect(t func(string) string, n, tz string) string {
	return "INSERT INTO " + t("opp_stays") + " (opportunity_id, pub, rk, en, ex, en_day, " + stayCols + ") " +
		"SELECT opportunity_id, pub, toUInt8(rk), en, ex, toDate(en, " + tz + "), " + stayCols +
		" FROM " + t("opp_facts") + " ARRAY JOIN entered AS en, exited AS ex, arrayEnumerate(entered) AS rk WHERE pub = " + n + " AND en > toDateTime(0)"
}

// stayDone is a stay that has left its stage.
const stayDone = "ex > toDateTime(0)"

// daysInStageSQL is DaysInStage's statement: per stage rank (st, UInt32) and
// group, the stays entered in [from, to) (c's first two arguments) that left,
// their mean, median and standard deviation of stayDays, and those still in.
// c holds the range and dims' filters; every condition but {facts} reads
// opp_stays' own columns, so it goes to PREWHERE.
func daysInStageSQL(key, label string, c cond) string {
	return "SELECT toUInt32(rk) AS st, " + key + " AS k, " + label + ", countIf(" + stayDone + "), avgIf(" + stayDays + ", " + stayDone + "), " +
		middlesMedianIf(stayDays, stayDone) + ", if(countIf(" + stayDone + ") > 1, stddevSampIf(" + stayDays + ", " + stayDone + "), 0), countIf(ex = toDateTime(0))" +
		" FROM opp_stays" + c.prewhere() + " GROUP BY st, k ORDER BY st, k"
}

// middlesMedianIf is quantileMedianIf with one state instead of two: both
// middle values from one quantilesExact. Its level l picks the value at index
// floor(l·n) of the n sorted values (18.16 and current ClickHouse alike): 0.5
// gives the upper middle, and 0.5 − 1e-10 the lower one (index n/2 − 1 for an
// even n, (n − 1)/2 for an odd one, up to 5·10⁹ values). Their sum halved is
// bit for bit quantileMedianIf's upper − (−lower), halved. It keeps one array of
// the values instead of two and partitions it once more instead of again from
// scratch: days in stage at 10M stage events spends half its time there.
func middlesMedianIf(x, cond string) string {
	return "if(countIf(" + cond + ") = 0, 0, arraySum(quantilesExactIf(0.5, 0.4999999999)(" + x + ", " + cond + ")) / 2)"
}

// enteredIn adds from <= entry day < to to c.
func enteredIn(c *cond, f Filter) {
	dateRange(c, "en_day", f)
}

// stageNormsSQL is StageNorms' statement for the stays entered after since and
// left before until (Unix seconds); stage names the stage of rank rk. The
// entry-day bound is implied by en > since (the day of a later time is not
// earlier) and lets the read skip the older granules.
func stageNormsSQL(stage, tz string, since, until int64) string {
	pre := fmt.Sprintf(" PREWHERE en_day >= toDate(toDateTime(%d), %s) AND en > toDateTime(%d) AND ex > toDateTime(0) AND ex < toDateTime(%d) WHERE %s", since, tz, since, until, tokFacts)
	cols := ", count(), quantileExact(0.5)(" + stayDays + "), quantileExact(0.9)(" + stayDays + ")"
	from := " FROM opp_stays"
	return strings.Join([]string{
		"SELECT team, " + stage + " AS st" + cols + from + pre + " GROUP BY team, st",
		"SELECT '' AS team, " + stage + " AS st" + cols + from + pre + " GROUP BY st",
	}, " UNION ALL ")
}
