//! Webhook delivery keys (`webhook_receipts`): a delivery whose key is already there is a retry
//! or a duplicate, and changes nothing.

use crate::db::Conn;
use diesel::prelude::*;

use crate::db::schema::webhook_receipts as r;

/// Records a delivery key; `false` if it was already recorded (a retry or duplicate).
pub fn first_receipt(conn: &mut Conn, key: &str, now: i64) -> QueryResult<bool> {
    Ok(!first_receipts(conn, &[key], now)?.is_empty())
}

/// Records delivery keys in one statement per 500; returns the ones not recorded before (a key
/// given twice is new once).
pub fn first_receipts(
    conn: &mut Conn,
    keys: &[&str],
    now: i64,
) -> QueryResult<std::collections::HashSet<String>> {
    let mut fresh = std::collections::HashSet::with_capacity(keys.len());
    for chunk in keys.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|k| (r::key.eq(*k), r::received_at.eq(now)))
            .collect();
        let new: Vec<String> = crate::on_backend!(conn, bc => diesel::insert_into(r::table)
            .values(rows)
            .on_conflict_do_nothing()
            .returning(r::key)
            .get_results(bc))?;
        fresh.extend(new);
    }
    Ok(fresh)
}
