//! A template's content versions (`template_versions`): appended by the ledger only, read by
//! the template page, its API and `templates show --versions`.

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::template_versions as v;

/// A stored version.
#[derive(Queryable, Selectable, Debug, Clone, Serialize, PartialEq)]
#[diesel(table_name = v)]
pub struct Version {
    #[serde(skip)]
    pub id: i32,
    #[serde(skip)]
    pub template_row: i32,
    pub version: i32,
    pub components: String,
    pub seen_at: i64,
    pub source: String,
}

/// A template's versions, oldest first.
pub fn of(conn: &mut Conn, template_row: i32) -> QueryResult<Vec<Version>> {
    v::table
        .filter(v::template_row.eq(template_row))
        .order(v::version.asc())
        .select(Version::as_select())
        .load(conn)
}

/// A template's newest version, if it has one.
pub fn latest(conn: &mut Conn, template_row: i32) -> QueryResult<Option<Version>> {
    v::table
        .filter(v::template_row.eq(template_row))
        .order(v::version.desc())
        .select(Version::as_select())
        .first(conn)
        .optional()
}

/// Appends a version.
pub fn insert(
    conn: &mut Conn,
    template_row: i32,
    version: i32,
    components: &str,
    seen_at: i64,
    source: &str,
) -> QueryResult<()> {
    diesel::insert_into(v::table)
        .values((
            v::template_row.eq(template_row),
            v::version.eq(version),
            v::components.eq(components),
            v::seen_at.eq(seen_at),
            v::source.eq(source),
        ))
        .execute(conn)
        .map(drop)
}

/// Appends the first version of new templates, (template row, components) each, in as few
/// statements as the backends' parameter limits allow.
pub fn insert_firsts(
    conn: &mut Conn,
    firsts: &[(i32, &str)],
    seen_at: i64,
    source: &str,
) -> QueryResult<()> {
    for chunk in firsts.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(row, components)| {
                (
                    v::template_row.eq(*row),
                    v::version.eq(1),
                    v::components.eq(*components),
                    v::seen_at.eq(seen_at),
                    v::source.eq(source),
                )
            })
            .collect();
        crate::on_backend!(conn, bc => diesel::insert_into(v::table).values(rows).execute(bc))?;
    }
    Ok(())
}

/// Completes a version in place (a webhook's version, once a sync sees its examples); its
/// source says both saw it (`webhook+sync`), so it is completed once.
pub fn complete(conn: &mut Conn, id: i32, components: &str, source: &str) -> QueryResult<()> {
    diesel::update(v::table.find(id))
        .set((v::components.eq(components), v::source.eq(source)))
        .execute(conn)
        .map(drop)
}
