DROP INDEX IF EXISTS templates_account_status;
