package query

import (
	"fmt"
	"strings"

	"github.com/pipelens/pipelens/schemas"
)

// pubBuilder writes the statements of one publication: N = p.Pub over the
// visible state v. An incremental publication recomputes the opportunities,
// accounts and activities the new runs touched; a full one recomputes all.
//
// The statements run once per shard (schemas.DB.EachShard; once on a single
// server) and read and write that shard's local tables of everything keyed by
// opportunity (t names them): an opportunity's raw rows, facts, moves and gone
// rows live on one shard, so each shard computes its own. The tables sharded by
// other keys that a statement needs whole (reps, accounts, the new runs'
// accounts) are read through their Distributed tables, from inside the shard's
// local statement. The delta tables (rep_days, territory_days, territory_wins,
// rep_activity_days) get each shard's partial sums, and account_facts one
// partial row per account and shard (see accountSteps): readers add them up.
type pubBuilder struct {
	s    *Service
	v    schemas.Version // what readers count now
	next schemas.Version // what they will count once N is recorded
	p    *Publication
	n    string // N as SQL
	in   string // newRuns(p.Runs)
	// t is the table a statement names for a table of the shard it runs on:
	// schemas.DB.Local (name_local in cluster mode, name on one server).
	t func(string) string
}

type pubStep struct{ name, sql string }

func (s *Service) builder(v schemas.Version, p *Publication) *pubBuilder {
	b := &pubBuilder{s: s, v: v, p: p, n: u(p.Pub), next: schemas.Version{Pub: p.Pub, Base: v.Base}, t: s.db.Local}
	if p.Full {
		b.next.Base = p.Pub
	}
	b.in = newRuns(p.Runs)
	return b
}

// onShard is b for the statements run on shard sh.
func (b *pubBuilder) onShard(sh *schemas.DB) *pubBuilder {
	c := *b
	c.t = sh.Local
	return &c
}

// newRuns is the filter of the rows the runs being published wrote.
func newRuns(runs []uint64) string {
	if len(runs) == 0 {
		return "0"
	}
	ids := make([]string, len(runs))
	for i, r := range runs {
		ids[i] = u(r)
	}
	return "run_id IN (" + strings.Join(ids, ", ") + ")"
}

// newRuns: rows written by the runs being published.
func (b *pubBuilder) newRuns() string { return b.in }

// rawOld and rawNew: the raw rows readers count before and after N.
func (b *pubBuilder) rawOld() string { return schemas.RawVisible(b.v) }
func (b *pubBuilder) rawNew() string {
	if len(b.p.Runs) == 0 {
		return b.rawOld()
	}
	return "(" + b.rawOld() + " OR " + b.in + ")"
}

// touched is the ids of kind this shard's part of the publication recomputes.
func (b *pubBuilder) touched(kind string) string {
	return "(SELECT id FROM " + b.t("publish_touched") + " WHERE pub = " + b.n + " AND kind = '" + kind + "')"
}

// facts is the rule of the shard's opp_facts rows visible at v.
func (b *pubBuilder) facts(v schemas.Version) string {
	return schemas.EntityVisible(v, "opportunity_id", b.t("opp_gone"))
}

// oldFacts: the visible versions of the touched opportunities.
func (b *pubBuilder) oldFacts() string {
	return b.facts(b.v) + " AND opportunity_id IN " + b.touched("opp")
}

