-- The delivery outbox: one row per notifiable event and channel. Events come from the
-- append-only template_events and sync_runs tables, which the worker tails by cursor, so an
-- event is durable the moment the change it describes is committed.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY NOT NULL,
    event_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    delivered_at BIGINT,
    dead_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (event_key, channel)
);
CREATE INDEX notifications_due ON notifications (delivered_at, dead_at, next_attempt_at);

-- How far the worker has read each log.
CREATE TABLE notify_cursors (
    name TEXT PRIMARY KEY NOT NULL,
    last_id INTEGER NOT NULL
);
