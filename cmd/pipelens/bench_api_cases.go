package main

import (
	"fmt"
	"net/url"
	"strings"
)

// benchFilter is one filter a page offers (none, product, source, territory
// or segment) with a value the sample holds.
type benchFilter struct{ name, col, value string }

func (f benchFilter) query() string {
	if f.col == "" {
		return ""
	}
	return "&" + f.col + "=" + url.QueryEscape(f.value)
}

// and is " AND col = 'value'" on a table with the filter's column.
func (f benchFilter) and() string {
	if f.col == "" {
		return ""
	}
	return " AND " + f.col + " = '" + strings.ReplaceAll(f.value, "'", "\\'") + "'"
}

// dimValue selects the filter's rows of a table keyed by (dim, value):
// dim_days, rep_dim_months, territory_dim_days, account_dims.
func (f benchFilter) dimValue() string {
	return "dim = '" + f.col + "'" + strings.Replace(f.and(), f.col+" =", "value =", 1)
}

// leadsAnd is and() for leads, which have a source and a territory but no
// product or segment (the API lists such a filter as ignored).
func (f benchFilter) leadsAnd() string {
	if f.col != "territory" && f.col != "source" {
		return ""
	}
	return f.and()
}

// benchSQL is what the two baselines are written over: deals is a table
// expression with the columns of a deal (opportunity_id, account_id, owner_id,
// product, source, stage, amount, created_date, close_date, closed, won,
// territory, segment, furthest) under the filter; stays the first entries into
// open stages (rk, en, ex); pushes the close-date changes (d, old_close,
// new_close); leads and acts the latest leads and activities.
type benchSQL struct {
	deals, stays, pushes, leads, acts, targets string
}

// rawSQL is what a user without pipelens would write over the raw tables: the
// latest row of each opportunity, account, lead and activity (run_id orders
// the loads), the furthest stage from the stage history.
func rawSQL(flt benchFilter) benchSQL {
	latest := func(table, key, cols string) string {
		return "(SELECT " + cols + " FROM " + table + " ORDER BY " + key + ", run_id DESC LIMIT 1 BY " + key + ")"
	}
	opps := latest("opportunities", "opportunity_id", "opportunity_id, account_id, owner_id, product, source, stage, amount, toDate(created_at) AS created_date, close_date, closed, won")
	accts := latest("accounts", "account_id", "account_id, territory, segment")
	furthest := "(SELECT opportunity_id, max(stage_rank) AS furthest FROM stage_events WHERE stage_rank BETWEEN 1 AND 99 GROUP BY opportunity_id)"
	withPlace := "(SELECT opportunity_id, account_id, owner_id, product, source, stage, amount, created_date, close_date, closed, won, territory, segment FROM " +
		opps + " AS o ALL LEFT JOIN " + accts + " AS a USING account_id WHERE 1" + flt.and() + ")"
	deals := "(SELECT opportunity_id, account_id, owner_id, product, source, stage, amount, created_date, close_date, closed, won, territory, segment, furthest FROM " +
		withPlace + " AS d ALL LEFT JOIN " + furthest + " AS s USING opportunity_id)"
	only := ""
	if flt.col != "" {
		only = " WHERE opportunity_id IN (SELECT opportunity_id FROM " + withPlace + ")"
	}
	ev := "(SELECT opportunity_id, arraySort(x -> tupleElement(x, 1), groupArray((entered_at, stage_rank))) AS ev FROM stage_events" + only + " GROUP BY opportunity_id)"
	stays := "(SELECT tupleElement(ev[i], 2) AS rk, tupleElement(ev[i], 1) AS en, if(i < length(ev), tupleElement(ev[i + 1], 1), toDateTime(0)) AS ex FROM " + ev +
		" ARRAY JOIN arrayEnumerate(ev) AS i WHERE tupleElement(ev[i], 2) BETWEEN 1 AND 99)"
	snaps := "(SELECT opportunity_id, arraySort(x -> tupleElement(x, 1), groupArray((snapshot_date, close_date))) AS s FROM opportunity_snapshots WHERE closed = 0" +
		strings.Replace(only, " WHERE ", " AND ", 1) + " GROUP BY opportunity_id)"
	pushes := "(SELECT tupleElement(s[i], 1) AS d, tupleElement(s[i - 1], 2) AS old_close, tupleElement(s[i], 2) AS new_close FROM " + snaps + " ARRAY JOIN arrayEnumerate(s) AS i WHERE i > 1)"
	leads := "(SELECT source, territory, created_at, converted FROM " + latest("leads", "lead_id", "lead_id, source, territory, created_at, converted") + " WHERE 1" + flt.leadsAnd() + ")"
	acts := "(SELECT rep_id, occurred_at FROM " + latest("activities", "activity_id", "activity_id, rep_id, occurred_at") + ")"
	targets := latest("targets", "scope, scope_id, metric, period_start", "scope, scope_id, metric, period_start, period_end, amount")
	return benchSQL{deals, stays, pushes, leads, acts, targets}
}