func (b *pubBuilder) steps() []pubStep {
	full := b.p.Full
	t := b.t
	var st []pubStep
	add := func(name, sql string) { st = append(st, pubStep{name, sql}) }
	if full {
		add("touched-opp", "INSERT INTO "+t("publish_touched")+" (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'opp', opportunity_id FROM "+t("opportunities")+" WHERE "+b.rawNew())
	} else {
		rn := b.newRuns()
		// The statement's own table is local, so its IN subqueries over reps and
		// accounts read them whole.
		add("touched-opp", "INSERT INTO "+t("publish_touched")+" (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'opp', id FROM ("+
			"SELECT opportunity_id AS id FROM "+t("opportunities")+" WHERE "+rn+
			" UNION ALL SELECT opportunity_id FROM "+t("stage_events")+" WHERE "+rn+
			" UNION ALL SELECT opportunity_id FROM "+t("opportunity_snapshots")+" WHERE "+rn+b.byDimensions()+")")
		add("touched-activity", "INSERT INTO "+t("publish_touched")+" (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'activity', activity_id FROM "+t("activities")+" WHERE "+rn)
		// One read of opp_facts for the replaced versions; opp_gone and every
		// delta table read them from publish_delta.
		add("delta-old", "INSERT INTO "+t("publish_delta")+" (pub, sign, version, "+deltaCols+") SELECT toUInt64("+b.n+"), toInt8(-1), pub, "+deltaCols+
			" FROM "+t("opp_facts")+" WHERE "+b.oldFacts())
		add("opp-gone", "INSERT INTO "+t("opp_gone")+" (opportunity_id, pub, gone_at) SELECT opportunity_id, version, toUInt64("+b.n+") FROM "+t("publish_delta")+
			" WHERE pub = "+b.n+" AND sign = -1")
	}
	restrict := ""
	if !full {
		restrict = "opportunity_id IN " + b.touched("opp")
	}
	add("facts", "INSERT INTO "+t("opp_facts")+" "+b.s.factsSelect(t, b.rawNew(), restrict, b.p.Pub, b.p.fx))
	add("stays", staysSelect(t, b.n, b.s.tz))
	add("stay-lens", stayLensSelect(t, b.n, b.s.tz))
	add("deal-amounts", dealAmountsSelect(t, b.n))
	add("closes", closesSelect(t, b.n))
	add("open", openSelect(t, b.n))
	if !full {
		add("delta-new", "INSERT INTO "+t("publish_delta")+" (pub, sign, version, "+deltaCols+") SELECT toUInt64("+b.n+"), toInt8(1), pub, "+deltaCols+
			" FROM "+t("opp_facts")+" WHERE pub = "+b.n)
	}
	add("moves", "INSERT INTO "+t("opp_moves")+" "+b.s.movesSelect(t, b.rawNew(), restrict, b.p.Pub, b.p.fx))
	src := b.factsDelta()
	for i, q := range b.s.repDaysSelects(t, src, b.p.Pub) {
		add(fmt.Sprintf("rep-days-%d", i), "INSERT INTO "+t("rep_days")+" "+q)
	}
	add("team-days", teamDaysSelect(t, b.p.Pub))
	add("rep-dims", b.s.repDimSelect(t, src, b.p.Pub))
	for i, q := range stayHistSelects(t, src, b.n, b.s.tz) {
		add(fmt.Sprintf("stay-hist-%d", i), q)
	}
	for i, q := range dealHistSelects(t, src, b.n) {
		add(fmt.Sprintf("deal-hist-%d", i), q)
	}
	for i, q := range b.s.dimDaysSelects(t, src, b.p.Pub) {
		add(fmt.Sprintf("dim-days-%d", i), q)
	}
	for i, q := range cycleDaysSelects(t, src, b.p.Pub) {
		add(fmt.Sprintf("cycle-days-%d", i), q)
	}
	for i, q := range territorySelects(t, src, b.p.Pub) {
		add(fmt.Sprintf("territory-%d", i), q)
	}
	if b.s.db.Cluster == "" {
		add("territory-firsts", b.territoryFirstsSelect())
	}
	add("account-days", "INSERT INTO "+t("account_days")+" (account_id, day, product, source, deals, pub) SELECT account_id, created_date AS d, product, source, toUInt64(sum(sign)), toUInt64("+b.n+
		") FROM "+src+" GROUP BY account_id, d, product, source")
	b.accountSteps(add)
	add("activity-days", "INSERT INTO "+t("rep_activity_days")+" "+b.activityDays())
	b.leadSteps(add)
	return st
}

