//! Removing raw records past their retention, one small batch per call, so a purge never holds
//! the write lock for long. Roll-ups and template history are never touched. The newest row of
//! `sync_runs` and `notifications` always stays: SQLite would give its id to the next row, and
//! those ids are cursors and delivery ids.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

/// Rows removed per batch (one short transaction each).
pub const BATCH: i64 = 2000;

/// Deletes up to [`BATCH`] messages of one account (or, with `None`, of no account) from
/// before `day` (`YYYY-MM-DD`); returns how many.
pub fn messages_before(conn: &mut Conn, account_id: Option<i32>, day: &str) -> QueryResult<usize> {
    // `= ?` or `IS NULL`, so that both backends use the (account_id, day) index.
    let which = if account_id.is_some() {
        "account_id = ?"
    } else {
        "account_id IS NULL"
    };
    let q = crate::db::sql(
        conn,
        format!(
            "DELETE FROM messages WHERE id IN (SELECT id FROM messages \
             WHERE {which} AND day < ? LIMIT ?)"
        ),
    )
    .into_boxed();
    let q = match account_id {
        Some(a) => q.bind::<Integer, _>(a),
        None => q,
    };
    q.bind::<Text, _>(day)
        .bind::<BigInt, _>(BATCH)
        .execute(conn)
}

/// Deletes up to [`BATCH`] sync runs of one account that started before `before`.
pub fn sync_runs_before(conn: &mut Conn, account_id: i32, before: i64) -> QueryResult<usize> {
    crate::db::sql(
        conn,
        "DELETE FROM sync_runs WHERE id IN (SELECT id FROM sync_runs \
         WHERE account_id = ? AND started_at < ? \
         AND id < (SELECT MAX(id) FROM sync_runs) LIMIT ?)",
    )
    .bind::<Integer, _>(account_id)
    .bind::<BigInt, _>(before)
    .bind::<BigInt, _>(BATCH)
    .execute(conn)
}

/// Deletes up to [`BATCH`] notifications delivered or dead before `before` (pending ones stay).
pub fn notifications_before(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    crate::db::sql(
        conn,
        "DELETE FROM notifications WHERE id < (SELECT MAX(id) FROM notifications) \
         AND id IN (SELECT id FROM notifications WHERE delivered_at < ? \
         UNION ALL SELECT id FROM notifications WHERE dead_at < ? LIMIT ?)",
    )
    .bind::<BigInt, _>(before)
    .bind::<BigInt, _>(before)
    .bind::<BigInt, _>(BATCH)
    .execute(conn)
}

/// Deletes up to [`BATCH`] webhook receipts (Kapso idempotency keys) older than `before`.
pub fn receipts_before(conn: &mut Conn, before: i64) -> QueryResult<usize> {
    crate::db::sql(
        conn,
        "DELETE FROM webhook_receipts WHERE key IN (SELECT key FROM webhook_receipts \
         WHERE received_at < ? LIMIT ?)",
    )
    .bind::<BigInt, _>(before)
    .bind::<BigInt, _>(BATCH)
    .execute(conn)
}
