package alerts

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pipelens/pipelens/schemas"
)

// committed keeps the rows of committed ingest runs only.
const committed = schemas.CommittedRuns

// ClickHouseSource reads alert inputs straight from the canonical tables. The SQL
// runs on ClickHouse 18.16 and current versions: one JOIN per SELECT, both sides
// aliased, no window functions.
type ClickHouseSource struct {
	DB  *schemas.DB
	Loc *time.Location // business time zone: decides the day of each event
}

// NewClickHouseSource returns a Source over db with days cut in loc.
func NewClickHouseSource(db *schemas.DB, loc *time.Location) *ClickHouseSource {
	if loc == nil {
		loc = time.UTC
	}
	return &ClickHouseSource{DB: db, Loc: loc}
}

func sqlString(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// fact returns a SELECT of the metric's events in [from, to) with columns
// d, owner, account_id, product, source, lterr, s, n, den.
func (c *ClickHouseSource) fact(metric string, from, to time.Time) (string, error) {
	tz := sqlString(c.Loc.String())
	f, t := from.Unix(), to.Unix()
	fd, td := sqlString(from.Format(time.DateOnly)), sqlString(to.Format(time.DateOnly))
	byCreated := fmt.Sprintf("created_at >= toDateTime(%d) AND created_at < toDateTime(%d)", f, t)
	oppCols := "toDate(created_at, " + tz + ") AS d, owner_id AS owner, account_id, product, source, '' AS lterr"
	closedCols := "close_date AS d, owner_id AS owner, account_id, product, source, '' AS lterr"
	byClose := "close_date >= toDate(" + fd + ") AND close_date < toDate(" + td + ")"
	switch metric {
	case MetricLeads:
		return fmt.Sprintf(`SELECT toDate(created_at, %s) AS d, owner_id AS owner, account_id, '' AS product, source, territory AS lterr,
    toFloat64(1) AS s, toFloat64(0) AS n, toFloat64(1) AS den
FROM (SELECT * FROM leads WHERE `+committed+` ORDER BY lead_id, run_id DESC LIMIT 1 BY lead_id) WHERE %s AND %s`, tz, committed, byCreated), nil
	case MetricOppsOpened:
		return fmt.Sprintf(`SELECT %s, toFloat64(1) AS s, toFloat64(0) AS n, toFloat64(1) AS den
FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %s AND %s`, oppCols, committed, byCreated), nil
	case MetricPipelineCreated:
		return fmt.Sprintf(`SELECT %s, toFloat64(amount) AS s, toFloat64(0) AS n, toFloat64(1) AS den
FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %s AND %s`, oppCols, committed, byCreated), nil
	case MetricBookings:
		return fmt.Sprintf(`SELECT %s, toFloat64(amount) AS s, toFloat64(0) AS n, toFloat64(1) AS den
FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %s AND won = 1 AND %s`, closedCols, committed, byClose), nil
	case MetricDealsWon:
		return fmt.Sprintf(`SELECT %s, toFloat64(1) AS s, toFloat64(0) AS n, toFloat64(1) AS den
FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %s AND won = 1 AND %s`, closedCols, committed, byClose), nil
	case MetricWinRate:
		return fmt.Sprintf(`SELECT %s, toFloat64(won) AS s, toFloat64(won) AS n, toFloat64(1) AS den
FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %s AND closed = 1 AND %s`, closedCols, committed, byClose), nil
	case MetricActivities:
		return fmt.Sprintf(`SELECT toDate(occurred_at, %s) AS d, rep_id AS owner, account_id, '' AS product, '' AS source, '' AS lterr,
    toFloat64(1) AS s, toFloat64(0) AS n, toFloat64(1) AS den
FROM (SELECT * FROM activities WHERE `+committed+` ORDER BY activity_id, run_id DESC LIMIT 1 BY activity_id) WHERE %s AND occurred_at >= toDateTime(%d) AND occurred_at < toDateTime(%d)`, tz, committed, f, t), nil
	case MetricDaysInStage, MetricStageConversion:
		// Stage exits: consecutive stage events of an opportunity; the day is the
		// day it left the stage. Forward = the next stage ranks higher (won is 100).
		val := "toFloat64(t2 - t1) / 86400"
		num := "toFloat64(0)"
		if metric == MetricStageConversion {
			val, num = "toFloat64(r2 > r1)", "toFloat64(r2 > r1)"
		}
		return fmt.Sprintf(`SELECT toDate(t2, %s) AS d, owner, account_id, product, source, '' AS lterr,
    %s AS s, %s AS n, toFloat64(1) AS den
FROM (
    SELECT opportunity_id, ts[i] AS t1, ts[i + 1] AS t2, rs[i] AS r1, rs[i + 1] AS r2
    FROM (
        SELECT opportunity_id, arraySort(groupArray(entered_at)) AS ts,
            arraySort((r, x) -> x, groupArray(stage_rank), groupArray(entered_at)) AS rs
        FROM (SELECT * FROM stage_events WHERE `+committed+` ORDER BY opportunity_id, entered_at, stage, run_id DESC LIMIT 1 BY opportunity_id, entered_at, stage)
        WHERE %s AND entered_at < toDateTime(%d) AND entered_at >= toDateTime(%d)
        GROUP BY opportunity_id
    )
    ARRAY JOIN arrayEnumerate(ts) AS i
    WHERE i < length(ts) AND rs[i] >= 1 AND rs[i] <= 99 AND ts[i + 1] >= toDateTime(%d) AND ts[i + 1] < toDateTime(%d)
) AS e
ALL LEFT JOIN (
    SELECT opportunity_id, owner_id AS owner, account_id, product, source FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %s
) AS o USING opportunity_id`, tz, val, num, committed, t, f-400*86400, f, t, committed), nil
	}
	return "", fmt.Errorf("metric %q: want one of %s", metric, strings.Join(MetricNames(), ", "))
}

// Series implements Source.
func (c *ClickHouseSource) Series(ctx context.Context, metric, kind string, from, to time.Time) ([]SegmentSeries, error) {
	fact, err := c.fact(metric, from, to)
	if err != nil {
		return nil, err
	}
	var seg string
	switch kind {
	case SegAll:
		seg = "''"
	case SegRep, SegTeam:
		seg = "owner"
	case SegProduct:
		seg = "product"
	case SegSource:
		seg = "source"
	case SegTerritory:
		seg = "if(lterr != '', lterr, aterr)"
		fact = fmt.Sprintf(`SELECT * FROM (%s) AS f
ALL LEFT JOIN (SELECT account_id, territory AS aterr FROM (SELECT * FROM accounts WHERE `+committed+` ORDER BY account_id, run_id DESC LIMIT 1 BY account_id) WHERE %s) AS a USING account_id`, fact, committed)
	default:
		return nil, fmt.Errorf("segment kind %q: want all, team, territory, rep, product or source", kind)
	}
	q := fmt.Sprintf(`SELECT %s AS seg, d, sum(s) AS s, sum(n) AS n, sum(den) AS den
FROM (%s) GROUP BY seg, d`, seg, fact)
	qctx, cancel := c.DB.Context(ctx, "alerts-series-"+metric)
	defer cancel()
	rows, err := c.DB.Conn.Query(qctx, q)
	if err != nil {
		return nil, fmt.Errorf("query %s by %s: %w", metric, kind, err)
	}
	defer rows.Close()
	var team map[string]string
	var names map[string]string
	if kind == SegTeam || kind == SegRep {
		org, err := c.Org(ctx)
		if err != nil {
			return nil, err
		}
		team, names = map[string]string{}, map[string]string{}
		for _, p := range org.Reps {
			team[p.ID], names[p.ID] = p.Team, p.Name
		}
	}
	days := int(to.Sub(from).Hours()/24 + 0.5)
	bySeg := map[string][]Point{}
	for rows.Next() {
		var (
			key       string
			d         time.Time
			s, n, den float64
		)
		if err := rows.Scan(&key, &d, &s, &n, &den); err != nil {
			return nil, fmt.Errorf("read %s by %s: %w", metric, kind, err)
		}
		if kind == SegTeam {
			key = team[key]
		}
		if kind != SegAll && key == "" {
			continue // unattributed rows still count in the total
		}
		pts, ok := bySeg[key]
		if !ok {
			pts = make([]Point, days)
			for i := range pts {
				pts[i].Date = from.AddDate(0, 0, i)
			}
			bySeg[key] = pts
		}
		day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, c.Loc)
		i := int(day.Sub(from).Hours()/24 + 0.5)
		if i < 0 || i >= days {
			continue
		}
		pts[i].Sum += s
		pts[i].Num += n
		pts[i].Den += den
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s by %s: %w", metric, kind, err)
	}
	out := make([]SegmentSeries, 0, len(bySeg))
	for k, pts := range bySeg {
		label := k
		if kind == SegRep && names[k] != "" {
			label = names[k]
		}
		out = append(out, SegmentSeries{Kind: kind, Key: k, Label: label, Points: pts})
	}
	if kind == SegAll && len(out) == 0 {
		pts := make([]Point, days)
		for i := range pts {
			pts[i].Date = from.AddDate(0, 0, i)
		}
		out = append(out, SegmentSeries{Kind: kind, Points: pts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Org implements Source.
func (c *ClickHouseSource) Org(ctx context.Context) (Org, error) {
	qctx, cancel := c.DB.Context(ctx, "alerts-org")
	defer cancel()
	rows, err := c.DB.Conn.Query(qctx, `SELECT rep_id, name, email, role, manager_id, team, territory, lang, active
FROM (SELECT * FROM reps WHERE `+committed+` ORDER BY rep_id, run_id DESC LIMIT 1 BY rep_id) WHERE `+committed+` ORDER BY rep_id`)
	if err != nil {
		return Org{}, fmt.Errorf("query reps: %w", err)
	}
	defer rows.Close()
	var o Org
	for rows.Next() {
		var p Person
		var active uint8
		if err := rows.Scan(&p.ID, &p.Name, &p.Email, &p.Role, &p.ManagerID, &p.Team, &p.Territory, &p.Lang, &active); err != nil {
			return Org{}, fmt.Errorf("read reps: %w", err)
		}
		p.Active = active == 1
		o.Reps = append(o.Reps, p)
	}
	return o, rows.Err()
}

// Deals implements Source.
func (c *ClickHouseSource) Deals(ctx context.Context, asOf time.Time) ([]Deal, error) {
	q := fmt.Sprintf(`SELECT opportunity_id, name, aname, owner_id, stage, product, source, aterr, amount, currency, close_date, entered, created_at
FROM (
    SELECT opportunity_id, name, account_id, owner_id, stage, product, source, amount, currency, close_date, entered, created_at
    FROM (
        SELECT opportunity_id, name, account_id, owner_id, stage, product, source, amount, currency, close_date, created_at
        FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %[1]s AND closed = 0 AND created_at < toDateTime(%[2]d)
    ) AS o
    ALL LEFT JOIN (
        SELECT opportunity_id, max(entered_at) AS entered FROM (SELECT * FROM stage_events WHERE `+committed+` ORDER BY opportunity_id, entered_at, stage, run_id DESC LIMIT 1 BY opportunity_id, entered_at, stage)
        WHERE %[1]s AND entered_at < toDateTime(%[2]d) GROUP BY opportunity_id
    ) AS e USING opportunity_id
) AS oe
ALL LEFT JOIN (SELECT account_id, name AS aname, territory AS aterr FROM (SELECT * FROM accounts WHERE `+committed+` ORDER BY account_id, run_id DESC LIMIT 1 BY account_id) WHERE %[1]s) AS a USING account_id`, committed, asOf.Unix())
	qctx, cancel := c.DB.Context(ctx, "alerts-deals")
	defer cancel()
	rows, err := c.DB.Conn.Query(qctx, q)
	if err != nil {
		return nil, fmt.Errorf("query open deals: %w", err)
	}
	var deals []Deal
	idx := map[string]int{}
	for rows.Next() {
		var d Deal
		if err := rows.Scan(&d.ID, &d.Name, &d.Account, &d.OwnerID, &d.Stage, &d.Product, &d.Source, &d.Territory, &d.Amount, &d.Currency, &d.CloseDate, &d.StageEntered, &d.Created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read open deals: %w", err)
		}
		idx[d.ID] = len(deals)
		deals = append(deals, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read open deals: %w", err)
	}
	// Snapshot histories only of deals whose close date or amount moved: the
	// rest cannot trigger the push or cut rules.
	sq := fmt.Sprintf(`SELECT opportunity_id,
    arraySort(groupArray(snapshot_date)) AS ds,
    arraySort((c, x) -> x, groupArray(close_date), groupArray(snapshot_date)) AS cs,
    arraySort((a, x) -> x, groupArray(amount), groupArray(snapshot_date)) AS am
FROM (SELECT * FROM opportunity_snapshots WHERE `+committed+` ORDER BY snapshot_date, opportunity_id, run_id DESC LIMIT 1 BY snapshot_date, opportunity_id)
WHERE %s AND snapshot_date <= toDate(%s) AND snapshot_date >= toDate(%s) AND closed = 0
GROUP BY opportunity_id
HAVING uniqExact(close_date) >= 2 OR min(amount) < max(amount)`, committed,
		sqlString(asOf.In(c.Loc).Format(time.DateOnly)), sqlString(asOf.In(c.Loc).AddDate(-1, 0, 0).Format(time.DateOnly)))
	qctx2, cancel2 := c.DB.Context(ctx, "alerts-deal-snapshots")
	defer cancel2()
	srows, err := c.DB.Conn.Query(qctx2, sq)
	if err != nil {
		return nil, fmt.Errorf("query deal snapshots: %w", err)
	}
	defer srows.Close()
	for srows.Next() {
		var id string
		var ds, cs []time.Time
		var am []float64
		if err := srows.Scan(&id, &ds, &cs, &am); err != nil {
			return nil, fmt.Errorf("read deal snapshots: %w", err)
		}
		if i, ok := idx[id]; ok {
			deals[i].SnapDates, deals[i].SnapClose, deals[i].SnapAmount = ds, cs, am
		}
	}
	return deals, srows.Err()
}

// StageNorms implements Source.
func (c *ClickHouseSource) StageNorms(ctx context.Context, asOf time.Time) ([]StageNorm, error) {
	org, err := c.Org(ctx)
	if err != nil {
		return nil, err
	}
	var ids, teams []string
	for _, p := range org.Reps {
		ids = append(ids, sqlString(p.ID))
		teams = append(teams, sqlString(p.Team))
	}
	teamExpr := "''"
	if len(ids) > 0 {
		teamExpr = fmt.Sprintf("transform(owner, [%s], [%s], '')", strings.Join(ids, ","), strings.Join(teams, ","))
	}
	t := asOf.Unix()
	q := fmt.Sprintf(`SELECT %[1]s AS team, stage, count() AS n, quantileExact(0.5)(days) AS p50, quantileExact(0.9)(days) AS p90, max(days) AS mx
FROM (
    SELECT ss[i] AS stage, toFloat64(ts[i + 1] - ts[i]) / 86400 AS days, opportunity_id
    FROM (
        SELECT opportunity_id, arraySort(groupArray(entered_at)) AS ts,
            arraySort((s, x) -> x, groupArray(stage), groupArray(entered_at)) AS ss,
            arraySort((r, x) -> x, groupArray(stage_rank), groupArray(entered_at)) AS rs
        FROM (SELECT * FROM stage_events WHERE `+committed+` ORDER BY opportunity_id, entered_at, stage, run_id DESC LIMIT 1 BY opportunity_id, entered_at, stage)
        WHERE %[2]s AND entered_at < toDateTime(%[3]d) AND entered_at >= toDateTime(%[4]d)
        GROUP BY opportunity_id
    )
    ARRAY JOIN arrayEnumerate(ts) AS i
    WHERE i < length(ts) AND rs[i] >= 1 AND rs[i] <= 99
) AS e
ALL LEFT JOIN (SELECT opportunity_id, owner_id AS owner FROM (SELECT * FROM opportunities WHERE `+committed+` ORDER BY opportunity_id, run_id DESC LIMIT 1 BY opportunity_id) WHERE %[2]s) AS o USING opportunity_id
GROUP BY team, stage
UNION ALL
SELECT '' AS team, stage, count() AS n, quantileExact(0.5)(days) AS p50, quantileExact(0.9)(days) AS p90, max(days) AS mx
FROM (
    SELECT ss[i] AS stage, toFloat64(ts[i + 1] - ts[i]) / 86400 AS days
    FROM (
        SELECT opportunity_id, arraySort(groupArray(entered_at)) AS ts,
            arraySort((s, x) -> x, groupArray(stage), groupArray(entered_at)) AS ss,
            arraySort((r, x) -> x, groupArray(stage_rank), groupArray(entered_at)) AS rs
        FROM (SELECT * FROM stage_events WHERE `+committed+` ORDER BY opportunity_id, entered_at, stage, run_id DESC LIMIT 1 BY opportunity_id, entered_at, stage)
        WHERE %[2]s AND entered_at < toDateTime(%[3]d) AND entered_at >= toDateTime(%[4]d)
        GROUP BY opportunity_id
    )
    ARRAY JOIN arrayEnumerate(ts) AS i
    WHERE i < length(ts) AND rs[i] >= 1 AND rs[i] <= 99
)
GROUP BY stage`, teamExpr, committed, t, t-365*86400)
	qctx, cancel := c.DB.Context(ctx, "alerts-stage-norms")
	defer cancel()
	rows, err := c.DB.Conn.Query(qctx, q)
	if err != nil {
		return nil, fmt.Errorf("query stage norms: %w", err)
	}
	defer rows.Close()
	var out []StageNorm
	for rows.Next() {
		var n StageNorm
		var cnt uint64
		if err := rows.Scan(&n.Team, &n.Stage, &cnt, &n.P50, &n.P90, &n.Max); err != nil {
			return nil, fmt.Errorf("read stage norms: %w", err)
		}
		n.Count = int(cnt)
		out = append(out, n)
	}
	return out, rows.Err()
}
