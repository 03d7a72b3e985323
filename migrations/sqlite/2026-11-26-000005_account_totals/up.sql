-- Per account and UTC day: the roll-up summed, so the overview, analytics and account pages
-- read one row per day instead of aggregating every template's day (253k rows at 10k
-- templates). `m_` is Meta-reported, `o_` observed, `c_` combined: Meta's figures where Meta
-- reported the template-day, else observed. Combined failures are the observed ones and
-- combined cost is Meta's, so neither needs a column of its own.
CREATE TABLE account_daily_totals (
    account_id INTEGER NOT NULL REFERENCES accounts(id),
    day TEXT NOT NULL,
    m_sent BIGINT NOT NULL DEFAULT 0,
    m_delivered BIGINT NOT NULL DEFAULT 0,
    m_read BIGINT NOT NULL DEFAULT 0,
    m_clicked BIGINT NOT NULL DEFAULT 0,
    m_cost DOUBLE NOT NULL DEFAULT 0,
    o_sent BIGINT NOT NULL DEFAULT 0,
    o_delivered BIGINT NOT NULL DEFAULT 0,
    o_read BIGINT NOT NULL DEFAULT 0,
    o_clicked BIGINT NOT NULL DEFAULT 0,
    o_failed BIGINT NOT NULL DEFAULT 0,
    c_sent BIGINT NOT NULL DEFAULT 0,
    c_delivered BIGINT NOT NULL DEFAULT 0,
    c_read BIGINT NOT NULL DEFAULT 0,
    c_clicked BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, day)
);
CREATE INDEX account_daily_totals_day ON account_daily_totals (day);

INSERT INTO account_daily_totals
SELECT t.account_id, s.day,
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.sent END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.delivered END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.read END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.clicked END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.cost END), 0.0),
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.sent END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.delivered END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.read END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.clicked END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.failed END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' OR NOT EXISTS (SELECT 1 FROM template_daily_stats x
        WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.sent END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' OR NOT EXISTS (SELECT 1 FROM template_daily_stats x
        WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.delivered END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' OR NOT EXISTS (SELECT 1 FROM template_daily_stats x
        WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.read END), 0),
    COALESCE(SUM(CASE WHEN s.origin = 'meta' OR NOT EXISTS (SELECT 1 FROM template_daily_stats x
        WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.clicked END), 0)
FROM template_daily_stats s JOIN templates t ON t.id = s.template_row
GROUP BY t.account_id, s.day;

-- Kept in step by triggers, in the same transaction as every change to the roll-up, whatever
-- code path makes it. Each makes sure the row exists, then adds the difference.

CREATE TRIGGER account_totals_observed_insert AFTER INSERT ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    INSERT OR IGNORE INTO account_daily_totals (account_id, day)
        SELECT account_id, NEW.day FROM templates WHERE id = NEW.template_row;
    UPDATE account_daily_totals SET
        o_sent = o_sent + NEW.sent, o_delivered = o_delivered + NEW.delivered,
        o_read = o_read + NEW.read, o_clicked = o_clicked + NEW.clicked,
        o_failed = o_failed + NEW.failed,
        c_sent = c_sent + r.m * NEW.sent, c_delivered = c_delivered + r.m * NEW.delivered,
        c_read = c_read + r.m * NEW.read, c_clicked = c_clicked + r.m * NEW.clicked
    FROM (SELECT NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row
                             AND x.day = NEW.day AND x.origin = 'meta') AS m) AS r
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day;
END;

CREATE TRIGGER account_totals_observed_update AFTER UPDATE ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    UPDATE account_daily_totals SET
        o_sent = o_sent + NEW.sent - OLD.sent, o_delivered = o_delivered + NEW.delivered - OLD.delivered,
        o_read = o_read + NEW.read - OLD.read, o_clicked = o_clicked + NEW.clicked - OLD.clicked,
        o_failed = o_failed + NEW.failed - OLD.failed,
        c_sent = c_sent + r.m * (NEW.sent - OLD.sent),
        c_delivered = c_delivered + r.m * (NEW.delivered - OLD.delivered),
        c_read = c_read + r.m * (NEW.read - OLD.read),
        c_clicked = c_clicked + r.m * (NEW.clicked - OLD.clicked)
    FROM (SELECT NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row
                             AND x.day = NEW.day AND x.origin = 'meta') AS m) AS r
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day;
END;

