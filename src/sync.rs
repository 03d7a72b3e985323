//! Reconciliation: pull templates from every account's source and bring the database in step,
//! recording an event for each real change. The CLI (`templar sync`) and the scheduler call the
//! same [`run_once`], so "sync now" and "sync on schedule" cannot drift apart.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::db::Conn;
use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;

use crate::config::{AccountConfig, Config};
use crate::db::models::templates as tpl;
use crate::db::models::{accounts, sync_runs};
use crate::db::Db;
use crate::domain::EventSource;
pub use crate::ledger::ChangeLine;
use crate::ledger::{apply, deletions, Plan};
use crate::sources::Graph;

mod walk;
use walk::*;

mod record;
pub use record::*;

/// A full reconciliation, or the cheap check of templates still under review.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Every template of every WABA; missing ones are marked deleted.
    Full,
    /// Only PENDING / IN_APPEAL templates (filtered listing plus look-ups by id).
    Pending,
}

impl SyncMode {
    fn as_str(self) -> &'static str {
        match self {
            SyncMode::Full => "full",
            SyncMode::Pending => "pending",
        }
    }
}

/// What one run should do.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub mode: SyncMode,
    /// Only this account.
    pub account: Option<String>,
    /// Compute and report the changes, write nothing.
    pub dry_run: bool,
}

/// Everything a sync needs, cheap to clone.
#[derive(Clone)]
pub struct SyncContext {
    pub db: Db,
    pub config: Arc<Config>,
    pub client: reqwest::Client,
    /// Where the runs' durations go (`serve`'s `/metrics`; a CLI run's are dropped).
    pub metrics: crate::metrics::Metrics,
}

/// Why a run did not happen at all.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("another sync is already running against {0} (it holds the lock file); try again when it has finished")]
    AlreadyRunning(String),
    #[error("cannot create the sync lock file {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    UnknownAccount(#[from] crate::config::UnknownAccount),
    #[error("cannot take the sync lock: {0}")]
    Db(#[from] crate::db::DbError),
}

/// Holds the run lock until dropped: one sync at a time across `serve`, the CLI and anything
/// else sharing the database. On SQLite an OS file lock beside the database; on PostgreSQL a
/// session advisory lock on a connection of its own, which the server also releases if the
/// process dies.
#[allow(dead_code)]
enum RunLock {
    File(File),
    Postgres(crate::db::Conn),
}

/// The advisory lock key of a sync run on PostgreSQL.
const SYNC_LOCK: i64 = 0x7465_6d70_6c61_0002;

