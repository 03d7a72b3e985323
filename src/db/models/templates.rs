//! Templates (current state) and their append-only event history.

use crate::db::Conn;
use diesel::prelude::*;

pub use super::events::{
    events_of, insert_events, last_rejection_detail, latest_event, pauses, status_before_archiving,
    Event, NewEvent,
};
use crate::db::schema::{accounts, templates};
use crate::domain::RemoteTemplate;

mod list;
pub use list::*;

/// A stored template.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone, PartialEq)]
#[diesel(table_name = templates)]
pub struct TemplateRow {
    pub id: i32,
    pub account_id: i32,
    pub waba_id: String,
    pub template_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub previous_category: Option<String>,
    pub correct_category: Option<String>,
    pub sub_category: Option<String>,
    pub status: String,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub parameter_format: Option<String>,
    pub components: String,
    pub first_seen_at: i64,
    pub last_changed_at: i64,
    pub deleted_at: Option<i64>,
}

/// The columns a source reports, as stored.
#[derive(Insertable, AsChangeset, Debug, Clone, PartialEq)]
#[diesel(table_name = templates, treat_none_as_null = true)]
pub struct TemplateState {
    pub waba_id: String,
    pub template_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub previous_category: Option<String>,
    pub correct_category: Option<String>,
    pub sub_category: Option<String>,
    pub status: String,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub parameter_format: Option<String>,
    pub components: String,
}

impl From<&RemoteTemplate> for TemplateState {
    fn from(t: &RemoteTemplate) -> Self {
        TemplateState {
            waba_id: t.waba_id.clone(),
            template_id: t.id.clone(),
            name: t.name.clone(),
            language: t.language.clone(),
            category: t.category.as_str().to_string(),
            previous_category: t.previous_category.as_ref().map(|c| c.as_str().to_string()),
            correct_category: t.correct_category.as_ref().map(|c| c.as_str().to_string()),
            sub_category: t.sub_category.clone(),
            status: t.status.as_str().to_string(),
            quality: t.quality.as_ref().map(|q| q.as_str().to_string()),
            rejected_reason: t.rejected_reason.clone(),
            parameter_format: t.parameter_format.clone(),
            // serde_json's map is ordered by key, so equal JSON serializes to equal text.
            components: t.components.to_string(),
        }
    }
}

impl TemplateRow {
    /// The stored columns a source reports, for comparison with a fresh [`TemplateState`].
    pub fn state(&self) -> TemplateState {
        TemplateState {
            waba_id: self.waba_id.clone(),
            template_id: self.template_id.clone(),
            name: self.name.clone(),
            language: self.language.clone(),
            category: self.category.clone(),
            previous_category: self.previous_category.clone(),
            correct_category: self.correct_category.clone(),
            sub_category: self.sub_category.clone(),
            status: self.status.clone(),
            quality: self.quality.clone(),
            rejected_reason: self.rejected_reason.clone(),
            parameter_format: self.parameter_format.clone(),
            components: self.components.clone(),
        }
    }
}

/// Every template of an account, deleted ones included.
pub fn for_account(conn: &mut Conn, account_id: i32) -> QueryResult<Vec<TemplateRow>> {
    templates::table
        .filter(templates::account_id.eq(account_id))
        .select(TemplateRow::as_select())
        .load(conn)
}

/// What the deletion pass needs of a live template: row id, Meta id, status, name, language,
/// last change. (Loading whole rows, components included, would dominate a re-sync.)
pub type LiveRow = (i32, String, String, String, String, i64);

/// The live (not deleted) templates of an account, lightly.
pub fn live_for_account(conn: &mut Conn, account_id: i32) -> QueryResult<Vec<LiveRow>> {
    templates::table
        .filter(templates::account_id.eq(account_id))
        .filter(templates::deleted_at.is_null())
        .select((
            templates::id,
            templates::template_id,
            templates::status,
            templates::name,
            templates::language,
            templates::last_changed_at,
        ))
        .load(conn)
}

/// The templates of an account with these Meta ids.
pub fn by_template_ids<'a>(
    conn: &mut Conn,
    account_id: i32,
    ids: impl Iterator<Item = &'a str>,
) -> QueryResult<Vec<TemplateRow>> {
    let ids: Vec<&str> = ids.collect();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        out.extend(
            templates::table
                .filter(templates::account_id.eq(account_id))
                .filter(templates::template_id.eq_any(chunk))
                .select(TemplateRow::as_select())
                .load(conn)?,
        );
    }
    Ok(out)
}

/// Inserts a template first seen at `now`; returns its row id.
pub fn insert(
    conn: &mut Conn,
    account_id: i32,
    state: &TemplateState,
    now: i64,
) -> QueryResult<i32> {
    diesel::insert_into(templates::table)
        .values((
            state,
            templates::account_id.eq(account_id),
            templates::first_seen_at.eq(now),
            templates::last_changed_at.eq(now),
        ))
        .returning(templates::id)
        .get_result(conn)
}

