-- pipelens version 28: rep_days summed per team (issue 11). The overview's
-- cards (win rate by team, deals opened, bookings: one statement for the range
-- and one for each comparison range), the funnel, the conversion trend and the
-- movement read rep_days with no rep filter, a row per rep and day: 27k rows for
-- 15 months at the large sample (589 reps), where the same numbers per team and
-- manager take 2,100 (42 teams). team_days holds rep_days' cohort and closed-deal
-- columns per team and manager and day (grain 0) or month (grain 1), 47,628 rows
-- against 618,690; a filter by rep still reads rep_days. `serve` reads it into
-- memory once per publication (query/inmemory.go) and sums ranges there: each
-- statement over a few thousand rows cost 3-4 ms of ClickHouse CPU under load,
-- most of it analysing the statement.
--
-- A delta table: a publication sums rep_days' rows of that publication (both
-- grains, both signs) per team and manager, so sums over pub in [Base, V] equal
-- rep_days' sums. Counts of negative rows are two's complement
-- (0007_publications.sql). Each shard sums its own rep_days, and readers add the
-- shards up.
-- shard: rand()
CREATE TABLE IF NOT EXISTS team_days (
    grain              UInt8,
    day                Date,
    team               String,
    manager_id         String,
    created            UInt64,
    created_amount     Float64,
    created_won        UInt64,
    created_won_amount Float64,
    created_lost       UInt64,
    created_open       UInt64,
    reached            Array(UInt64),
    won                UInt64,
    won_amount         Float64,
    lost               UInt64,
    lost_amount        Float64,
    pub                UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, team, manager_id)
SETTINGS index_granularity = 1024;
