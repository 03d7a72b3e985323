DROP TRIGGER IF EXISTS account_totals_observed_insert;
DROP TRIGGER IF EXISTS account_totals_observed_update;
DROP TRIGGER IF EXISTS account_totals_observed_delete;
DROP TRIGGER IF EXISTS account_totals_meta_insert;
DROP TRIGGER IF EXISTS account_totals_meta_update;
DROP TRIGGER IF EXISTS account_totals_meta_delete;
DROP TABLE IF EXISTS account_daily_totals;
