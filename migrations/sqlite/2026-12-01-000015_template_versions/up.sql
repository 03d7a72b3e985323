-- Every content (header, body, footer, buttons, examples) a template has had: version 1 is the
-- content first seen; each edit seen by a sync, a components webhook or `templates apply` adds
-- one. `source` says who saw it; a webhook's version (which carries no examples) is completed
-- in place when a sync later sees the same texts (its source becomes `webhook+sync`).
CREATE TABLE template_versions (
    id INTEGER PRIMARY KEY NOT NULL,
    template_row INTEGER NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    components TEXT NOT NULL,
    seen_at BIGINT NOT NULL,
    source TEXT NOT NULL,
    UNIQUE (template_row, version)
);

-- Templates already stored start at version 1 with what they read like now.
INSERT INTO template_versions (template_row, version, components, seen_at, source)
SELECT id, 1, components, first_seen_at, 'sync' FROM templates
WHERE components NOT IN ('', '[]', 'null');
