//! What one transaction of webhooks keeps in memory: accounts and templates resolved, the
//! messages its statuses name (read ahead in one statement), and the roll-up changes it writes
//! once, at the end.

use std::collections::HashMap;

use diesel::QueryResult;

use super::*;

/// Look-up caches for one transaction: a group of 500 statuses from one number resolves its
/// account and template once.
#[derive(Default)]
pub struct Cache {
    pub(super) accounts: HashMap<(String, String), Option<i32>>,
    pub(super) templates: HashMap<(i32, TemplateHint), Option<i32>>,
    /// Roll-up changes not yet written: one upsert per template and day per transaction
    /// instead of one per status.
    pub(super) counts: HashMap<(i32, String), Counts>,
    pub(super) errors: HashMap<(i32, String, i32), i64>,
    /// Deliveries by (template, day, recipient country, pricing category), for cost estimates.
    pub(super) countries: HashMap<(i32, String, String, String), i64>,
    /// Messages read ahead by wamid ([`prefetch`]); `None`: not stored. An entry goes when its
    /// message is written, so what is here is what the database holds.
    pub(super) messages: HashMap<String, Option<usage::MessageRow>>,
}

impl Cache {
    pub(super) fn count(&mut self, template: i32, day: &str, c: Counts) {
        if c.is_zero() {
            return;
        }
        let slot = self.counts.entry((template, day.to_string())).or_default();
        slot.sent += c.sent;
        slot.delivered += c.delivered;
        slot.read += c.read;
        slot.clicked += c.clicked;
        slot.failed += c.failed;
    }

    /// Counts `n` deliveries of a template's day (what Meta charges for) by the recipient's
    /// country and the pricing category the status named.
    pub(super) fn deliveries(
        &mut self,
        template: i32,
        day: &str,
        recipient: &str,
        category: Option<&str>,
        n: i64,
    ) {
        if n == 0 {
            return;
        }
        let category = category
            .unwrap_or("")
            .to_ascii_uppercase()
            .replace('-', "_");
        let key = (
            template,
            day.to_string(),
            crate::pricing::country_of(recipient),
            category,
        );
        *self.countries.entry(key).or_default() += n;
    }

    pub(super) fn error(&mut self, template: i32, day: &str, code: Option<i32>) {
        *self
            .errors
            .entry((template, day.to_string(), code.unwrap_or(0)))
            .or_default() += 1;
    }

    /// Writes the accumulated roll-up changes; call before the transaction commits.
    pub fn flush(&mut self, conn: &mut Conn) -> QueryResult<()> {
        for ((template, day), c) in self.counts.drain() {
            usage::add_observed(conn, template, &day, c)?;
        }
        for ((template, day, code), n) in self.errors.drain() {
            usage::add_error(conn, template, &day, code, n)?;
        }
        for ((template, day, country, category), n) in self.countries.drain() {
            crate::db::models::countries::add(conn, template, &day, &country, &category, n)?;
        }
        Ok(())
    }
}

/// Reads the messages a group's statuses name in one statement, so applying each status does
/// not look its message up on its own (on PostgreSQL, a round trip each).
pub fn prefetch(conn: &mut Conn, cache: &mut Cache, events: &[&IngestEvent]) -> QueryResult<()> {
    let mut wamids: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            IngestEvent::Status(s) => Some(s.wamid.as_str()),
            _ => None,
        })
        .filter(|w| !cache.messages.contains_key(*w))
        .collect();
    wamids.sort_unstable();
    wamids.dedup();
    let found = usage::by_wamids(conn, &wamids)?;
    for w in wamids {
        cache.messages.insert(w.to_string(), None);
    }
    for (w, m) in found {
        cache.messages.insert(w, Some(m));
    }
    Ok(())
}
