-- pipelens version 9: signed-out sessions. A session cookie is signed and
-- stateless, so signing out alone would leave a copied cookie valid for its 12
-- hours: every serve process refuses a session id listed here until the cookie
-- would have expired anyway (dashboards/auth.go). Rows past expires_at are
-- ignored; they are a few bytes each.
-- shard: rand()
CREATE TABLE IF NOT EXISTS session_revocations (
    session_id String,
    username   String,
    revoked_at DateTime,
    expires_at DateTime
) ENGINE = MergeTree
ORDER BY session_id;
