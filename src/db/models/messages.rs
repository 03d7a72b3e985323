//! Messages as an export reads them: by UTC day, optionally one account's or some templates',
//! in pages by id so a million rows never sit in memory at once.

use diesel::prelude::*;

use crate::db::schema::{accounts, messages, templates};

/// Which messages: a range of days (`YYYY-MM-DD`, both included), an account, some templates.
#[derive(Debug, Clone, Default)]
pub struct MessageScope {
    pub from: String,
    pub to: String,
    pub account: Option<String>,
    pub template_rows: Option<Vec<i32>>,
}

/// One message with its account's and template's names.
#[derive(Queryable, Debug, Clone)]
pub struct MessageLine {
    pub id: i32,
    pub wamid: String,
    pub account: Option<String>,
    pub template: Option<String>,
    pub template_id: Option<String>,
    pub language: Option<String>,
    /// The pricing category the status webhook reported.
    pub category: Option<String>,
    pub recipient: String,
    pub day: String,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub clicked_at: Option<i64>,
    pub error_code: Option<i32>,
    pub error_title: Option<String>,
    /// The template's category, where the message's template is known.
    pub template_category: Option<String>,
}

/// How many messages the scope holds.
pub fn count(conn: &mut SqliteConnection, s: &MessageScope) -> QueryResult<i64> {
    let mut c = messages::table
        .left_join(accounts::table)
        .filter(messages::day.ge(&s.from))
        .filter(messages::day.le(&s.to))
        .into_boxed();
    if let Some(a) = &s.account {
        c = c.filter(accounts::name.eq(a.clone()));
    }
    if let Some(ts) = &s.template_rows {
        c = c.filter(messages::template_row.eq_any(ts.clone()));
    }
    c.count().get_result(conn)
}

/// Up to `limit` messages of the scope with ids above `after`, by id.
pub fn page(
    conn: &mut SqliteConnection,
    s: &MessageScope,
    after: i32,
    limit: i64,
) -> QueryResult<Vec<MessageLine>> {
    let mut page = messages::table
        .left_join(accounts::table)
        .left_join(templates::table)
        .filter(messages::id.gt(after))
        .filter(messages::day.ge(&s.from))
        .filter(messages::day.le(&s.to))
        .order(messages::id)
        .limit(limit)
        .select((
            messages::id,
            messages::wamid,
            accounts::name.nullable(),
            templates::name.nullable(),
            templates::template_id.nullable(),
            templates::language.nullable(),
            messages::category,
            messages::recipient,
            messages::day,
            messages::sent_at,
            messages::delivered_at,
            messages::read_at,
            messages::failed_at,
            messages::clicked_at,
            messages::error_code,
            messages::error_title,
            templates::category.nullable(),
        ))
        .into_boxed();
    if let Some(a) = &s.account {
        page = page.filter(accounts::name.eq(a.clone()));
    }
    if let Some(ts) = &s.template_rows {
        page = page.filter(messages::template_row.eq_any(ts.clone()));
    }
    page.load(conn)
}
