DROP TRIGGER IF EXISTS window_totals_observed_insert;
DROP TRIGGER IF EXISTS window_totals_observed_update;
DROP TRIGGER IF EXISTS window_totals_observed_delete;
DROP TRIGGER IF EXISTS window_totals_meta_insert;
DROP TRIGGER IF EXISTS window_totals_meta_update;
DROP TRIGGER IF EXISTS window_totals_meta_delete;
DROP TABLE IF EXISTS template_window_totals;
DROP TABLE IF EXISTS window_bounds;
