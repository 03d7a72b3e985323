//! What needs a person's attention, for the overview: templates by status or falling quality,
//! recent category changes, the feed of recent changes, and status counts per account. Rows
//! come back as named structs.

use crate::db::Conn;
use diesel::prelude::*;

use crate::db::schema::{accounts as a, template_events as e, templates as t};

/// A template in an attention list, with its account's name.
#[derive(Queryable, Debug, Clone)]
pub struct AttentionRow {
    pub row_id: i32,
    pub template_id: String,
    pub account: String,
    pub name: String,
    pub language: String,
    pub status: String,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub first_seen_at: i64,
    pub last_changed_at: i64,
    pub correct_category: Option<String>,
    pub category: String,
}

/// The columns of an [`AttentionRow`], in its order.
type Columns = (
    t::id,
    t::template_id,
    a::name,
    t::name,
    t::language,
    t::status,
    t::quality,
    t::rejected_reason,
    t::first_seen_at,
    t::last_changed_at,
    t::correct_category,
    t::category,
);

const COLUMNS: Columns = (
    t::id,
    t::template_id,
    a::name,
    t::name,
    t::language,
    t::status,
    t::quality,
    t::rejected_reason,
    t::first_seen_at,
    t::last_changed_at,
    t::correct_category,
    t::category,
);

/// Live templates in any of `statuses`, most recently changed first, at most `limit`.
pub fn with_status(
    conn: &mut Conn,
    statuses: &[&str],
    limit: i64,
) -> QueryResult<Vec<AttentionRow>> {
    t::table
        .inner_join(a::table)
        .filter(t::deleted_at.is_null())
        .filter(t::status.eq_any(statuses))
        .order(t::last_changed_at.desc())
        .limit(limit)
        .select(COLUMNS)
        .load(conn)
}

/// How many live templates are in any of `statuses` (the lists above are capped).
pub fn count_with_status(conn: &mut Conn, statuses: &[&str]) -> QueryResult<i64> {
    t::table
        .filter(t::deleted_at.is_null())
        .filter(t::status.eq_any(statuses))
        .count()
        .get_result(conn)
}

/// How many live templates are rated YELLOW or RED.
pub fn count_quality_down(conn: &mut Conn) -> QueryResult<i64> {
    t::table
        .filter(t::deleted_at.is_null())
        .filter(t::quality.eq_any(["YELLOW", "RED"]))
        .count()
        .get_result(conn)
}

/// How many category changes since `since`.
pub fn count_category_changes(conn: &mut Conn, since: i64) -> QueryResult<i64> {
    e::table
        .filter(e::field.eq("category"))
        .filter(e::at.ge(since))
        .count()
        .get_result(conn)
}

/// Live templates rated YELLOW or RED, most recently changed first.
pub fn quality_down(conn: &mut Conn, limit: i64) -> QueryResult<Vec<AttentionRow>> {
    t::table
        .inner_join(a::table)
        .filter(t::deleted_at.is_null())
        .filter(t::quality.eq_any(["YELLOW", "RED"]))
        .order(t::last_changed_at.desc())
        .limit(limit)
        .select(COLUMNS)
        .load(conn)
}

/// One template by row id.
pub fn one(conn: &mut Conn, row_id: i32) -> QueryResult<Option<AttentionRow>> {
    t::table
        .inner_join(a::table)
        .filter(t::id.eq(row_id))
        .select(COLUMNS)
        .first(conn)
        .optional()
}

/// A category change, announced or done.
#[derive(Queryable, Debug, Clone)]
pub struct CategoryChange {
    pub row_id: i32,
    pub from: Option<String>,
    pub to: String,
    pub at: i64,
    pub reason: Option<String>,
}

/// Category changes since `since`, newest first.
pub fn category_changes(
    conn: &mut Conn,
    since: i64,
    limit: i64,
) -> QueryResult<Vec<CategoryChange>> {
    e::table
        .filter(e::field.eq("category"))
        .filter(e::at.ge(since))
        .order(e::at.desc())
        .limit(limit)
        .select((e::template_id, e::old_value, e::new_value, e::at, e::reason))
        .load(conn)
}

/// One change in the feed, with its template and account.
#[derive(Queryable, Debug, Clone)]
pub struct FeedRow {
    pub at: i64,
    pub field: String,
    pub from: Option<String>,
    pub to: String,
    pub source: String,
    pub template_id: String,
    pub account: String,
    pub name: String,
    pub language: String,
}

/// The newest changes of existing templates (first sightings left out).
pub fn feed(conn: &mut Conn, limit: i64) -> QueryResult<Vec<FeedRow>> {
    e::table
        .inner_join(t::table.inner_join(a::table))
        .filter(e::old_value.is_not_null())
        // Newest by when it happened: a webhook can report a change older than the last one
        // recorded.
        .order((e::at.desc(), e::id.desc()))
        .limit(limit)
        .select((
            e::at,
            e::field,
            e::old_value,
            e::new_value,
            e::source,
            t::template_id,
            a::name,
            t::name,
            t::language,
        ))
        .load(conn)
}

/// (status, live templates) of an account.
pub fn status_counts(conn: &mut Conn, account_id: i32) -> QueryResult<Vec<(String, i64)>> {
    t::table
        .filter(t::account_id.eq(account_id))
        .filter(t::deleted_at.is_null())
        .group_by(t::status)
        .select((t::status, diesel::dsl::count_star()))
        .load(conn)
}

/// (name, language, first seen) of every live template under review, longest waiting first.
pub fn under_review(conn: &mut Conn) -> QueryResult<Vec<(String, String, i64)>> {
    t::table
        .filter(t::deleted_at.is_null())
        .filter(t::status.eq_any(["PENDING", "IN_APPEAL"]))
        .order(t::first_seen_at)
        .select((t::name, t::language, t::first_seen_at))
        .load(conn)
}
