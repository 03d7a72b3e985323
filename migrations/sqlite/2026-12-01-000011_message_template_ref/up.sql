-- The template a message's webhook named (`id:<template id>` from Meta's
-- biz_opaque_callback_data, `name:<name>/<language>` from Kapso), kept while that template is
-- not known yet, so it is attributed, roll-up and all, as soon as a sync or webhook brings the
-- template in. The partial index holds only messages still waiting.
ALTER TABLE messages ADD COLUMN template_ref TEXT;
CREATE INDEX messages_waiting ON messages (account_id, template_ref)
    WHERE template_row IS NULL AND template_ref IS NOT NULL;
