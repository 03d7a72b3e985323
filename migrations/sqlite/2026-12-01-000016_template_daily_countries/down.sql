DROP TABLE template_daily_countries;
