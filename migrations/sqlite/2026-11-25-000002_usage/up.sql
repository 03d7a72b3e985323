-- One row per outbound message (wamid). Status timestamps only move forward; `day` is fixed at
-- first sight so the daily roll-up never has to move a message between days.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY NOT NULL,
    wamid TEXT NOT NULL UNIQUE,
    account_id INTEGER REFERENCES accounts(id),
    phone_number_id TEXT NOT NULL,
    template_row INTEGER REFERENCES templates(id),
    recipient TEXT NOT NULL,
    category TEXT,
    day TEXT NOT NULL,
    sent_at BIGINT,
    delivered_at BIGINT,
    read_at BIGINT,
    failed_at BIGINT,
    clicked_at BIGINT,
    error_code INTEGER,
    error_title TEXT,
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- Pages read the roll-up, never this table; exports read it by account and day.
CREATE INDEX messages_account_day ON messages (account_id, day);

-- Per template, UTC day and origin (`meta` = template_analytics, `observed` = rolled up from
-- messages as their statuses advance). Dashboards and reports read this, never `messages`.
CREATE TABLE template_daily_stats (
    template_row INTEGER NOT NULL REFERENCES templates(id),
    day TEXT NOT NULL,
    origin TEXT NOT NULL,
    sent BIGINT NOT NULL DEFAULT 0,
    delivered BIGINT NOT NULL DEFAULT 0,
    read BIGINT NOT NULL DEFAULT 0,
    clicked BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    cost DOUBLE NOT NULL DEFAULT 0,
    PRIMARY KEY (template_row, day, origin)
);
CREATE INDEX template_daily_stats_day ON template_daily_stats (day, origin);

-- The 24-hour customer-service window: last inbound message per (phone number, customer).
CREATE TABLE contacts (
    phone_number_id TEXT NOT NULL,
    wa_id TEXT NOT NULL,
    last_inbound_at BIGINT NOT NULL,
    PRIMARY KEY (phone_number_id, wa_id)
);

-- Webhook deliveries already applied (Kapso's X-Idempotency-Key), so retries change nothing.
CREATE TABLE webhook_receipts (
    key TEXT PRIMARY KEY NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX webhook_receipts_received ON webhook_receipts (received_at);

-- Where the last message-history pull ended, per account and phone number.
CREATE TABLE usage_cursors (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    phone_number_id TEXT NOT NULL,
    since BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, phone_number_id)
);

-- Whether Meta gives this account template analytics, and how the last pull went.
CREATE TABLE analytics_state (
    account_id INTEGER PRIMARY KEY NOT NULL REFERENCES accounts(id),
    state TEXT NOT NULL,
    message TEXT,
    -- The WABA's currency, in which Meta reports cost.
    currency TEXT,
    checked_at BIGINT NOT NULL
);
