package query

import (
	"fmt"
	"strings"

	"github.com/pipelens/pipelens/schemas"
)

// pubBuilder writes the statements of one publication: N = p.Pub over the
// visible state v. An incremental publication recomputes the opportunities,
// accounts and activities the new runs touched; a full one recomputes all.
type pubBuilder struct {
	s    *Service
	v    schemas.Version // what readers count now
	next schemas.Version // what they will count once N is recorded
	p    *Publication
	n    string // N as SQL
	runs string // the new runs as an SQL list ("" for none)
}

type pubStep struct{ name, sql string }

func (s *Service) builder(v schemas.Version, p *Publication) *pubBuilder {
	b := &pubBuilder{s: s, v: v, p: p, n: u(p.Pub), next: schemas.Version{Pub: p.Pub, Base: v.Base}}
	if p.Full {
		b.next.Base = p.Pub
	}
	ids := make([]string, len(p.Runs))
	for i, r := range p.Runs {
		ids[i] = u(r)
	}
	b.runs = strings.Join(ids, ", ")
	return b
}

// newRuns: rows written by the runs being published.
func (b *pubBuilder) newRuns() string {
	if b.runs == "" {
		return "0"
	}
	return "run_id IN (" + b.runs + ")"
}

// rawOld and rawNew: the raw rows readers count before and after N.
func (b *pubBuilder) rawOld() string { return schemas.RawVisible(b.v) }
func (b *pubBuilder) rawNew() string {
	if b.runs == "" {
		return b.rawOld()
	}
	return "(" + b.rawOld() + " OR run_id IN (" + b.runs + "))"
}

func (b *pubBuilder) touched(kind string) string {
	return "(SELECT id FROM publish_touched WHERE pub = " + b.n + " AND kind = '" + kind + "')"
}

// oldFacts: the visible versions of the touched opportunities.
func (b *pubBuilder) oldFacts() string {
	return schemas.EntityVisible(b.v, "opportunity_id", "opp_gone") + " AND opportunity_id IN " + b.touched("opp")
}

func (b *pubBuilder) steps() []pubStep {
	full := b.p.Full
	var st []pubStep
	add := func(name, sql string) { st = append(st, pubStep{name, sql}) }
	if full {
		add("touched-opp", "INSERT INTO publish_touched (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'opp', opportunity_id FROM opportunities WHERE "+b.rawNew())
	} else {
		rn := b.newRuns()
		add("touched-opp", "INSERT INTO publish_touched (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'opp', id FROM ("+
			"SELECT opportunity_id AS id FROM opportunities WHERE "+rn+
			" UNION ALL SELECT opportunity_id FROM stage_events WHERE "+rn+
			" UNION ALL SELECT opportunity_id FROM opportunity_snapshots WHERE "+rn+
			" UNION ALL SELECT opportunity_id FROM opp_facts WHERE "+schemas.EntityVisible(b.v, "opportunity_id", "opp_gone")+
			" AND (owner_id IN (SELECT rep_id FROM reps WHERE "+rn+") OR manager_id IN (SELECT rep_id FROM reps WHERE "+rn+
			") OR account_id IN (SELECT account_id FROM accounts WHERE "+rn+")))")
		add("touched-activity", "INSERT INTO publish_touched (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'activity', activity_id FROM activities WHERE "+rn)
		add("opp-gone", "INSERT INTO opp_gone (opportunity_id, pub, gone_at) SELECT opportunity_id, pub, toUInt64("+b.n+") FROM opp_facts WHERE "+b.oldFacts())
	}
	restrict := ""
	if !full {
		restrict = "opportunity_id IN " + b.touched("opp")
	}
	add("facts", "INSERT INTO opp_facts "+b.s.factsSelect(b.rawNew(), restrict, b.p.Pub))
	add("moves", "INSERT INTO opp_moves "+b.s.movesSelect(b.rawNew(), restrict, b.p.Pub))
	src := b.factsDelta()
	for i, q := range b.s.repDaysSelects(src, b.p.Pub) {
		add(fmt.Sprintf("rep-days-%d", i), "INSERT INTO rep_days "+q)
	}
	for i, q := range territorySelects(src, b.p.Pub) {
		add(fmt.Sprintf("territory-%d", i), q)
	}
	b.accountSteps(add)
	add("activity-days", "INSERT INTO rep_activity_days "+b.activityDays())
	return st
}

// factsDelta is the signed opp_facts rows of the publication: the touched
// opportunities' replaced versions (sign -1) and their new ones (sign 1).
func (b *pubBuilder) factsDelta() string {
	const cols = "opportunity_id, account_id, owner_id, owner_name, team, manager_id, manager_name, territory, segment, amount, " +
		"created_date, close_date, closed, won, lost, furthest, entered, exited"
	added := "SELECT " + cols + ", toInt8(1) AS sign FROM opp_facts WHERE pub = " + b.n
	if b.p.Full {
		return "(" + added + ")"
	}
	return "(SELECT " + cols + ", toInt8(-1) AS sign FROM opp_facts WHERE " + b.oldFacts() + " UNION ALL " + added + ")"
}

