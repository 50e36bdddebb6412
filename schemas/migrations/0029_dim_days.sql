-- pipelens version 29: team_days per value of a deal's product, source, segment
-- or territory (issue 11). With one of those filters the funnel, the conversion
-- trend, the movement's opened and closed deals and the win rate (total and by
-- team) read every deal of the range from opp_facts: 33-75 ms at the large
-- sample (3.2M opportunities) against 5-11 ms at the medium one, 4.7-9x for 32x
-- the data. A deal's product, source, segment and territory are its own, not its
-- owner's, so team_days cannot answer them; rep_dim_months has them per rep and
-- month only, without the cohort's counts and amounts.
--
-- A delta table with team_days' columns, one row set per dimension: dim names
-- the column (product, source, segment, territory) and value its value. A
-- publication adds the touched opportunities' new versions and subtracts their
-- replaced ones (publish_delta) per day (grain 0), then sums its day rows per
-- month (grain 1), so sums over the visible pubs equal the numbers of the
-- visible opp_facts. The cohort's columns are dated by creation, won and lost
-- by close. Counts of negative rows are two's complement
-- (0007_publications.sql). Each shard sums its own opportunities, and readers
-- add the shards up. A filter naming a rep, or more than one of these
-- dimensions, still reads rep_days, rep_dim_months or opp_facts.
-- shard: rand()
CREATE TABLE IF NOT EXISTS dim_days (
    dim                String,
    value              String,
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
ORDER BY (dim, value, grain, day, team, manager_id)
SETTINGS index_granularity = 1024;
