-- pipelens version 19: closed deals on their own serving table (issue 11). Win
-- rate (with a product, source, segment or territory filter) and cycle time
-- read opp_facts by close date: opp_facts is sorted by creation date, so every
-- range of close dates read the whole table. opp_closes holds one row per
-- closed (or won) opportunity version: its close and creation dates, won,
-- amount, and the attributes the filters and groupings read, copied from the
-- opp_facts row as they are.
--
-- An entity table like opp_facts: a publication writes the closes of the
-- opp_facts rows it writes, with their pub, and the opp_gone row that hides a
-- replaced opp_facts version hides its close too (same opportunity_id and pub),
-- so the closes readers count are exactly those of the visible opp_facts.
-- Sorted by close date: a range of close dates reads only its granules.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_closes (
    opportunity_id String,
    pub            UInt64,
    close_date     Date,
    created_date   Date,
    closed         UInt8,
    won            UInt8,
    amount         Float64,
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
ORDER BY (close_date, won);
