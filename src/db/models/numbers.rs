//! Phone number health (`phone_numbers`, `portfolio_limits`) and its history
//! (`number_events`): written by the usage pull and the `phone_number_quality_update`
//! webhook, one event per real change.

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    accounts as a, number_events as e, phone_numbers as p, portfolio_limits as l,
};
use crate::domain::number::NumberHealth;

/// A stored number.
#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = p)]
pub struct NumberRow {
    #[serde(skip)]
    pub account_id: i32,
    #[serde(rename = "id")]
    pub phone_number_id: String,
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    pub quality_rating: Option<String>,
    pub name_status: Option<String>,
    /// Meta's `throughput.level` (`STANDARD`, `HIGH`, …), given as Meta gives it.
    #[serde(serialize_with = "throughput_level")]
    pub throughput: Option<String>,
    /// When any of it last changed.
    #[serde(serialize_with = "crate::clock::as_rfc3339")]
    pub updated_at: i64,
}

/// `{"level": "STANDARD"}`, the shape of Meta's `throughput` field.
fn throughput_level<S: serde::Serializer>(level: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match level {
        Some(level) => serde_json::json!({ "level": level }).serialize(s),
        None => s.serialize_none(),
    }
}

/// A stored change.
#[derive(Queryable, Selectable, Debug, Clone, Serialize)]
#[diesel(table_name = e)]
pub struct NumberEvent {
    #[serde(skip)]
    pub id: i32,
    #[serde(skip)]
    pub account_id: i32,
    /// Empty for the portfolio's messaging limit.
    pub phone_number_id: String,
    #[serde(serialize_with = "crate::clock::as_rfc3339")]
    pub at: i64,
    pub field: String,
    #[serde(rename = "from")]
    pub old_value: Option<String>,
    #[serde(rename = "to")]
    pub new_value: String,
    pub source: String,
}

/// Appends one change: (field, old value, new value).
fn event(
    conn: &mut Conn,
    account_id: i32,
    pnid: &str,
    at: i64,
    (field, old, new): (&str, Option<String>, &str),
    source: &str,
) -> QueryResult<()> {
    diesel::insert_into(e::table)
        .values((
            e::account_id.eq(account_id),
            e::phone_number_id.eq(pnid),
            e::at.eq(at),
            e::field.eq(field),
            e::old_value.eq(old),
            e::new_value.eq(new),
            e::source.eq(source),
        ))
        .execute(conn)
        .map(drop)
}

/// Stores what Meta now says of a number: one event per field that changed (fields Meta left
/// out stay), and the portfolio's limit. Returns the events appended.
pub fn record(
    conn: &mut Conn,
    account_id: i32,
    h: &NumberHealth,
    now: i64,
    source: &str,
) -> QueryResult<usize> {
    let old: Option<NumberRow> = p::table
        .filter(p::account_id.eq(account_id))
        .filter(p::phone_number_id.eq(&h.id))
        .select(NumberRow::as_select())
        .first(conn)
        .optional()?;
    let mut n = 0;
    let fields = [
        (
            "quality_rating",
            old.as_ref().and_then(|o| o.quality_rating.clone()),
            &h.quality_rating,
        ),
        (
            "name_status",
            old.as_ref().and_then(|o| o.name_status.clone()),
            &h.name_status,
        ),
        (
            "throughput",
            old.as_ref().and_then(|o| o.throughput.clone()),
            &h.throughput,
        ),
    ];
    for (field, was, now_is) in fields {
        if let Some(v) = now_is.as_deref().filter(|v| was.as_deref() != Some(*v)) {
            event(conn, account_id, &h.id, now, (field, was, v), source)?;
            n += 1;
        }
    }
    let keep = |new: &Option<String>, old: Option<String>| new.clone().or(old);
    let same = |new: &Option<String>, old: Option<&String>| new.is_none() || new.as_ref() == old;
    let unchanged = old.as_ref().is_some_and(|o| {
        same(&h.display_phone_number, o.display_phone_number.as_ref())
            && same(&h.verified_name, o.verified_name.as_ref())
            && n == 0
    });
    let row = (
        p::account_id.eq(account_id),
        p::phone_number_id.eq(&h.id),
        p::display_phone_number.eq(keep(
            &h.display_phone_number,
            old.as_ref().and_then(|o| o.display_phone_number.clone()),
        )),
        p::verified_name.eq(keep(
            &h.verified_name,
            old.as_ref().and_then(|o| o.verified_name.clone()),
        )),
        p::quality_rating.eq(keep(
            &h.quality_rating,
            old.as_ref().and_then(|o| o.quality_rating.clone()),
        )),
        p::name_status.eq(keep(
            &h.name_status,
            old.as_ref().and_then(|o| o.name_status.clone()),
        )),
        p::throughput.eq(keep(
            &h.throughput,
            old.as_ref().and_then(|o| o.throughput.clone()),
        )),
        p::updated_at.eq(now),
    );
    // A pull that finds nothing new writes nothing.
    if !unchanged {
        crate::on_backend!(conn, bc => diesel::insert_into(p::table)
            .values(row.clone())
            .on_conflict((p::account_id, p::phone_number_id))
            .do_update()
            .set(row)
            .execute(bc))?;
    }
    if let Some(limit) = &h.messaging_limit {
        n += usize::from(set_limit(conn, account_id, limit, now, source)?);
    }
    Ok(n)
}

