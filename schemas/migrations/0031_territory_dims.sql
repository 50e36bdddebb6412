-- pipelens version 31: territory_days per product and per source (issue 11).
-- Territories under a product or source filter read the range's closes and the
-- open deals of that value from opp_closes and opp_open: a year of closes at the
-- large sample (3.2M opportunities) is 1.19M rows whose product or source each
-- is compared, 0.09 s of ClickHouse CPU, beside the white space's 0.07 s: the
-- one page whose cold p95 was over 200 ms (253 ms).
--
-- A delta table with territory_days' columns, one row set per dimension: dim
-- names the deal column (product, source) and value its value; territory and
-- segment are territory_days' own columns, so those filters need no row set.
-- Grain 0 holds the won and lost deals per close day, grain 1 their months
-- (summed from the publication's day rows), grain 2 (day 1970-01-01) the open
-- pipeline and the deal count of every territory, segment and value. Signed
-- corrections as in territory_days (0007_publications.sql). The accounts won in
-- a range are still counted from opp_closes' won deals, which are sorted first.
-- shard: cityHash64(territory)
CREATE TABLE IF NOT EXISTS territory_dim_days (
    dim        String,
    value      String,
    grain      UInt8,
    day        Date,
    territory  String,
    segment    String,
    won        UInt64,
    won_amount Float64,
    lost       UInt64,
    pipeline   Float64,
    deals      UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (dim, value, grain, day, territory, segment)
SETTINGS index_granularity = 1024;
