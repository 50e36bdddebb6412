-- pipelens version 36: the accounts won in a range without grouping by account
-- (issue 11). The territories page counted them per territory and segment by
-- summing territory_wins per account over the range (149k rows and 93k groups
-- for a year at the large sample, 50 ms of a 55 ms answer).
--
-- territory_firsts, a delta table: per territory, segment and account with a
-- won deal, a row for each day it won on (grain 0) and each month it won in
-- (grain 1, day = the month's first day), with prev, the last day it won on
-- before that day or month (1970-01-01 when none). An account's first win in
-- [from, to) is the one row of the range, read as territory_wins is read (month
-- rows for whole months, day rows for the rest), whose prev is before from; so
-- the accounts won in the range are the sum of n over the range's rows with
-- prev < from. A publication recomputes the rows of each account it touched
-- from territory_wins, before and after: n is +1 for rows it adds and -1 (two's
-- complement, as in 0007_publications.sql) for rows it replaces.
--
-- Filled on a single server only: in cluster mode an account's deals are on
-- several shards, so no shard knows its first win; the reader keeps grouping
-- territory_wins per account there.
-- shard: cityHash64(territory)
CREATE TABLE IF NOT EXISTS territory_firsts (
    grain      UInt8,
    day        Date,
    territory  String,
    segment    String,
    account_id String,
    prev       Date,
    n          UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, territory, segment)
SETTINGS index_granularity = 1024;
