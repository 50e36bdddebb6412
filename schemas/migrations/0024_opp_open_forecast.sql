-- pipelens version 24: the open deals' stage entries and forecast category on
-- opp_open (issue 11). A forecast reads the deals open at its as-of day with
-- their stage then (from the stage entries) and their CRM forecast category:
-- from opp_facts that read every row's flags, dates and filter columns, since
-- the 112k open deals among 3.2M are spread over the whole table (60-190 ms a
-- forecast, three times for the targets view). opp_open holds exactly the
-- deals open now; a forecast reads them there and the others open at its day
-- (closed on or after it) from opp_facts. Rows written before this version
-- read empty entries and no category: serving version 15 rebuilds them.
ALTER TABLE opp_open ADD COLUMN entered Array(DateTime);
ALTER TABLE opp_open ADD COLUMN forecast_category String;
