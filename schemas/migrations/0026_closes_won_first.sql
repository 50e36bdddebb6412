-- pipelens version 26: opp_closes sorted by won first (issue 11). Cycle time
-- reads the won deals closed in a range; sorted by (close_date, won), a range
-- read every close in it, won or lost, and 87% of them are lost at the large
-- sample: 15 months of closes read 1.42M rows for 212k won ones, three times a
-- cold overview. Sorted by (won, close_date), the won deals of a range are one run of
-- granules; readers of every close (win rate, movement, the closed-deal series)
-- read two runs instead of one, the same rows.
--
-- The table is derived: serving version 17 rebuilds it (query.servingVersion),
-- and `pipelens serve` does that before serving.
DROP TABLE IF EXISTS opp_closes;
-- local-only
DROP TABLE IF EXISTS {local:opp_closes};
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
    source         String,
    account_id     String
) ENGINE = MergeTree
ORDER BY (won, close_date);
