// Package parity holds the test that pipelens answers the same on every
// ClickHouse its users run (issue 10). The machines here install Debian's
// ClickHouse 18.16; users run 24.x–26.x. TestParity runs the whole metric suite
// on a private 18.16 server with log_queries on — two loads with their
// publications (one full, one incremental), every API method under several
// filter sets and scopes, one alert evaluation — then:
//
//   - replays each publication's statements (INSERT … SELECT, query ids
//     pipelens-publish-*) on ClickHouse 26.x from the raw state dumped just before
//     it, and compares the serving tables row for row with 18.16's;
//   - copies every table of the final state into ClickHouse 26.x part by part (so
//     rows a merge would collapse survive as on 18.16), asks every SELECT pipelens
//     logged on both, and compares the answers: the same rows (in the same order
//     when the statement has an outer ORDER BY), the same column types, floats to
//     1e-9 relative (1e-9 absolute near zero, where a float sum whose rows
//     cancel leaves a residue that follows the summation order).
//
// Current ClickHouse is chDB (npm package chdb@3.4.0, driven by chdb.js through
// node). deploy/install-deps.sh installs it under /opt/pipelens-chdb (root) or
// $HOME/.cache/pipelens-chdb; PIPELENS_CHDB_PREFIX names another prefix. Without
// it the test skips, and fails when CI=true. The counts are printed with -v (and
// on failure); PIPELENS_PARITY_REPORT=<file> also writes them and every
// difference there.
package parity
