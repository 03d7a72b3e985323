//! Messages, their daily roll-up, contacts (the 24-hour window) and webhook receipts.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::{
    contacts, messages, template_daily_stats as stats, templates, webhook_receipts,
};

/// What the webhook writer reads of a stored message: its identity, day and progress, not the
/// text columns it never uses (each would be copied out for every status).
#[derive(Queryable, Selectable, Debug, Clone, PartialEq)]
#[diesel(table_name = messages)]
pub struct MessageRow {
    pub id: i32,
    pub account_id: Option<i32>,
    pub recipient: String,
    pub template_row: Option<i32>,
    pub category: Option<String>,
    pub day: String,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub clicked_at: Option<i64>,
    pub error_code: Option<i32>,
    pub error_title: Option<String>,
    pub template_ref: Option<String>,
}

/// A message to insert.
#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = messages)]
pub struct NewMessage {
    pub wamid: String,
    pub account_id: Option<i32>,
    pub phone_number_id: String,
    pub template_row: Option<i32>,
    pub recipient: String,
    pub category: Option<String>,
    pub day: String,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub clicked_at: Option<i64>,
    pub error_code: Option<i32>,
    pub error_title: Option<String>,
    pub origin: String,
    pub created_at: i64,
    /// The template the webhook named, while that template is not known (see
    /// [`super::messages::reference`]).
    pub template_ref: Option<String>,
}

/// Inserts a message unless its wamid is already there (a status webhook can overtake the
/// record of a send).
pub fn insert_if_new(conn: &mut Conn, m: &NewMessage) -> QueryResult<()> {
    crate::on_backend!(conn, bc => diesel::insert_into(messages::table)
        .values(m)
        .on_conflict_do_nothing()
        .execute(bc))
    .map(|_| ())
}

/// The status columns of a message, which only ever go from NULL to a time.
#[derive(AsChangeset, Debug, Clone, Default, PartialEq)]
#[diesel(table_name = messages, treat_none_as_null = true)]
pub struct Progress {
    pub template_row: Option<i32>,
    pub category: Option<String>,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub failed_at: Option<i64>,
    pub clicked_at: Option<i64>,
    pub error_code: Option<i32>,
    pub error_title: Option<String>,
}

impl MessageRow {
    /// The current progress.
    pub fn progress(&self) -> Progress {
        Progress {
            template_row: self.template_row,
            category: self.category.clone(),
            sent_at: self.sent_at,
            delivered_at: self.delivered_at,
            read_at: self.read_at,
            failed_at: self.failed_at,
            clicked_at: self.clicked_at,
            error_code: self.error_code,
            error_title: self.error_title.clone(),
        }
    }
}

