package query

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/pipelens/pipelens/schemas"
)

// DefaultStages is the default pipeline's open stages, in order (stage_rank 1..4).
var DefaultStages = []string{"lead", "qualified", "proposal", "negotiation"}

// committed says which raw rows count: those of committed runs (the contract lives
// in schemas, beside the tables).
const committed = schemas.CommittedRuns

var validZone = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_+\-/]*$`)

// Service computes the metrics. It is safe for concurrent use.
type Service struct {
	db     *schemas.DB
	loc    *time.Location
	tz     string // the business zone as a validated SQL literal
	log    *slog.Logger
	stages []string

	refreshMu sync.Mutex
	// noRollup makes every metric read opp_facts and opp_moves instead of the
	// pre-aggregates (tests compare the two).
	noRollup bool
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
	return &Service{db: db, loc: loc, tz: quote(tz), log: log, stages: DefaultStages}
}

// WithStages sets the pipeline's open stages in order (stage_rank 1..k), as the
// config's stages.open says. Call before use.
func (s *Service) WithStages(open []string) *Service {
	if len(open) > 0 {
		s.stages = append([]string(nil), open...)
	}
	return s
}

// Stages is the pipeline's open stages in order.
func (s *Service) Stages() []string { return append([]string(nil), s.stages...) }

// Location is the business time zone.
func (s *Service) Location() *time.Location { return s.loc }

// latest is the rows of table from committed runs, one per key: the latest run's.
func latest(table, key, cols string) string {
	return "(SELECT " + cols + " FROM " + table + " WHERE " + committed + " ORDER BY " + key + ", run_id DESC LIMIT 1 BY " + key + ")"
}

// Refresh rebuilds the serving tables from the committed runs: opp_facts,
// opp_moves and rep_activity_days, then the pre-aggregates read from opp_facts
// (rep_days, territory_days, account_facts; see rollup.go). Call it after every
// committed load. Readers keep seeing the previous tables until each swap.
func (s *Service) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.refresh(ctx)
}

// RefreshIfStale runs Refresh unless the serving tables were last built from the
// same ingest runs, time zone and stages; it says whether it rebuilt them.
// `pipelens serve` calls it at start: a load refreshes when it commits, so this
// only rebuilds after a load whose process died between commit and refresh, or
// after a change of time zone or stages.
func (s *Service) RefreshIfStale(ctx context.Context) (bool, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	fp, err := s.fingerprint(ctx)
	if err != nil {
		return false, err
	}
	var last string
	qctx, cancel := s.db.Context(ctx, "serving-state")
	err = s.db.Conn.QueryRow(qctx, "SELECT argMax(fingerprint, refreshed_at) FROM serving_state").Scan(&last)
	cancel()
	if err != nil {
		return false, fmt.Errorf("read serving_state: %w", err)
	}
	if last == fp {
		return false, nil
	}
	return true, s.refresh(ctx)
}

// fingerprint names what the serving tables depend on: the ingest runs and
// their latest state change (a new state always has a higher updated_ns, and
// merges that fold older states leave both numbers alone), the zone and the stages.
func (s *Service) fingerprint(ctx context.Context) (string, error) {
	var n, last uint64
	qctx, cancel := s.db.Context(ctx, "serving-fingerprint")
	defer cancel()
	if err := s.db.Conn.QueryRow(qctx, "SELECT uniqExact(run_id), max(updated_ns) FROM ingest_runs").Scan(&n, &last); err != nil {
		return "", fmt.Errorf("fingerprint the ingest runs: %w", err)
	}
	return fmt.Sprintf("runs=%d/%d tz=%s stages=%s", n, last, s.tz, strings.Join(s.stages, ",")), nil
}

func (s *Service) refresh(ctx context.Context) error {
	fp, err := s.fingerprint(ctx)
	if err != nil {
		return err
	}
	t0 := time.Now()
	acts := latest("activities", "activity_id", "activity_id, rep_id, occurred_at")
	steps := []struct {
		table string
		fill  []string
	}{
		{"opp_facts", []string{s.factsSelect()}},
		{"opp_moves", []string{s.movesSelect()}},
		{"rep_activity_days", []string{"(rep_id, day, activities) SELECT rep_id, toDate(occurred_at, " + s.tz + ") AS d, count() FROM " + acts + " GROUP BY rep_id, d"}},
		{"rep_days", s.repDaysSelects()},
		{"territory_days", s.territoryDaysSelects()},
		{"account_facts", []string{accountFactsSelect()}},
	}
	for _, st := range steps {
		t := time.Now()
		if err := s.rebuild(ctx, st.table, st.fill...); err != nil {
			return err
		}
		s.log.Debug("serving table rebuilt", "table", st.table, "took", time.Since(t).Round(time.Millisecond))
	}
	// Taken before the rebuild: a run committed meanwhile makes the next check
	// rebuild again, never the reverse.
	if err := s.db.InsertRows(ctx, "serving-state", "INSERT INTO serving_state (fingerprint, refreshed_at)",
		[]any{fp, time.Now().UTC().Truncate(time.Second)}); err != nil {
		return fmt.Errorf("record serving_state: %w", err)
	}
	s.log.Info("query tables refreshed", "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// rebuild fills <table>_new with each INSERT ... SELECT of fill in turn (later
// ones may read what earlier ones wrote) and swaps it in.
func (s *Service) rebuild(ctx context.Context, table string, fill ...string) error {
	const long = 30 * time.Minute
	exec := func(purpose, q string, args ...any) error {
		c, cancel := s.db.ContextTimeout(ctx, purpose, long)
		defer cancel()
		if err := s.db.Conn.Exec(c, q, args...); err != nil {
			return fmt.Errorf("refresh %s: %w", table, err)
		}
		return nil
	}
	if err := exec("refresh-drop", "DROP TABLE IF EXISTS "+table+"_new"); err != nil {
		return err
	}
	if err := exec("refresh-create", "CREATE TABLE "+table+"_new AS "+table); err != nil {
		return err
	}
	for _, sel := range fill {
		if err := exec("refresh-fill", "INSERT INTO "+table+"_new "+strings.ReplaceAll(sel, "{self}", table+"_new")); err != nil {
			return err
		}
	}
	if err := exec("refresh-drop", "DROP TABLE IF EXISTS "+table+"_old"); err != nil {
		return err
	}
	if err := exec("refresh-swap", "RENAME TABLE "+table+" TO "+table+"_old, "+table+"_new TO "+table); err != nil {
		return err
	}
	return exec("refresh-drop", "DROP TABLE IF EXISTS "+table+"_old")
}

// factsSelect computes opp_facts.
func (s *Service) factsSelect() string {
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
	opps := latest("opportunities", "opportunity_id",
		"opportunity_id, name AS o_name, account_id, owner_id, product AS o_product, source AS o_source, stage AS o_stage, amount AS o_amount, created_at AS o_created_at, close_date AS o_close_date, closed AS o_closed, won AS o_won")
	events := "(SELECT opportunity_id, arrayMap(x -> x.1, evs) AS ev_times, arrayMap(x -> x.2, evs) AS ev_ranks FROM (" +
		"SELECT opportunity_id, arraySort(groupArray((entered_at, stage_rank))) AS evs FROM " +
		latest("stage_events", "opportunity_id, entered_at, stage", "opportunity_id, entered_at, stage, stage_rank") +
		" GROUP BY opportunity_id))"
	reps := latest("reps", "rep_id", "rep_id AS owner_id, name AS r_name, team AS r_team, manager_id AS r_manager_id, territory AS r_territory")
	mgrs := latest("reps", "rep_id", "rep_id AS r_manager_id, name AS m_name")
	accts := latest("accounts", "account_id", "account_id, name AS a_name, territory AS a_territory, segment AS a_segment")

	oe := "(SELECT * FROM " + opps + " AS o ANY LEFT JOIN " + events + " AS e USING opportunity_id)"
	rm := "(SELECT * FROM " + reps + " AS r ANY LEFT JOIN " + mgrs + " AS m USING r_manager_id)"
	oer := "(SELECT * FROM " + oe + " AS oe ANY LEFT JOIN " + rm + " AS rm USING owner_id)"
	all := "(SELECT * FROM " + oer + " AS oer ANY LEFT JOIN " + accts + " AS a USING account_id)"

	current := "transform(o_stage, [" + strings.Join(names, ", ") + "], [" + strings.Join(ranks, ", ") + "], 0)"
	furthest := "toUInt8(if(o_won = 1, 100, greatest(toUInt8(1), greatest(toUInt8(arrayReduce('max', arrayFilter(x -> x >= 1 AND x < 100, ev_ranks))), toUInt8(" + current + ")))))"

	return `(opportunity_id, name, account_id, account_name, owner_id, owner_name, team, manager_id, manager_name,
    territory, segment, product, source, stage, amount, created_at, created_date, close_date, closed, won, lost,
    furthest, entered, exited)
