//! The database: a pool of SQLite connections with the right PRAGMAs, embedded migrations, and
//! the one place where synchronous diesel crosses into tokio ([`Db::run`], [`Db::write`]).

pub mod maintenance;
pub mod models;
pub mod prepared;
pub mod schema;

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel::{QueryResult, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

/// Every migration under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {path}: {source}")]
    Open {
        path: String,
        source: diesel::r2d2::PoolError,
    },
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Maintenance(String),
    #[error("database task panicked or was cancelled")]
    Join,
}

#[derive(Debug)]
struct Pragmas;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // WAL: readers never block the writer; NORMAL is durable across process crashes in WAL
        // mode (only an OS crash can lose the last commits); busy_timeout lets the CLI and
        // `serve` share the file.
        conn.batch_execute(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// A handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager<SqliteConnection>>,
    rows_written: Arc<AtomicU64>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

diesel::define_sql_function!(fn total_changes() -> diesel::sql_types::BigInt);

impl Db {
    /// Opens (creating if needed) the database at `path` and runs pending migrations.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        let db = Db::open_without_migrating(path)?;
        db.migrate()?;
        Ok(db)
    }

    /// Opens the database without touching its schema (for `templar migrate --down`).
    pub fn open_without_migrating(path: &Path) -> Result<Db, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // A missing directory would otherwise surface as an opaque "unable to open" error.
            let _ = std::fs::create_dir_all(dir);
        }
        let url = path.to_string_lossy().into_owned();
        let pool = Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(30))
            .connection_customizer(Box::new(Pragmas))
            .build(ConnectionManager::<SqliteConnection>::new(url.clone()))
            .map_err(|source| DbError::Open { path: url, source })?;
        Ok(Db {
            pool,
            rows_written: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Applies every pending migration; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(applied.iter().map(ToString::to_string).collect())
    }

    /// Reverts every migration (for `templar migrate --down-all` and the migration test).
    pub fn revert_all(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        let reverted = conn
            .revert_all_migrations(MIGRATIONS)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    }

    /// Runs a read (or self-contained) closure on a pooled connection off the async runtime.
    pub async fn run<F, T>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get()?;
            Ok(f(&mut conn)?)
        })
        .await
        .map_err(|_| DbError::Join)?
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction off the async runtime, counting the rows it
    /// changed (what the sync benchmark reports as "rows written").
    pub async fn write<F, T>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut SqliteConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.write_blocking(f))
            .await
            .map_err(|_| DbError::Join)?
    }

    /// [`Db::write`] for code that already runs on a blocking thread.
    pub fn write_blocking<F, T>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut SqliteConnection) -> QueryResult<T>,
    {
        let mut conn = self.pool.get()?;
        let before = diesel::select(total_changes()).get_result::<i64>(&mut conn)?;
        let out = conn.immediate_transaction(f)?;
        let after = diesel::select(total_changes()).get_result::<i64>(&mut conn)?;
        self.rows_written.fetch_add(
            after.saturating_sub(before).max(0) as u64,
            Ordering::Relaxed,
        );
        Ok(out)
    }

    /// Rows inserted, updated or deleted through [`Db::write`] since this handle was opened.
    pub fn rows_written(&self) -> u64 {
        self.rows_written.load(Ordering::Relaxed)
    }

    /// A connection of its own, outside the pool, with the same PRAGMAs: for the webhook
    /// writer, which holds it for the life of the process.
    pub fn dedicated(&self, path: &Path) -> Result<SqliteConnection, DbError> {
        use diesel::Connection;
        let mut conn = SqliteConnection::establish(&path.to_string_lossy())
            .map_err(|e| DbError::Migration(format!("cannot open {}: {e}", path.display())))?;
        Pragmas
            .on_acquire(&mut conn)
            .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(conn)
    }

    /// A pooled connection for synchronous callers (CLI start-up, tests).
    pub fn conn(
        &self,
    ) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<SqliteConnection>>, DbError> {
        Ok(self.pool.get()?)
    }
}

/// A fresh in-memory database with every migration applied, for unit tests of model and
/// ledger functions.
#[cfg(test)]
pub fn memory() -> SqliteConnection {
    use diesel::Connection;
    let mut conn = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
    conn.batch_execute("PRAGMA foreign_keys = ON;")
        .expect("foreign keys");
    conn.run_pending_migrations(MIGRATIONS)
        .expect("migrations apply");
    conn
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_is_built_with_the_flags_in_cargo_config() {
        #[derive(diesel::QueryableByName)]
        struct Opt {
            #[diesel(sql_type = diesel::sql_types::Text)]
            compile_options: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.db")).unwrap();
        let opts: Vec<Opt> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut db.conn().unwrap())
            .unwrap();
        let opts: Vec<String> = opts.into_iter().map(|o| o.compile_options).collect();
        for want in ["THREADSAFE=2", "DEFAULT_MEMSTATUS=0"] {
            assert!(opts.iter().any(|o| o == want), "{want} missing: {opts:?}");
        }
        // With it, every connection's page cache shares one global lock.
        assert!(
            !opts.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
            "ENABLE_MEMORY_MANAGEMENT still on: {opts:?}"
        );
    }
}