// leadSteps fill lead_days from the shard's leads and lead_links (both sharded
// by lead_id, so the shards' partial sums add up). An incremental publication
// recomputes the leads its runs wrote or linked, and with a load of reps the
// leads those reps own (their team, manager or territory may have changed):
// their rows as of N minus their rows as readers count them now. A publication
// of other runs has no lead steps.
func (b *pubBuilder) leadSteps(add func(name, sql string)) {
	t := b.t
	const dims = "source, owner_id, team, manager_id, territory"
	cols := "INSERT INTO " + t("lead_days") + " (grain, day, " + dims + ", leads, converted, pub) "
	n := u(b.p.Pub)
	if b.p.Full {
		add("lead-days", cols+"SELECT toUInt8(0), created_date AS d, "+dims+", count(), countIf(converted = 1), toUInt64("+n+") FROM "+
			b.s.leadRows(t, b.rawNew(), "")+" GROUP BY d, "+dims)
	} else {
		if !b.p.leads && !b.p.dims {
			return
		}
		rn := b.newRuns()
		byReps := ""
		if b.p.dims {
			byReps = " UNION ALL SELECT lead_id FROM " + t("leads") + " WHERE " + b.rawOld() + " AND owner_id IN (SELECT rep_id FROM reps WHERE " + rn + ")"
		}
		add("touched-lead", "INSERT INTO "+t("publish_touched")+" (pub, kind, id) SELECT DISTINCT toUInt64("+n+"), 'lead', id FROM ("+
			"SELECT lead_id AS id FROM "+t("leads")+" WHERE "+rn+" UNION ALL SELECT lead_id FROM "+t("lead_links")+" WHERE "+rn+byReps+")")
		only := "lead_id IN " + b.touched("lead")
		row := "created_date AS d, " + dims + ", converted, "
		add("lead-days", cols+"SELECT toUInt8(0), d, "+dims+", toUInt64(sum(sign)), toUInt64(sumIf(sign, converted = 1)), toUInt64("+n+") FROM ("+
			"SELECT "+row+"toInt64(-1) AS sign FROM "+b.s.leadRows(t, b.rawOld(), only)+
			" UNION ALL SELECT "+row+"toInt64(1) AS sign FROM "+b.s.leadRows(t, b.rawNew(), only)+") GROUP BY d, "+dims)
	}
	add("lead-months", cols+"SELECT toUInt8(1), toStartOfMonth(day) AS m, "+dims+", sum(leads), sum(converted), pub FROM "+t("lead_days")+
		" WHERE grain = 0 AND pub = "+n+" GROUP BY m, "+dims+", pub")
}

// deltaCols are the opp_facts columns the delta tables are computed from.
const deltaCols = "opportunity_id, account_id, owner_id, owner_name, team, manager_id, manager_name, territory, segment, product, source, amount, " +
	"created_date, close_date, closed, won, lost, furthest, entered, exited"

// factsDelta is the signed opp_facts rows of the publication: the touched
// opportunities' replaced versions (sign -1) and their new ones (sign 1), from
// publish_delta; a full publication's are its opp_facts rows, all new.
func (b *pubBuilder) factsDelta() string {
	if b.p.Full {
		return "(SELECT " + deltaCols + ", toInt8(1) AS sign FROM " + b.t("opp_facts") + " WHERE pub = " + b.n + ")"
	}
	return "(SELECT " + deltaCols + ", sign FROM " + b.t("publish_delta") + " WHERE pub = " + b.n + ")"
}

// byDimensions adds to the touched opportunities those whose owner, manager or
// account a new run changed (read whole from the Distributed tables): only when
// the runs hold reps or accounts, since it reads every visible opportunity.
func (b *pubBuilder) byDimensions() string {
	if !b.p.dims {
		return ""
	}
	rn := b.newRuns()
	return " UNION ALL SELECT opportunity_id FROM " + b.t("opp_facts") + " WHERE " + b.facts(b.v) +
		" AND (owner_id IN (SELECT rep_id FROM reps WHERE " + rn + ") OR manager_id IN (SELECT rep_id FROM reps WHERE " + rn +
		") OR account_id IN (SELECT account_id FROM accounts WHERE " + rn + "))"
}

