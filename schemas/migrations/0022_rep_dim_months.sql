-- pipelens version 22: the reps' numbers by product, source, segment and
-- territory, per month (issue 11). With one of those filters the scorecards
-- read every deal, close and stage entry of the range (a year by default) from
-- opp_facts, opp_closes and opp_stays: 0.2–0.3 s on 3.2M opportunities. A deal's
-- product, source, segment and territory are its own, not its owner's, so
-- rep_days cannot answer them.
--
-- A delta table like rep_days at month grain (day = the month's first day),
-- one row set per dimension: dim names the column (product, source, segment,
-- territory) and value its value. A publication adds the touched opportunities'
-- new versions and subtracts their replaced ones, so sums over the visible pubs
-- equal the numbers of the visible opp_facts. Each group of columns is dated by
-- its own date, as in rep_days: created_won and reached by creation, won, lost
-- and cycle by close, stage_* by the business day of the stage entry. A range's
-- whole months come from here; the days before its first and after its last
-- whole month from opp_facts, opp_closes and opp_stays.
-- publish_delta carries product and source for it.
-- shard: cityHash64(owner_id)
CREATE TABLE IF NOT EXISTS rep_dim_months (
    dim           String,
    value         String,
    day           Date,
    owner_id      String,
    team          String,
    manager_id    String,
    created_won   UInt64,
    reached       Array(UInt64),
    won           UInt64,
    won_amount    Float64,
    won_amount_sq Float64,
    lost          UInt64,
    cycle_sum     Float64,
    cycle_sq      Float64,
    stage_entries Array(UInt64),
    stage_left    Array(UInt64),
    stage_days    Array(Float64),
    stage_days_sq Array(Float64),
    pub           UInt64
) ENGINE = MergeTree
ORDER BY (dim, value, day, owner_id)
SETTINGS index_granularity = 1024;

ALTER TABLE publish_delta ADD COLUMN product String;
ALTER TABLE publish_delta ADD COLUMN source String;
