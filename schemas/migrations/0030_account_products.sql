-- pipelens version 30: the products and sources of an account's deals beside
-- their creation dates (issue 11). Territories under a product or source
-- filter count as white space the accounts with no deal of the product created
-- in the range: a GLOBAL IN of every account_id among the range's deals of
-- opp_facts (a year of 3.2M deals at the large sample, 0.14-0.18 s of
-- ClickHouse CPU, the one page over 200 ms). account_days keeps each deal's
-- product and source with its creation day, and account_facts their arrays in
-- the order of created (sorted by day, product, source), so the same count is an
-- arrayExists over the accounts' own rows, as the territory and segment filters
-- already do. Rows written before this version read empty arrays: serving
-- version 21 rebuilds them.
ALTER TABLE account_days ADD COLUMN product String;
ALTER TABLE account_days ADD COLUMN source String;
ALTER TABLE account_facts ADD COLUMN products Array(String);
ALTER TABLE account_facts ADD COLUMN sources Array(String);
