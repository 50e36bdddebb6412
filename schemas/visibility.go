package schemas

// CommittedRunIDs is the one statement of which raw rows count: a row of a raw
// table is visible to metrics and alerts only when its run is committed.
// ingest_runs holds one row per state change of a run; the latest (highest
// updated_ns) is its state.
const CommittedRunIDs = "SELECT run_id FROM ingest_runs GROUP BY run_id HAVING argMax(status, updated_ns) = 'committed'"

// CommittedRuns is the filter form: `WHERE ` + CommittedRuns.
const CommittedRuns = "run_id IN (" + CommittedRunIDs + ")"
