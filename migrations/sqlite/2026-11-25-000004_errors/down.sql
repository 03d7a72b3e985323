DROP TABLE template_daily_errors;
