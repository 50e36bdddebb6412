-- pipelens version 20: when an open alert episode was last checked (issue 13).
-- An episode stays open until its rule has not found it for resolve_after, so
-- "open" alone does not say whether the anomaly is still there. checked_at is
-- the last evaluation of its rule while it was open (found or not): an open
-- episode with last_seen_at before checked_at was not found at the rule's
-- latest evaluation, and the pages say it has gone quiet instead of firing.
-- Rows written before this version read 1970-01-01 (never checked: firing).
ALTER TABLE alert_events ADD COLUMN checked_at DateTime;
