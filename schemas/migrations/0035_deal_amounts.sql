-- pipelens version 35: the deals list by amount from amount buckets (issue 11).
-- The deals list sorted by amount found its page's bound among every deal
-- created in the range (1.2M for a year at the large sample, with the filter's
-- column), then read the page: 55-95 ms against 14-19 ms at the medium sample.
--
-- deal_hist, a delta table: per dimension value (dim, value as in dim_days, and
-- dim '' for every deal), creation day (grain 0) or month (grain 1) and amount
-- bucket b, the deals created (n). Signed corrections as in dim_days
-- (0007_publications.sql). b orders amounts: -1 below 0, else 10 x the digits
-- of the amount's whole part + its first digit (0.5 is 10, 1 to 2 is 11, 20 to
-- 30 is 22, 999 is 39), 1000 from 10^18. Summed over a range, it gives the
-- bucket that holds a page's last deal.
--
-- deal_amounts, an entity table like opp_stays (the columns of the deals list,
-- one row per opp_facts row, same opportunity_id and pub, so {facts} hides the
-- replaced ones), sorted by (b, created_date): the deals of the range in the
-- buckets at and above the page's are a few granules.
-- shard: rand()
CREATE TABLE IF NOT EXISTS deal_hist (
    dim    String,
    value  String,
    grain  UInt8,
    day    Date,
    b      Int32,
    n      UInt64,
    pub    UInt64
) ENGINE = MergeTree
ORDER BY (dim, value, grain, day, b)
SETTINGS index_granularity = 1024;

-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS deal_amounts (
    opportunity_id String,
    pub            UInt64,
    b              Int32,
    created_date   Date,
    name           String,
    account_id     String,
    account_name   String,
    owner_id       String,
    owner_name     String,
    team           String,
    manager_id     String,
    territory      String,
    segment        String,
    product        String,
    source         String,
    stage          String,
    furthest       UInt8,
    amount         Float64,
    close_date     Date,
    closed         UInt8,
    won            UInt8
) ENGINE = MergeTree
ORDER BY (b, created_date)
SETTINGS index_granularity = 1024;
