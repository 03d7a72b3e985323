DROP TABLE template_daily_buttons;
