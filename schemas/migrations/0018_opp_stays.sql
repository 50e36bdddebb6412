-- pipelens version 18: stage stays on their own serving table (issue 11). Days
-- in stage and the stage norms ARRAY JOINed entered/exited over every opp_facts
-- row on each request: opp_facts is sorted by creation date, so a range of
-- entry days read the whole table. opp_stays holds one row per opportunity
-- version and open stage it entered (entered[rk] > 1970-01-01): rk, en =
-- entered[rk], ex = exited[rk], en_day = en's business day, and the
-- attributes the filters and groupings read, copied from the opp_facts row.
--
-- An entity table like opp_facts: a publication writes the stays of the
-- opp_facts rows it writes, with their pub, and the opp_gone row that hides a
-- replaced opp_facts version hides its stays too (same opportunity_id and pub),
-- so the stays readers count are exactly those of the visible opp_facts.
-- Sorted by entry day: a range of entry days reads only its granules.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_stays (
    opportunity_id String,
    pub            UInt64,
    rk             UInt8,
    en             DateTime,
    ex             DateTime,
    en_day         Date,
    owner_id       String,
    owner_name     String,
    team           String,
    manager_id     String,
    manager_name   String,
    territory      String,
    segment        String,
    product        String,
    source         String
) ENGINE = MergeTree
ORDER BY (en_day, rk);
