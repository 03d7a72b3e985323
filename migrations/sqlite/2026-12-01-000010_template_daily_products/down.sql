DROP TABLE template_daily_products;
