-- pipelens alerts, version 4: alert events, the email outbox and acknowledgements.
--
-- Runs on ClickHouse 18.16 and current versions (no LowCardinality, TTL, CODEC,
-- DateTime64 or Map). State changes are new rows with a higher version
-- (ReplacingMergeTree(version), read with FINAL): ClickHouse has no UPDATE that
-- both versions run the same way, and an append is atomic per row.

-- One row per anomaly episode: opened when a rule first detects it, updated as it
-- is seen again, notified and resolved. event_id = hash of key and opened_at;
-- key = rule|metric|segment_kind|segment|direction identifies "the same anomaly".
-- status: firing, resolved. drivers is JSON: the segments that moved a total most.
-- shard: cityHash64(event_id)
CREATE TABLE IF NOT EXISTS alert_events (
    event_id      String,
    key           String,
    rule          String,
    metric        String,
    grain         String,
    segment_kind  String,
    segment       String,
    segment_label String,
    team          String,
    detector      String,
    kind          String,
    direction     Int8,
    actual        Float64,
    expected      Float64,
    score         Float64,
    since         Date,
    period_from   Date,
    period_to     Date,
    summary       String,
    drivers       String,
    recipients    Array(String),
    status        String,
    opened_at     DateTime,
    last_seen_at  DateTime,
    notified_at   DateTime,
    notify_count  UInt32,
    resolved_at   DateTime,
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(opened_at)
ORDER BY event_id;

-- One row per state of an email. Written as pending before any SMTP traffic; the
-- sender claims it (state sending, with its claim id), then marks it sent after the
-- server accepted it, or schedules a retry (pending, attempts+1, next_attempt_at),
-- or gives up (failed) on a permanent refusal. charts is JSON: [{cid, png (base64)}],
-- the inline images. message_id is the RFC 5322
-- Message-ID and the key: a retry reuses it, so receivers can drop duplicates.
-- shard: cityHash64(message_id)
CREATE TABLE IF NOT EXISTS alert_outbox (
    message_id      String,
    dedup_key       String,
    recipient       String,
    recipient_name  String,
    lang            String,
    subject         String,
    text_body       String,
    html_body       String,
    charts          String,
    event_ids       Array(String),
    state           String,
    claim           String,
    attempts        UInt32,
    next_attempt_at DateTime,
    last_error      String,
    created_at      DateTime,
    sent_at         DateTime,
    version         UInt64
) ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(created_at)
ORDER BY message_id;

-- Acknowledgements, snoozes and silences. target is an event key (one anomaly), or
-- a matcher "rule=...,segment_kind=...,segment=..." (a silence); the latest row per
-- (target, kind) wins. until is the end of a snooze/silence (1970 for an ack or a
-- cleared one); active 0 clears it.
-- shard: cityHash64(target)
CREATE TABLE IF NOT EXISTS alert_acks (
    target     String,
    kind       String,
    event_id   String,
    until      DateTime,
    active     UInt8,
    actor      String,
    note       String,
    created_at DateTime,
    version    UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (target, kind);
