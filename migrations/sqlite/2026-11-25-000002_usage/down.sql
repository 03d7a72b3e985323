DROP TABLE analytics_state;
DROP TABLE usage_cursors;
DROP TABLE webhook_receipts;
DROP TABLE contacts;
DROP TABLE template_daily_stats;
DROP TABLE messages;
