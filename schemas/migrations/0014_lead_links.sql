-- Links from a lead to the opportunity it became, as the deal side of an export
-- states them: HubSpot deals' associated contact ids, an associations export,
-- Olist's closed deals (mql_id). A lead with a committed link counts as
-- converted (query/METRICS.md, Lead conversion), like one whose own export marks
-- it converted or names its opportunity.
-- shard: cityHash64(lead_id)
CREATE TABLE IF NOT EXISTS lead_links (
    lead_id        String,
    opportunity_id String,
    source_system  String,
    run_id         UInt64,
    loaded_at      DateTime
) ENGINE = MergeTree
ORDER BY (lead_id, opportunity_id);
