//! Operating the database file while templar runs: a consistent copy (`templar db backup`) and
//! an integrity check (`templar db check`).

use std::path::{Path, PathBuf};

use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;

use super::{Conn, Db, DbError, MIGRATIONS, PG_MIGRATIONS};

/// One row of `PRAGMA integrity_check` / `quick_check`.
#[derive(QueryableByName)]
struct CheckRow {
    #[diesel(sql_type = Text)]
    integrity_check: String,
}

/// One row of `PRAGMA foreign_key_check`.
#[derive(QueryableByName)]
struct ForeignKeyRow {
    #[diesel(sql_type = Text)]
    table: String,
    #[diesel(sql_type = Text)]
    parent: String,
}

/// What `templar db check` found.
#[derive(Debug)]
pub struct Health {
    /// Problems in words; empty when the database is sound.
    pub problems: Vec<String>,
    /// Migrations embedded in this binary that the database has not had.
    pub pending_migrations: usize,
}

/// What `templar db backup` wrote.
#[derive(Debug)]
pub struct Backup {
    pub path: PathBuf,
    pub bytes: u64,
}

impl Db {
    /// Writes a consistent copy of the database to `dest` while others keep writing.
    ///
    /// `VACUUM INTO` reads one snapshot (WAL lets writers go on meanwhile) into a temporary file
    /// beside `dest`; the copy is checked with `quick_check` and then renamed over `dest`, so an
    /// earlier backup is replaced only by a complete, sound one.
    pub fn backup_to(&self, dest: &Path) -> Result<Backup, DbError> {
        let name = dest.file_name().ok_or_else(|| {
            DbError::Maintenance(format!("{} is not a file name", dest.display()))
        })?;
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(DbError::Maintenance(format!(
                "the folder {} does not exist",
                dir.display()
            )));
        }
        // A fixed name, so a backup killed half-way is cleaned up by the next one.
        let partial = dir.join(format!(".{}.partial", name.to_string_lossy()));
        remove_partial(&partial);
        let written = self.vacuum_into(&partial).and_then(|()| {
            let problems = quick_check(&partial)?;
            if problems.is_empty() {
                Ok(())
            } else {
                Err(DbError::Maintenance(format!(
                    "the copy failed its check: {}",
                    problems.join("; ")
                )))
            }
        });
        if let Err(e) = written {
            remove_partial(&partial);
            return Err(e);
        }
        std::fs::rename(&partial, dest).map_err(|e| {
            remove_partial(&partial);
            DbError::Maintenance(format!("cannot move the copy to {}: {e}", dest.display()))
        })?;
        let bytes = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
        Ok(Backup {
            path: dest.to_path_buf(),
            bytes,
        })
    }

    fn vacuum_into(&self, target: &Path) -> Result<(), DbError> {
        let mut conn = self.conn()?;
        let Conn::Sqlite(conn) = &mut *conn else {
            return Err(DbError::Maintenance(
                "a backup copies an SQLite file; use pg_dump for PostgreSQL".into(),
            ));
        };
        diesel::sql_query("VACUUM INTO ?")
            .bind::<Text, _>(target.to_string_lossy())
            .execute(conn)?;
        Ok(())
    }

    /// Runs SQLite's full `integrity_check` and `foreign_key_check`, and counts migrations
    /// not yet applied. Reads only.
    pub fn check(&self) -> Result<Health, DbError> {
        let mut conn = self.conn()?;
        let conn = match &mut *conn {
            Conn::Sqlite(c) => c,
            Conn::Pg(c) => {
                // PostgreSQL checks its own pages and keys as it goes; what is left to say is
                // whether the schema is current.
                let pending_migrations = c
                    .pending_migrations(PG_MIGRATIONS)
                    .map_err(|e| DbError::Migration(e.to_string()))?
                    .len();
                return Ok(Health {
                    problems: vec![],
                    pending_migrations,
                });
            }
        };
        let mut problems: Vec<String> = diesel::sql_query("PRAGMA integrity_check")
            .load::<CheckRow>(conn)?
            .into_iter()
            .map(|r| r.integrity_check)
            .filter(|r| r != "ok")
            .collect();
        let orphans = diesel::sql_query("PRAGMA foreign_key_check").load::<ForeignKeyRow>(conn)?;
        let mut by_table = std::collections::BTreeMap::<(String, String), usize>::new();
        for o in orphans {
            *by_table.entry((o.table, o.parent)).or_default() += 1;
        }
        for ((table, parent), n) in by_table {
            problems.push(format!(
                "{n} rows of {table} point to missing rows of {parent}"
            ));
        }
        let pending_migrations = conn
            .pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?
            .len();
        Ok(Health {
            problems,
            pending_migrations,
        })
    }
}

/// Removes an unfinished copy and the journal SQLite may have left beside it.
fn remove_partial(partial: &Path) {
    let _ = std::fs::remove_file(partial);
    let mut journal = partial.as_os_str().to_owned();
    journal.push("-journal");
    let _ = std::fs::remove_file(journal);
}

/// `PRAGMA quick_check` on a file of its own (the fresh copy).
fn quick_check(path: &Path) -> Result<Vec<String>, DbError> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| DbError::Maintenance(format!("cannot open the copy: {e}")))?;
    Ok(
        diesel::sql_query("SELECT quick_check AS integrity_check FROM pragma_quick_check()")
            .load::<CheckRow>(&mut conn)?
            .into_iter()
            .map(|r| r.integrity_check)
            .filter(|r| r != "ok")
            .collect(),
    )
}
