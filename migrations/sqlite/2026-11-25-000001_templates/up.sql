-- Accounts: one per configured account (a WABA, or for Kapso the WABAs it discovers).
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Current state of every template ever seen. Times are unix seconds (UTC).
CREATE TABLE templates (
    id INTEGER PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    waba_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    previous_category TEXT,
    correct_category TEXT,
    sub_category TEXT,
    status TEXT NOT NULL,
    quality TEXT,
    rejected_reason TEXT,
    parameter_format TEXT,
    components TEXT NOT NULL DEFAULT '[]',
    first_seen_at BIGINT NOT NULL,
    last_changed_at BIGINT NOT NULL,
    deleted_at BIGINT,
    UNIQUE (account_id, template_id)
);
CREATE INDEX templates_identity ON templates (account_id, name, language);
CREATE INDEX templates_status ON templates (status);

-- Append-only history of status, quality and category changes.
CREATE TABLE template_events (
    id INTEGER PRIMARY KEY NOT NULL,
    template_id INTEGER NOT NULL REFERENCES templates(id),
    at BIGINT NOT NULL,
    field TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT NOT NULL,
    reason TEXT,
    detail TEXT,
    source TEXT NOT NULL
);
CREATE INDEX template_events_template ON template_events (template_id, at);
CREATE INDEX template_events_at ON template_events (at);

-- One row per sync run and account.
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY NOT NULL,
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    pages INTEGER NOT NULL,
    requests INTEGER NOT NULL,
    seen INTEGER NOT NULL,
    created INTEGER NOT NULL,
    changed INTEGER NOT NULL,
    removed INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    error TEXT
);
CREATE INDEX sync_runs_account ON sync_runs (account_id, started_at);
