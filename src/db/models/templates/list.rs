//! Template lists: the filtered, sorted, paged queries behind `templates list`, the templates page
//! and exports.

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use super::*;
use crate::db::schema::{accounts, templates};

/// Filters for [`list`]; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub account: Option<String>,
    pub status: Option<String>,
    pub category: Option<String>,
    pub language: Option<String>,
    pub quality: Option<String>,
    pub name_contains: Option<String>,
    pub include_deleted: bool,
    /// Deleted templates only (`status=DELETED` on the dashboard).
    pub only_deleted: bool,
    /// Only the templates of this template group (Meta's group id).
    pub group: Option<String>,
}

/// Applies a [`ListQuery`]'s filters to a boxed query over `templates JOIN accounts`; a macro
/// because the list queries select different columns (so their boxed types differ).
macro_rules! filtered {
    ($query:expr, $q:expr) => {{
        let (mut query, q) = ($query, $q);
        if let Some(a) = &q.account {
            query = query.filter(accounts::name.eq(a.clone()));
        }
        if let Some(s) = &q.status {
            query = query.filter(templates::status.eq(s.to_ascii_uppercase()));
        }
        if let Some(c) = &q.category {
            query = query.filter(templates::category.eq(c.to_ascii_uppercase()));
        }
        if let Some(l) = &q.language {
            query = query.filter(templates::language.eq(l.clone()));
        }
        if let Some(ql) = &q.quality {
            // `YELLOW,RED`: any of them (the overview's "quality down" list links here).
            let any: Vec<String> = ql
                .split(',')
                .map(|x| x.trim().to_ascii_uppercase())
                .collect();
            query = query.filter(templates::quality.eq_any(any));
        }
        if let Some(n) = &q.name_contains {
            // LIKE wildcards in the search text match themselves. Compared lower-cased, so
            // that the search ignores case on PostgreSQL as SQLite's LIKE does.
            let escaped = n
                .to_ascii_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            query = query.filter(
                lower(templates::name)
                    .like(format!("%{escaped}%"))
                    .escape('\\'),
            );
        }
        if let Some(g) = &q.group {
            use crate::db::schema::template_group_members as gm;
            let members = gm::table
                .filter(gm::group_id.eq(g.clone()))
                .select(gm::template_id);
            query = query.filter(templates::template_id.eq_any(members));
        }
        if q.only_deleted {
            query = query.filter(templates::deleted_at.is_not_null());
        } else if !q.include_deleted {
            query = query.filter(templates::deleted_at.is_null());
        }
        query
    }};
}

/// Templates matching `q` with their account's name and source, by account, name, language.
pub fn list(conn: &mut Conn, q: &ListQuery) -> QueryResult<Vec<(TemplateRow, String, String)>> {
    let query = templates::table
        .inner_join(accounts::table)
        .select((TemplateRow::as_select(), accounts::name, accounts::source))
        .order((accounts::name, templates::name, templates::language))
        .into_boxed();
    let query = filtered!(query, q);
    query.load(conn)
}

/// What a list of templates shows, without the components.
#[derive(Queryable, Debug, Clone, Serialize)]
pub struct Brief {
    #[serde(skip)]
    pub row: i32,
    pub id: String,
    pub account: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub first_seen_at: i64,
    pub last_changed_at: i64,
    pub deleted_at: Option<i64>,
}

/// Columns a template list can be sorted by in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    Name,
    Language,
    Category,
    Status,
    Quality,
    Account,
    Changed,
}

pub(crate) type BriefColumns = (
    templates::id,
    templates::template_id,
    accounts::name,
    templates::name,
    templates::language,
    templates::category,
    templates::status,
    templates::quality,
    templates::rejected_reason,
    templates::first_seen_at,
    templates::last_changed_at,
    templates::deleted_at,
);

pub(crate) type BriefQuery<'a> = diesel::dsl::IntoBoxed<
    'a,
    diesel::dsl::Select<diesel::dsl::InnerJoin<templates::table, accounts::table>, BriefColumns>,
    crate::db::MultiBackend,
>;

pub(crate) fn briefs_query(q: &ListQuery) -> BriefQuery<'static> {
    let query = templates::table
        .inner_join(accounts::table)
        .select((
            templates::id,
            templates::template_id,
            accounts::name,
            templates::name,
            templates::language,
            templates::category,
            templates::status,
            templates::quality,
            templates::rejected_reason,
            templates::first_seen_at,
            templates::last_changed_at,
            templates::deleted_at,
        ))
        .into_boxed();
    let query = filtered!(query, q);
    query
}

/// How many templates match.
pub fn count(conn: &mut Conn, q: &ListQuery) -> QueryResult<i64> {
    briefs_query(q).count().get_result(conn)
}

/// One page of matching templates in SQL order, and how many match in all.
pub fn page(
    conn: &mut Conn,
    q: &ListQuery,
    sort: Sort,
    desc: bool,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Brief>, i64)> {
    let total = count(conn, q)?;
    let query = briefs_query(q);
    let query = match (sort, desc) {
        (Sort::Name, false) => query.order((templates::name.asc(), templates::language.asc())),
        (Sort::Name, true) => query.order((templates::name.desc(), templates::language.desc())),
        (Sort::Language, false) => query.order((templates::language.asc(), templates::name.asc())),
        (Sort::Language, true) => query.order((templates::language.desc(), templates::name.asc())),
        (Sort::Category, false) => query.order((templates::category.asc(), templates::name.asc())),
        (Sort::Category, true) => query.order((templates::category.desc(), templates::name.asc())),
        (Sort::Status, false) => query.order((templates::status.asc(), templates::name.asc())),
        (Sort::Status, true) => query.order((templates::status.desc(), templates::name.asc())),
        (Sort::Quality, false) => query.order((templates::quality.asc(), templates::name.asc())),
        (Sort::Quality, true) => query.order((templates::quality.desc(), templates::name.asc())),
        (Sort::Account, false) => query.order((accounts::name.asc(), templates::name.asc())),
        (Sort::Account, true) => query.order((accounts::name.desc(), templates::name.asc())),
        (Sort::Changed, false) => {
            query.order((templates::last_changed_at.asc(), templates::id.asc()))
        }
        (Sort::Changed, true) => {
            query.order((templates::last_changed_at.desc(), templates::id.desc()))
        }
    };
    Ok((query.limit(limit).offset(offset).load(conn)?, total))
}

/// Every matching template (for sorting by usage figures, which live in another table).
pub fn briefs(conn: &mut Conn, q: &ListQuery) -> QueryResult<Vec<Brief>> {
    briefs_query(q).load(conn)
}

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