/// Inserts new templates of an account, a few hundred per statement: a full sync's first run
/// inserts a page at a time, and on PostgreSQL each statement is a round trip (with its
/// data-version trigger). Returns each new row's id with Meta's template id, in no set order.
pub fn insert_many(
    conn: &mut Conn,
    account_id: i32,
    states: &[TemplateState],
    now: i64,
) -> QueryResult<Vec<(i32, String)>> {
    let mut out = Vec::with_capacity(states.len());
    // 16 values a row: 200 rows stay far below both backends' limits on bound parameters.
    for chunk in states.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|state| {
                (
                    state,
                    templates::account_id.eq(account_id),
                    templates::first_seen_at.eq(now),
                    templates::last_changed_at.eq(now),
                )
            })
            .collect();
        let ids: Vec<(i32, String)> = crate::on_backend!(conn, bc => diesel::insert_into(templates::table)
            .values(rows)
            .returning((templates::id, templates::template_id))
            .get_results(bc))?;
        out.extend(ids);
    }
    Ok(out)
}

/// Overwrites a template's reported state; clears the deleted mark.
pub fn update(conn: &mut Conn, id: i32, state: &TemplateState, now: i64) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            state,
            templates::last_changed_at.eq(now),
            templates::deleted_at.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks a template deleted (it stays, with its history).
pub fn mark_deleted(conn: &mut Conn, id: i32, now: i64) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::deleted_at.eq(Some(now)),
            templates::last_changed_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The template a webhook names: by Meta's id, else the live one with that name and language
/// (an empty name matches nothing).
pub fn find_by_id_or_name(
    conn: &mut Conn,
    account_id: i32,
    template_id: &str,
    name: &str,
    language: &str,
) -> QueryResult<Option<TemplateRow>> {
    let by_id = templates::table
        .filter(templates::account_id.eq(account_id))
        .filter(templates::template_id.eq(template_id))
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()?;
    if by_id.is_some() || name.is_empty() {
        return Ok(by_id);
    }
    templates::table
        .filter(templates::account_id.eq(account_id))
        .filter(templates::name.eq(name))
        .filter(templates::language.eq(language))
        .filter(templates::deleted_at.is_null())
        .select(TemplateRow::as_select())
        .first(conn)
        .optional()
}

/// The account of a WABA some template was seen in (Kapso accounts discover their WABAs).
pub fn account_of_waba(conn: &mut Conn, waba_id: &str) -> QueryResult<Option<i32>> {
    templates::table
        .filter(templates::waba_id.eq(waba_id))
        .select(templates::account_id)
        .first(conn)
        .optional()
}

/// Sets a template's status (and rejection reason); clears the deleted mark.
pub fn set_status(
    conn: &mut Conn,
    id: i32,
    status: &str,
    rejected_reason: Option<&str>,
    now: i64,
) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::status.eq(status),
            templates::rejected_reason.eq(rejected_reason),
            templates::last_changed_at.eq(now),
            templates::deleted_at.eq(None::<i64>),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Sets a template's quality rating.
pub fn set_quality(conn: &mut Conn, id: i32, quality: &str, now: i64) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::quality.eq(quality),
            templates::last_changed_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Stores a template's content after a components webhook.
pub fn set_components(conn: &mut Conn, id: i32, components: &str, now: i64) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::components.eq(components),
            templates::last_changed_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Records the category Meta announced it will move a template to.
pub fn set_correct_category(conn: &mut Conn, id: i32, correct: &str, now: i64) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::correct_category.eq(correct),
            templates::last_changed_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Moves a template to another category, keeping the one it had as `previous_category`.
pub fn set_category(
    conn: &mut Conn,
    id: i32,
    previous: &str,
    new: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::update(templates::table.find(id))
        .set((
            templates::previous_category.eq(previous),
            templates::category.eq(new),
            templates::correct_category.eq(None::<String>),
            templates::last_changed_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

/// A template with its account's name and source.
#[derive(Debug, Clone)]
pub struct WithAccount {
    pub row: TemplateRow,
    pub account: String,
    pub source: String,
}

/// The template with Meta's id `template_id`, deleted or not, with its account.
pub fn with_account(conn: &mut Conn, template_id: &str) -> QueryResult<Option<WithAccount>> {
    let found: Option<(TemplateRow, String, String)> = templates::table
        .inner_join(accounts::table)
        .filter(templates::template_id.eq(template_id))
        // A live template before a deleted one with the same id in another account.
        .order(templates::deleted_at.is_not_null())
        .select((TemplateRow::as_select(), accounts::name, accounts::source))
        .first(conn)
        .optional()?;
    Ok(found.map(|(row, account, source)| WithAccount {
        row,
        account,
        source,
    }))
}

/// How a page names a template: its ids, account, name and language.
#[derive(Queryable, Debug, Clone)]
pub struct Named {
    pub row_id: i32,
    pub template_id: String,
    pub account: String,
    pub name: String,
    pub language: String,
}

/// The names of these template rows.
pub fn names(conn: &mut Conn, rows: &[i32]) -> QueryResult<Vec<Named>> {
    templates::table
        .inner_join(accounts::table)
        .filter(templates::id.eq_any(rows))
        .select((
            templates::id,
            templates::template_id,
            accounts::name,
            templates::name,
            templates::language,
        ))
        .load(conn)
}
