-- Serving tables of query/, version 3. They hold nothing that is not in the raw
-- tables: query.Service.Refresh rebuilds them from the committed runs after each
-- load (fill <name>_new, then RENAME TABLE swaps it in), so they can always be
-- dropped and rebuilt.

-- One row per opportunity of the committed runs, with what every metric filters
-- and groups by. territory is the account's territory, else the owner's.
-- entered[i] / exited[i]: when the opportunity first entered open stage i and when
-- it next moved to another stage (or closed); 1970-01-01 00:00:00 when never.
-- furthest: the highest open stage ever entered (at least 1); 100 when won.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_facts (
    opportunity_id String,
    name           String,
    account_id     String,
    account_name   String,
    owner_id       String,
    owner_name     String,
    team           String,
    manager_id     String,
    manager_name   String,
    territory      String,
    segment        String,
    product        String,
    source         String,
    stage          String,
    amount         Float64,
    created_at     DateTime,
    created_date   Date,
    close_date     Date,
    closed         UInt8,
    won            UInt8,
    lost           UInt8,
    furthest       UInt8,
    entered        Array(DateTime),
    exited         Array(DateTime)
) ENGINE = MergeTree
ORDER BY (created_date, opportunity_id);

-- One row per change between two consecutive snapshots of an open opportunity:
-- the base of pipeline movement (pulled in, pushed out, amount changes).
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_moves (
    opportunity_id String,
    change_date    Date,
    old_close      Date,
    new_close      Date,
    old_amount     Float64,
    new_amount     Float64,
    owner_id       String,
    team           String,
    manager_id     String,
    territory      String,
    segment        String,
    product        String,
    source         String
) ENGINE = MergeTree
ORDER BY (change_date, opportunity_id);
