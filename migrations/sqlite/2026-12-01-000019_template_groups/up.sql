-- Template groups (Meta's `template_groups`): each group of an account, which templates are in
-- it (a template is in at most one), and Meta's daily group analytics.
CREATE TABLE template_groups (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, group_id)
);

CREATE TABLE template_group_members (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    -- Meta's template id.
    template_id TEXT NOT NULL,
    PRIMARY KEY (account_id, template_id)
);
CREATE INDEX template_group_members_group ON template_group_members (group_id);

CREATE TABLE template_group_daily (
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    group_id TEXT NOT NULL,
    day TEXT NOT NULL,
    sent BIGINT NOT NULL,
    delivered BIGINT NOT NULL,
    read BIGINT NOT NULL,
    clicked BIGINT NOT NULL,
    cost DOUBLE NOT NULL,
    PRIMARY KEY (account_id, group_id, day)
);