// accountSteps fill account_facts. An account's opportunities are spread over
// the shards, so each shard keeps a partial row per account: the account's
// territory and segment and the creation dates of the shard's own opportunities
// of it. A shard has a row for the accounts whose raw rows it holds (every
// account has one, opportunities or not) and for the accounts of its
// opportunities; readers group the rows by account (territories.go). The gone
// rows of a shard's rows are on the same shard, as {accounts} reads them. On one
// server this is one row per account.
//
// Every shard touches the accounts of the new runs (their territory or segment
// may have changed: all their rows are rewritten) and the accounts of its
// touched opportunities' old and new versions.
func (b *pubBuilder) accountSteps(add func(name, sql string)) {
	t := b.t
	const acct = "account_id, territory, segment"
	only, ta := "", ""
	if !b.p.Full {
		add("touched-account", "INSERT INTO "+t("publish_touched")+" (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'account', id FROM ("+
			"SELECT account_id AS id FROM accounts WHERE "+b.newRuns()+
			" UNION ALL SELECT account_id FROM "+t("publish_delta")+" WHERE pub = "+b.n+")")
		ta = b.touched("account")
		add("account-gone", "INSERT INTO "+t("account_gone")+" (account_id, pub, gone_at) SELECT account_id, pub, toUInt64("+b.n+") FROM "+t("account_facts")+" WHERE "+
			schemas.EntityVisible(b.v, "account_id", t("account_gone"))+" AND account_id IN "+ta)
		only = " AND account_id IN " + ta
	}
	// The shard's opportunities per account, creation date, product and
	// source, as of N.
	days := "(SELECT account_id, day, product, source FROM " + t("account_days") + " WHERE " + schemas.DeltaVisible(b.next) + only +
		" GROUP BY account_id, day, product, source HAVING sum(deals) > 0)"
	// The accounts this shard keeps rows of: on one server, every account (of
	// the touched ones); in cluster mode those of the shard's own accounts rows
	// or opportunities. GLOBAL: the set is this shard's, while the accounts are
	// read through the Distributed table.
	here := b.rawNew() + only
	if b.s.db.Cluster != "" {
		here = b.rawNew() + " AND account_id GLOBAL IN (SELECT id FROM (SELECT account_id AS id FROM " + t("accounts") + " WHERE " + b.rawNew() + only +
			" UNION ALL SELECT account_id FROM " + days + "))"
	}
	created := "(SELECT account_id, arraySort(groupArray(day)) AS created FROM " + days + " GROUP BY account_id)"
	latest := latestWhere("accounts", "account_id", acct, here)
	add("accounts", "INSERT INTO "+t("account_facts")+" (account_id, territory, segment, created, pub) SELECT account_id, territory, segment, created, toUInt64("+b.n+") FROM "+
		latest+" AS a ALL LEFT JOIN "+created+" AS o USING account_id")
	// The same accounts' dates per product and per source, under the same pub
	// (days read once: each row twice, as a product and as a source).
	perDim := "(SELECT account_id, tupleElement(dv, 1) AS dim, tupleElement(dv, 2) AS value, arraySort(groupArray(day)) AS created FROM " + days +
		" ARRAY JOIN [('product', product), ('source', source)] AS dv GROUP BY account_id, dim, value)"
	add("account-dims", "INSERT INTO "+t("account_dims")+" (dim, value, account_id, territory, segment, created, pub) SELECT dim, value, account_id, territory, segment, created, toUInt64("+b.n+") FROM "+
		latest+" AS a ALL INNER JOIN "+perDim+" AS o USING account_id")
}

