-- The observed-side triggers of 000005 and 000006, rewritten so that the webhook writer's
-- roll-up update opens no temporary tables. The old forms joined a one-row subquery
-- (`FROM (SELECT NOT EXISTS ...) AS r`) and matched the periods with `days IN (SELECT ...)`;
-- SQLite builds an ephemeral table for each, on every run. Here "does Meta report this
-- template-day?" splits each update in two (combined figures move only where it does not),
-- and the periods are matched row by row through window_bounds' primary key. What each
-- trigger computes is unchanged. The Meta-side triggers, which run when analytics are pulled,
-- stay as they were.

DROP TRIGGER account_totals_observed_insert;
CREATE TRIGGER account_totals_observed_insert AFTER INSERT ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    INSERT OR IGNORE INTO account_daily_totals (account_id, day)
        SELECT account_id, NEW.day FROM templates WHERE id = NEW.template_row;
    UPDATE account_daily_totals SET
        o_sent = o_sent + NEW.sent, o_delivered = o_delivered + NEW.delivered, o_read = o_read + NEW.read, o_clicked = o_clicked + NEW.clicked, o_failed = o_failed + NEW.failed,
        c_sent = c_sent + NEW.sent, c_delivered = c_delivered + NEW.delivered, c_read = c_read + NEW.read, c_clicked = c_clicked + NEW.clicked
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day
      AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
    UPDATE account_daily_totals SET
        o_sent = o_sent + NEW.sent, o_delivered = o_delivered + NEW.delivered, o_read = o_read + NEW.read, o_clicked = o_clicked + NEW.clicked, o_failed = o_failed + NEW.failed
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day
      AND EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
END;

DROP TRIGGER account_totals_observed_update;
CREATE TRIGGER account_totals_observed_update AFTER UPDATE ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    UPDATE account_daily_totals SET
        o_sent = o_sent + NEW.sent - OLD.sent, o_delivered = o_delivered + NEW.delivered - OLD.delivered, o_read = o_read + NEW.read - OLD.read, o_clicked = o_clicked + NEW.clicked - OLD.clicked, o_failed = o_failed + NEW.failed - OLD.failed,
        c_sent = c_sent + NEW.sent - OLD.sent, c_delivered = c_delivered + NEW.delivered - OLD.delivered, c_read = c_read + NEW.read - OLD.read, c_clicked = c_clicked + NEW.clicked - OLD.clicked
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day
      AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
    UPDATE account_daily_totals SET
        o_sent = o_sent + NEW.sent - OLD.sent, o_delivered = o_delivered + NEW.delivered - OLD.delivered, o_read = o_read + NEW.read - OLD.read, o_clicked = o_clicked + NEW.clicked - OLD.clicked, o_failed = o_failed + NEW.failed - OLD.failed
    WHERE account_id = (SELECT account_id FROM templates WHERE id = NEW.template_row) AND day = NEW.day
      AND EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
END;

DROP TRIGGER account_totals_observed_delete;
CREATE TRIGGER account_totals_observed_delete AFTER DELETE ON template_daily_stats
WHEN OLD.origin = 'observed'
BEGIN
    UPDATE account_daily_totals SET
        o_sent = o_sent + - OLD.sent, o_delivered = o_delivered + - OLD.delivered, o_read = o_read + - OLD.read, o_clicked = o_clicked + - OLD.clicked, o_failed = o_failed + - OLD.failed,
        c_sent = c_sent + - OLD.sent, c_delivered = c_delivered + - OLD.delivered, c_read = c_read + - OLD.read, c_clicked = c_clicked + - OLD.clicked
    WHERE account_id = (SELECT account_id FROM templates WHERE id = OLD.template_row) AND day = OLD.day
      AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = OLD.template_row AND x.day = OLD.day AND x.origin = 'meta');
    UPDATE account_daily_totals SET
        o_sent = o_sent + - OLD.sent, o_delivered = o_delivered + - OLD.delivered, o_read = o_read + - OLD.read, o_clicked = o_clicked + - OLD.clicked, o_failed = o_failed + - OLD.failed
    WHERE account_id = (SELECT account_id FROM templates WHERE id = OLD.template_row) AND day = OLD.day
      AND EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = OLD.template_row AND x.day = OLD.day AND x.origin = 'meta');
END;

