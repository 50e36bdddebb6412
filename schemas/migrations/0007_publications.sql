-- pipelens version 7: publications, the one visibility rule of the warehouse.
--
-- A load writes its rows under its run_id into the raw tables (plain MergeTree,
-- so merges never drop a row) and marks its run `loaded`. Nothing of it is
-- visible yet. A publication (query.Service.Publish, serialised across every
-- writer by the lease in schemas/lease.go) then derives the serving rows of the
-- opportunities, accounts and activities those runs touched, tagged with the
-- publication's number pub, and last inserts one row into `publications`: that
-- row is the commit. Readers take V = max(pub) once and read
--   raw tables:      rows of the runs listed by publications with pub <= V,
--                    latest run per key;
--   entity tables:   rows with pub <= V whose (key, pub) is not in the *_gone
--                    table with gone_at <= V (the versions later publications
--                    replaced);
--   delta tables:    sums of rows with pub <= V (later publications add signed
--                    corrections, never rewrite a row).
-- A publication that dies before its row lands leaves rows with pub > V, which
-- no reader counts; the next publisher deletes them before reusing the number.
-- Nothing here depends on when ClickHouse merges, mutates or replicates.
--
-- In cluster mode the publication runs its statements on each shard, on the
-- shard's local tables: an opportunity's raw rows, serving rows and gone rows
-- all live on one shard (cityHash64(opportunity_id)), and the gone rows that
-- cancel a shard's rows are written on that shard, where the readers' NOT IN
-- reads them (schemas.DB.ShardLocal). The delta tables and account_facts get
-- each shard's partial rows, which the readers add up (so their sharding keys
-- below only say where an INSERT through the Distributed table would put a
-- row). Before recording the publication it waits until every live replica
-- holds its rows (SYSTEM SYNC REPLICA).
--
-- The serving tables of 0003 and 0005 are replaced (they are derived: the first
-- publication rebuilds them from the raw tables).

DROP TABLE IF EXISTS serving_state;
-- local-only
DROP TABLE IF EXISTS {local:serving_state};
DROP TABLE IF EXISTS opp_facts;
-- local-only
DROP TABLE IF EXISTS {local:opp_facts};
DROP TABLE IF EXISTS opp_moves;
-- local-only
DROP TABLE IF EXISTS {local:opp_moves};
DROP TABLE IF EXISTS rep_activity_days;
-- local-only
DROP TABLE IF EXISTS {local:rep_activity_days};
DROP TABLE IF EXISTS rep_days;
-- local-only
DROP TABLE IF EXISTS {local:rep_days};
DROP TABLE IF EXISTS territory_days;
-- local-only
DROP TABLE IF EXISTS {local:territory_days};
DROP TABLE IF EXISTS account_facts;
-- local-only
DROP TABLE IF EXISTS {local:account_facts};

-- One row per publication. runs: the ingest runs it made visible; full: 1 when it
-- rebuilt everything (first publication, or a change of zone or stages);
-- fingerprint: the zone and stages its serving rows were computed with.
-- shard: cityHash64(pub)
CREATE TABLE IF NOT EXISTS publications (
    pub          UInt64,
    runs         Array(UInt64),
    full         UInt8,
    fingerprint  String,
    touched      UInt64,
    published_at DateTime
) ENGINE = MergeTree
ORDER BY pub;

-- The ids a publication recomputed (kind: opp, account, activity). Kept so a
-- publication can be audited; deleted with it when it is abandoned.
-- shard: cityHash64(id)
CREATE TABLE IF NOT EXISTS publish_touched (
    pub  UInt64,
    kind String,
    id   String
) ENGINE = MergeTree
ORDER BY (pub, kind, id);

-- One row per opportunity version: the opportunity's state as of publication
-- pub, with what every metric filters and groups by. territory is the
-- account's territory, else the owner's. entered[i] / exited[i]: when the
-- opportunity first entered open stage i and when it next moved to another stage
-- (or closed); 1970-01-01 00:00:00 when never. furthest: the highest open stage
-- ever entered (at least 1); 100 when won.
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
    exited         Array(DateTime),
    pub            UInt64
) ENGINE = MergeTree
ORDER BY (created_date, opportunity_id);

-- Versions of an opportunity's opp_facts and opp_moves rows replaced by a later
-- publication: (opportunity_id, pub) stops counting from publication gone_at on.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_gone (
    opportunity_id String,
    pub            UInt64,
    gone_at        UInt64
) ENGINE = MergeTree
ORDER BY (opportunity_id, pub);

