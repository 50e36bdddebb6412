-- pipelens version 8: what keeps a publication's cost with the size of its load.
--
-- publish_delta holds the signed opp_facts rows of one publication: the
-- touched opportunities' replaced versions (sign -1, version = the pub of the
-- row they cancel) and their new ones (sign 1). Every delta table is computed
-- from it, so a publication reads opp_facts twice (once for the old versions,
-- once for the new) instead of once per delta table. Each publication drops
-- its own partition when it ends; a publication drops the partitions a killed
-- one left.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS publish_delta (
    pub            UInt64,
    sign           Int8,
    version        UInt64,
    opportunity_id String,
    account_id     String,
    owner_id       String,
    owner_name     String,
    team           String,
    manager_id     String,
    manager_name   String,
    territory      String,
    segment        String,
    amount         Float64,
    created_date   Date,
    close_date     Date,
    closed         UInt8,
    won            UInt8,
    lost           UInt8,
    furthest       UInt8,
    entered        Array(DateTime),
    exited         Array(DateTime)
) ENGINE = MergeTree
PARTITION BY pub
ORDER BY (pub, opportunity_id);

-- Delta table: an account's opportunities per business creation date (each
-- shard's own, like account_facts' partial rows), summed over pub in [Base, V].
-- account_facts lists the dates whose sum is above 0; a publication recomputes
-- that list for the accounts it touched from here, by account, instead of from
-- every opportunity. Read by publications only.
-- shard: cityHash64(account_id)
CREATE TABLE IF NOT EXISTS account_days (
    account_id String,
    day        Date,
    deals      UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (account_id, day);
