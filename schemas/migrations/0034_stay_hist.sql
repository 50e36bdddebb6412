-- pipelens version 34: days in stage from a histogram of stay lengths (issue 11).
-- Days in stage's median is exact over the range's stays: it read every stay
-- entered in the range from opp_stays (3.4M rows for a year at the large sample,
-- 118 ms against 10 ms at the medium one, 12x for 32x the data), since no sum
-- keeps a median.
--
-- stay_hist, a delta table: per dimension value (dim, value as in dim_days:
-- product, source, segment, territory; and dim '' for every stay), entry day (grain 0) or month (grain 1),
-- stage rank rk and length bucket b (whole days of the stay, intDiv of its
-- seconds by 86 400, so the buckets are ordered intervals), the stays that left
-- (n), their days and squared days, and the stays still in (still, in bucket
-- 0). Signed corrections as in dim_days (0007_publications.sql). Summed over a
-- range, it gives each stage's count, mean, deviation and still-in, and the
-- bucket that holds each middle stay.
--
-- stay_lens, an entity table like opp_stays (its rows share opp_facts' row's
-- opportunity_id and pub, so {facts} hides the replaced ones): the stays that
-- left, with their length in seconds s, sorted by (rk, b, en_day), so the
-- stays of one stage's middle bucket in a range are a few granules. The median
-- is the middle value(s) of those, placed by the counts below the bucket.
-- shard: rand()
CREATE TABLE IF NOT EXISTS stay_hist (
    dim      String,
    value    String,
    grain    UInt8,
    day      Date,
    rk       UInt8,
    b        Int32,
    n        UInt64,
    still    UInt64,
    days     Float64,
    days_sq  Float64,
    pub      UInt64
) ENGINE = MergeTree
ORDER BY (dim, value, grain, day, rk, b)
SETTINGS index_granularity = 1024;

-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS stay_lens (
    opportunity_id String,
    pub            UInt64,
    rk             UInt8,
    b              Int32,
    en_day         Date,
    s              Int64,
    territory      String,
    segment        String,
    product        String,
    source         String
) ENGINE = MergeTree
ORDER BY (rk, b, en_day)
SETTINGS index_granularity = 1024;
