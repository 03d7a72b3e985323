-- The overview counts each account's live templates by status; this partial index answers
-- that from the index alone instead of reading every template row.
CREATE INDEX templates_account_status ON templates (account_id, status) WHERE deleted_at IS NULL;
