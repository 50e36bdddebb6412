-- pipelens version 27: the sales cycle of the won deals per close day as
-- counts per cycle length (issue 11). Cycle time over the whole organisation,
-- the card a director's overview shows for a range and its two comparison
-- ranges, read every won deal closed in the range from opp_closes: 212k rows
-- for 15 months at the large sample, three times a cold overview. cycle_days
-- holds, per close day (grain 0) or month (grain 1, day = the month's first
-- day) and cycle length in days (close date minus creation date), the number
-- of won deals: about 100 rows a day and 200 a month at the large sample
-- (406k won deals in three years). Count, mean,
-- median and standard deviation of a range follow from its counts.
--
-- A delta table like rep_days: a publication adds the touched opportunities'
-- new won versions and subtracts their replaced ones, so sums over pub in
-- [Base, V] count the visible won deals. Counts of negative rows are stored as
-- two's complement (0007_publications.sql). Each shard computes the counts of
-- its own opportunities, and readers add them up.
-- shard: rand()
CREATE TABLE IF NOT EXISTS cycle_days (
    grain UInt8,
    day   Date,
    cycle Int32,
    won   UInt64,
    pub   UInt64
) ENGINE = MergeTree
ORDER BY (grain, day, cycle)
SETTINGS index_granularity = 1024;
