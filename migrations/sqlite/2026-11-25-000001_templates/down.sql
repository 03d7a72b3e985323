DROP TABLE sync_runs;
DROP TABLE template_events;
DROP TABLE templates;
DROP TABLE accounts;
