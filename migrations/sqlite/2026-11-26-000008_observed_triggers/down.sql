-- Back to the forms of 000005 and 000006.

DROP TRIGGER account_totals_observed_insert;
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

DROP TRIGGER account_totals_observed_update;
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

DROP TRIGGER account_totals_observed_delete;
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

DROP TRIGGER window_totals_observed_insert;
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

DROP TRIGGER window_totals_observed_update;
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

DROP TRIGGER window_totals_observed_delete;
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
