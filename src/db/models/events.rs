//! The append-only history of templates (`template_events`): appended by the ledger only,
//! read by pages, notifications and analytics.

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use super::templates::TemplateRow;
use crate::db::schema::{accounts as a, template_events, templates as t};

/// An event to append.
#[derive(Insertable, Debug, Clone, PartialEq)]
#[diesel(table_name = template_events)]
pub struct NewEvent {
    pub template_id: i32,
    pub at: i64,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub source: String,
}

/// A stored event.
#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = template_events)]
pub struct Event {
    #[serde(skip)]
    pub id: i32,
    #[serde(skip)]
    pub template_id: i32,
    pub at: i64,
    pub field: String,
    #[serde(rename = "from")]
    pub old_value: Option<String>,
    #[serde(rename = "to")]
    pub new_value: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
    pub source: String,
}

/// Appends events, in chunks that stay under SQLite's variable limit.
pub fn insert_events(conn: &mut Conn, events: &[NewEvent]) -> QueryResult<()> {
    for chunk in events.chunks(1000) {
        crate::on_backend!(conn, bc => diesel::insert_into(template_events::table)
            .values(chunk)
            .execute(bc))?;
    }
    Ok(())
}

/// A PAUSED event: when, the status before, and its detail (JSON text).
pub type PauseRow = (i64, Option<String>, Option<String>);

/// A template's pauses as (when, from, detail), oldest first, up to the event with id `up_to`
/// when given: its status changes to PAUSED, and the PAUSED events a webhook reported after a
/// sync had already seen the pause (they carry Meta's title). What
/// [`crate::domain::pause::Pause::latest`] reads.
pub fn pauses(
    conn: &mut Conn,
    template_row: i32,
    up_to: Option<i32>,
) -> QueryResult<Vec<PauseRow>> {
    let mut q = template_events::table
        .filter(template_events::template_id.eq(template_row))
        .filter(template_events::field.eq_any(["status", "event"]))
        .filter(template_events::new_value.eq("PAUSED"))
        .into_boxed();
    if let Some(id) = up_to {
        q = q.filter(template_events::id.le(id));
    }
    q.order(template_events::id.asc())
        .select((
            template_events::at,
            template_events::old_value,
            template_events::detail,
        ))
        .load(conn)
}

/// A template's latest event.
pub fn latest_event(conn: &mut Conn, template_row: i32) -> QueryResult<Option<Event>> {
    template_events::table
        .filter(template_events::template_id.eq(template_row))
        .order(template_events::id.desc())
        .select(Event::as_select())
        .first(conn)
        .optional()
}

/// The status a template had before it was last archived, if it ever was.
pub fn status_before_archiving(conn: &mut Conn, template_row: i32) -> QueryResult<Option<String>> {
    Ok(template_events::table
        .filter(template_events::template_id.eq(template_row))
        .filter(template_events::field.eq("status"))
        .filter(template_events::new_value.eq("ARCHIVED"))
        .order(template_events::id.desc())
        .select(template_events::old_value)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// The detail of a template's latest rejection (Meta's `rejection_info`, as JSON text).
pub fn last_rejection_detail(conn: &mut Conn, template_row: i32) -> QueryResult<Option<String>> {
    template_events::table
        .filter(template_events::template_id.eq(template_row))
        .filter(template_events::new_value.eq("REJECTED"))
        .order(template_events::id.desc())
        .select(template_events::detail)
        .first::<Option<String>>(conn)
        .optional()
        .map(Option::flatten)
}

/// A template's history, oldest first.
pub fn events_of(conn: &mut Conn, template_row: i32) -> QueryResult<Vec<Event>> {
    template_events::table
        .filter(template_events::template_id.eq(template_row))
        .order((template_events::at, template_events::id))
        .select(Event::as_select())
        .load(conn)
}

/// Events that webhooks recorded for an account's templates since `since`.
pub fn webhook_count_since(conn: &mut Conn, account_id: i32, since: i64) -> QueryResult<i64> {
    template_events::table
        .inner_join(t::table)
        .filter(t::account_id.eq(account_id))
        .filter(template_events::source.eq("webhook"))
        .filter(template_events::at.ge(since))
        .count()
        .get_result(conn)
}

/// A status event on the way to (or after) approval, with its template's category and language.
#[derive(Queryable, Debug, Clone)]
pub struct ReviewEvent {
    pub row_id: i32,
    pub status: String,
    pub at: i64,
    pub category: String,
    pub language: String,
}

/// Every PENDING and APPROVED event, by template then time; of one account when given.
pub fn review_events(conn: &mut Conn, account: Option<&str>) -> QueryResult<Vec<ReviewEvent>> {
    let mut q = template_events::table
        .inner_join(t::table.inner_join(a::table))
        .filter(template_events::field.eq("status"))
        .filter(template_events::new_value.eq_any(["PENDING", "APPROVED"]))
        .order((template_events::template_id, template_events::at))
        .select((
            template_events::template_id,
            template_events::new_value,
            template_events::at,
            t::category,
            t::language,
        ))
        .into_boxed();
    if let Some(acc) = account {
        q = q.filter(a::name.eq(acc.to_string()));
    }
    q.load(conn)
}

/// The id of the newest event (0 when there is none): a page's watermark for "new changes".
pub fn newest_id(conn: &mut Conn) -> QueryResult<i32> {
    Ok(template_events::table
        .select(diesel::dsl::max(template_events::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// How many events came after `after`, of one template (by Meta's id) or of all.
pub fn count_after(conn: &mut Conn, after: i32, template_id: Option<&str>) -> QueryResult<i64> {
    let q = template_events::table
        .inner_join(t::table)
        .filter(template_events::id.gt(after))
        .into_boxed();
    let q = match template_id {
        Some(id) => q.filter(t::template_id.eq(id.to_string())),
        None => q,
    };
    q.count().get_result(conn)
}

/// The id of the newest event older than `before` (0 when there is none): where a reader that
/// has never read the log starts, so it does not replay all of history.
pub fn last_id_before(conn: &mut Conn, before: i64) -> QueryResult<i32> {
    Ok(template_events::table
        .filter(template_events::at.lt(before))
        .select(diesel::dsl::max(template_events::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// An event with its template and the template's account.
#[derive(Debug, Clone)]
pub struct Seen {
    pub event: Event,
    pub template: TemplateRow,
    pub account: String,
}

/// Up to `limit` events with ids above `after`, oldest first.
pub fn after(conn: &mut Conn, after: i32, limit: i64) -> QueryResult<Vec<Seen>> {
    let rows: Vec<(Event, TemplateRow, String)> = template_events::table
        .inner_join(t::table.inner_join(a::table))
        .filter(template_events::id.gt(after))
        .order(template_events::id)
        .limit(limit)
        .select((Event::as_select(), TemplateRow::as_select(), a::name))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(event, template, account)| Seen {
            event,
            template,
            account,
        })
        .collect())
}

/// Events between `from` (included) and `to`, with their template's name and language.
pub fn between(conn: &mut Conn, from: i64, to: i64) -> QueryResult<Vec<(Event, String, String)>> {
    template_events::table
        .inner_join(t::table)
        .filter(template_events::at.ge(from))
        .filter(template_events::at.lt(to))
        .select((Event::as_select(), t::name, t::language))
        .load(conn)
}
