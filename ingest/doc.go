// Package ingest loads CRM exports into pipelens's ClickHouse: CSV and TSV (delimiter
// and quote sniffed), XLSX, JSON and JSON Lines, Parquet; UTF-8 (with or without BOM),
// UTF-16 and GB18030/GBK. A profile recognised from the header (Salesforce, HubSpot,
// Zoho CRM, Pipedrive, Fxiaoke, Microsoft Dynamics 365 Sales (Dataverse or Excel-export
// names, statecode/statuscode deciding won and lost), 销售易 (Neocrm), Maven CRM, lead–deal
// links (HubSpot associations, Zoho's converted deal, Olist's mql_id), exchange rates
// (a generic monthly sheet, or Salesforce's DatedConversionRate, whose inverse rates are
// turned around: see query/METRICS.md, Currency), the canonical files of
// `pipelens gen`, a generic one, or a mapping file; the best score wins, and two layouts
// that fit equally well stop the load with ErrAmbiguousLayout naming both for --source)
// maps the columns to the canonical tables; values are parsed as people write them
// (dates in any common layout, amounts with currency, 万 and 亿, a unit in the header such
// as 商机金额(万元) or Amount (USD) scaling and labelling the whole column, yes/no in English
// and Chinese; an amount in words such as 面议 is a bad_amount reject, never 0). Rows
// travel as text chunks (each row's fields side by side in one buffer), then as Arrow
// record batches with the canonical table's schema, inserted as native columnar blocks.
//
// # Throughput and memory
//
// A file streams through a bounded pipeline: one reader copies each line at once
// into a text chunk (ChunkRows rows, 16384 by default) and notes where its fields
// start (commas found eight bytes at a time), mappers parse the rows into typed
// batches (each text value copied once more, into its column; UTF-8 checked once a
// chunk; ISO dates and plain numbers take fast paths before the general parsers),
// and inserters stream the batches as
// blocks into INSERTs of up to InsertRows rows (262144), so the server writes
// large parts while the rest of the file is still being mapped. Batch buffers are recycled, and the in-file
// duplicate set (8 bytes a row, sized from the file) lives outside the Go heap,
// so memory stays flat: about 270 MB for a 1 GB export. BenchmarkLoadOpportunities
// compares the rate with clickhouse-client's; BenchmarkLoadOpportunities1GB
// (PIPELENS_BENCH_1GB=1) measures the peak RSS.
//
// The door is Service: New, LoadFile, LoadFiles, LoadReader, Submit, Run, Watch,
// Recover.
//
// # Runs, visibility and atomicity: the contract
//
// Every load is a run with an id (run_id, UInt64, increasing: the start time in
// nanoseconds). Every row it writes carries that run_id. ingest_runs holds one row per
// state change of a run; the row with the highest updated_ns is the run's state, and
// its report column holds the JSON report. States:
//
//	running    rows are going in
//	loaded     every row is in; nothing of it is visible yet
//	committed  a publication lists it: all its rows are visible
//	failed     never visible; its rows are deleted
//	duplicate  content an earlier loaded or committed run holds; adds nothing
//
// What readers count is decided in one place, the publications table
// (schemas/migrations/0007_publications.sql, schemas/visibility.go):
//
//  1. A run's rows become visible all at once, when a publication that lists the run
//     inserts its one row into publications. That insert is the commit; before it,
//     no reader counts any row of the run, in the raw tables or the serving tables.
//  2. Readers take V, the latest publication, once per request and read, per key,
//     the row of the latest run listed by publications up to V (raw tables), and the
//     serving rows of publications up to V that no later publication up to V
//     replaced. Nothing a running, loaded, failed or killed run writes can change or
//     remove what readers see: the raw tables are plain MergeTree (a merge never
//     drops a row), serving rows are never rewritten, and a publication that dies
//     before its commit leaves rows above V, which the next publication deletes
//     (waiting for the mutation) before it reuses the number.
//  3. Publications are serialised across every writer — pipelens ingest, the
//     watched folder, uploads, serve, several processes and hosts on one ClickHouse —
//     by a lease held in ClickHouse (schemas/lease.go): a table that CREATE makes or
//     refuses atomically, renewed every ttl/4 (30 s ttl) in server time, taken over
//     when its holder's process on the same host is gone or it was not renewed. A
//     holder checks it still holds the lease right before it commits.
//  4. Any process may publish any loaded run: a load publishes what is loaded when its
//     rows are in (Options.Publish, wired by the binary to query.Service.Publish);
//     serve does at start. So a process killed after loading loses nothing: the
//     next publication by anyone makes its run visible. A publication recomputes
//     the opportunities, accounts and activities its runs touched (all of them for
//     the first publication, a change of zone or stages, or a load of most of the
//     warehouse), so its cost follows the load, not the warehouse.
//  5. Loading content that a loaded or committed run holds (same SHA-256) adds
//     nothing: the run is recorded as duplicate and names the earlier run. Two loads
//     of one file at the same moment both load; the publication keeps the first and
//     marks the other duplicate.
//
// A run fails as a whole when its share of rejected rows passes the threshold
// (Options.RejectThreshold, config ingest.reject_threshold, default 0.05), on a read
// or ClickHouse error, or when its context is cancelled; its rows are deleted (ALTER
// TABLE … DELETE WHERE run_id = …, a mutation on each shard's local tables) and it is
// marked failed. A run whose process died while running stays "running": the next
// load (or Recover) deletes its rows and marks it failed when its process is gone
// (same host, dead pid) or it has sent no heartbeat for Options.StaleAfter. Retrying
// the file then loads it afresh. The crash tests (cmd/pipelens/warehouse_test.go)
// kill a load with SIGKILL at each of these steps (PIPELENS_FAULT names the step).
//
// Uploads (Submit) are spooled within the request and load and publish in the
// background; Run reports a running upload's progress (rows and bytes read).
//
// Rejected rows go to ingest_rejects (file, row, column, raw value, reason, message)
// and stay there whatever the run's fate: they say why. Reasons: bad_date, bad_amount,
// bad_number, bad_bool, bad_encoding, missing_id, unknown_stage, bad_row. In a report,
// read = loaded + rejected + duplicates (rows of a key the file repeats that did not
// win: the later row wins, or the row with the later modification stamp, and a file
// with repeated keys is read a second time to load the winners; latestdup.go).
// A Salesforce report CSV's footer (single-cell lines after the data) is skipped
// and counted as the warning report_footer_lines. A date that only reads in the
// other day/month order than the file's own (14/02/2026 in an m/d/y file) is a
// bad_date once the order is known from the file's dates or set.
//
// # Hostile files
//
// Text encoding is decided per file from the whole file, not a prefix: a BOM
// decides (UTF-8 or UTF-16); NUL bytes in alternate positions mean UTF-16; a file
// that is valid UTF-8 is UTF-8; a file that reads worse as UTF-8 than right, and
// (nearly) clean as GB18030, is GB18030; anything else is UTF-8 with bad bytes. So
// one stray byte in a UTF-8 file does not turn it into GB18030, and GB18030 text
// after megabytes of ASCII is still found. Bytes the chosen encoding cannot decode
// are never stored nor replaced: the row is rejected (bad_encoding, naming the
// column, the bytes shown as \xNN). The same check guards every text value right
// before it is stored, whatever the format: no invalid UTF-8 reaches ClickHouse.
//
// A reader proves it read the whole file, or the run fails with ErrMalformed,
// naming the file and where: a CSV quote left open at the end of the file (the
// line it opened on), JSON cut inside a row or an array without its "]" (the row),
// an XLSX sheet that ends before its </sheetData> or whose size or CRC is not
// what the zip says (the sheet and the last row read), a Parquet row group that
// yields fewer rows than its metadata says or fails to decode (the row group).
// Nothing of a failed run becomes visible.
//
// An XLSX sheet streams from the file through an XML decoder: no sheet is held in
// memory whole or written to a temporary file. A part of a workbook fails with
// ErrExpandLimit, naming file, sheet and limit, once it has unpacked more than
// 16 MiB and more than 100 times the compressed bytes read so far (Apache POI's
// ratio): a zip bomb of a few MB that unpacks to 1 GB fails after 16 MiB, in about
// 10 MB of memory (TestXLSXBomb). Real sheets deflate 10 to 30 times. A cell longer
// than 1 MiB or a column past XFD is ErrMalformed.
//
// Errors and rejects quote files within bounds: a list of columns or sheets names
// the first 20 and says how many more, a reject's value and message keep 500
// bytes, an error stored in ingest_runs 4000; all of it valid UTF-8.
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
// IsClosed=FALSE. StageName wins (query/METRICS.md, "Won, lost or open"):
// Salesforce derives IsClosed/IsWon from the stage, and the public exercise export's
// stage history and expected output follow StageName for all of its 219 deals. Each
// contradicting row is counted in the report's warnings (stage_contradicts_flags).
// Other exports' closed/won columns win over a stage name they contradict: such a
// deal is open at the stage its probability implies (≤10 lead, ≤25 qualified, ≤75
// proposal, else negotiation). vendor_stage keeps the name as exported.
package ingest
