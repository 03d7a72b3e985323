-- Per template, each template's figures over the preset periods the dashboard offers (the last
-- 7, 30 and 90 days), so analytics ranks 10,000 templates by reading 10,000 rows instead of
-- adding up every template's days. `window_bounds` says which days each period covers; a
-- refresh (at start and at each UTC day change, by `templar serve`) rebuilds both tables, and
-- between refreshes triggers keep the totals current in the same transaction as every change
-- to the roll-up. Pages use them only while `last_day` is today; otherwise they add up days.
CREATE TABLE window_bounds (
    days INTEGER PRIMARY KEY NOT NULL,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL
);

CREATE TABLE template_window_totals (
    template_row INTEGER NOT NULL REFERENCES templates(id),
    days INTEGER NOT NULL,
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
    PRIMARY KEY (template_row, days)
);
CREATE INDEX template_window_totals_days ON template_window_totals (days);

CREATE TRIGGER window_totals_observed_insert AFTER INSERT ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    INSERT OR IGNORE INTO template_window_totals (template_row, days)
        SELECT NEW.template_row, b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day;
    UPDATE template_window_totals SET
        o_sent = o_sent + NEW.sent, o_delivered = o_delivered + NEW.delivered, o_read = o_read + NEW.read, o_clicked = o_clicked + NEW.clicked, o_failed = o_failed + NEW.failed,
        c_sent = c_sent + r.m * NEW.sent, c_delivered = c_delivered + r.m * NEW.delivered, c_read = c_read + r.m * NEW.read, c_clicked = c_clicked + r.m * NEW.clicked
    FROM (SELECT NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row
                             AND x.day = NEW.day AND x.origin = 'meta') AS m) AS r
    WHERE template_row = NEW.template_row AND days IN (SELECT b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day);
END;

CREATE TRIGGER window_totals_observed_update AFTER UPDATE ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    UPDATE template_window_totals SET
        o_sent = o_sent + NEW.sent - OLD.sent, o_delivered = o_delivered + NEW.delivered - OLD.delivered, o_read = o_read + NEW.read - OLD.read, o_clicked = o_clicked + NEW.clicked - OLD.clicked, o_failed = o_failed + NEW.failed - OLD.failed,
        c_sent = c_sent + r.m * (NEW.sent - OLD.sent), c_delivered = c_delivered + r.m * (NEW.delivered - OLD.delivered), c_read = c_read + r.m * (NEW.read - OLD.read), c_clicked = c_clicked + r.m * (NEW.clicked - OLD.clicked)
    FROM (SELECT NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row
                             AND x.day = NEW.day AND x.origin = 'meta') AS m) AS r
    WHERE template_row = NEW.template_row AND days IN (SELECT b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day);
END;

CREATE TRIGGER window_totals_observed_delete AFTER DELETE ON template_daily_stats
WHEN OLD.origin = 'observed'
BEGIN
    UPDATE template_window_totals SET
        o_sent = o_sent + - OLD.sent, o_delivered = o_delivered + - OLD.delivered, o_read = o_read + - OLD.read, o_clicked = o_clicked + - OLD.clicked, o_failed = o_failed - OLD.failed,
        c_sent = c_sent + - r.m * OLD.sent, c_delivered = c_delivered + - r.m * OLD.delivered, c_read = c_read + - r.m * OLD.read, c_clicked = c_clicked + - r.m * OLD.clicked
    FROM (SELECT NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = OLD.template_row
                             AND x.day = OLD.day AND x.origin = 'meta') AS m) AS r
    WHERE template_row = OLD.template_row AND days IN (SELECT b.days FROM window_bounds b WHERE OLD.day BETWEEN b.first_day AND b.last_day);
END;

CREATE TRIGGER window_totals_meta_insert AFTER INSERT ON template_daily_stats
WHEN NEW.origin = 'meta'
BEGIN
    INSERT OR IGNORE INTO template_window_totals (template_row, days)
        SELECT NEW.template_row, b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day;
    UPDATE template_window_totals SET
        m_sent = m_sent + NEW.sent, m_delivered = m_delivered + NEW.delivered, m_read = m_read + NEW.read, m_clicked = m_clicked + NEW.clicked, m_cost = m_cost + NEW.cost,
        c_sent = c_sent + NEW.sent - o.sent, c_delivered = c_delivered + NEW.delivered - o.delivered, c_read = c_read + NEW.read - o.read, c_clicked = c_clicked + NEW.clicked - o.clicked
    FROM (SELECT COALESCE(SUM(x.sent), 0) AS sent, COALESCE(SUM(x.delivered), 0) AS delivered,
                 COALESCE(SUM(x.read), 0) AS read, COALESCE(SUM(x.clicked), 0) AS clicked
          FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day
          AND x.origin = 'observed') AS o
    WHERE template_row = NEW.template_row AND days IN (SELECT b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day);
END;

CREATE TRIGGER window_totals_meta_update AFTER UPDATE ON template_daily_stats
WHEN NEW.origin = 'meta'
BEGIN
    UPDATE template_window_totals SET
        m_sent = m_sent + NEW.sent - OLD.sent, m_delivered = m_delivered + NEW.delivered - OLD.delivered, m_read = m_read + NEW.read - OLD.read, m_clicked = m_clicked + NEW.clicked - OLD.clicked, m_cost = m_cost + NEW.cost - OLD.cost,
        c_sent = c_sent + NEW.sent - OLD.sent, c_delivered = c_delivered + NEW.delivered - OLD.delivered, c_read = c_read + NEW.read - OLD.read, c_clicked = c_clicked + NEW.clicked - OLD.clicked
    WHERE template_row = NEW.template_row AND days IN (SELECT b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day);
END;

CREATE TRIGGER window_totals_meta_delete AFTER DELETE ON template_daily_stats
WHEN OLD.origin = 'meta'
BEGIN
    UPDATE template_window_totals SET
        m_sent = m_sent + - OLD.sent, m_delivered = m_delivered + - OLD.delivered, m_read = m_read + - OLD.read, m_clicked = m_clicked + - OLD.clicked, m_cost = m_cost - OLD.cost,
        c_sent = c_sent + - OLD.sent + o.sent, c_delivered = c_delivered + - OLD.delivered + o.delivered, c_read = c_read + - OLD.read + o.read, c_clicked = c_clicked + - OLD.clicked + o.clicked
    FROM (SELECT COALESCE(SUM(x.sent), 0) AS sent, COALESCE(SUM(x.delivered), 0) AS delivered,
                 COALESCE(SUM(x.read), 0) AS read, COALESCE(SUM(x.clicked), 0) AS clicked
          FROM template_daily_stats x WHERE x.template_row = OLD.template_row AND x.day = OLD.day
          AND x.origin = 'observed') AS o
    WHERE template_row = OLD.template_row AND days IN (SELECT b.days FROM window_bounds b WHERE OLD.day BETWEEN b.first_day AND b.last_day);
END;

