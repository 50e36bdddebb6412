-- pipelens version 16: alert rules edited by an admin (issue 15). Each save of
-- the rules editor is a new set (set_version 1, 2, ...): document is the rule
-- list as YAML (the same keys as alerts.rules in the config file), checked by
-- the same validation before it is stored. The newest set is in force; with
-- none, the config's rules are. A row is never changed: two admins saving the
-- same set number at once leave two rows, and readers take the one with the
-- highest version (ReplacingMergeTree, as the alerts' state), so they need
-- neither FINAL nor a merge.
-- shard: cityHash64(set_version)
CREATE TABLE IF NOT EXISTS alert_rule_sets (
    set_version UInt64,
    document    String,
    saved_by    String,
    saved_at    DateTime,
    version     UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY set_version;