impl Drop for RunLock {
    fn drop(&mut self) {
        use diesel::RunQueryDsl;
        if let RunLock::Postgres(conn) = self {
            // Closing the connection would release it too, but the server may notice only
            // after the next run has already been told another one is running.
            let _ = crate::on_backend!(conn, c =>
                diesel::sql_query("SELECT pg_advisory_unlock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(SYNC_LOCK)
                    .execute(c));
        }
    }
}

fn lock(db: &crate::db::Db) -> Result<RunLock, SyncError> {
    use diesel::RunQueryDsl;
    let db_path = match db.location() {
        crate::db::Location::Sqlite(p) => p,
        crate::db::Location::Postgres(_) => {
            #[derive(diesel::QueryableByName)]
            struct Got {
                #[diesel(sql_type = diesel::sql_types::Bool)]
                locked: bool,
            }
            let mut conn = db.dedicated()?;
            let got: Got = crate::on_backend!(&mut conn, c =>
                diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                    .bind::<diesel::sql_types::BigInt, _>(SYNC_LOCK)
                    .get_result(c))
            .map_err(crate::db::DbError::from)?;
            return if got.locked {
                Ok(RunLock::Postgres(conn))
            } else {
                Err(SyncError::AlreadyRunning(db.location().to_string()))
            };
        }
    };
    let path = PathBuf::from(format!("{}.sync-lock", db_path.display()));
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| SyncError::Lock {
            path: path.display().to_string(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(RunLock::File(file)),
        Err(std::fs::TryLockError::WouldBlock) => {
            Err(SyncError::AlreadyRunning(db_path.display().to_string()))
        }
        Err(std::fs::TryLockError::Error(source)) => Err(SyncError::Lock {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Runs one reconciliation of the selected accounts, concurrently (bounded by
/// `sync.concurrency`); one account failing does not stop the others.
pub async fn run_once(
    ctx: &SyncContext,
    opts: &SyncOptions,
    now: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    let selected: Vec<AccountConfig> = match &opts.account {
        Some(name) => vec![ctx.config.account(name)?.clone()],
        None => ctx.config.accounts.clone(),
    };
    let _lock = if opts.dry_run {
        None
    } else {
        Some(lock(&ctx.db)?)
    };
    // One deadline for the whole run, so the lock is free by then whatever the accounts do.
    let deadline = tokio::time::Instant::now() + ctx.config.sync.run_timeout;
    let accounts = each_account(ctx, &selected, opts, now, |ctx, account, opts| async move {
        sync_account(&ctx, &account, &opts, now, deadline).await
    })
    .await;
    Ok(SyncReport {
        mode: opts.mode.as_str().into(),
        dry_run: opts.dry_run,
        accounts,
    })
}

/// Runs `run` for each account, concurrently up to `sync.concurrency`, and returns the reports
/// in the accounts' order. A run that panics becomes that account's failed run, recorded like
/// any other, rather than a silent end of the sync.
async fn each_account<F, Fut>(
    ctx: &SyncContext,
    selected: &[AccountConfig],
    opts: &SyncOptions,
    now: DateTime<Utc>,
    run: F,
) -> Vec<AccountReport>
where
    F: Fn(SyncContext, AccountConfig, SyncOptions) -> Fut,
    Fut: std::future::Future<Output = AccountReport> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(ctx.config.sync.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut by_task = HashMap::new();
    for (index, account) in selected.iter().enumerate() {
        let permits = permits.clone();
        let job = run(ctx.clone(), account.clone(), opts.clone());
        let (metrics, name, mode) = (
            ctx.metrics.clone(),
            account.name.clone(),
            opts.mode.as_str(),
        );
        let task = tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let started = std::time::Instant::now();
            let report = job.await;
            metrics.observe(
                "templar_sync_run_seconds",
                &[("account", &name), ("mode", mode)],
                started.elapsed().as_secs_f64(),
            );
            let outcome = report.outcome_now();
            metrics.inc(
                "templar_sync_runs_total",
                &[("account", &name), ("outcome", outcome)],
            );
            report
        });
        by_task.insert(task.id(), index);
    }
    let mut reports = Vec::new();
    while let Some(joined) = tasks.join_next_with_id().await {
        match joined {
            Ok((id, r)) => reports.push((by_task[&id], r)),
            Err(e) => {
                let index = by_task[&e.id()];
                let account = &selected[index];
                let why = match e.try_into_panic() {
                    Ok(panic) => format!(
                        "the run stopped on an internal error: {}",
                        panic_text(&*panic)
                    ),
                    Err(e) => format!("the run was cancelled: {e}"),
                };
                tracing::error!(account = %account.name, "sync of {} failed: {why}", account.name);
                let report = AccountReport {
                    account: account.name.clone(),
                    source: account.source.as_str().into(),
                    error: Some(why),
                    outcome: "failed".into(),
                    ..Default::default()
                };
                if !opts.dry_run {
                    record_failure(ctx, account, opts, &report, now).await;
                }
                reports.push((index, report));
            }
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(s), _) => s.to_string(),
        (_, Some(s)) => s.clone(),
        _ => "a panic".into(),
    }
}

async fn sync_account(
    ctx: &SyncContext,
    account: &AccountConfig,
    opts: &SyncOptions,
    now: DateTime<Utc>,
    deadline: tokio::time::Instant,
) -> AccountReport {
    let started = Instant::now();
    let source = Graph::for_account(account, &ctx.config.sync, ctx.client.clone());
    let mut report = AccountReport {
        account: account.name.clone(),
        source: account.source.as_str().into(),
        ..Default::default()
    };
    let key = AccountKey {
        name: account.name.clone(),
        source: account.source.as_str(),
        now: now.timestamp(),
        dry_run: opts.dry_run,
    };
    let limit = ctx.config.sync.run_timeout;
    let walking = walk(ctx, &source, &key, opts.mode, &mut report);
    let walked = match tokio::time::timeout_at(deadline, walking).await {
        Ok(walked) => walked,
        Err(_) => Err(format!(
            "the run did not finish within {} s (`sync.run_timeout_secs`); what was read is \
             kept and nothing was marked deleted",
            limit.as_secs()
        )),
    };
    report.requests = source.requests();
    let outcome = match walked {
        Ok(seen) => finish(&ctx.db, &key, opts, seen, &mut report, started).await,
        Err(e) => Err(e),
    };
    report.duration_ms = started.elapsed().as_millis() as u64;
    if let Err(error) = outcome {
        report.error = Some(error);
        if !opts.dry_run {
            record_failure(ctx, account, opts, &report, now).await;
        }
    }
    report.outcome = report.outcome_now().into();
    let quiet =
        report.created + report.changed + report.removed == 0 && opts.mode == SyncMode::Pending;
    match &report.error {
        None if quiet => {
            tracing::debug!(account = %report.account, "pending check of {}: no change", report.account)
        }
        None => tracing::info!(
            account = %report.account,
            "synced {}: {} templates, {} new, {} changed, {} removed",
            report.account, report.seen, report.created, report.changed, report.removed
        ),
        Some(e) => {
            tracing::warn!(account = %report.account, "sync of {} failed: {e}", report.account)
        }
    }
    report
}

/// Ends a run: after a complete full listing, marks what was not seen as deleted; records the
/// run.
async fn finish(
    db: &Db,
    key: &AccountKey,
    opts: &SyncOptions,
    seen: HashSet<String>,
    report: &mut AccountReport,
    started: Instant,
) -> Result<(), String> {
    // Records without a readable id may be any template: deleting the unseen would guess.
    let full = opts.mode == SyncMode::Full && report.unidentified == 0;
    let (key, opts2, partial) = (key.clone(), opts.clone(), report.clone());
    let gone = move |conn: &mut Conn, id: Option<i32>| -> diesel::QueryResult<Plan> {
        match id {
            Some(id) if full => Ok(deletions(&tpl::live_for_account(conn, id)?, &seen, key.now)),
            _ => Ok(Plan::default()),
        }
    };
    let done = if key.dry_run {
        let name = key.name.clone();
        db.run(move |conn| {
            let id = accounts::find_id(conn, &name)?;
            let plan = gone(conn, id)?;
            let mut r = partial;
            tally(&plan, &mut r);
            Ok(r)
        })
        .await
    } else {
        db.write(move |conn| {
            let id = accounts::ensure(conn, &key.name, key.source, key.now)?;
            let plan = gone(conn, Some(id))?;
            apply(conn, id, &plan, key.now, EventSource::Sync)?;
            let mut r = partial;
            tally(&plan, &mut r);
            r.duration_ms = started.elapsed().as_millis() as u64;
            let row = run_row(id, &opts2, &r, key.now);
            let quiet = r.created + r.changed + r.removed + r.skipped == 0;
            if opts2.mode == SyncMode::Pending && quiet {
                sync_runs::insert_quiet_pending(conn, &row)?;
            } else {
                sync_runs::insert(conn, &row)?;
            }
            Ok(r)
        })
        .await
    };
    *report = done.map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests;
