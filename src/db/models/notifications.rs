//! The notification outbox and the cursors of the logs it is filled from.

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{notifications as n, notify_cursors as c};

/// A delivery of one event to one channel.
#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = n)]
pub struct NotificationRow {
    pub id: i32,
    pub event_key: String,
    pub channel: String,
    pub kind: String,
    pub payload: String,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub dead_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
}

/// Where the worker stopped reading a log.
pub fn cursor(conn: &mut Conn, name: &str) -> QueryResult<Option<i32>> {
    c::table
        .find(name)
        .select(c::last_id)
        .first(conn)
        .optional()
}

/// Moves a cursor.
pub fn set_cursor(conn: &mut Conn, name: &str, last_id: i32) -> QueryResult<()> {
    crate::on_backend!(conn, conn => diesel::insert_into(c::table)
        .values((c::name.eq(name), c::last_id.eq(last_id)))
        .on_conflict(c::name)
        .do_update()
        .set(c::last_id.eq(last_id))
        .execute(conn))
    .map(|_| ())
}

/// Queues a delivery; `false` if this event was already queued for this channel.
pub fn enqueue(
    conn: &mut Conn,
    event_key: &str,
    channel: &str,
    kind: &str,
    payload: &str,
    now: i64,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(n::table)
        .values((
            n::event_key.eq(event_key),
            n::channel.eq(channel),
            n::kind.eq(kind),
            n::payload.eq(payload),
            n::next_attempt_at.eq(now),
            n::created_at.eq(now),
        ))
        .on_conflict_do_nothing();
    let inserted = crate::on_backend!(conn, bc => inserted.execute(bc))?;
    Ok(inserted == 1)
}

/// How long (seconds) a claimed delivery stays with the replica that claimed it before another
/// may take it: longer than any channel's send deadline, so only a replica that died leaves
/// one behind.
pub const LEASE: i64 = 120;

/// Claims the deliveries due by `now`, oldest first, of one channel or (`None`) of all: each
/// is moved `LEASE` seconds ahead, so no other replica (or pass) sends it meanwhile, and comes
/// back with its due time as it was (see [`release`]). On PostgreSQL rows another replica is
/// claiming are skipped rather than waited for (`FOR UPDATE SKIP LOCKED`).
pub fn claim(
    conn: &mut Conn,
    channel: Option<&str>,
    now: i64,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let due = n::table
        .filter(n::delivered_at.is_null())
        .filter(n::dead_at.is_null())
        .filter(n::next_attempt_at.le(now))
        .order(n::id)
        .limit(limit)
        .select(n::id);
    let ids: Vec<i32> = match (&mut *conn, channel) {
        (Conn::Pg(c), Some(ch)) => due
            .filter(n::channel.eq(ch))
            .for_update()
            .skip_locked()
            .load(c)?,
        (Conn::Pg(c), None) => due.for_update().skip_locked().load(c)?,
        (Conn::Sqlite(c), Some(ch)) => due.filter(n::channel.eq(ch)).load(c)?,
        (Conn::Sqlite(c), None) => due.load(c)?,
    };
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        rows.extend(
            n::table
                .filter(n::id.eq_any(chunk))
                .order(n::id)
                .select(NotificationRow::as_select())
                .load(conn)?,
        );
    }
    for chunk in ids.chunks(500) {
        diesel::update(n::table.filter(n::id.eq_any(chunk)))
            .set(n::next_attempt_at.eq(now + LEASE))
            .execute(conn)?;
    }
    Ok(rows)
}

/// Gives back claimed deliveries that were not attempted, due again when they were.
pub fn release(conn: &mut Conn, rows: &[(i32, i64)]) -> QueryResult<()> {
    for (id, due) in rows {
        diesel::update(n::table.find(id))
            .set(n::next_attempt_at.eq(due))
            .execute(conn)?;
    }
    Ok(())
}

/// How long a delivery of a channel missing from the config waits before it is given up: a
/// replica with another config (a rolling deploy that adds the channel) may deliver it.
pub const BURY_AFTER: i64 = 15 * 60;

/// Gives up on the undelivered rows of channels no longer configured, once they are
/// [`BURY_AFTER`] old; returns how many.
pub fn bury_unconfigured(conn: &mut Conn, configured: &[String], now: i64) -> QueryResult<usize> {
    diesel::update(
        n::table
            .filter(n::delivered_at.is_null())
            .filter(n::dead_at.is_null())
            .filter(n::created_at.le(now - BURY_AFTER))
            .filter(n::channel.ne_all(configured)),
    )
    .set((
        n::dead_at.eq(Some(now)),
        n::last_error.eq(Some("the channel is no longer configured")),
    ))
    .execute(conn)
}

/// Records a successful delivery.
pub fn delivered(conn: &mut Conn, id: i32, attempts: i32, now: i64) -> QueryResult<()> {
    diesel::update(n::table.find(id))
        .set((
            n::delivered_at.eq(Some(now)),
            n::attempts.eq(attempts),
            n::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records a failed attempt: retried at `next`, or dead when `next` is `None`.
pub fn failed(
    conn: &mut Conn,
    id: i32,
    attempts: i32,
    error: &str,
    next: Option<i64>,
    now: i64,
) -> QueryResult<()> {
    diesel::update(n::table.find(id))
        .set((
            n::attempts.eq(attempts),
            n::last_error.eq(Some(error)),
            n::next_attempt_at.eq(next.unwrap_or(now)),
            n::dead_at.eq(if next.is_none() { Some(now) } else { None }),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The latest deliveries of every state, newest first.
pub fn recent(conn: &mut Conn, limit: i64) -> QueryResult<Vec<NotificationRow>> {
    n::table
        .order(n::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)
}

/// Which deliveries a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    Delivered,
    Dead,
}

/// The newest deliveries, of one state or of all.
pub fn recent_in(
    conn: &mut Conn,
    state: Option<DeliveryState>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let q = n::table.into_boxed();
    let q = match state {
        None => q,
        Some(DeliveryState::Pending) => q
            .filter(n::delivered_at.is_null())
            .filter(n::dead_at.is_null()),
        Some(DeliveryState::Delivered) => q.filter(n::delivered_at.is_not_null()),
        Some(DeliveryState::Dead) => q.filter(n::dead_at.is_not_null()),
    };
    q.order(n::id.desc())
        .limit(limit)
        .select(NotificationRow::as_select())
        .load(conn)
}

/// Counts of (pending, delivered, dead) deliveries.
pub fn counts(conn: &mut Conn) -> QueryResult<(i64, i64, i64)> {
    let pending = n::table
        .filter(n::delivered_at.is_null())
        .filter(n::dead_at.is_null())
        .count()
        .get_result(conn)?;
    let delivered = n::table
        .filter(n::delivered_at.is_not_null())
        .count()
        .get_result(conn)?;
    let dead = n::table
        .filter(n::dead_at.is_not_null())
        .count()
        .get_result(conn)?;
    Ok((pending, delivered, dead))
}
