-- Serving tables of query/, version 5: the pre-aggregates that keep every API
-- endpoint inside a page's time budget at millions of deals. Like those of
-- 0003 they hold nothing that is not in the raw tables: query.Service.Refresh
-- rebuilds them after each load (CREATE TABLE <name>_new AS <name>, fill,
-- RENAME TABLE), so they can always be dropped and rebuilt.
--
-- grain, where a table has it: 0 = one row per day; 1 = the same numbers summed
-- per month (day = the month's first day). A range reads the whole months inside
-- it at grain 1 and the days at its ends at grain 0, so any from/to is exact and
-- a year is a few thousand rows.

-- Activities per rep and business day of the committed runs (the scorecards'
-- activity rates). Earlier versions created it from query's code.
-- shard: cityHash64(rep_id)
CREATE TABLE IF NOT EXISTS rep_activity_days (
    rep_id     String,
    day        Date,
    activities UInt64
) ENGINE = MergeTree
ORDER BY (day, rep_id);

-- Per owner and day (or month), from opp_facts: what the funnel, conversion
-- trend, win rate, movement and scorecards count, for requests whose filters
-- are the owner's (rep, team, manager: all functions of the owner). Each group
-- of columns is dated by its own date:
--   created*: opportunities created that day (the cohort); reached[i]: of them,
--             furthest stage >= i;
--   won*, lost*, cycle*: closed that day (closed = 1); *_sq are sums of squares
--             (for standard deviations); cycle = close date - created date, days;
--   stage_*[i]: first entries into open stage i that day (business day of the
--             entry): all of them, those that left, and the days they stayed.
-- owner_name, team, manager_id, manager_name are the owner's (the same on every
-- row of an owner).
-- shard: cityHash64(owner_id)
CREATE TABLE IF NOT EXISTS rep_days (
    grain              UInt8,
    day                Date,
    owner_id           String,
    owner_name         String,
    team               String,
    manager_id         String,
    manager_name       String,
    created            UInt64,
    created_amount     Float64,
    created_won        UInt64,
    created_won_amount Float64,
    created_lost       UInt64,
    created_open       UInt64,
    reached            Array(UInt64),
    won                UInt64,
    won_amount         Float64,
    won_amount_sq      Float64,
    lost               UInt64,
    lost_amount        Float64,
    cycle_sum          Float64,
    cycle_sq           Float64,
    stage_entries      Array(UInt64),
    stage_left         Array(UInt64),
    stage_days         Array(Float64),
    stage_days_sq      Array(Float64)
) ENGINE = MergeTree
ORDER BY (grain, day, owner_id)
SETTINGS index_granularity = 1024;

-- Per deal territory and segment and close day (or month), from opp_facts: the
-- territory page's deal numbers for requests filtered at most by territory and
-- segment. won*/lost: won = 1 / lost = 1 closed that day; won_accounts: the
-- distinct accounts of those won deals (an exact uniqExact state, merged over
-- the range). grain 2: one row per territory and segment of any deal (day
-- 1970-01-01) carrying pipeline, the open amount, which no range restricts.
-- shard: cityHash64(territory)
CREATE TABLE IF NOT EXISTS territory_days (
    grain        UInt8,
    day          Date,
    territory    String,
    segment      String,
    won          UInt64,
    won_amount   Float64,
    lost         UInt64,
    won_accounts AggregateFunction(uniqExact, String),
    pipeline     Float64
) ENGINE = MergeTree
ORDER BY (grain, day, territory, segment)
SETTINGS index_granularity = 1024;

-- One row per account of the committed runs (latest row), with the distinct
-- business dates its opportunities were created on, sorted: white space in any
-- range without reading the opportunities.
-- shard: cityHash64(account_id)
CREATE TABLE IF NOT EXISTS account_facts (
    account_id String,
    territory  String,
    segment    String,
    created    Array(Date)
) ENGINE = MergeTree
ORDER BY (territory, segment, account_id);

-- The deal's name in each move, so the most-pushed deals need no lookup in
-- opp_facts.
ALTER TABLE opp_moves ADD COLUMN name String AFTER opportunity_id;
