-- pipelens version 23: what a forecast learns from history, computed once per
-- publication (issue 11). Every forecast estimates its stage rates, its amount
-- basis and its new-deal yield from the scope's deals of the last years: on
-- 3.2M opportunities the rate history alone reads 1.4M deals' stage spans, about
-- 0.45 s of ClickHouse CPU per request. These depend on the as-of day, the
-- period and the filter, not on the request: serve computes them once a
-- publication has stood for 30 s, for today's as-of day, each period, no filter and each single
-- value of each filter column (one grouped statement per column), and a
-- forecast with such a filter reads its few rows instead. Anything else (two
-- filters, another day, a publication not computed yet) is computed per
-- request as before, with the same SQL.
--
-- as_of is the day as YYYY-MM-DD. model fingerprints what the numbers depend on besides the data (time zone,
-- stages, fiscal year, the forecast's constants); pub is the publication they
-- were computed on; run tells computations apart: a forecast reads the rows
-- of one run that has its done row (part 0), so a computation killed half way
-- is never read. part: 0 done, 1 rate history (key segment, st the stage
-- rank), 2 closed deals (key product), 3 new-deal yield.
CREATE TABLE IF NOT EXISTS forecast_history (
    model       String,
    pub         UInt64,
    as_of       String,
    period      String,
    dim         String,
    value       String,
    run         UInt64,
    part        UInt8,
    key         String,
    st          UInt64,
    nums        Array(Float64),
    computed_at DateTime
) ENGINE = MergeTree
ORDER BY (as_of, period, dim, value, pub)
SETTINGS index_granularity = 1024;