/// Stores the portfolio's messaging limit; whether it changed (an event was appended).
pub fn set_limit(
    conn: &mut Conn,
    account_id: i32,
    limit: &str,
    now: i64,
    source: &str,
) -> QueryResult<bool> {
    let old: Option<String> = l::table
        .find(account_id)
        .select(l::messaging_limit)
        .first(conn)
        .optional()?;
    if old.as_deref() == Some(limit) {
        return Ok(false);
    }
    let row = (
        l::account_id.eq(account_id),
        l::messaging_limit.eq(limit),
        l::updated_at.eq(now),
    );
    crate::on_backend!(conn, bc => diesel::insert_into(l::table)
        .values(row)
        .on_conflict(l::account_id)
        .do_update()
        .set(row)
        .execute(bc))?;
    event(
        conn,
        account_id,
        "",
        now,
        ("messaging_limit", old, limit),
        source,
    )?;
    Ok(true)
}

/// Records what a `phone_number_quality_update` said (its `event`, e.g. FLAGGED or
/// ONBOARDING) for the account's number shown as `display` (matched on digits), once per
/// repeat.
pub fn webhook_event(
    conn: &mut Conn,
    account_id: i32,
    display: &str,
    what: &str,
    now: i64,
) -> QueryResult<bool> {
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    let want = digits(display);
    let numbers: Vec<(String, Option<String>)> = p::table
        .filter(p::account_id.eq(account_id))
        .select((p::phone_number_id, p::display_phone_number))
        .load(conn)?;
    let pnid = numbers
        .into_iter()
        .find(|(_, d)| {
            d.as_deref()
                .map(digits)
                .is_some_and(|d| !d.is_empty() && d == want)
        })
        .map_or_else(|| display.to_string(), |(id, _)| id);
    let last: Option<String> = e::table
        .filter(e::account_id.eq(account_id))
        .filter(e::phone_number_id.eq(&pnid))
        .filter(e::field.eq("event"))
        .order(e::id.desc())
        .select(e::new_value)
        .first(conn)
        .optional()?;
    if last.as_deref() == Some(what) {
        return Ok(false);
    }
    event(
        conn,
        account_id,
        &pnid,
        now,
        ("event", None, what),
        "webhook",
    )?;
    Ok(true)
}

/// An account's numbers, its portfolio limit, and its latest changes (newest first).
pub fn of_account(
    conn: &mut Conn,
    account_id: i32,
    history: i64,
) -> QueryResult<(Vec<NumberRow>, Option<String>, Vec<NumberEvent>)> {
    let numbers = p::table
        .filter(p::account_id.eq(account_id))
        .order(p::phone_number_id)
        .select(NumberRow::as_select())
        .load(conn)?;
    let limit = l::table
        .find(account_id)
        .select(l::messaging_limit)
        .first(conn)
        .optional()?;
    let events = e::table
        .filter(e::account_id.eq(account_id))
        .order(e::id.desc())
        .limit(history)
        .select(NumberEvent::as_select())
        .load(conn)?;
    Ok((numbers, limit, events))
}

/// Events after id `after`, oldest first, with the account's name (the notifier's cursor).
pub fn after(conn: &mut Conn, after: i32, limit: i64) -> QueryResult<Vec<(NumberEvent, String)>> {
    e::table
        .inner_join(a::table)
        .filter(e::id.gt(after))
        .order(e::id.asc())
        .limit(limit)
        .select((NumberEvent::as_select(), a::name))
        .load(conn)
}

/// The newest event id before `at` (where a new notifier starts).
pub fn last_id_before(conn: &mut Conn, at: i64) -> QueryResult<i32> {
    e::table
        .filter(e::at.lt(at))
        .select(diesel::dsl::max(e::id))
        .first::<Option<i32>>(conn)
        .map(|x| x.unwrap_or(0))
}

/// A number's display form, for messages: its display number, else its id.
pub fn display_of(conn: &mut Conn, account_id: i32, pnid: &str) -> QueryResult<String> {
    let d: Option<Option<String>> = p::table
        .filter(p::account_id.eq(account_id))
        .filter(p::phone_number_id.eq(pnid))
        .select(p::display_phone_number)
        .first(conn)
        .optional()?;
    Ok(d.flatten().unwrap_or_else(|| pnid.to_string()))
}
