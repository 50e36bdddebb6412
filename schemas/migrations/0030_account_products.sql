-- pipelens version 30: the accounts' deal dates per product and per source
-- (issue 11). Territories under a product or source filter count as white
-- space the accounts with no deal of the product created in the range: a
-- GLOBAL IN of every account_id among the range's deals of opp_facts (a year of
-- 3.2M deals at the large sample, 0.14-0.18 s of ClickHouse CPU, the one page
-- over 200 ms). Arrays of each deal's product beside account_facts' created
-- dates cost as much: 3.4M strings to read and compare.
--
-- account_days keeps each deal's product and source with its creation day, and
-- account_dims holds, per account and product (dim 'product') or source (dim
-- 'source'), the creation dates of its deals of that value, with the account's
-- territory and segment. A publication writes an account's account_dims rows
-- with its account_facts row, under the same (account_id, pub), so account_gone
-- replaces both ({accounts} in query/visible.go). A filter by one product or
-- source value reads that value's rows alone. Serving version 21 rebuilds them.
ALTER TABLE account_days ADD COLUMN product String;
ALTER TABLE account_days ADD COLUMN source String;

-- shard: cityHash64(account_id)
CREATE TABLE IF NOT EXISTS account_dims (
    dim        String,
    value      String,
    account_id String,
    territory  String,
    segment    String,
    created    Array(Date),
    pub        UInt64
) ENGINE = MergeTree
ORDER BY (dim, value, territory, segment, account_id);
