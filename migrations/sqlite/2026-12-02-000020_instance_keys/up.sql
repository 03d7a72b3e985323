-- Keys every replica of one installation must share (the dashboard's CSRF key), made once.
CREATE TABLE instance_keys (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