// servingSQL is the same over pipelens's serving tables (the floor): opp_facts
// holds every dimension of a deal and its furthest stage, opp_stays its stage
// stays; win rate and cycle time read the closed deals of opp_closes instead,
// coverage those and the open deals of opp_open (endpointSQL).
func servingSQL(flt benchFilter) benchSQL {
	r := rawSQL(flt)
	return benchSQL{
		deals:   "(SELECT * FROM opp_facts WHERE 1" + flt.and() + ")",
		stays:   "(SELECT rk, en, ex FROM opp_stays WHERE 1" + flt.and() + ")",
		pushes:  "(SELECT change_date AS d, old_close, new_close FROM opp_moves WHERE 1" + flt.and() + ")",
		leads:   "(SELECT source, territory, day AS created_at, leads, converted FROM lead_days WHERE grain = 0" + flt.leadsAnd() + ")",
		acts:    "(SELECT rep_id, day AS occurred_at, activities FROM rep_activity_days)",
		targets: r.targets,
	}
}

// endpointSQL is one endpoint's numbers as a single statement over b, for
// [from, to); rep is the rep of reps/{id}.
func endpointSQL(name string, b benchSQL, from, to, rep string, serving bool) string {
	rng := func(col string) string {
		return col + " >= toDate('" + from + "') AND " + col + " < toDate('" + to + "')"
	}
	inC, inX := rng("created_date"), rng("close_date")
	reached := make([]string, 4)
	for i := range reached {
		reached[i] = fmt.Sprintf("countIf(furthest >= %d OR won = 1)", i+1)
	}
	funnel := "count(), countIf(won = 1), countIf(closed = 1 AND won = 0), countIf(closed = 0), sum(amount), " + strings.Join(reached, ", ")
	cycle := "toFloat64(toInt32(toUInt16(close_date)) - toInt32(toUInt16(created_date)))"
	acts := "count()"
	if serving {
		acts = "sum(activities)"
	}
	repStats := "SELECT owner_id, countIf(won = 1 AND " + inX + "), countIf(closed = 1 AND won = 0 AND " + inX + "), sumIf(amount, won = 1 AND " + inX + "), avgIf(" + cycle + ", won = 1 AND " + inX + "), countIf(" + inC + ") AS created, " +
		strings.ReplaceAll(strings.Join(reached, ", "), "countIf(", "countIf("+inC+" AND ") + " FROM " + b.deals + " AS d"
	// closedIn is b.deals read from table (opp_closes or opp_open, sorted by
	// close date) with the range where it selects granules.
	closedIn := func(table string) string {
		return strings.Replace(strings.Replace(b.deals, "opp_facts", table, 1), " WHERE 1", " WHERE "+inX, 1)
	}
	switch name {
	case "funnel":
		return "SELECT " + funnel + " FROM " + b.deals + " AS d WHERE " + inC
	case "conversion":
		return "SELECT toStartOfMonth(created_date) AS p, " + funnel + " FROM " + b.deals + " AS d WHERE " + inC + " GROUP BY p ORDER BY p"
	case "winrate", "cycle":
		deals, inRange := b.deals, inX
		if serving {
			deals, inRange = closedIn("opp_closes"), "1"
		}
		if name == "cycle" {
			return "SELECT count(), avg(" + cycle + "), quantileExact(0.5)(" + cycle + ") FROM " + deals + " AS d WHERE won = 1 AND " + inRange
		}
		return "SELECT owner_id, countIf(won = 1), countIf(won = 0), sumIf(amount, won = 1), sumIf(amount, won = 0) FROM " + deals + " AS d WHERE closed = 1 AND " + inRange + " GROUP BY owner_id ORDER BY owner_id"
	case "days-in-stage":
		days := "(toFloat64(toUInt32(ex)) - toFloat64(toUInt32(en))) / 86400"
		stays, entered := b.stays, rng("toDate(en)")
		if serving {
			// opp_stays is sorted by the entry day: the range goes where it
			// selects granules.
			stays, entered = strings.Replace(stays, " WHERE 1", " WHERE "+rng("en_day"), 1), "1"
		}
		return "SELECT rk, countIf(ex > toDateTime(0)), avgIf(" + days + ", ex > toDateTime(0)), quantileExactIf(0.5)(" + days + ", ex > toDateTime(0)), countIf(ex = toDateTime(0)) FROM " + stays + " AS s WHERE " + entered + " GROUP BY rk ORDER BY rk"
	case "movement":
		return "SELECT p, sum(o), sum(w), sum(l), sum(po), sum(pi) FROM (SELECT toStartOfMonth(created_date) AS p, toUInt64(1) AS o, toUInt64(0) AS w, toUInt64(0) AS l, toUInt64(0) AS po, toUInt64(0) AS pi FROM " + b.deals + " AS d WHERE " + inC +
			" UNION ALL SELECT toStartOfMonth(close_date), toUInt64(0), toUInt64(won), toUInt64(closed = 1 AND won = 0), toUInt64(0), toUInt64(0) FROM " + b.deals + " AS d2 WHERE closed = 1 AND " + inX +
			" UNION ALL SELECT toStartOfMonth(d), toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(new_close > old_close), toUInt64(new_close < old_close) FROM " + b.pushes + " AS m WHERE " + rng("d") + ") GROUP BY p ORDER BY p"
	case "leads":
		if serving {
			return "SELECT source, sum(leads), sum(converted) FROM " + b.leads + " AS l WHERE " + rng("created_at") + " GROUP BY source HAVING sum(leads) > 0 ORDER BY source"
		}
		return "SELECT source, count(), countIf(converted = 1) FROM " + b.leads + " AS l WHERE " + rng("toDate(created_at)") + " GROUP BY source ORDER BY source"
	case "attainment":
		return "SELECT t.scope_id, t.period_start, t.amount, b.booked FROM (SELECT scope_id, period_start, amount FROM " + b.targets + " AS t0 WHERE scope = 'rep' AND " + rng("period_start") + ") AS t ALL LEFT JOIN " +
			"(SELECT owner_id AS scope_id, toStartOfMonth(close_date) AS period_start, sum(amount) AS booked FROM " + b.deals + " AS d WHERE won = 1 AND " + inX + " GROUP BY scope_id, period_start) AS b USING (scope_id, period_start)"
	case "coverage":
		target := "(SELECT sum(amount) FROM " + b.targets + " AS t WHERE scope = 'rep' AND " + rng("period_start") + ")"
		if serving {
			return "SELECT (SELECT sum(amount) FROM " + closedIn("opp_open") + " AS o), (SELECT sum(amount) FROM " + closedIn("opp_closes") + " AS w WHERE won = 1), " + target
		}
		return "SELECT sumIf(amount, closed = 0), sumIf(amount, won = 1), " + target + " FROM " + b.deals + " AS d WHERE " + inX
	case "reps":
		return "SELECT * FROM (" + repStats + " GROUP BY owner_id) AS r ALL LEFT JOIN (SELECT rep_id AS owner_id, " + acts + " AS acts FROM " + b.acts + " AS a WHERE " + rng("toDate(occurred_at)") + " GROUP BY owner_id) AS a USING owner_id ORDER BY owner_id"
	case "reps/{id}":
		who := " WHERE owner_id = '" + rep + "'"
		return "SELECT * FROM (" + repStats + who + " GROUP BY owner_id) AS r ALL LEFT JOIN (SELECT rep_id AS owner_id, " + acts + " AS acts FROM " + b.acts + " AS a WHERE rep_id = '" + rep + "' AND " + rng("toDate(occurred_at)") + " GROUP BY owner_id) AS a USING owner_id"
	case "territories":
		if serving {
			// The range's closes and the open deals (0025: both hold the account).
			open := strings.Replace(b.deals, "opp_facts", "opp_open", 1)
			return "SELECT territory, sum(c), sum(w), sum(l), sum(p), sum(a) FROM (SELECT territory, sumIf(amount, won = 1) AS c, countIf(won = 1) AS w, countIf(won = 0) AS l, toFloat64(0) AS p, uniqExactIf(account_id, won = 1) AS a FROM " +
				closedIn("opp_closes") + " AS d WHERE closed = 1 GROUP BY territory UNION ALL SELECT territory, toFloat64(0), toUInt64(0), toUInt64(0), sum(amount), toUInt64(0) FROM " + open +
				" AS o GROUP BY territory) GROUP BY territory ORDER BY territory"
		}
		return "SELECT territory, sumIf(amount, won = 1 AND " + inX + "), countIf(won = 1 AND " + inX + "), countIf(closed = 1 AND won = 0 AND " + inX + "), sumIf(amount, closed = 0), uniqExactIf(account_id, won = 1 AND " + inX + ") FROM " + b.deals + " AS d GROUP BY territory ORDER BY territory"
	case "deals":
		return "SELECT opportunity_id, owner_id, territory, product, stage, amount, created_date, close_date, (SELECT count() FROM " + b.deals + " AS c WHERE " + inC + ") FROM " + b.deals + " AS d WHERE " + inC + " ORDER BY amount DESC, opportunity_id LIMIT 50"
	case "series":
		return "SELECT close_date, sum(amount) FROM " + b.deals + " AS d WHERE won = 1 AND " + inX + " GROUP BY close_date ORDER BY close_date"
	case "forecast":
		open := "(SELECT amount, furthest FROM " + b.deals + " AS d WHERE closed = 0 AND " + inX + ")"
		hist := "(SELECT furthest, countIf(won = 1) / count() AS p FROM " + b.deals + " AS d WHERE closed = 1 GROUP BY furthest)"
		return "SELECT (SELECT sum(amount) FROM " + b.deals + " AS w WHERE won = 1 AND " + inX + "), sum(o.amount * h.p) FROM " + open + " AS o ALL LEFT JOIN " + hist + " AS h USING furthest"
	case "targets":
		return "SELECT t.scope_id, t.q, t.target, b.booked FROM (SELECT scope_id, toStartOfQuarter(period_start) AS q, sum(amount) AS target FROM " + b.targets + " AS t0 WHERE scope = 'rep' AND " + rng("period_start") + " GROUP BY scope_id, q) AS t ALL LEFT JOIN " +
			"(SELECT owner_id AS scope_id, toStartOfQuarter(close_date) AS q, sum(amount) AS booked FROM " + b.deals + " AS d WHERE won = 1 AND " + inX + " GROUP BY scope_id, q) AS b USING (scope_id, q)"
	}
	panic("bench api: no SQL for " + name)
}

// apiEndpoints are the endpoints of /api/v1 that read metrics, with the
// parameters a page sends (the range and filter are added).
var apiEndpoints = []struct{ name, path string }{
	{"funnel", "/api/v1/funnel?"},
	{"conversion", "/api/v1/conversion?period=month&"},
	{"winrate", "/api/v1/winrate?group_by=rep&"},
	{"cycle", "/api/v1/cycle?"},
	{"days-in-stage", "/api/v1/days-in-stage?"},
	{"movement", "/api/v1/movement?period=month&"},
	{"leads", "/api/v1/leads?"},
	{"attainment", "/api/v1/attainment?"},
	{"coverage", "/api/v1/coverage?"},
	{"reps", "/api/v1/reps?"},
	{"reps/{id}", "/api/v1/reps/{id}?"},
	{"territories", "/api/v1/territories?"},
	{"deals", "/api/v1/deals?basis=created&sort=-amount&"},
	{"series", "/api/v1/series?metric=bookings&"},
	{"forecast", "/api/v1/forecast?period=quarter&"},
	{"targets", "/api/v1/targets?period=quarter&"},
}
