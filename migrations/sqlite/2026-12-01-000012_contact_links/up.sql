-- A customer known by both a phone number (wa_id) and a business-scoped user id (BSUID) to one
-- of our numbers. contacts keeps a row per id; a link keeps both rows' 24-hour windows in step,
-- so `window` and `send` find the window by either id.
CREATE TABLE contact_links (
    phone_number_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    wa_id TEXT NOT NULL,
    PRIMARY KEY (phone_number_id, user_id)
);
CREATE INDEX contact_links_wa_id ON contact_links (phone_number_id, wa_id);
