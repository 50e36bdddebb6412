// Package ingest loads CRM exports into pipelens's ClickHouse: CSV and TSV (delimiter
// and quote sniffed), XLSX, JSON and JSON Lines, Parquet; UTF-8 (with or without BOM),
// UTF-16 and GB18030/GBK. A profile recognised from the header (Salesforce, HubSpot,
// Zoho CRM, Pipedrive, Fxiaoke, Maven CRM, the canonical files of `pipelens gen`, a
// generic one, or a mapping file) maps the columns to the canonical tables; values are
// parsed as people write them (dates in any common layout, amounts with currency, 万
// and 亿, yes/no in English and Chinese). Rows travel as Arrow record batches: text
// batches with the file's header as schema, then typed batches with the canonical
// table's schema, inserted as native columnar blocks.
//
// # Throughput and memory
//
// A file streams through a bounded pipeline: one reader splits lines straight into
// the columns of a text batch (ChunkRows rows, 16384 by default), mappers parse them
// into typed batches (each value copied once more; ISO dates and plain numbers take
// fast paths before the general parsers), and inserters stream the batches as
// blocks into INSERTs of up to InsertRows rows (1048576, like clickhouse-client),
// so the server writes large parts. Batch buffers are recycled, and the in-file
// duplicate set (8 bytes a row, sized from the file) lives outside the Go heap,
// so memory stays flat: about 250 MB for a 1 GB export. BenchmarkLoadOpportunities
// compares the rate with clickhouse-client's; BenchmarkLoadOpportunities1GB
// (PIPELENS_BENCH_1GB=1) measures the peak RSS.
//
// The door is Service: New, LoadFile, LoadFiles, LoadReader, Run, Watch, Recover.
//
// # Runs, visibility and atomicity
//
// Every load is a run with an id (run_id, UInt64, increasing: the start time in
// nanoseconds). Every row it writes carries that run_id. ingest_runs holds one row per
// state change of a run (running → committed, failed or duplicate); the row with the
// highest updated_ns is the run's state, and its report column holds the JSON report.
//
// A raw row counts only when its run is committed. Readers of the raw tables filter
//
//	WHERE run_id IN (<CommittedRunsSQL()>)
//
// so the rows of a running run, of a failed one, and of one cut short by a crash are
// never visible. A run fails as a whole when its share of rejected rows passes the
// threshold (Options.RejectThreshold, config ingest.reject_threshold, default 0.05),
// on a read or ClickHouse error, or when its context is cancelled; its rows are then
// deleted (ALTER TABLE … DELETE WHERE run_id = …, a mutation) and it is marked failed.
// A run whose process died stays "running": the next load (or Recover) deletes its
// rows and marks it failed when its process is gone (same host, dead pid) or it has
// sent no heartbeat for Options.StaleAfter. Retrying the file then loads it afresh.
//
// Loading content that a committed run already loaded (same SHA-256) adds nothing: the
// run is recorded as duplicate and names the earlier run.
//
// Rejected rows go to ingest_rejects (file, row, column, raw value, reason, message)
// and stay there whatever the run's fate: they say why. Reasons: bad_date, bad_amount,
// bad_number, bad_bool, missing_id, unknown_stage, bad_row. In a report,
// read = loaded + rejected + duplicates (rows repeating a key earlier in the file).
//
// # Stage history
//
// stage_events come from history exports (Salesforce OpportunityHistory, canonical
// stage_events.csv), from HubSpot's "Date entered <stage>" columns, from the dates
// Maven's export carries (engage_date, close_date), and from comparing snapshots:
// every vendor opportunity export is also written to opportunity_snapshots on its
// export date, and an opportunity whose stage differs from its previous committed
// snapshot gets an event (origin "snapshot") on that date.
//
// Salesforce exports may contradict themselves: StageName "Closed Won" with
// IsClosed=FALSE. IsClosed/IsWon win: such a deal is open, at the open stage its
// Probability implies (≤10 lead, ≤25 qualified, ≤75 proposal, else negotiation);
// IsClosed=TRUE with IsWon=FALSE is lost whatever the StageName. vendor_stage keeps
// the name as exported.
package ingest
