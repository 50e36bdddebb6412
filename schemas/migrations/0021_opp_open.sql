-- pipelens version 21: open deals on their own serving table (issue 11).
-- Coverage's pipeline (open deals expected to close in the range) read every
-- opp_facts row's closed flag, three times a cold overview (the range, the
-- period before it and the year before): opp_facts is sorted by creation date,
-- and the few open deals among millions are spread over all of it. opp_open
-- holds one row per open opportunity version (closed = 0 and won = 0): its
-- expected close and creation dates, amount and the attributes the filters read,
-- copied from the opp_facts row as they are.
--
-- An entity table like opp_facts and opp_closes: a publication writes the open
-- rows of the opp_facts rows it writes, with their pub, and the opp_gone row
-- that hides a replaced opp_facts version hides its open row too (same
-- opportunity_id and pub), so readers count exactly the visible open deals.
-- Sorted by expected close date: a range reads only its granules.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_open (
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
ORDER BY close_date;
