-- Delivery anomalies: a template whose last hours' failures jumped against its own 7-day
-- baseline, or one error code surged. One row per template and day at most (the first
-- finding of the day); notifications read new rows by id.
CREATE TABLE delivery_anomalies (
    id INTEGER PRIMARY KEY NOT NULL,
    template_row INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    -- error_code or failure_rate
    kind TEXT NOT NULL,
    error_code INTEGER,
    recent_sent BIGINT NOT NULL,
    -- Rates from 0 to 1: of the code (error_code) or of all failures (failure_rate).
    recent_rate DOUBLE NOT NULL,
    baseline_rate DOUBLE NOT NULL,
    recent_read_rate DOUBLE,
    baseline_read_rate DOUBLE,
    detected_at BIGINT NOT NULL,
    UNIQUE (template_row, day)
);
CREATE INDEX delivery_anomalies_detected ON delivery_anomalies (detected_at);
