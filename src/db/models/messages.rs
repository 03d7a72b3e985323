//! Messages as an export reads them (by UTC day, optionally one account's or some templates',
//! in pages by id so a million rows never sit in memory at once), and messages that arrived
//! before their template was known, attributed when it is.

use crate::db::Conn;
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
pub fn count(conn: &mut Conn, s: &MessageScope) -> QueryResult<i64> {
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
    conn: &mut Conn,
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

/// The reference a message keeps to a template by id (Meta's `biz_opaque_callback_data`).
pub fn reference_by_id(template_id: &str) -> String {
    format!("id:{template_id}")
}

/// The reference a message keeps to a template by name and language (Kapso's payloads);
/// `language` as the REST API writes it (`en_US`).
pub fn reference_by_name(name: &str, language: &str) -> String {
    format!("name:{name}/{language}")
}

/// Whether any message of the account waits for its template.
pub fn any_waiting(conn: &mut Conn, account_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        messages::table
            .filter(messages::account_id.eq(account_id))
            .filter(messages::template_row.is_null())
            .filter(messages::template_ref.is_not_null()),
    ))
    .get_result(conn)
}

/// Attributes the messages of `account_id` that named this template before it was known, and
/// adds what each had reached to the template's roll-up (counters and error codes), in the
/// caller's transaction. Returns how many were attributed.
pub fn attribute_waiting(
    conn: &mut Conn,
    account_id: i32,
    template_row: i32,
    template_id: &str,
    name: &str,
    language: &str,
) -> QueryResult<usize> {
    use super::usage::{self, Counts, MessageRow, Progress};
    let refs = [
        reference_by_id(template_id),
        reference_by_name(name, language),
    ];
    let waiting: Vec<MessageRow> = messages::table
        .filter(messages::account_id.eq(account_id))
        .filter(messages::template_row.is_null())
        .filter(messages::template_ref.eq_any(&refs))
        .select(MessageRow::as_select())
        .load(conn)?;
    for m in &waiting {
        diesel::update(messages::table.find(m.id))
            .set(messages::template_row.eq(template_row))
            .execute(conn)?;
        let reached = Counts::between(&Progress::default(), &m.progress());
        usage::add_observed(conn, template_row, &m.day, reached)?;
        if reached.delivered > 0 {
            let country = crate::pricing::country_of(&m.recipient);
            let said = m.category.as_deref().unwrap_or("").to_ascii_uppercase();
            super::countries::add(
                conn,
                template_row,
                &m.day,
                &country,
                &said,
                reached.delivered,
            )?;
        }
        if reached.failed > 0 {
            usage::add_error(conn, template_row, &m.day, m.error_code.unwrap_or(0), 1)?;
        }
    }
    Ok(waiting.len())
}
