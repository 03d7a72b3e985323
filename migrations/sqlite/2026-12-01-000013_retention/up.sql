-- Retention: a pending check that found nothing extends the previous such row (`repeats`)
-- instead of adding one every two minutes.
ALTER TABLE sync_runs ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