// activityDays is the delta of activities per rep and day, from the shard's
// activities (sharded by activity_id, so the shards' partial counts add up).
func (b *pubBuilder) activityDays() string {
	const cols = "activity_id, rep_id, occurred_at"
	acts := b.t("activities")
	day := "toDate(occurred_at, " + b.s.tz + ")"
	if b.p.Full {
		return "(rep_id, day, activities, pub) SELECT rep_id, " + day + " AS d, count(), toUInt64(" + b.n + ") FROM " +
			latestWhere(acts, "activity_id", cols, b.rawNew()) + " GROUP BY rep_id, d"
	}
	ta := " AND activity_id IN " + b.touched("activity")
	return "(rep_id, day, activities, pub) SELECT rep_id, " + day + " AS d, toUInt64(sum(sign)), toUInt64(" + b.n + ") FROM (" +
		"SELECT rep_id, occurred_at, toInt64(-1) AS sign FROM " + latestWhere(acts, "activity_id", cols, b.rawOld()+ta) +
		" UNION ALL SELECT rep_id, occurred_at, toInt64(1) AS sign FROM " + latestWhere(acts, "activity_id", cols, b.rawNew()+ta) +
		") GROUP BY rep_id, d"
}

// territorySelects fills territory_days, territory_dim_days and
// territory_wins (t's tables) from the signed facts: won and lost per close day,
// the month rows from them, and the open pipeline and deal count of every
// territory and segment (grain 2); territory_dim_days the same per product and
// per source.
func territorySelects(t func(string) string, src string, pub uint64) []string {
	n := u(pub)
	wins := t("territory_wins")
	wcols := "INSERT INTO " + wins + " (grain, day, territory, segment, account_id, won, pub) "
	out := territoryDaysSelects(t("territory_days"), "", src, n)
	out = append(out, territoryDaysSelects(t("territory_dim_days"), "dim, value, ", perDimRows(src, "product", "source"), n)...)
	return append(out,
		wcols+"SELECT toUInt8(0), close_date AS d, territory, segment, account_id, toUInt64(sum(sign)), toUInt64("+n+") "+
			"FROM "+src+" WHERE territory != '' AND won = 1 GROUP BY d, territory, segment, account_id",
		wcols+"SELECT toUInt8(1), toStartOfMonth(day) AS m, territory, segment, account_id, sum(won), pub "+
			"FROM "+wins+" WHERE grain = 0 AND pub = "+n+" GROUP BY m, territory, segment, account_id, pub",
	)
}

// territoryDaysSelects fill days, territory_days or territory_dim_days (key
// "dim, value, ": src's rows carry those columns), for publication n.
func territoryDaysSelects(days, key, src, n string) []string {
	cols := "INSERT INTO " + days + " (" + key + "grain, day, territory, segment, won, won_amount, lost, pipeline, deals, pub) "
	return []string{
		cols + "SELECT " + key + "toUInt8(0), close_date AS d, territory, segment, toUInt64(sumIf(sign, won = 1)), sumIf(sign * amount, won = 1), toUInt64(sumIf(sign, lost = 1)), toFloat64(0), toUInt64(0), toUInt64(" + n + ") " +
			"FROM " + src + " WHERE territory != '' AND (won = 1 OR lost = 1) GROUP BY " + key + "d, territory, segment",
		cols + "SELECT " + key + "toUInt8(1), toStartOfMonth(day) AS m, territory, segment, sum(won), sum(won_amount), sum(lost), toFloat64(0), toUInt64(0), pub " +
			"FROM " + days + " WHERE grain = 0 AND pub = " + n + " GROUP BY " + key + "m, territory, segment, pub",
		cols + "SELECT " + key + "toUInt8(2), toDate('1970-01-01'), territory, segment, toUInt64(0), toFloat64(0), toUInt64(0), sumIf(sign * amount, closed = 0), toUInt64(sum(sign)), toUInt64(" + n + ") " +
			"FROM " + src + " WHERE territory != '' GROUP BY " + key + "territory, segment",
	}
}
