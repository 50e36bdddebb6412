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
// Serving tables. Computing from the raw tables on every request means the
// latest row per key of every raw table, the published-run filter and four
// joins per request; at 1M opportunities and 10M stage events that is seconds,
// not the 200 ms a page needs. So every load is published (publish.go,
// publish_sql.go; schemas/migrations/0007_publications.sql): a publication
// derives, for what the new runs touched, opp_facts (one row per opportunity
// with its owner's team, manager and territory, its account's segment and
// territory, its furthest stage and its stage entry and exit times), beside it
// by other sort keys opp_stays (stage stays by entry day), stay_lens (the
// stays' lengths by stage and length), deal_amounts (the deals list's columns
// by amount bucket), opp_closes (closed
// deals by close date) and opp_open (open deals by expected close date),
// opp_moves (changes between consecutive snapshots), rep_activity_days (activities per
// rep and day) and the pre-aggregates read from opp_facts (rollup.go): rep_days
// per owner and day or month, team_days its sums per team and manager (from
// rep_days), rep_dim_months per owner, month and the value of a
// deal's product, source, segment or territory, dim_days the same values'
// team_days, territory_days and territory_wins per territory,
// segment and close day or month (territory_dim_days territory_days per
// product and source; territory_firsts each account's win days and months with
// the last win before them, territory_firsts.go), account_facts per account with its deals'
// creation dates (account_dims the same per product and source), lead_days per lead source, owner and territory and creation
// day or month (leads.go), stay_hist per entry day or month, stage and
// stay length in days (stays_hist.go), deal_hist per creation day or month and
// amount bucket (deals_amounts.go), cycle_days per close day or month and cycle length
// of the won deals (closes.go); each process reads team_days, dim_days summed
// over teams and managers, and cycle_days into memory once per publication
// (an incremental one adds its own rows to the previous copy; serve's Warm
// reads them before requests ask) and sums ranges of them in Go (inmemory.go,
// teamcube.go, dimcube.go); a request filtered by one deal dimension and a
// team or manager reads dim_days' rows of its range; daily series of the
// metrics they hold come from them too (Metric.cube). A request whose filters a pre-aggregate is keyed by reads it
// (thousands of rows); any other reads opp_facts, with the same numbers. Each
// request reads one publication (visible.go), so it never mixes two loads.
// Nothing is in them that is not in the raw tables, with the same rules (latest
// published row per key); the tests compare them with hand-computed and
// plain-Go results, incremental publications with full ones, and a cluster of
// two shards of two replicas with one server (cluster_test.go). Small tables
// (reps, accounts, activities, targets, market) are read directly.
//
// The same answers on every ClickHouse. Users run 24.x–26.x and these machines
// 18.16; every statement must give the same answer on both, not only parse
// (parity/ asks every statement of the metric suite, a publication and an alert
// evaluation of both and compares the answers). Banned, because the answer then
// depends on the server version or on which row a server happens to pick:
//   - ANY joins: ANY INNER JOIN keeps one row per key on both sides since 20.x
//     (one right row per left row before). Use ALL with a right side unique by
//     its key (LIMIT 1 BY, GROUP BY).
//   - any(), anyLast() and argMax/argMin ties over rows that differ: only over
//     rows known to hold the same value, else argMax over a unique version.
//   - groupArray read as ordered: its order is that of threads and parts; sort it
//     (arraySort, or arraySort by a key array built in the same aggregation).
//   - LIMIT (and LIMIT BY) under an ORDER BY that leaves ties.
//   - Settings whose defaults changed between versions (join_use_nulls,
//     any_join_distinct_right_table_keys, the analyzer, optimize_on_insert): write
//     SQL whose answer does not depend on them, and set none that one of the
//     versions does not know.
//
// Cluster mode runs the same statements: readers read the Distributed tables
// (a subquery that needs a whole table says GLOBAL; the visibility rule's gone
// rows are read on each shard), and a publication computes each shard's rows
// on its local tables.
package query
