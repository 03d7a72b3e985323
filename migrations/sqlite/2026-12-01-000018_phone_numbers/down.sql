DROP TABLE number_events;
DROP TABLE portfolio_limits;
DROP TABLE phone_numbers;
