DROP INDEX messages_waiting;
ALTER TABLE messages DROP COLUMN template_ref;
