-- Phone number health: each configured number as Meta last described it (quality rating,
-- display name review, throughput), the business portfolio's messaging limit (limits belong
-- to the portfolio since 2026), and every change of either, append-only.
CREATE TABLE phone_numbers (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    phone_number_id TEXT NOT NULL,
    display_phone_number TEXT,
    verified_name TEXT,
    quality_rating TEXT,
    name_status TEXT,
    throughput TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, phone_number_id)
);

CREATE TABLE portfolio_limits (
    account_id INTEGER PRIMARY KEY NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    messaging_limit TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- `phone_number_id` is empty for the portfolio's messaging limit. `field`: quality_rating,
-- name_status, throughput, messaging_limit, or event (what a phone_number_quality_update
-- webhook said, e.g. FLAGGED).
CREATE TABLE number_events (
    id INTEGER PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    phone_number_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX number_events_account ON number_events (account_id, id);
