-- pipelens version 10: coaching plans (issue 17, the PDCA loop). A manager
-- records a plan from a weakness of a rep's scorecard: the metric (and stage),
-- its baseline, the goal, the actions and the review date. pipelens tracks the
-- metric from start_date on and, at the review date, emails the manager the
-- verdict (alerts/plans.go). A change of state (reviewed, closed) is a new row
-- with a higher version (ReplacingMergeTree(version); readers take the latest
-- row per plan_id by version, never relying on merges). manager_id is the rep's
-- manager when the plan was recorded (the review email goes there); team is the
-- rep's team then (a manager sees the plans of the own team's reps).
-- Activity targets (visits, calls ... per week) live in the targets table with
-- their metric (query/activity.go), not here.
-- shard: cityHash64(plan_id)
CREATE TABLE IF NOT EXISTS coaching_plans (
    plan_id       String,
    rep_id        String,
    team          String,
    manager_id    String,
    created_by    String,
    metric        String,
    stage         String,
    baseline      Float64,
    baseline_n    Int64,
    baseline_from Date,
    baseline_to   Date,
    goal          Float64,
    actions       String,
    start_date    Date,
    review_date   Date,
    status        String,
    verdict       String,
    result        Float64,
    result_n      Int64,
    result_low    Float64,
    result_high   Float64,
    reviewed_at   DateTime,
    created_at    DateTime,
    version       UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY plan_id;
