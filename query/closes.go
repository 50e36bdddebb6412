package query

// Closed deals (METRICS.md, "Win rate" and "Cycle time"): one opp_closes row
// per closed or won opportunity version, written by a publication from the
// opp_facts rows it writes (schemas/migrations/0019_opp_closes.sql). Readers
// (also Movement's won and lost and the daily series of the closed-deal
// metrics) filter it by close date, which it is sorted by, instead of reading
// every opp_facts row; the {facts} rule holds unchanged, since a close carries
// its opp_facts row's opportunity_id and pub.

// closeCols are the columns of opp_closes copied from opp_facts as they are.
const closeCols = "close_date, created_date, closed, won, amount, owner_id, owner_name, team, manager_id, manager_name, territory, segment, product, source, account_id"

// closesSelect is the INSERT … SELECT of the closes of the opp_facts rows of
// publication n (t names the shard's tables, as in factsSelect). Won deals are
// closed (ingest settles the flags), but cycle time asks for won = 1 alone and
// win rate for closed = 1, so a row that is either keeps both flags.
func closesSelect(t func(string) string, n string) string {
	return factsCopySelect(t, "opp_closes", n, closeCols, "closed = 1 OR won = 1")
}

// openSelect is the INSERT … SELECT of the open deals of the opp_facts rows of
// publication n (opp_open, 0021): coverage's pipeline reads them by expected
// close date, the forecast with their stage entries and forecast category
// (0024). closed and won are kept (0) so that a reader's conditions read the
// same over opp_open and opp_facts.
func openSelect(t func(string) string, n string) string {
	return factsCopySelect(t, "opp_open", n, closeCols+", entered, forecast_category", "closed = 0 AND won = 0")
}

// factsCopySelect copies cols of the opp_facts rows of publication n that
// match where into table, with their opportunity_id and pub.
func factsCopySelect(t func(string) string, table, n, cols, where string) string {
	return "INSERT INTO " + t(table) + " (opportunity_id, pub, " + cols + ") " +
		"SELECT opportunity_id, pub, " + cols + " FROM " + t("opp_facts") + " WHERE pub = " + n + " AND (" + where + ")"
}

// winRateSQL is WinRate's statement over opp_closes: per group, won and lost
// deals closed in the range and their amounts. c holds closed = 1, the range
// and dims' filters; all but {facts} go to PREWHERE.
func winRateSQL(key, label string, c cond) string {
	return "SELECT " + key + " AS k, " + label + ", countIf(won = 1), countIf(won = 0), sumIf(amount, won = 1), sumIf(amount, won = 0) FROM opp_closes" +
		c.prewhere() + " GROUP BY k ORDER BY k"
}

// cycleSQL is CycleTime's statement over opp_closes: per group (key "'all'"
// for the total), the won deals closed in the range, their mean, median and
// standard deviation of cycleDays. c holds won = 1, the range and dims'
// filters. The median takes both middle values from one quantilesExact state
// (middlesMedianIf): the same bits as sorting the values into an array.
func cycleSQL(key, label string, c cond) string {
	q := "SELECT " + key + " AS k, " + label + ", count(), avg(" + cycleDays + "), " + middlesMedianIf(cycleDays, "1") +
		", if(count() > 1, stddevSamp(" + cycleDays + "), 0) FROM opp_closes" + c.prewhere()
	if key != "'all'" {
		q += " GROUP BY k ORDER BY k"
	}
	return q
}

// movementClosedSQL is Movement's statement of the deals won and lost per
// period p (pcl, a periodExpr of close_date) over opp_closes. c holds
// closed = 1, the range and dims' filters.
func movementClosedSQL(pcl string, c cond) string {
	return "SELECT " + pcl + " AS p, countIf(won = 1), sumIf(amount, won = 1), countIf(won = 0), sumIf(amount, won = 0) FROM opp_closes" + c.prewhere() + " GROUP BY p"
}
