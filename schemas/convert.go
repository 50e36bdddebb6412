package schemas

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// rawTables are the tables loads write, keyed by run_id.
var rawTables = []string{"accounts", "reps", "opportunities", "opportunity_snapshots", "stage_events", "leads", "activities", "targets", "market"}

// convertRawEngines turns the raw tables of a home created before version 7
// from ReplacingMergeTree(run_id) into MergeTree (0001 creates MergeTree now).
// A replacing merge keeps the highest run_id per key whatever that run's state,
// so it could drop a published row for one of a failed load. Each table is
// copied into <name>__mt, then swapped in; a crash at any point is finished by
// the next start (single server only: cluster mode never shipped with
// ReplacingMergeTree raw tables).
func (db *DB) convertRawEngines(ctx context.Context) error {
	for _, t := range rawTables {
		if err := db.convertRawEngine(ctx, t); err != nil {
			return fmt.Errorf("convert %s to MergeTree: %w", t, err)
		}
	}
	return nil
}

func (db *DB) convertRawEngine(ctx context.Context, t string) error {
	// EXISTS and SHOW CREATE read one table. system.tables is not used: on
	// 18.16 a scan of it fails while another process drops a table (a lease
	// released), and a failed scan looked like a missing table.
	engine := func(name string) (string, string, error) {
		one := func(q string, dst any) error { // each statement its own query id
			qctx, cancel := db.Context(ctx, "convert-engine")
			defer cancel()
			return db.Conn.QueryRow(qctx, q).Scan(dst)
		}
		var exists uint8
		if err := one("EXISTS TABLE "+name, &exists); err != nil || exists == 0 {
			return "", "", err
		}
		var stmt string
		if err := one("SHOW CREATE TABLE "+name, &stmt); err != nil {
			return "", "", err
		}
		_, full, ok := strings.Cut(stmt, "ENGINE = ")
		if !ok {
			return "", "", fmt.Errorf("SHOW CREATE TABLE %s names no engine", name)
		}
		// The engine's name ends at its arguments or at the next clause
		// (current servers put clauses on new lines).
		e := full
		if i := strings.IndexFunc(full, func(r rune) bool { return r == '(' || unicode.IsSpace(r) }); i >= 0 {
			e = full[:i]
		}
		return e, full, nil
	}
	cur, full, err := engine(t)
	if err != nil {
		return err
	}
	mt, old := t+"__mt", t+"__replacing"
	if cur == "" {
		// Killed between the two renames: the copy is complete.
		if e, _, err := engine(mt); err != nil || e == "" {
			return fmt.Errorf("table %s is missing and no finished copy %s exists", t, mt)
		}
		if err := db.Exec(ctx, "convert-engine", "RENAME TABLE "+mt+" TO "+t); err != nil {
			return err
		}
		return db.Exec(ctx, "convert-engine", "DROP TABLE IF EXISTS "+old)
	}
	if cur != "ReplacingMergeTree" || !strings.HasPrefix(full, "ReplacingMergeTree(run_id)") {
		return db.Exec(ctx, "convert-engine", "DROP TABLE IF EXISTS "+old)
	}
	db.log.Warn("converting a raw table to MergeTree (once, for homes created before version 7)", "table", t)
	steps := []string{
		"DROP TABLE IF EXISTS " + mt,
		"CREATE TABLE " + mt + " AS " + t + " ENGINE = " + strings.Replace(full, "ReplacingMergeTree(run_id)", "MergeTree", 1),
		"INSERT INTO " + mt + " SELECT * FROM " + t,
		"RENAME TABLE " + t + " TO " + old + ", " + mt + " TO " + t,
		"DROP TABLE " + old,
	}
	for _, q := range steps {
		c, cancel := db.ContextTimeout(ctx, "convert-engine", 2*time.Hour)
		err := db.Conn.Exec(c, q)
		cancel()
		if err != nil {
			return err
		}
	}
	return nil
}
