package query

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/pipelens/pipelens/schemas"
)

// DefaultStages is the default pipeline's open stages, in order (stage_rank 1..4).
var DefaultStages = []string{"lead", "qualified", "proposal", "negotiation"}

var validZone = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-/]*$`)

// Service computes the metrics. It is safe for concurrent use.
type Service struct {
	db     *schemas.DB
	loc    *time.Location
	tz     string // the business zone as a validated SQL literal
	log    *slog.Logger
	stages []string
	// fyStart is the fiscal year's first month (0: January).
	fyStart int
	// currency is the reporting currency ("": amounts as exported) and rates
	// what other currencies convert at (WithCurrency).
	currency string
	rates    map[string]float64

	// noRollup makes every metric read opp_facts and opp_moves instead of the
	// pre-aggregates (tests compare the two).
	noRollup bool

	// memo keeps the reps and targets per publication (memoized).
	memo *memo
	// shared: reads that concurrent callers share (sharedRead).
	shared *shared
	// cubes, dims, cycles, reps and acts: team_days, dim_days over teams and
	// managers, cycle_days, rep_days (repcube.go) and rep_activity_days in
	// memory per publication (inmemory.go).
	cubes  *perVersion[*teamCube]
	dims   *perVersion[*dimCubes]
	cycles *perVersion[*cycleCube]
	reps   *perVersion[*repCube]
	acts   *perVersion[*actCube]

	// collected is the last full publication whose older rows Collect deleted.
	collected atomic.Uint64
	// planWrites counts this process's writes of coaching plans: it keys
	// readPlans' shared answers, so a plan written here is read at once.
	planWrites atomic.Uint64
}

// New returns a Service over db; loc is the business time zone (nil = UTC).
func New(db *schemas.DB, loc *time.Location, log *slog.Logger) *Service {
	if loc == nil {
		loc = time.UTC
	}
	if log == nil {
		log = slog.Default()
	}
	tz := loc.String()
	if !validZone.MatchString(tz) || tz == "Local" {
		// ClickHouse cannot resolve Go's "Local"; pipelens's zone comes from the config.
		log.Warn("time zone unknown to ClickHouse, using UTC", "zone", tz)
		tz, loc = "UTC", time.UTC
	}
	return &Service{db: db, loc: loc, tz: quote(tz), log: log, stages: DefaultStages, memo: &memo{m: map[string]any{}}, shared: &shared{m: map[string]*sharedCall{}},
		cubes: newPerVersion[*teamCube](), dims: newPerVersion[*dimCubes](), cycles: newPerVersion[*cycleCube](),
		reps: newPerVersion[*repCube](), acts: newPerVersion[*actCube]()}
}

// WithStages sets the pipeline's open stages in order (stage_rank 1..k), as the
// config's stages.open says. Call before use.
func (s *Service) WithStages(open []string) *Service {
	if len(open) > 0 {
		s.stages = append([]string(nil), open...)
	}
	return s
}

// WithFiscalYear sets the month (1–12) the fiscal year starts in: forecast
// quarters follow it. The default is January.
func (s *Service) WithFiscalYear(startMonth int) *Service {
	if startMonth >= 1 && startMonth <= 12 {
		s.fyStart = startMonth
	}
	return s
}

// WithCurrency sets the reporting currency and the rates other currencies
// convert to it at (units of the reporting currency per unit): publications
// store opp_facts and opp_moves amounts converted, and targets convert when
// read. A change of either rebuilds the serving tables (the fingerprint).
func (s *Service) WithCurrency(reporting string, rates map[string]float64) *Service {
	s.currency = reporting
	s.rates = map[string]float64{}
	for k, v := range rates {
		s.rates[strings.ToUpper(k)] = v
	}
	return s
}

// Currency is the reporting currency ("" when not configured).
func (s *Service) Currency() string { return s.currency }

// Stages is the pipeline's open stages in order.
func (s *Service) Stages() []string { return append([]string(nil), s.stages...) }

// Location is the business time zone.
func (s *Service) Location() *time.Location { return s.loc }

// latest is the rows of table visible to the reader, one per key: the latest
// published run's. Its {raw} is filled in by query with the reader's version.
func latest(table, key, cols string) string {
	return latestWhere(table, key, cols, tokRaw)
}

// latestWhere is latest over the raw rows where says.
func latestWhere(table, key, cols, where string) string {
	return "(SELECT " + cols + " FROM " + table + " WHERE " + where + " ORDER BY " + key + ", run_id DESC LIMIT 1 BY " + key + ")"
}

// factsSelect computes the opp_facts rows of publication pub from the raw rows
// where raw says, for the opportunities restrict selects ("" for all). t names
// the tables keyed by opportunity: each shard's local tables in cluster mode
// (a publication computes them shard by shard), the tables themselves on one
// server. reps and accounts are read whole, through their own names.
func (s *Service) factsSelect(t func(string) string, raw, restrict string, pub uint64, fx fxRates) string {
	only := ""
	if restrict != "" {
		only = " AND " + restrict
	}
	k := len(s.stages)
	names := make([]string, k)
	ranks := make([]string, k)
	entered := make([]string, k)
	exited := make([]string, k)
	for i, st := range s.stages {
		names[i] = quote(st)
		ranks[i] = fmt.Sprint(i + 1)
		r := fmt.Sprint(i + 1)
		entered[i] = "if(indexOf(ev_ranks, " + r + ") = 0, toDateTime(0), ev_times[indexOf(ev_ranks, " + r + ")])"
		// Leaving a stage is the next event to a different stage; a closed deal
		// without one left it when it closed.
		exited[i] = "if(indexOf(ev_ranks, " + r + ") = 0, toDateTime(0), " +
			"if(arrayFirst((t, rr, j) -> j > indexOf(ev_ranks, " + r + ") AND rr != " + r + ", ev_times, ev_ranks, arrayEnumerate(ev_ranks)) != toDateTime(0), " +
			"arrayFirst((t, rr, j) -> j > indexOf(ev_ranks, " + r + ") AND rr != " + r + ", ev_times, ev_ranks, arrayEnumerate(ev_ranks)), " +
			"if(o_closed = 1, close_time, toDateTime(0))))"
	}
	opps := latestWhere(t("opportunities"), "opportunity_id",
		"opportunity_id, name AS o_name, account_id, owner_id, product AS o_product, source AS o_source, stage AS o_stage, amount AS o_amount, created_at AS o_created_at, close_date AS o_close_date, closed AS o_closed, won AS o_won, forecast_category AS o_fc, currency AS o_currency", raw+only)
	events := "(SELECT opportunity_id, arrayMap(x -> x.1, evs) AS ev_times, arrayMap(x -> x.2, evs) AS ev_ranks FROM (" +
		"SELECT opportunity_id, arraySort(groupArray((entered_at, stage_rank))) AS evs FROM " +
		latestWhere(t("stage_events"), "opportunity_id, entered_at, stage", "opportunity_id, entered_at, stage, stage_rank", raw+only) +
		" GROUP BY opportunity_id))"
	reps := latestWhere("reps", "rep_id", "rep_id AS owner_id, name AS r_name, team AS r_team, manager_id AS r_manager_id, territory AS r_territory", raw)
	mgrs := latestWhere("reps", "rep_id", "rep_id AS r_manager_id, name AS m_name", raw)
	accts := latestWhere("accounts", "account_id", "account_id, name AS a_name, territory AS a_territory, segment AS a_segment", raw)

	// Every right side is unique by its key (LIMIT 1 BY, GROUP BY), so ALL joins
	// answer the same on every ClickHouse version (ANY changed meaning in 20.x).
	oe := "(SELECT * FROM " + opps + " AS o ALL LEFT JOIN " + events + " AS e USING opportunity_id)"
	rm := "(SELECT * FROM " + reps + " AS r ALL LEFT JOIN " + mgrs + " AS m USING r_manager_id)"
	oer := "(SELECT * FROM " + oe + " AS oe ALL LEFT JOIN " + rm + " AS rm USING owner_id)"
	all := "(SELECT * FROM " + oer + " AS oer ALL LEFT JOIN " + accts + " AS a USING account_id)"

	current := "transform(o_stage, [" + strings.Join(names, ", ") + "], [" + strings.Join(ranks, ", ") + "], 0)"
	furthest := "toUInt8(if(o_won = 1, 100, greatest(toUInt8(1), greatest(toUInt8(arrayReduce('max', arrayFilter(x -> x >= 1 AND x < 100, ev_ranks))), toUInt8(" + current + ")))))"

	return `(opportunity_id, name, account_id, account_name, owner_id, owner_name, team, manager_id, manager_name,
    territory, segment, product, source, stage, amount, created_at, created_date, close_date, closed, won, lost,
    furthest, entered, exited, forecast_category, pub)
