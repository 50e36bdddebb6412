-- pipelens version 11: sales contests (issue 17). A contest is an admin's
-- definition: what is measured (metric), over which days ([starts_on, ends_on)),
-- against which baseline ([baseline_from, baseline_to), for "biggest
-- improvement"), who competes (teams, reps) and in which groups (JSON
-- [{"name": ..., "reps": [...]}] so that people of similar level compete), and
-- which categories are ranked. token_hash is the SHA-256 (hex) of the board
-- token: the token itself is shown once to the admin and never stored.
-- A change is a new row with a higher version (ReplacingMergeTree, as the
-- alerts' state); readers keep the highest version per contest themselves, so
-- they need neither FINAL nor a merge; deleted 1 removes a contest.
-- shard: cityHash64(contest_id)
CREATE TABLE IF NOT EXISTS contests (
    contest_id    String,
    name          String,
    metric        String,
    starts_on     Date,
    ends_on       Date,
    baseline_from Date,
    baseline_to   Date,
    newcomer_days UInt32,
    teams         Array(String),
    reps          Array(String),
    groups        String,
    categories    Array(String),
    token_hash    String,
    created_by    String,
    updated_at    DateTime,
    deleted       UInt8,
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY contest_id;
