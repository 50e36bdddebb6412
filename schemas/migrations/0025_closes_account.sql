-- pipelens version 25: the deal's account on opp_closes and opp_open (issue
-- 11). Territories under a product or source filter (rollups have neither)
-- read the range's won and lost deals and the open pipeline, with the count of
-- accounts won, from opp_facts: sorted by creation date, every range of close
-- dates read all of it (3.2M rows, 0.35 s of CPU at the large sample). With
-- the account on the closes (sorted by close date) and on the open deals, the
-- same numbers read the range's closes and the open deals alone. Rows written
-- before this version read an empty account: serving version 16 rebuilds them.
ALTER TABLE opp_closes ADD COLUMN account_id String;
ALTER TABLE opp_open ADD COLUMN account_id String;
