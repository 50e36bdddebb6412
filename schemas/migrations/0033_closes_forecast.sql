-- pipelens version 33: the closed deals' stage entries and forecast category on
-- opp_closes (issue 11). A forecast reads the deals open at its as-of day: those
-- open now from opp_open, and those closed on or after the day from opp_facts,
-- whose flags and dates it read for every row (3.5M rows at the large sample,
-- 88 ms of each forecast, three forecasts in the targets view). opp_closes is
-- sorted by close date: with the stage entries and the forecast category it
-- answers them from the granules of the closes on or after the day. Serving
-- version 24 rebuilds it.
ALTER TABLE opp_closes ADD COLUMN entered Array(DateTime);
ALTER TABLE opp_closes ADD COLUMN forecast_category String;
