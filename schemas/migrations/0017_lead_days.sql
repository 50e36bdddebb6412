-- pipelens version 17: leads on their own serving table (issue 11). Lead
-- conversion and the leads series read every raw lead on each request (latest
-- row per lead, its owner's team and territory, its links) before; lead_days
-- holds their sums per creation day (grain 0) or month (grain 1, day = the
-- month's first day), source, owner, the owner's team and manager, and the
-- territory (the lead's, else its owner's).
--
-- A delta table like rep_days: a publication adds the touched leads' new rows
-- and subtracts their replaced ones (touched: leads of its runs, leads its runs
-- link to opportunities, and with a reps load the leads of the reloaded reps),
-- so sums over pub in [Base, V] are the numbers of the visible raw rows. Counts
-- of negative rows are stored as two's complement (0007_publications.sql).
-- leads and lead_links are both sharded by lead_id: each shard computes the
-- partial sums of its own leads, and readers add them up.
-- shard: cityHash64(owner_id)
CREATE TABLE IF NOT EXISTS lead_days (
    grain      UInt8,
    day        Date,
    source     String,
    owner_id   String,
    team       String,
    manager_id String,
    territory  String,
    leads      UInt64,
    converted  UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, owner_id, source)
SETTINGS index_granularity = 1024;
