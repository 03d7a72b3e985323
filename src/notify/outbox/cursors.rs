//! Where each channel stands in each log the outbox reads. Every channel keeps its own cursor
//! (`{log}:{channel}` in `notify_cursors`), and a replica fills only the channels in its own
//! config: during a rolling deploy that adds a channel, a replica still on the old config
//! neither moves the new channel past events it has not queued nor buries its deliveries. A
//! channel without a cursor starts [`super::FIRST_LOOK_BACK`] back; an event it meets again is
//! still queued once (one delivery per event and channel).

use crate::db::Conn;
use diesel::QueryResult;

use super::out;
use crate::config::Config;

/// The configured channels' cursors in one log.
pub(super) struct Cursors {
    log: &'static str,
    /// (channel, its cursor if it has one).
    at: Vec<(String, Option<i32>)>,
    /// Where a channel without a cursor starts.
    fresh: i32,
}

impl Cursors {
    /// Reads the cursors of `config`'s channels in `log`; `fresh` finds where a channel without
    /// one starts (called only if one has none).
    pub(super) fn load(
        conn: &mut Conn,
        log: &'static str,
        config: &Config,
        fresh: impl FnOnce(&mut Conn) -> QueryResult<i32>,
    ) -> QueryResult<Cursors> {
        let mut at = Vec::with_capacity(config.notify.len());
        for ch in &config.notify {
            at.push((ch.name.clone(), out::cursor(conn, &key(log, &ch.name))?));
        }
        let fresh = match at.iter().any(|(_, c)| c.is_none()) {
            true => fresh(conn)?,
            false => 0,
        };
        Ok(Cursors { log, at, fresh })
    }

    fn of(&self, cursor: Option<i32>) -> i32 {
        cursor.unwrap_or(self.fresh)
    }

    /// The id after which some channel has rows to read (`i32::MAX` without channels).
    pub(super) fn start(&self) -> i32 {
        self.at
            .iter()
            .map(|(_, c)| self.of(*c))
            .min()
            .unwrap_or(i32::MAX)
    }

    /// Whether row `id` of the log is past `channel`'s cursor: not yet queued for it.
    pub(super) fn new_to(&self, channel: &str, id: i32) -> bool {
        self.at
            .iter()
            .find(|(name, _)| name == channel)
            .is_some_and(|(_, c)| id > self.of(*c))
    }

    /// Moves every channel up to `last`, the last row read (none goes back), and writes the
    /// cursor of a channel that had none, so its start stays put.
    pub(super) fn advance(&self, conn: &mut Conn, last: i32) -> QueryResult<()> {
        for (name, c) in &self.at {
            let at = self.of(*c);
            if c.is_none() || last > at {
                out::set_cursor(conn, &key(self.log, name), last.max(at))?;
            }
        }
        Ok(())
    }
}

fn key(log: &str, channel: &str) -> String {
    format!("{log}:{channel}")
}
