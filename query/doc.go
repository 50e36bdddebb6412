// Package query is where pipelens's metrics are defined, once, and computed in
// ClickHouse: the cohort funnel, conversion trends, win rate, cycle time, days in
// stage, pipeline movement, lead conversion, attainment, coverage, rep scorecards
// and territory potential (definitions for users: METRICS.md). Every method takes
// the caller's Scope and a Filter; the scope is applied here, never in the pages.
//
// Filter values are bound as query arguments (clickhouse-go quotes them client
// side; lists go through clickhouse.GroupSet), never pasted into SQL. The business
// time zone is a validated literal.
//
// Serving tables. Computing from the raw tables on every request means a FINAL
// over ReplacingMergeTrees, the committed-run filter and four joins per request;
// at 1M opportunities and 10M stage events that is seconds, not the 200 ms a page
// needs. So Refresh, called after every committed load, rebuilds two tables from
// the committed runs: opp_facts (one row per opportunity with its owner's team,
// manager and territory, its account's segment and territory, its furthest stage
// and its stage entry and exit times) opp_moves (changes between consecutive
// snapshots) and rep_activity_days (activities per rep and day), then the
// pre-aggregates read from opp_facts (rollup.go; DDL in
// schemas/migrations/0005_serving.sql): rep_days per owner and day or month,
// territory_days per territory, segment and close day or month, account_facts
// per account with its deals' creation dates. A request whose filters a
// pre-aggregate is keyed by reads it (thousands of rows); any other reads
// opp_facts, with the same numbers. Each is filled as <name>_new with INSERT ... SELECT and swapped in
// with RENAME TABLE, so readers never see a half-built table. Nothing is in them
// that is not in the raw tables, with the same rules (latest committed row per
// key); the tests compare them with hand-computed and plain-Go results. Until the
// first Refresh the metrics are empty. Small tables (reps, accounts, leads,
// activities, targets, market) are read directly.
package query