func (b *pubBuilder) accountSteps(add func(name, sql string)) {
	acct := "account_id, territory, segment"
	facts := schemas.EntityVisible(b.next, "opportunity_id", "opp_gone")
	created := "(SELECT account_id, arraySort(groupUniqArray(created_date)) AS created FROM opp_facts WHERE " + facts
	if b.p.Full {
		add("accounts", "INSERT INTO account_facts (account_id, territory, segment, created, pub) SELECT account_id, territory, segment, created, toUInt64("+b.n+") FROM "+
			latestWhere("accounts", "account_id", acct, b.rawNew())+" AS a ALL LEFT JOIN "+created+" GROUP BY account_id) AS o USING account_id")
		return
	}
	add("touched-account", "INSERT INTO publish_touched (pub, kind, id) SELECT DISTINCT toUInt64("+b.n+"), 'account', id FROM ("+
		"SELECT account_id AS id FROM accounts WHERE "+b.newRuns()+
		" UNION ALL SELECT account_id FROM opp_facts WHERE ("+b.oldFacts()+") OR pub = "+b.n+")")
	ta := b.touched("account")
	add("account-gone", "INSERT INTO account_gone (account_id, pub, gone_at) SELECT account_id, pub, toUInt64("+b.n+") FROM account_facts WHERE "+
		schemas.EntityVisible(b.v, "account_id", "account_gone")+" AND account_id IN "+ta)
	add("accounts", "INSERT INTO account_facts (account_id, territory, segment, created, pub) SELECT account_id, territory, segment, created, toUInt64("+b.n+") FROM "+
		latestWhere("accounts", "account_id", acct, b.rawNew()+" AND account_id IN "+ta)+" AS a ALL LEFT JOIN "+created+" AND account_id IN "+ta+" GROUP BY account_id) AS o USING account_id")
}

// activityDays is the delta of activities per rep and day.
func (b *pubBuilder) activityDays() string {
	const cols = "activity_id, rep_id, occurred_at"
	day := "toDate(occurred_at, " + b.s.tz + ")"
	if b.p.Full {
		return "(rep_id, day, activities, pub) SELECT rep_id, " + day + " AS d, count(), toUInt64(" + b.n + ") FROM " +
			latestWhere("activities", "activity_id", cols, b.rawNew()) + " GROUP BY rep_id, d"
	}
	ta := " AND activity_id IN " + b.touched("activity")
	return "(rep_id, day, activities, pub) SELECT rep_id, " + day + " AS d, toUInt64(sum(sign)), toUInt64(" + b.n + ") FROM (" +
		"SELECT rep_id, occurred_at, toInt64(-1) AS sign FROM " + latestWhere("activities", "activity_id", cols, b.rawOld()+ta) +
		" UNION ALL SELECT rep_id, occurred_at, toInt64(1) AS sign FROM " + latestWhere("activities", "activity_id", cols, b.rawNew()+ta) +
		") GROUP BY rep_id, d"
}

// territorySelects fills territory_days and territory_wins from the signed
// facts: won and lost per close day, the month rows from them, and the open
// pipeline and deal count of every territory and segment (grain 2).
func territorySelects(src string, pub uint64) []string {
	n := u(pub)
	const cols = "INSERT INTO territory_days (grain, day, territory, segment, won, won_amount, lost, pipeline, deals, pub) "
	const wcols = "INSERT INTO territory_wins (grain, day, territory, segment, account_id, won, pub) "
	return []string{
		cols + "SELECT toUInt8(0), close_date AS d, territory, segment, toUInt64(sumIf(sign, won = 1)), sumIf(sign * amount, won = 1), toUInt64(sumIf(sign, lost = 1)), toFloat64(0), toUInt64(0), toUInt64(" + n + ") " +
			"FROM " + src + " WHERE territory != '' AND (won = 1 OR lost = 1) GROUP BY d, territory, segment",
		cols + "SELECT toUInt8(1), toStartOfMonth(day) AS m, territory, segment, sum(won), sum(won_amount), sum(lost), toFloat64(0), toUInt64(0), pub " +
			"FROM territory_days WHERE grain = 0 AND pub = " + n + " GROUP BY m, territory, segment, pub",
		cols + "SELECT toUInt8(2), toDate('1970-01-01'), territory, segment, toUInt64(0), toFloat64(0), toUInt64(0), sumIf(sign * amount, closed = 0), toUInt64(sum(sign)), toUInt64(" + n + ") " +
			"FROM " + src + " WHERE territory != '' GROUP BY territory, segment",
		wcols + "SELECT toUInt8(0), close_date AS d, territory, segment, account_id, toUInt64(sum(sign)), toUInt64(" + n + ") " +
			"FROM " + src + " WHERE territory != '' AND won = 1 GROUP BY d, territory, segment, account_id",
		wcols + "SELECT toUInt8(1), toStartOfMonth(day) AS m, territory, segment, account_id, sum(won), pub " +
			"FROM territory_wins WHERE grain = 0 AND pub = " + n + " GROUP BY m, territory, segment, account_id, pub",
	}
}
