-- The CRM's forecast category of an opportunity as exported (Salesforce
-- ForecastCategory / ForecastCategoryName: Pipeline, Best Case, Commit, Closed,
-- Omitted; '' when the export has none), on the raw rows and on opp_facts,
-- where the forecast shows the rep-called numbers beside the model's.
ALTER TABLE opportunities ADD COLUMN forecast_category String;
ALTER TABLE opp_facts ADD COLUMN forecast_category String;
