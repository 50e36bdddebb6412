-- Exchange rates per month, loaded like any export (canonical:fx_rates or a
-- sheet with currency, month and rate columns): units of the reporting currency
-- (config currency.reporting) per unit of currency, for the month starting at
-- toStartOfMonth(month). The latest committed row per currency and month counts.
-- shard: cityHash64(currency)
CREATE TABLE IF NOT EXISTS fx_rates (
    currency   String,
    month      Date,
    rate       Float64,
    run_id     UInt64,
    loaded_at  DateTime
) ENGINE = MergeTree
ORDER BY (currency, month);
