-- pipelens canonical model, version 1.
--
-- Every statement here runs on ClickHouse 18.16 and on current ClickHouse (24.x-26.x):
-- no LowCardinality, CODEC, TTL, DateTime64, Map or window functions.
--
-- Raw tables carry run_id, the ingest run that wrote the row. A row is visible to
-- metrics only once its run is published (see 0007_publications.sql); readers take,
-- per key, the row of the latest published run. The tables are plain MergeTree:
-- a ReplacingMergeTree(run_id) would let a merge replace a published row by one of
-- a running or failed run (homes created before 0007 are converted by it).
-- "-- shard: EXPR" before a CREATE names the sharding key used in cluster mode.

-- shard: cityHash64(account_id)
CREATE TABLE IF NOT EXISTS accounts (
    account_id    String,
    name          String,
    territory     String,
    region        String,
    country       String,
    city          String,
    industry      String,
    segment       String,
    employees     UInt32,
    revenue       Float64,
    parent_id     String,
    source_system String,
    run_id        UInt64,
    loaded_at     DateTime
) ENGINE = MergeTree
ORDER BY account_id;

-- shard: cityHash64(rep_id)
CREATE TABLE IF NOT EXISTS reps (
    rep_id        String,
    name          String,
    email         String,
    role          String,
    manager_id    String,
    team          String,
    territory     String,
    lang          String,
    active        UInt8,
    hired_on      Date,
    source_system String,
    run_id        UInt64,
    loaded_at     DateTime
) ENGINE = MergeTree
ORDER BY rep_id;

-- Latest state of each opportunity. close_date is the actual close date when closed,
-- the expected one while open. stage is canonical (lead, qualified, proposal,
-- negotiation, won, lost or a configured pipeline's stage); vendor_stage is as exported.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opportunities (
    opportunity_id String,
    name           String,
    account_id     String,
    owner_id       String,
    product        String,
    pipeline       String,
    source         String,
    stage          String,
    vendor_stage   String,
    amount         Float64,
    currency       String,
    probability    Float32,
    created_at     DateTime,
    close_date     Date,
    closed         UInt8,
    won            UInt8,
    lost_reason    String,
    snapshot_date  Date,
    source_system  String,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
ORDER BY opportunity_id;

-- Each load of an opportunity export, kept as the pipeline's state on its export date:
-- the base for pipeline movement and close-date pushes.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS opportunity_snapshots (
    snapshot_date  Date,
    opportunity_id String,
    owner_id       String,
    account_id     String,
    product        String,
    stage          String,
    amount         Float64,
    currency       String,
    close_date     Date,
    closed         UInt8,
    won            UInt8,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
PARTITION BY toYYYYMM(snapshot_date)
ORDER BY (snapshot_date, opportunity_id);

-- The time series of stage changes. stage_rank orders a pipeline's open stages 1..k;
-- won is 100 and lost is 0, so max(stage_rank) over ranks 1..99 is the furthest open stage.
-- shard: cityHash64(opportunity_id)
CREATE TABLE IF NOT EXISTS stage_events (
    opportunity_id String,
    stage          String,
    stage_rank     UInt8,
    vendor_stage   String,
    entered_at     DateTime,
    origin         String,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
ORDER BY (opportunity_id, entered_at, stage);

-- converted_at is 1970-01-01 00:00:00 while the lead is not converted.
-- shard: cityHash64(lead_id)
CREATE TABLE IF NOT EXISTS leads (
    lead_id        String,
    created_at     DateTime,
    source         String,
    owner_id       String,
    account_id     String,
    territory      String,
    status         String,
    converted      UInt8,
    converted_at   DateTime,
    opportunity_id String,
    source_system  String,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
ORDER BY lead_id;

-- type: call, visit, meeting, email (or the vendor's word, lower case).
-- shard: cityHash64(activity_id)
CREATE TABLE IF NOT EXISTS activities (
    activity_id    String,
    type           String,
    rep_id         String,
    opportunity_id String,
    account_id     String,
    occurred_at    DateTime,
    duration_min   UInt32,
    source_system  String,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
ORDER BY activity_id;

-- Quota per rep, team, territory or company (scope) for [period_start, period_end).
-- shard: cityHash64(scope_id)
CREATE TABLE IF NOT EXISTS targets (
    scope         String,
    scope_id      String,
    period_start  Date,
    period_end    Date,
    metric        String,
    amount        Float64,
    currency      String,
    run_id        UInt64,
    loaded_at     DateTime
) ENGINE = MergeTree
ORDER BY (scope, scope_id, metric, period_start);

-- Market potential per territory and segment (optional input).
-- shard: cityHash64(territory)
CREATE TABLE IF NOT EXISTS market (
    territory      String,
    segment        String,
    industry       String,
    year           UInt16,
    potential      Float64,
    accounts_total UInt32,
    currency       String,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
ORDER BY (territory, segment, industry, year);

-- One row per state change of an ingest run; the row with the highest updated_ns wins.
-- status: running, committed, failed, duplicate.
-- shard: cityHash64(run_id)
CREATE TABLE IF NOT EXISTS ingest_runs (
    run_id        UInt64,
    file          String,
    checksum      String,
    profile       String,
    kind          String,
    status        String,
    rows_read     UInt64,
    rows_loaded   UInt64,
    rows_rejected UInt64,
    error         String,
    report        String,
    started_at    DateTime,
    finished_at   DateTime,
    updated_ns    UInt64
) ENGINE = ReplacingMergeTree(updated_ns)
ORDER BY run_id;

-- Rows that could not be loaded: where (file, row, column), what (raw value) and why.
-- shard: cityHash64(run_id)
CREATE TABLE IF NOT EXISTS ingest_rejects (
    run_id    UInt64,
    file      String,
    row       UInt64,
    column    String,
    raw_value String,
    reason    String,
    message   String,
    loaded_at DateTime
) ENGINE = MergeTree
ORDER BY (run_id, row);