DROP TRIGGER window_totals_observed_insert;
CREATE TRIGGER window_totals_observed_insert AFTER INSERT ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    INSERT OR IGNORE INTO template_window_totals (template_row, days)
        SELECT NEW.template_row, b.days FROM window_bounds b WHERE NEW.day BETWEEN b.first_day AND b.last_day;
    UPDATE template_window_totals SET
        o_sent = o_sent + NEW.sent, o_delivered = o_delivered + NEW.delivered, o_read = o_read + NEW.read, o_clicked = o_clicked + NEW.clicked, o_failed = o_failed + NEW.failed,
        c_sent = c_sent + NEW.sent, c_delivered = c_delivered + NEW.delivered, c_read = c_read + NEW.read, c_clicked = c_clicked + NEW.clicked
    WHERE template_row = NEW.template_row
      AND EXISTS (SELECT 1 FROM window_bounds b WHERE b.days = template_window_totals.days AND NEW.day BETWEEN b.first_day AND b.last_day)
      AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
    UPDATE template_window_totals SET
        o_sent = o_sent + NEW.sent, o_delivered = o_delivered + NEW.delivered, o_read = o_read + NEW.read, o_clicked = o_clicked + NEW.clicked, o_failed = o_failed + NEW.failed
    WHERE template_row = NEW.template_row
      AND EXISTS (SELECT 1 FROM window_bounds b WHERE b.days = template_window_totals.days AND NEW.day BETWEEN b.first_day AND b.last_day)
      AND EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
END;

DROP TRIGGER window_totals_observed_update;
CREATE TRIGGER window_totals_observed_update AFTER UPDATE ON template_daily_stats
WHEN NEW.origin = 'observed'
BEGIN
    UPDATE template_window_totals SET
        o_sent = o_sent + NEW.sent - OLD.sent, o_delivered = o_delivered + NEW.delivered - OLD.delivered, o_read = o_read + NEW.read - OLD.read, o_clicked = o_clicked + NEW.clicked - OLD.clicked, o_failed = o_failed + NEW.failed - OLD.failed,
        c_sent = c_sent + NEW.sent - OLD.sent, c_delivered = c_delivered + NEW.delivered - OLD.delivered, c_read = c_read + NEW.read - OLD.read, c_clicked = c_clicked + NEW.clicked - OLD.clicked
    WHERE template_row = NEW.template_row
      AND EXISTS (SELECT 1 FROM window_bounds b WHERE b.days = template_window_totals.days AND NEW.day BETWEEN b.first_day AND b.last_day)
      AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
    UPDATE template_window_totals SET
        o_sent = o_sent + NEW.sent - OLD.sent, o_delivered = o_delivered + NEW.delivered - OLD.delivered, o_read = o_read + NEW.read - OLD.read, o_clicked = o_clicked + NEW.clicked - OLD.clicked, o_failed = o_failed + NEW.failed - OLD.failed
    WHERE template_row = NEW.template_row
      AND EXISTS (SELECT 1 FROM window_bounds b WHERE b.days = template_window_totals.days AND NEW.day BETWEEN b.first_day AND b.last_day)
      AND EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = NEW.template_row AND x.day = NEW.day AND x.origin = 'meta');
END;

DROP TRIGGER window_totals_observed_delete;
CREATE TRIGGER window_totals_observed_delete AFTER DELETE ON template_daily_stats
WHEN OLD.origin = 'observed'
BEGIN
    UPDATE template_window_totals SET
        o_sent = o_sent + - OLD.sent, o_delivered = o_delivered + - OLD.delivered, o_read = o_read + - OLD.read, o_clicked = o_clicked + - OLD.clicked, o_failed = o_failed + - OLD.failed,
        c_sent = c_sent + - OLD.sent, c_delivered = c_delivered + - OLD.delivered, c_read = c_read + - OLD.read, c_clicked = c_clicked + - OLD.clicked
    WHERE template_row = OLD.template_row
      AND EXISTS (SELECT 1 FROM window_bounds b WHERE b.days = template_window_totals.days AND OLD.day BETWEEN b.first_day AND b.last_day)
      AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = OLD.template_row AND x.day = OLD.day AND x.origin = 'meta');
    UPDATE template_window_totals SET
        o_sent = o_sent + - OLD.sent, o_delivered = o_delivered + - OLD.delivered, o_read = o_read + - OLD.read, o_clicked = o_clicked + - OLD.clicked, o_failed = o_failed + - OLD.failed
    WHERE template_row = OLD.template_row
      AND EXISTS (SELECT 1 FROM window_bounds b WHERE b.days = template_window_totals.days AND OLD.day BETWEEN b.first_day AND b.last_day)
      AND EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = OLD.template_row AND x.day = OLD.day AND x.origin = 'meta');
END;