SELECT opportunity_id, o_name, account_id, if(a_name != '', a_name, account_id), owner_id, if(r_name != '', r_name, owner_id), r_team, r_manager_id, m_name,
    if(a_territory != '', a_territory, r_territory), a_segment, o_product, o_source, o_stage, ` + fx.sql("o_amount", "o_currency", "o_close_date") + `,
    o_created_at, toDate(o_created_at, ` + s.tz + `), o_close_date, o_closed, o_won, toUInt8(o_closed = 1 AND o_won = 0),
    ` + furthest + `, [` + strings.Join(entered, ", ") + `], [` + strings.Join(exited, ", ") + `], o_fc, toUInt64(` + u(pub) + `)
FROM (SELECT *, toDateTime(concat(toString(o_close_date), ' 00:00:00'), ` + s.tz + `) AS close_time FROM ` + all + `)`
}

// movesSelect computes the opp_moves rows of publication pub: consecutive
// snapshot pairs of each opportunity that was open in the earlier one and
// changed close date or amount, with the attributes of its facts of pub. t is
// factsSelect's.
func (s *Service) movesSelect(t func(string) string, raw, restrict string, pub uint64, fx fxRates) string {
	if restrict != "" {
		raw += " AND " + restrict
	}
	snaps := latestWhere(t("opportunity_snapshots"), "snapshot_date, opportunity_id", "snapshot_date, opportunity_id, "+fx.sql("amount", "currency", "snapshot_date")+" AS s_amount, close_date, closed", raw)
	pairs := "(SELECT opportunity_id, arraySort(groupArray((snapshot_date, close_date, s_amount, closed))) AS s FROM " + snaps + " GROUP BY opportunity_id HAVING length(s) > 1)"
	moves := "(SELECT opportunity_id, p.1 AS change_date, p.2 AS old_close, p.3 AS new_close, p.4 AS old_amount, p.5 AS new_amount FROM " + pairs +
		" ARRAY JOIN arrayMap(i -> (s[i].1, s[i - 1].2, s[i].2, s[i - 1].3, s[i].3), arrayFilter(i -> i > 1 AND s[i - 1].4 = 0 AND s[i].4 = 0 AND (s[i].2 != s[i - 1].2 OR s[i].3 != s[i - 1].3), arrayEnumerate(s))) AS p)"
	facts := "(SELECT opportunity_id, name, owner_id, team, manager_id, territory, segment, product, source FROM " + t("opp_facts") + " WHERE pub = " + u(pub) + ")"
	// The right side has one row per opportunity: ALL keeps every move (ANY
	// INNER JOIN keeps one per key on current ClickHouse).
	return `(opportunity_id, name, change_date, old_close, new_close, old_amount, new_amount, owner_id, team, manager_id, territory, segment, product, source, pub)
