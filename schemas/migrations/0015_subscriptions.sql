-- pipelens version 15: subscriptions (issue 15). A user subscribes to a report
-- (kind overview or team) of a page's view (filter: the page URL's query),
-- emailed on a schedule (every daily, weekly or monthly; weekday 1 = Monday ..
-- 7, day of month 1..28, hour 0..23 in the business time zone) in a language
-- (en, zh-CN). recipients is the owner's email from the users config when the
-- subscription was saved (the send reads the config again). A change is a new
-- row with a higher version (ReplacingMergeTree, as contests and plans);
-- readers keep the highest version per subscription themselves; deleted 1
-- removes one.
-- shard: cityHash64(subscription_id)
CREATE TABLE IF NOT EXISTS subscriptions (
    subscription_id String,
    owner           String,
    recipients      Array(String),
    kind            String,
    filter          String,
    every           String,
    weekday         UInt8,
    day             UInt8,
    hour            UInt8,
    lang            String,
    skip_if_empty   UInt8,
    created_at      DateTime,
    updated_at      DateTime,
    deleted         UInt8,
    version         UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY subscription_id;

-- One row per subscription and due slot (the slot's start, UTC): status sent
-- (queued in alert_outbox under message_id, an id derived from the pair, so a
-- rerun queues nothing twice) or skipped (nothing closed and nothing created
-- in the period). A slot with a row is never rendered again.
-- shard: cityHash64(subscription_id)
CREATE TABLE IF NOT EXISTS subscription_sends (
    subscription_id String,
    slot            DateTime,
    status          String,
    message_id      String,
    period_from     Date,
    period_to       Date,
    recorded_at     DateTime,
    version         UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (subscription_id, slot);
