//! `templar db copy --to postgres://…`: an SQLite installation moved to PostgreSQL, table by
//! table, in one PostgreSQL transaction (a failure leaves the target as empty as it was), with
//! every table's row count checked at the end.
//!
//! Rows travel as JSON: SQLite writes a batch of rows as one JSON array and PostgreSQL reads it
//! back with `json_populate_recordset` into rows of the same table, so one statement per batch
//! copies every column of any table, typed by the target's own columns. Table names come from
//! the SQLite file's own catalogue and are quoted.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use diesel_migrations::MigrationHarness;

use super::{Conn, Db, DbError, Location, MIGRATIONS};

/// Rows per batch.
const BATCH: i64 = 1000;

/// Tables the triggers keep from `template_daily_stats` and `window_bounds`: copied last, as the
/// source has them (emptied first, should anything have reached them).
const DERIVED: [&str; 3] = [
    "account_daily_totals",
    "window_bounds",
    "template_window_totals",
];

/// One table's rows in the source and, after the copy, in the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: String,
    pub source: i64,
    pub target: i64,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Copies every table of `source` (SQLite) into the PostgreSQL database at `to`, which is
/// migrated first and must hold no templar data yet. `progress` hears of each table as it is
/// done. Returns each table's counts; the caller says whether they match.
pub fn copy(
    source: &Db,
    to: &str,
    mut progress: impl FnMut(&Copied),
) -> Result<Vec<Copied>, DbError> {
    let fail = |m: String| DbError::Maintenance(m);
    if !super::location::is_postgres_url(to) {
        return Err(fail(format!(
            "--to must be a postgres:// URL, not `{}`",
            super::location::redact(to)
        )));
    }
    if source.is_postgres() {
        return Err(fail(
            "`db copy` reads an SQLite database; `database` is already PostgreSQL".into(),
        ));
    }
    let target = Db::open(Location::Postgres(to.to_string()))?;
    let mut src = source.conn()?;
    let mut dst = target.conn()?;
    let Conn::Sqlite(src) = &mut *src else {
        return Err(fail("the source is not SQLite".into()));
    };
    let Conn::Pg(dst) = &mut *dst else {
        return Err(fail("the target is not PostgreSQL".into()));
    };
    let pending = src
        .pending_migrations(MIGRATIONS)
        .map_err(|e| DbError::Migration(e.to_string()))?
        .len();
    if pending > 0 {
        return Err(fail(format!(
            "the SQLite database lacks {pending} migrations of this templar; run \
             `templar migrate` first"
        )));
    }
    let used: Count = diesel::sql_query(
        "SELECT (SELECT COUNT(*) FROM accounts) + (SELECT COUNT(*) FROM templates) \
         + (SELECT COUNT(*) FROM messages) AS n",
    )
    .get_result(dst)?;
    if used.n > 0 {
        return Err(fail(format!(
            "{} already holds templar data; copy into an empty database",
            super::location::redact(to)
        )));
    }
    let tables: Vec<String> = diesel::sql_query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name <> '__diesel_schema_migrations' ORDER BY rowid",
    )
    .load::<Name>(src)?
    .into_iter()
    .map(|n| n.name)
    .collect();
    let (derived, plain): (Vec<String>, Vec<String>) = tables
        .into_iter()
        .partition(|t| DERIVED.contains(&t.as_str()));
    // One snapshot of the source while `serve` may go on writing to it.
    src.transaction(|src| {
        dst.transaction(|dst| {
            // The roll-up triggers would recompute, row by row, totals that are copied anyway:
            // with them, 254,000 roll-up rows went in at 3 to 4 s a batch of 1,000. Off for
            // this transaction (the tables are templar's own); foreign keys stay checked.
            let all = || plain.iter().chain(derived.iter());
            for table in all() {
                diesel::sql_query(format!("ALTER TABLE \"{table}\" DISABLE TRIGGER USER"))
                    .execute(dst)?;
            }
            let mut done = Vec::new();
            for table in plain.iter().chain(
                DERIVED
                    .iter()
                    .filter_map(|d| derived.iter().find(|t| t == d)),
            ) {
                if DERIVED.contains(&table.as_str()) {
                    diesel::sql_query(format!("DELETE FROM \"{table}\"")).execute(dst)?;
                }
                let copied = copy_table(src, dst, table)?;
                progress(&copied);
                done.push(copied);
            }
            for table in all() {
                diesel::sql_query(format!("ALTER TABLE \"{table}\" ENABLE TRIGGER USER"))
                    .execute(dst)?;
            }
            // Checked before the commit: a copy that differs leaves the target empty.
            let differ: Vec<String> = done
                .iter()
                .filter(|c| c.source != c.target)
                .map(|c| format!("{} ({} in SQLite, {} copied)", c.table, c.source, c.target))
                .collect();
            if !differ.is_empty() {
                return Err(DbError::Maintenance(format!(
                    "counts differ, nothing was kept: {}",
                    differ.join(", ")
                )));
            }
            Ok::<_, DbError>(done)
        })
    })
}

/// Copies one table in batches, then moves its id sequence past the copied ids.
fn copy_table(
    src: &mut diesel::SqliteConnection,
    dst: &mut diesel::PgConnection,
    table: &str,
) -> Result<Copied, DbError> {
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        kind: String,
    }
    let columns: Vec<Column> =
        diesel::sql_query("SELECT name, type AS kind FROM pragma_table_info(?)")
            .bind::<Text, _>(table)
            .load(src)?;
    // Doubles as text with all 17 digits (SQLite's JSON keeps 15), so costs and rates come
    // over exactly.
    let object = columns
        .iter()
        .map(|c| {
            let value = if c.kind.to_ascii_uppercase().contains("DOUBLE") {
                format!(
                    "CASE WHEN \"{0}\" IS NULL THEN NULL ELSE printf('%!.17g', \"{0}\") END",
                    c.name
                )
            } else {
                format!("\"{}\"", c.name)
            };
            format!("'{}', {value}", c.name)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let source: Count =
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM \"{table}\"")).get_result(src)?;
    // Batches by rowid, each found through the primary key (no OFFSET to skip again).
    #[derive(QueryableByName)]
    struct Batch {
        #[diesel(sql_type = Text)]
        rows: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
        last: Option<i64>,
    }
    let mut after = i64::MIN;
    loop {
        let batch: Batch = diesel::sql_query(format!(
            "SELECT COALESCE(json_group_array(json_object({object})), '[]') AS rows, \
             COUNT(*) AS n, MAX(copy_rowid) AS last \
             FROM (SELECT rowid AS copy_rowid, * FROM \"{table}\" WHERE rowid > ? \
                   ORDER BY rowid LIMIT ?)"
        ))
        .bind::<BigInt, _>(after)
        .bind::<BigInt, _>(BATCH)
        .get_result(src)?;
        let Some(last) = batch.last.filter(|_| batch.n > 0) else {
            break;
        };
        diesel::sql_query(format!(
            "INSERT INTO \"{table}\" \
             SELECT * FROM json_populate_recordset(NULL::\"{table}\", $1::json)"
        ))
        .bind::<Text, _>(batch.rows)
        .execute(dst)?;
        after = last;
    }
    if columns.iter().any(|c| c.name == "id") {
        diesel::sql_query(format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), \
             COALESCE((SELECT MAX(id) FROM \"{table}\"), 0) + 1, false)"
        ))
        .execute(dst)?;
    }
    let target: Count =
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM \"{table}\"")).get_result(dst)?;
    Ok(Copied {
        table: table.to_string(),
        source: source.n,
        target: target.n,
    })
}