SELECT opportunity_id, name, change_date, old_close, new_close, old_amount, new_amount, owner_id, team, manager_id, territory, segment, product, source, toUInt64(` + u(pub) + `)
FROM (SELECT * FROM ` + moves + ` AS mv ALL INNER JOIN ` + facts + ` AS f USING opportunity_id)`
}

// quote makes a ClickHouse string literal of a configured (not user) value.
func quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// query runs q with the usual deadline and hands each row to scan. The
// visibility tokens in q ({raw}, {facts}, {accounts}, {delta}) become the
// filters of the reader's version (see AsOf).
func (s *Service) query(ctx context.Context, purpose, q string, args []any, scan func(driverRows) error) error {
	q, err := s.visible(ctx, q)
	if err != nil {
		return fmt.Errorf("query %s: %w", purpose, err)
	}
	set, release, err := s.db.AdmitRead(ctx)
	if err != nil {
		return fmt.Errorf("query %s: %w", purpose, err)
	}
	defer release()
	c, cancel := s.db.Context(ctx, purpose, set)
	defer cancel()
	t0, n := time.Now(), 0
	rows, err := s.db.Conn.Query(c, q, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", purpose, err)
	}
	defer rows.Close()
	for rows.Next() {
		n++
		if err := scan(rows); err != nil {
			return fmt.Errorf("query %s: %w", purpose, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query %s: %w", purpose, err)
	}
	if s.log.Enabled(ctx, slog.LevelDebug) {
		s.log.Debug("statement", "purpose", purpose, "rows", n, "took", time.Since(t0).Round(10*time.Microsecond))
	}
	return nil
}

// scope applies the caller's scope; every public method starts with it.
func (s *Service) scope(sc Scope, f Filter) (Filter, error) {
	if f.From.IsZero() || f.To.IsZero() {
		return f, badParam("from", "a range is required")
	}
	return sc.restrict(f)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

type driverRows = driver.Rows