-- One row per change between two consecutive snapshots of an open opportunity:
-- the base of pipeline movement (pulled in, pushed out, amount changes). All of an
-- opportunity's moves are rewritten with its facts (same pub, same opp_gone rows).
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opp_moves (
    opportunity_id String,
    name           String,
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
    source         String,
    pub            UInt64
) ENGINE = MergeTree
ORDER BY (change_date, opportunity_id);

-- Delta tables (rep_activity_days, rep_days, territory_days, territory_wins) hold
-- signed corrections: a publication adds the new versions' numbers and
-- subtracts the replaced ones'. Counts are UInt64 and a subtraction is stored as
-- its two's complement (toUInt64(-n)), so sum() over any rows that hold each
-- correction together with the row it cancels (a correction carries the same
-- day, owner, team, territory... as what it cancels) is exact and never
-- negative. Only sums of these columns mean anything (in cluster mode each
-- shard adds the corrections of its own opportunities and activities).

-- Activities per rep and business day.
-- shard: cityHash64(rep_id)
CREATE TABLE IF NOT EXISTS rep_activity_days (
    rep_id     String,
    day        Date,
    activities UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (day, rep_id);

-- Delta table per owner and day (grain 0) or month (grain 1, day = the month's
-- first day), from opp_facts: a publication adds the touched opportunities' new
-- versions and subtracts their replaced ones, so sums over pub <= V equal the
-- numbers of the visible opp_facts. Each group of columns is dated by its own
-- date:
--   created*: opportunities created that day (the cohort); reached[i]: of them,
--             furthest stage >= i;
--   won*, lost*, cycle*: closed that day (closed = 1); *_sq are sums of squares
--             (for standard deviations); cycle = close date - created date, days;
--   stage_*[i]: first entries into open stage i that day (business day of the
--             entry): all of them, those that left, and the days they stayed.
-- owner_name, team, manager_id, manager_name are the owner's in the opportunity
-- version a row adds (sign 1) or cancels (sign -1): a rep's latest name is
-- argMax(owner_name, (pub, sign)).
-- shard: cityHash64(owner_id)
CREATE TABLE IF NOT EXISTS rep_days (
    grain              UInt8,
    day                Date,
    owner_id           String,
    owner_name         String,
    team               String,
    manager_id         String,
    manager_name       String,
    created            UInt64,
    created_amount     Float64,
    created_won        UInt64,
    created_won_amount Float64,
    created_lost       UInt64,
    created_open       UInt64,
    reached            Array(UInt64),
    won                UInt64,
    won_amount         Float64,
    won_amount_sq      Float64,
    lost               UInt64,
    lost_amount        Float64,
    cycle_sum          Float64,
    cycle_sq           Float64,
    stage_entries      Array(UInt64),
    stage_left         Array(UInt64),
    stage_days         Array(Float64),
    stage_days_sq      Array(Float64),
    sign               Int8,
    pub                UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, owner_id)
SETTINGS index_granularity = 1024;

-- Delta table per deal territory and segment and close day (grain 0) or month
-- (grain 1): won/lost deals closed then; grain 2 (day 1970-01-01): the open
-- pipeline of every territory and segment, which no range restricts.
-- shard: cityHash64(territory)
CREATE TABLE IF NOT EXISTS territory_days (
    grain      UInt8,
    day        Date,
    territory  String,
    segment    String,
    won        UInt64,
    won_amount Float64,
    lost       UInt64,
    pipeline   Float64,
    deals      UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, territory, segment)
SETTINGS index_granularity = 1024;

-- Delta table of won deals per account and close day (grain 0) or month (grain
-- 1): an account counts as won in a range when its sum there is above 0.
-- shard: cityHash64(territory)
CREATE TABLE IF NOT EXISTS territory_wins (
    grain      UInt8,
    day        Date,
    territory  String,
    segment    String,
    account_id String,
    won        UInt64,
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, territory, segment, account_id)
SETTINGS index_granularity = 1024;

-- One row per account version (and shard, in cluster mode): its territory and
-- segment and the distinct business dates its opportunities were created on,
-- sorted (white space in any range without reading the opportunities). In
-- cluster mode each shard has a row for the accounts whose raw rows it holds
-- and for the accounts of its own opportunities, with those opportunities'
-- dates: readers group by account.
-- shard: cityHash64(account_id)
CREATE TABLE IF NOT EXISTS account_facts (
    account_id String,
    territory  String,
    segment    String,
    created    Array(Date),
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (territory, segment, account_id);

-- Versions of account_facts rows replaced by a later publication.
-- shard: cityHash64(account_id)
CREATE TABLE IF NOT EXISTS account_gone (
    account_id String,
    pub        UInt64,
    gone_at    UInt64
) ENGINE = MergeTree
ORDER BY (account_id, pub);
