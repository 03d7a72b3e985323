-- Failed messages per template, day and error code, kept with the daily roll-up so the
-- template page can explain failures without scanning messages.
CREATE TABLE template_daily_errors (
    template_row INTEGER NOT NULL REFERENCES templates(id),
    day TEXT NOT NULL,
    error_code INTEGER NOT NULL,
    failed BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (template_row, day, error_code)
);
