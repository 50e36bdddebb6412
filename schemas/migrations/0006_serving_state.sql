-- What the serving tables were last built from: a fingerprint of the ingest runs,
-- the business time zone and the pipeline's stages. query.Service.RefreshIfStale
-- skips a rebuild (a minute at millions of deals) when nothing it depends on changed.
-- shard: rand()
CREATE TABLE IF NOT EXISTS serving_state (
    fingerprint  String,
    refreshed_at DateTime
) ENGINE = MergeTree
ORDER BY refreshed_at;