CREATE TRIGGER account_totals_observed_delete AFTER DELETE ON template_daily_stats
WHEN OLD.origin = 'observed'
BEGIN
    UPDATE account_daily_totals SET
        o_sent = o_sent - OLD.sent, o_delivered = o_delivered - OLD.delivered,
        o_read = o_read - OLD.read, o_clicked = o_clicked - OLD.clicked,
        o_failed = o_failed - OLD.failed,
        c_sent = c_sent - r.m * OLD.sent, c_delivered = c_delivered - r.m * OLD.delivered,
        c_read = c_read - r.m * OLD.read, c_clicked = c_clicked - r.m * OLD.clicked
    FROM (SELECT NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = OLD.template_row
                             AND x.day = OLD.day AND x.origin = 'meta') AS m) AS r
    WHERE account_id = (SELECT account_id FROM templates WHERE id = OLD.template_row) AND day = OLD.day;
END;

-- Meta's figures replace the observed ones in the combined totals from the moment they exist.
CREATE TRIGGER account_totals_meta_insert AFTER INSERT ON template_daily_stats
WHEN NEW.origin = 'meta'
BEGIN
    INSERT OR IGNORE INTO account_daily_totals (account_id, day)
        SELECT account_id, NEW.day FROM templates WHERE id = NEW.template_row;
    UPDATE account_daily_totals SET
        m_sent = m_sent + NEW.sent, m_delivered = m_delivered + NEW.delivered,
        m_read = m_read + NEW.read, m_clicked = m_clicked + NEW.clicked, m_cost = m_cost + NEW.cost,
        c_sent = c_sent + NEW.sent - o.sent, c_delivered = c_delivered + NEW.delivered - o.delivered,
        c_read = c_read + NEW.read - o.read, c_clicked = c_clicked + NEW.clicked - o.clicked
    FROM (SELECT COALESCE(SUM(x.sent), 0) AS sent, COALESCE(SUM(x.delivered), 0) AS delivered,
                 COALESCE(SUM(x.read), 0) AS read, COALESCE(SUM(x.clicked), 0) AS clicked
          FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day
          AND x.origin = 'observed') AS o
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day;
END;

CREATE TRIGGER account_totals_meta_update AFTER UPDATE ON template_daily_stats
WHEN NEW.origin = 'meta'
BEGIN
    UPDATE account_daily_totals SET
        m_sent = m_sent + NEW.sent - OLD.sent, m_delivered = m_delivered + NEW.delivered - OLD.delivered,
        m_read = m_read + NEW.read - OLD.read, m_clicked = m_clicked + NEW.clicked - OLD.clicked,
        m_cost = m_cost + NEW.cost - OLD.cost,
        c_sent = c_sent + NEW.sent - OLD.sent, c_delivered = c_delivered + NEW.delivered - OLD.delivered,
        c_read = c_read + NEW.read - OLD.read, c_clicked = c_clicked + NEW.clicked - OLD.clicked
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day;
END;

CREATE TRIGGER account_totals_meta_delete AFTER DELETE ON template_daily_stats
WHEN OLD.origin = 'meta'
BEGIN
    UPDATE account_daily_totals SET
        m_sent = m_sent - OLD.sent, m_delivered = m_delivered - OLD.delivered,
        m_read = m_read - OLD.read, m_clicked = m_clicked - OLD.clicked, m_cost = m_cost - OLD.cost,
        c_sent = c_sent - OLD.sent + o.sent, c_delivered = c_delivered - OLD.delivered + o.delivered,
        c_read = c_read - OLD.read + o.read, c_clicked = c_clicked - OLD.clicked + o.clicked
    FROM (SELECT COALESCE(SUM(x.sent), 0) AS sent, COALESCE(SUM(x.delivered), 0) AS delivered,
                 COALESCE(SUM(x.read), 0) AS read, COALESCE(SUM(x.clicked), 0) AS clicked
          FROM template_daily_stats x WHERE x.template_row = OLD.template_row AND x.day = OLD.day
          AND x.origin = 'observed') AS o
    WHERE account_id = (SELECT account_id FROM templates WHERE id = OLD.template_row) AND day = OLD.day;
END;
