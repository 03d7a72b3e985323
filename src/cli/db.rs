//! `templar db`: back up and check the SQLite database, also while `serve` runs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use crate::config::Config;
use crate::db::Db;

/// The `db` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum DbCommand {
    /// Write a consistent copy of the database to FILE, safe while `serve` runs.
    ///
    /// The copy is one snapshot (SQLite's `VACUUM INTO`), compacted, checked, and then moved
    /// over FILE, so an older backup at FILE is replaced only by a complete one. Restore by
    /// stopping templar and copying FILE back to `database`.
    Backup {
        /// Where to write the copy (its folder must exist).
        #[arg(value_name = "FILE")]
        file: std::path::PathBuf,
    },
    /// Check the database: SQLite's integrity check, rows pointing to missing rows, and
    /// migrations not yet applied. Reads only. Exit status 1 if a problem is found.
    Check,
    /// Copy this SQLite installation into an empty PostgreSQL database, to move to it.
    ///
    /// The target is migrated first and must hold no templar data. Every table goes over in
    /// one PostgreSQL transaction (a failure leaves it empty), read from one snapshot of the
    /// SQLite file (safe while `serve` runs; what arrives after the snapshot is not copied, so
    /// stop `serve` first for a final move). Each table's row count is checked before the
    /// commit: if one differs, nothing is kept and the exit status is 1. A source that lacks
    /// migrations is refused (`templar migrate` first). Then set `database` to the URL.
    Copy {
        /// The PostgreSQL database to copy into: postgres://user@host/database. Other users
        /// can read a command line (`ps`): give the password through PGPASSWORD or ~/.pgpass,
        /// or the whole URL through TEMPLAR_COPY_TO.
        #[arg(
            long,
            value_name = "URL",
            env = "TEMPLAR_COPY_TO",
            hide_env_values = true
        )]
        to: String,
    },
}

pub fn run(config: Config, cmd: DbCommand) -> anyhow::Result<ExitCode> {
    if config.database.sqlite_path().is_some_and(|p| !p.exists()) {
        anyhow::bail!(
            "{} does not exist yet (`templar migrate` or any command that syncs creates it)",
            config.database
        );
    }
    let db = Db::open_without_migrating(&config.database)?;
    match cmd {
        DbCommand::Copy { to } => copy(&db, &to),
        DbCommand::Backup { file } => {
            let Some(path) = config.database.sqlite_path() else {
                anyhow::bail!(
                    "`templar db backup` copies an SQLite file; back up PostgreSQL with its own \
                     tools (pg_dump, or your provider's snapshots)"
                );
            };
            if belongs_to_database(&file, path) {
                anyhow::bail!(
                    "{} is the database itself or one of its own files (-wal, -shm, lock); \
                     choose another file",
                    file.display()
                );
            }
            let started = Instant::now();
            eprintln!("backing up {} ...", config.database);
            let backup = db.backup_to(&file)?;
            say!(
                "backed up {} to {} ({:.1} MB, checked) in {:.1} s",
                config.database,
                backup.path.display(),
                backup.bytes as f64 / 1e6,
                started.elapsed().as_secs_f64()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        DbCommand::Check => {
            let health = db.check()?;
            for p in &health.problems {
                say!("problem: {p}")?;
            }
            if health.pending_migrations > 0 {
                say!(
                    "{} migrations are not applied yet (`templar migrate` applies them)",
                    health.pending_migrations
                )?;
            }
            if health.problems.is_empty() {
                say!("{}: ok", config.database)?;
                Ok(ExitCode::SUCCESS)
            } else {
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

/// `templar db copy --to URL`: progress on stderr, the per-table counts on stdout.
fn copy(db: &Db, to: &str) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    eprintln!(
        "copying {} to {} ...",
        db.location(),
        crate::db::location::redact(to)
    );
    let copied = crate::db::copy::copy(db, to, |c| {
        eprintln!("  {:<28} {:>10} rows", c.table, c.target);
    })?;
    say!("{:<28} {:>10} {:>10}", "table", "sqlite", "postgres")?;
    let mut differ = 0;
    for c in &copied {
        let mark = if c.source == c.target {
            ""
        } else {
            "  DIFFERS"
        };
        differ += usize::from(c.source != c.target);
        say!("{:<28} {:>10} {:>10}{mark}", c.table, c.source, c.target)?;
    }
    if differ > 0 {
        say!("{differ} tables differ; the copy is not usable")?;
        return Ok(ExitCode::FAILURE);
    }
    say!(
        "copied {} tables, every count checked, in {:.1} s; now set `database` to the URL",
        copied.len(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `target` is the database or a file SQLite or templar keeps beside it
/// (`templar.db-wal`, `templar.db-shm`, `templar.db.sync-lock`...): writing there would corrupt
/// the live database.
fn belongs_to_database(target: &std::path::Path, database: &std::path::Path) -> bool {
    let resolve = |p: &std::path::Path| -> Option<(PathBuf, String)> {
        let p = p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let name = p.file_name()?.to_string_lossy().into_owned();
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let dir = dir.canonicalize().unwrap_or(dir);
        Some((dir, name))
    };
    match (resolve(target), resolve(database)) {
        (Some((td, tn)), Some((dd, dn))) => td == dd && tn.starts_with(&dn),
        _ => false,
    }
}
