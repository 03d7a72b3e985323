//! The database: a pool of SQLite connections with the right PRAGMAs, embedded migrations, and
//! the one place where synchronous diesel crosses into tokio ([`Db::run`], [`Db::write`]).

pub mod copy;
pub mod location;
pub mod maintenance;
pub mod models;
pub mod prepared;
pub mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel::{Connection, QueryResult, RunQueryDsl, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub use location::Location;

/// Every SQLite migration under `migrations/sqlite/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// Every PostgreSQL migration under `migrations/postgres/`, compiled into the binary.
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The advisory lock that replicas starting together take around their migrations.
const MIGRATION_LOCK: i64 = 0x7465_6d70_6c61_0001;

/// A connection to either backend. Queries in diesel's DSL run on it as on any connection; the
/// few statements whose SQL differs between the two match on it (see [`sql`]).
#[derive(diesel::MultiConnection)]
pub enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open database {location}: {source}")]
    Open {
        location: String,
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

/// Opens connections to the configured backend (diesel's own manager would guess the backend
/// from the URL and could take a PostgreSQL URL for an SQLite file name).
#[derive(Debug)]
pub struct Manager {
    location: Location,
}

impl ManageConnection for Manager {
    type Connection = Conn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Conn, Self::Error> {
        establish(&self.location).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// A new connection of its own, with SQLite's PRAGMAs.
fn establish(location: &Location) -> Result<Conn, diesel::ConnectionError> {
    match location {
        Location::Sqlite(path) => {
            let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
            // WAL: readers never block the writer; NORMAL is durable across process crashes in
            // WAL mode (only an OS crash can lose the last commits); busy_timeout lets the CLI
            // and `serve` share the file. Statement journals (a multi-row insert or a trigger
            // inside a transaction keeps one, to undo just that statement) stay in memory: in
            // a file, their writes were a fifth of a first full sync's CPU (perf).
            conn.batch_execute(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                 PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                 PRAGMA temp_store = MEMORY;",
            )
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(Conn::Sqlite(conn))
        }
        Location::Postgres(url) => {
            let mut conn = PgConnection::establish(url)?;
            // A replica that vanishes must not hold the write, sync or leader lock for long:
            // the server probes an idle client's socket after 30 s and gives up after three
            // silent probes, and ends a transaction left idle for five minutes.
            conn.batch_execute(
                "SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; \
                 SET tcp_keepalives_count = 3; \
                 SET idle_in_transaction_session_timeout = '300s';",
            )
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(Conn::Pg(conn))
        }
    }
}

/// A handle to the database, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool<Manager>,
    location: Arc<Location>,
    rows_written: Arc<AtomicU64>,
    /// Whether PostgreSQL's writes are counted ([`Db::count_writes`]).
    counting: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

diesel::define_sql_function!(fn total_changes() -> diesel::sql_types::BigInt);

impl Db {
    /// Opens (creating if needed) the database and runs pending migrations.
    pub fn open(location: impl Into<Location>) -> Result<Db, DbError> {
        let db = Db::open_without_migrating(location)?;
        db.migrate()?;
        Ok(db)
    }

    /// Opens the database without touching its schema (for `templar migrate --down`).
    pub fn open_without_migrating(location: impl Into<Location>) -> Result<Db, DbError> {
        let location = location.into();
        if let Location::Sqlite(path) = &location {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // A missing directory would otherwise surface as an opaque "unable to open".
                let _ = std::fs::create_dir_all(dir);
            }
        }
        let pool = Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(30))
            .build(Manager {
                location: location.clone(),
            })
            .map_err(|source| DbError::Open {
                location: location.to_string(),
                source,
            })?;
        Ok(Db {
            pool,
            location: Arc::new(location),
            rows_written: Arc::new(AtomicU64::new(0)),
            counting: Default::default(),
        })
    }

    /// Where this database is.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Whether this is PostgreSQL (shared by several replicas) rather than an SQLite file.
    pub fn is_postgres(&self) -> bool {
        self.location.is_postgres()
    }

    /// Applies every pending migration; returns the versions applied. On PostgreSQL, replicas
    /// starting together take turns through an advisory lock, so no two migrate at once.
    pub fn migrate(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        let run = |conn: &mut Conn| -> Result<Vec<String>, DbError> {
            let applied = match conn {
                Conn::Sqlite(c) => c.run_pending_migrations(MIGRATIONS),
                Conn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS),
            }
            .map_err(|e| DbError::Migration(e.to_string()))?;
            Ok(applied.iter().map(ToString::to_string).collect())
        };
        if !self.is_postgres() {
            return run(&mut conn);
        }
        sql(&conn, "SELECT pg_advisory_lock(?)")
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
            .execute(&mut *conn)?;
        let out = run(&mut conn);
        sql(&conn, "SELECT pg_advisory_unlock(?)")
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK)
            .execute(&mut *conn)?;
        out
    }

    /// Reverts every migration (for `templar migrate --down-all` and the migration test).
    pub fn revert_all(&self) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        let reverted = match &mut *conn {
            Conn::Sqlite(c) => c.revert_all_migrations(MIGRATIONS),
            Conn::Pg(c) => c.revert_all_migrations(PG_MIGRATIONS),
        }
        .map_err(|e| DbError::Migration(e.to_string()))?;
        Ok(reverted.iter().map(ToString::to_string).collect())
    }

    /// Runs a read (or self-contained) closure on a pooled connection off the async runtime.
    pub async fn run<F, T>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Conn) -> QueryResult<T> + Send + 'static,
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

    /// Runs `f` in one write transaction off the async runtime (`BEGIN IMMEDIATE` on SQLite),
    /// counting the rows it changed on SQLite (what the sync benchmark reports as "rows
    /// written").
    pub async fn write<F, T>(&self, f: F) -> Result<T, DbError>
    where
        F: FnOnce(&mut Conn) -> QueryResult<T> + Send + 'static,
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
        F: FnOnce(&mut Conn) -> QueryResult<T>,
    {
        let mut conn = self.pool.get()?;
        #[derive(diesel::QueryableByName)]
        struct Changed {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let written = match &mut *conn {
            Conn::Sqlite(c) => {
                let before = diesel::select(total_changes()).get_result::<i64>(c)?;
                let out = write_transaction(&mut conn, f)?;
                let Conn::Sqlite(c) = &mut *conn else {
                    unreachable!("the same connection")
                };
                let after = diesel::select(total_changes()).get_result::<i64>(c)?;
                (out, after - before)
            }
            Conn::Pg(_) if !self.counting.load(Ordering::Relaxed) => {
                (write_transaction(&mut conn, f)?, 0)
            }
            // This backend's row counts not yet flushed to the statistics, read at both ends
            // of the transaction.
            Conn::Pg(_) => write_transaction(&mut conn, |c| {
                let changed = |c: &mut Conn| {
                    diesel::sql_query(
                        "SELECT CAST(COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) \
                         AS BIGINT) AS n FROM pg_stat_xact_user_tables \
                         WHERE relname <> 'data_version'",
                    )
                    .get_result::<Changed>(c)
                    .map(|r| r.n)
                };
                let before = changed(c)?;
                let out = f(c)?;
                Ok((out, changed(c)? - before))
            })?,
        };
        let (out, n) = written;
        self.rows_written
            .fetch_add(n.max(0) as u64, Ordering::Relaxed);
        Ok(out)
    }

    /// Counts PostgreSQL's rows written from now on (SQLite's are always counted). It costs two
    /// queries of the statistics views in every write transaction, while it holds the write
    /// lock, so only tests ask.
    pub fn count_writes(&self) {
        self.counting.store(true, Ordering::Relaxed);
    }

    /// Rows inserted, updated or deleted through [`Db::write`] since this handle was opened
    /// (on PostgreSQL, since [`Db::count_writes`]).
    pub fn rows_written(&self) -> u64 {
        self.rows_written.load(Ordering::Relaxed)
    }

    /// A connection of its own, outside the pool, with the same settings: for the webhook
    /// writer, which holds it for the life of the process.
    pub fn dedicated(&self) -> Result<Conn, DbError> {
        establish(&self.location)
            .map_err(|e| DbError::Migration(format!("cannot open {}: {e}", self.location)))
    }

    /// A pooled connection for synchronous callers (CLI start-up, tests).
    pub fn conn(&self) -> Result<PooledConnection<Manager>, DbError> {
        Ok(self.pool.get()?)
    }
}

