package schemas

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Run states in ingest_runs. A run is `running` while its rows go in, `loaded`
// when all are in (invisible until a publication lists it), `committed` once
// published; `failed` and `duplicate` runs are never published.
const (
	RunRunning   = "running"
	RunLoaded    = "loaded"
	RunCommitted = "committed"
	RunFailed    = "failed"
	RunDuplicate = "duplicate"
)

// PendingRun is a run whose rows are all in and that no publication lists yet.
type PendingRun struct {
	ID       uint64
	Checksum string
}

// PendingRuns lists the loaded runs not yet published, oldest first, and the
// checksums of the published runs (to tell duplicates).
func (db *DB) PendingRuns(ctx context.Context) ([]PendingRun, map[string]uint64, error) {
	qctx, cancel := db.Context(ctx, "runs-pending")
	defer cancel()
	rows, err := db.Conn.Query(qctx, `SELECT run_id, argMax(checksum, updated_ns) AS sum, run_id GLOBAL IN (`+CommittedRunIDs+`) AS published
		FROM ingest_runs GROUP BY run_id HAVING argMax(status, updated_ns) IN ('loaded', 'committed') ORDER BY run_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("list pending runs: %w", err)
	}
	defer rows.Close()
	var pending []PendingRun
	done := map[string]uint64{}
	for rows.Next() {
		var r PendingRun
		var published uint8
		if err := rows.Scan(&r.ID, &r.Checksum, &published); err != nil {
			return nil, nil, fmt.Errorf("list pending runs: %w", err)
		}
		if published == 1 {
			if _, ok := done[r.Checksum]; !ok && r.Checksum != "" {
				done[r.Checksum] = r.ID
			}
			continue
		}
		pending = append(pending, r)
	}
	return pending, done, rows.Err()
}

// MarkRuns appends a state change to each run, keeping its other columns (the
// report's own status field is overridden by the column when read).
func (db *DB) MarkRuns(ctx context.Context, ids []uint64, status, errText string) error {
	if len(ids) == 0 {
		return nil
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = strconv.FormatUint(id, 10)
	}
	q := fmt.Sprintf(`INSERT INTO ingest_runs (run_id, file, checksum, profile, kind, status, rows_read, rows_loaded, rows_rejected, error, report, started_at, finished_at, updated_ns)
SELECT run_id, argMax(file, updated_ns), argMax(checksum, updated_ns), argMax(profile, updated_ns), argMax(kind, updated_ns), %s,
    argMax(rows_read, updated_ns), argMax(rows_loaded, updated_ns), argMax(rows_rejected, updated_ns), if(%s = '', argMax(error, updated_ns), %s),
    argMax(report, updated_ns), argMax(started_at, updated_ns), now(), toUInt64(%d)
FROM ingest_runs WHERE run_id IN (%s) GROUP BY run_id`, quoteString(status), quoteString(errText), quoteString(errText),
		time.Now().UnixNano(), strings.Join(list, ", "))
	return db.Exec(ctx, "runs-mark", q)
}