SELECT opportunity_id, o_name, account_id, a_name, owner_id, r_name, r_team, r_manager_id, m_name,
    if(a_territory != '', a_territory, r_territory), a_segment, o_product, o_source, o_stage, o_amount,
    o_created_at, toDate(o_created_at, ` + s.tz + `), o_close_date, o_closed, o_won, toUInt8(o_closed = 1 AND o_won = 0),
    ` + furthest + `, [` + strings.Join(entered, ", ") + `], [` + strings.Join(exited, ", ") + `]
FROM (SELECT *, toDateTime(concat(toString(o_close_date), ' 00:00:00'), ` + s.tz + `) AS close_time FROM ` + all + `)`
}

// movesSelect computes opp_moves: consecutive snapshot pairs of each opportunity
// that was open in the earlier one and changed close date or amount.
func (s *Service) movesSelect() string {
	snaps := latest("opportunity_snapshots", "snapshot_date, opportunity_id", "snapshot_date, opportunity_id, amount, close_date, closed")
	pairs := "(SELECT opportunity_id, arraySort(groupArray((snapshot_date, close_date, amount, closed))) AS s FROM " + snaps + " GROUP BY opportunity_id HAVING length(s) > 1)"
	moves := "(SELECT opportunity_id, p.1 AS change_date, p.2 AS old_close, p.3 AS new_close, p.4 AS old_amount, p.5 AS new_amount FROM " + pairs +
		" ARRAY JOIN arrayMap(i -> (s[i].1, s[i - 1].2, s[i].2, s[i - 1].3, s[i].3), arrayFilter(i -> i > 1 AND s[i - 1].4 = 0 AND s[i].4 = 0 AND (s[i].2 != s[i - 1].2 OR s[i].3 != s[i - 1].3), arrayEnumerate(s))) AS p)"
	facts := "(SELECT opportunity_id, name, owner_id, team, manager_id, territory, segment, product, source FROM opp_facts)"
	return `(opportunity_id, name, change_date, old_close, new_close, old_amount, new_amount, owner_id, team, manager_id, territory, segment, product, source)
SELECT opportunity_id, name, change_date, old_close, new_close, old_amount, new_amount, owner_id, team, manager_id, territory, segment, product, source
FROM (SELECT * FROM ` + moves + ` AS mv ANY INNER JOIN ` + facts + ` AS f USING opportunity_id)`
}

// quote makes a ClickHouse string literal of a configured (not user) value.
func quote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
}

// query runs q with the usual deadline and hands each row to scan.
func (s *Service) query(ctx context.Context, purpose, q string, args []any, scan func(driverRows) error) error {
	c, cancel := s.db.Context(ctx, purpose)
	defer cancel()
	rows, err := s.db.Conn.Query(c, q, args...)
	if err != nil {
		return fmt.Errorf("query %s: %w", purpose, err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return fmt.Errorf("query %s: %w", purpose, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("query %s: %w", purpose, err)
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