/// The advisory lock every PostgreSQL write transaction holds until it ends.
const WRITE_LOCK: i64 = 0x7465_6d70_6c61_0000;

/// Runs `f` in a transaction that writes, one at a time across every process sharing the
/// database. On SQLite that is `BEGIN IMMEDIATE`, which takes the file's write lock at once.
/// On PostgreSQL the transaction takes one advisory lock first, the same rule: templar's writes
/// read, compare and then write (the ledger's "did the status change", the roll-ups, "is this
/// message new"), and that is only right if no other writer moves in between. Reads never wait
/// for it, and a group commit holds it once for many webhooks.
pub fn write_transaction<T, F>(conn: &mut Conn, f: F) -> QueryResult<T>
where
    F: FnOnce(&mut Conn) -> QueryResult<T>,
{
    match conn {
        Conn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        Conn::Pg(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            let locked = diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
                .bind::<diesel::sql_types::BigInt, _>(WRITE_LOCK)
                .execute(c);
            if let Err(e) = locked {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                return Err(e);
            }
        }
    }
    match f(conn) {
        Ok(value) => {
            <Conn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            let _ = <Conn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// Runs the same statement, written once, on whichever backend `conn` is: for what diesel's
/// DSL has only per backend (upserts: `ON CONFLICT`), which the two-backend [`Conn`] lacks.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::Conn::Sqlite($c) => $body,
            $crate::db::Conn::Pg($c) => $body,
        }
    };
}

/// Hand-written SQL, written with `?` placeholders as in SQLite: on PostgreSQL they become `$1`,
/// `$2`, … (diesel numbers its own placeholders, but not those in `sql_query`'s text). `?`
/// never appears in templar's SQL but as a placeholder.
pub fn sql(conn: &Conn, text: impl Into<String>) -> diesel::query_builder::SqlQuery {
    let text = text.into();
    match conn {
        Conn::Sqlite(_) => diesel::sql_query(text),
        Conn::Pg(_) => diesel::sql_query(numbered(&text)),
    }
}

/// `a = ? AND b = ?` → `a = $1 AND b = $2`.
fn numbered(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut n = 0;
    for ch in text.chars() {
        if ch == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A fresh in-memory database with every migration applied, for unit tests of model and
/// ledger functions.
#[cfg(test)]
pub fn memory() -> Conn {
    let mut conn = SqliteConnection::establish(":memory:").expect("in-memory SQLite");
    conn.batch_execute("PRAGMA foreign_keys = ON;")
        .expect("foreign keys");
    conn.run_pending_migrations(MIGRATIONS)
        .expect("migrations apply");
    Conn::Sqlite(conn)
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
        let db = Db::open(dir.path().join("t.db")).unwrap();
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