/// The message with this wamid.
pub fn by_wamid(conn: &mut Conn, wamid: &str) -> QueryResult<Option<MessageRow>> {
    messages::table
        .filter(messages::wamid.eq(wamid))
        .select(MessageRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a message unless its wamid is known; whether it was new.
pub fn insert_new(conn: &mut Conn, m: &NewMessage) -> QueryResult<bool> {
    crate::db::prepared::InsertMessage(m)
        .execute(conn)
        .map(|n| n == 1)
}

/// Inserts a message.
pub fn insert(conn: &mut Conn, m: &NewMessage) -> QueryResult<()> {
    diesel::insert_into(messages::table)
        .values(m)
        .execute(conn)
        .map(|_| ())
}

/// Keeps the template a message's later status named, while it is not known.
pub fn set_template_ref(conn: &mut Conn, id: i32, reference: &str) -> QueryResult<()> {
    diesel::update(messages::table.find(id))
        .set(messages::template_ref.eq(reference))
        .execute(conn)
        .map(|_| ())
}

/// Moves a message to another UTC day (a stub stored before its send time was known).
pub fn set_day(conn: &mut Conn, id: i32, day: &str) -> QueryResult<()> {
    diesel::update(messages::table.find(id))
        .set(messages::day.eq(day))
        .execute(conn)
        .map(|_| ())
}

/// Writes a message's progress.
pub fn update(conn: &mut Conn, id: i32, p: &Progress) -> QueryResult<()> {
    crate::db::prepared::UpdateProgress {
        id,
        progress: p.clone(),
    }
    .execute(conn)
    .map(|_| ())
}

/// Counter changes for one template and day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub failed: i64,
}

impl Counts {
    /// What moving from `old` to `new` adds: one for each status reached for the first time.
    pub fn between(old: &Progress, new: &Progress) -> Counts {
        let step = |a: Option<i64>, b: Option<i64>| i64::from(a.is_none() && b.is_some());
        Counts {
            sent: step(old.sent_at, new.sent_at),
            delivered: step(old.delivered_at, new.delivered_at),
            read: step(old.read_at, new.read_at),
            clicked: step(old.clicked_at, new.clicked_at),
            failed: step(old.failed_at, new.failed_at),
        }
    }

    /// Whether nothing changes.
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

/// Adds `c` to a template's observed counters for `day`.
pub fn add_observed(conn: &mut Conn, template_row: i32, day: &str, c: Counts) -> QueryResult<()> {
    crate::db::prepared::AddObserved {
        template_row,
        day: day.to_string(),
        counts: c,
    }
    .execute(conn)
    .map(|_| ())
}

/// Adds `n` failures with `code` to a template's day.
pub fn add_error(
    conn: &mut Conn,
    template_row: i32,
    day: &str,
    code: i32,
    n: i64,
) -> QueryResult<()> {
    use crate::db::schema::template_daily_errors as e;
    crate::on_backend!(conn, bc => diesel::insert_into(e::table)
        .values((
            e::template_row.eq(template_row),
            e::day.eq(day),
            e::error_code.eq(code),
            e::failed.eq(n),
        ))
        .on_conflict((e::template_row, e::day, e::error_code))
        .do_update()
        .set(e::failed.eq(e::failed + excluded(e::failed)))
        .execute(bc))
    .map(|_| ())
}

/// Sets a template's Meta-reported numbers for `day` (Meta's figures replace, not add).
/// Returns whether anything changed; unchanged figures are not rewritten.
pub fn set_meta(
    conn: &mut Conn,
    template_row: i32,
    day: &str,
    c: Counts,
    cost: f64,
) -> QueryResult<bool> {
    let current: Option<(i64, i64, i64, i64, f64)> = stats::table
        .filter(stats::template_row.eq(template_row))
        .filter(stats::day.eq(day))
        .filter(stats::origin.eq("meta"))
        .select((
            stats::sent,
            stats::delivered,
            stats::read,
            stats::clicked,
            stats::cost,
        ))
        .first(conn)
        .optional()?;
    if current == Some((c.sent, c.delivered, c.read, c.clicked, cost)) {
        return Ok(false);
    }
    // An upsert, not REPLACE: REPLACE deletes without firing delete triggers, and the
    // account totals' triggers must see the old figures.
    crate::on_backend!(conn, bc => diesel::insert_into(stats::table)
        .values((
            stats::template_row.eq(template_row),
            stats::day.eq(day),
            stats::origin.eq("meta"),
            stats::sent.eq(c.sent),
            stats::delivered.eq(c.delivered),
            stats::read.eq(c.read),
            stats::clicked.eq(c.clicked),
            stats::failed.eq(c.failed),
            stats::cost.eq(cost),
        ))
        .on_conflict((stats::template_row, stats::day, stats::origin))
        .do_update()
        .set((
            stats::sent.eq(excluded(stats::sent)),
            stats::delivered.eq(excluded(stats::delivered)),
            stats::read.eq(excluded(stats::read)),
            stats::clicked.eq(excluded(stats::clicked)),
            stats::failed.eq(excluded(stats::failed)),
            stats::cost.eq(excluded(stats::cost)),
        ))
        .execute(bc))?;
    Ok(true)
}

/// Records an inbound message time for the 24-hour window (keeps the latest).
pub fn touch_contact(conn: &mut Conn, pnid: &str, wa_id: &str, at: i64) -> QueryResult<()> {
    use diesel::sql_types::{BigInt, Text};
    crate::db::sql(
        conn,
        "INSERT INTO contacts (phone_number_id, wa_id, last_inbound_at) VALUES (?, ?, ?) \
         ON CONFLICT (phone_number_id, wa_id) \
         DO UPDATE SET last_inbound_at = CASE \
         WHEN excluded.last_inbound_at > contacts.last_inbound_at THEN excluded.last_inbound_at \
         ELSE contacts.last_inbound_at END",
    )
    .bind::<Text, _>(pnid)
    .bind::<Text, _>(wa_id)
    .bind::<BigInt, _>(at)
    .execute(conn)
    .map(|_| ())
}

/// Records an inbound message from a customer known by a phone number (`wa_id`), a
/// business-scoped user id, or both (which links them): every id the customer is known by
/// gets the window.
pub fn touch_customer(
    conn: &mut Conn,
    pnid: &str,
    wa_id: Option<&str>,
    user_id: Option<&str>,
    at: i64,
) -> QueryResult<()> {
    use crate::db::schema::contact_links as l;
    let mut ids: Vec<String> = wa_id
        .into_iter()
        .chain(user_id)
        .map(str::to_string)
        .collect();
    match (wa_id, user_id) {
        (Some(w), Some(u)) => {
            crate::on_backend!(conn, bc => diesel::insert_into(l::table)
                .values((
                    l::phone_number_id.eq(pnid),
                    l::user_id.eq(u),
                    l::wa_id.eq(w),
                ))
                .on_conflict((l::phone_number_id, l::user_id))
                .do_update()
                .set(l::wa_id.eq(w))
                .execute(bc))?;
        }
        (None, Some(u)) => ids.extend(
            l::table
                .filter(l::phone_number_id.eq(pnid))
                .filter(l::user_id.eq(u))
                .select(l::wa_id)
                .load::<String>(conn)?,
        ),
        (Some(w), None) => ids.extend(
            l::table
                .filter(l::phone_number_id.eq(pnid))
                .filter(l::wa_id.eq(w))
                .select(l::user_id)
                .load::<String>(conn)?,
        ),
        (None, None) => {}
    }
    for id in ids {
        touch_contact(conn, pnid, &id, at)?;
    }
    Ok(())
}

/// The last inbound message time from `wa_id` (a phone number or a business-scoped user id) to
/// `pnid`.
pub fn last_inbound(conn: &mut Conn, pnid: &str, wa_id: &str) -> QueryResult<Option<i64>> {
    contacts::table
        .filter(contacts::phone_number_id.eq(pnid))
        .filter(contacts::wa_id.eq(wa_id))
        .select(contacts::last_inbound_at)
        .first(conn)
        .optional()
}

/// Records a delivery key; `false` if it was already recorded (a retry or duplicate).
pub fn first_receipt(conn: &mut Conn, key: &str, now: i64) -> QueryResult<bool> {
    let n = crate::on_backend!(conn, bc => diesel::insert_into(webhook_receipts::table)
        .values((
            webhook_receipts::key.eq(key),
            webhook_receipts::received_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(bc))?;
    Ok(n == 1)
}

/// Records whether Meta gives an account template analytics, and how the last pull went.
pub fn set_analytics_state(
    conn: &mut Conn,
    account_id: i32,
    state: &str,
    message: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::analytics_state as a;
    let current: Option<(String, Option<String>)> = a::table
        .find(account_id)
        .select((a::state, a::message))
        .first(conn)
        .optional()?;
    if current
        .as_ref()
        .is_some_and(|(s, m)| s == state && m.as_deref() == message)
    {
        return Ok(());
    }
    let row = (
        a::state.eq(state),
        a::message.eq(message),
        a::checked_at.eq(now),
    );
    crate::on_backend!(conn, bc => diesel::insert_into(a::table)
        .values((a::account_id.eq(account_id), row))
        .on_conflict(a::account_id)
        .do_update()
        .set(row)
        .execute(bc))
    .map(|_| ())
}

/// Records the currency Meta reports an account's cost in.
pub fn set_currency(conn: &mut Conn, account_id: i32, currency: &str) -> QueryResult<()> {
    use crate::db::schema::analytics_state as a;
    diesel::update(a::table.find(account_id))
        .filter(a::currency.is_null().or(a::currency.ne(currency)))
        .set(a::currency.eq(currency))
        .execute(conn)
        .map(|_| ())
}

/// The currency of every account that has one, by account name.
pub fn currencies(conn: &mut Conn) -> QueryResult<std::collections::HashMap<String, String>> {
    use crate::db::schema::{accounts, analytics_state as a};
    let rows: Vec<(String, Option<String>)> = a::table
        .inner_join(accounts::table)
        .select((accounts::name, a::currency))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(n, c)| c.map(|c| (n, c)))
        .collect())
}

/// An account's analytics state: (state, message, checked at).
pub fn analytics_state(
    conn: &mut Conn,
    account_id: i32,
) -> QueryResult<Option<(String, Option<String>, i64)>> {
    use crate::db::schema::analytics_state as a;
    a::table
        .find(account_id)
        .select((a::state, a::message, a::checked_at))
        .first(conn)
        .optional()
}

/// Where the last message-history pull of a phone number ended.
pub fn history_since(conn: &mut Conn, account_id: i32, pnid: &str) -> QueryResult<Option<i64>> {
    use crate::db::schema::usage_cursors as u;
    u::table
        .find((account_id, pnid))
        .select(u::since)
        .first(conn)
        .optional()
}

/// Moves a phone number's history mark forward (never back).
pub fn set_history_since(
    conn: &mut Conn,
    account_id: i32,
    pnid: &str,
    since: i64,
    now: i64,
) -> QueryResult<()> {
    use crate::db::schema::usage_cursors as u;
    if history_since(conn, account_id, pnid)?.is_some_and(|s| s >= since) {
        return Ok(());
    }
    crate::on_backend!(conn, bc => diesel::insert_into(u::table)
        .values((
            u::account_id.eq(account_id),
            u::phone_number_id.eq(pnid),
            u::since.eq(since),
            u::updated_at.eq(now),
        ))
        .on_conflict((u::account_id, u::phone_number_id))
        .do_update()
        .set((u::since.eq(since), u::updated_at.eq(now)))
        .execute(bc))
    .map(|_| ())
}

/// The templates of an account that can have been sent (live, and approved at some point):
/// (row id, WABA, Meta's id).
pub fn sendable_templates(
    conn: &mut Conn,
    account_id: i32,
) -> QueryResult<Vec<(i32, String, String)>> {
    templates::table
        .filter(templates::account_id.eq(account_id))
        .filter(templates::deleted_at.is_null())
        // Never-approved templates cannot have been sent.
        .filter(templates::status.ne_all(["PENDING", "REJECTED", "IN_APPEAL"]))
        .select((templates::id, templates::waba_id, templates::template_id))
        .load(conn)
}

/// Whether Meta's analytics were ever stored for the account.
pub fn has_meta_figures(conn: &mut Conn, account_id: i32) -> QueryResult<bool> {
    let n: i64 = stats::table
        .inner_join(templates::table)
        .filter(templates::account_id.eq(account_id))
        .filter(stats::origin.eq("meta"))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}
