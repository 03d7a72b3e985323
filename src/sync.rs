//! Reconciliation: pull templates from every account's source and bring the database in step,
//! recording an event for each real change. The CLI (`templar sync`) and the scheduler call the
//! same [`run_once`], so "sync now" and "sync on schedule" cannot drift apart.

use std::collections::HashSet;
use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use diesel::SqliteConnection;
use serde::Serialize;
use tokio::sync::Semaphore;

use crate::config::{AccountConfig, Config};
use crate::db::models::templates as tpl;
use crate::db::models::{accounts, sync_runs};
use crate::db::{Db, DbError};
use crate::domain::{EventSource, RemoteTemplate, TemplateStatus};
pub use crate::ledger::ChangeLine;
use crate::ledger::{apply, deletions, plan, Plan};
use crate::sources::{Graph, ListFilter};

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
}

/// The outcome for one account.
#[derive(Debug, Clone, Serialize, Default)]
pub struct AccountReport {
    pub account: String,
    pub source: String,
    pub wabas: Vec<String>,
    pub pages: u32,
    pub requests: u32,
    pub seen: u32,
    pub created: u32,
    pub changed: u32,
    pub removed: u32,
    pub skipped: u32,
    pub events: u32,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// Status, quality and category changes (new templates are counted, not listed).
    pub changes: Vec<ChangeLine>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct SyncReport {
    pub mode: String,
    pub dry_run: bool,
    pub accounts: Vec<AccountReport>,
}

impl SyncReport {
    /// Whether any account failed.
    pub fn failed(&self) -> bool {
        self.accounts.iter().any(|a| a.error.is_some())
    }
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
    Config(#[from] crate::config::ConfigError),
}

/// Holds the run lock (an OS file lock beside the database) until dropped: one sync at a time
/// across `serve`, the CLI and anything else sharing the database.
struct RunLock(#[allow(dead_code)] File);

fn lock(db_path: &std::path::Path) -> Result<RunLock, SyncError> {
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
        Ok(()) => Ok(RunLock(file)),
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
        Some(lock(&ctx.config.database)?)
    };
    let permits = Arc::new(Semaphore::new(ctx.config.sync.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, account) in selected.into_iter().enumerate() {
        let ctx = ctx.clone();
        let permits = permits.clone();
        let opts = opts.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            (index, sync_account(&ctx, &account, &opts, now).await)
        });
    }
    let mut reports = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => reports.push(r),
            Err(e) => tracing::error!("a sync task failed: {e}"),
        }
    }
    reports.sort_by_key(|(i, _)| *i);
    Ok(SyncReport {
        mode: opts.mode.as_str().into(),
        dry_run: opts.dry_run,
        accounts: reports.into_iter().map(|(_, r)| r).collect(),
    })
}

async fn sync_account(
    ctx: &SyncContext,
    account: &AccountConfig,
    opts: &SyncOptions,
    now: DateTime<Utc>,
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
    let walked = walk(ctx, &source, &key, opts.mode, &mut report).await;
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

/// What a batch write needs to know about its account and run.
#[derive(Clone)]
struct AccountKey {
    name: String,
    source: &'static str,
    now: i64,
    dry_run: bool,
}

type BatchTask = tokio::task::JoinHandle<Result<AccountReport, DbError>>;

/// Fetches every page (or, in pending mode, the templates under review), reconciling each page
/// while the next one is on its way. Returns the ids seen.
async fn walk(
    ctx: &SyncContext,
    source: &Graph,
    key: &AccountKey,
    mode: SyncMode,
    report: &mut AccountReport,
) -> Result<HashSet<String>, String> {
    let mut seen = HashSet::new();
    let mut inflight: Option<BatchTask> = None;
    let fetched = walk_pages(ctx, source, key, mode, report, &mut seen, &mut inflight).await;
    // Whatever happened upstream, what was already fetched is committed and counted.
    if let Some(task) = inflight.take() {
        merge(report, task).await?;
    }
    fetched.map_err(|e| e.to_string())?;
    report.seen = seen.len() as u32;
    Ok(seen)
}

async fn merge(report: &mut AccountReport, task: BatchTask) -> Result<(), String> {
    let part = task
        .await
        .map_err(|_| "a database task failed".to_string())?
        .map_err(|e| e.to_string())?;
    report.created += part.created;
    report.changed += part.changed;
    report.events += part.events;
    report.changes.extend(part.changes);
    Ok(())
}

async fn walk_pages(
    ctx: &SyncContext,
    source: &Graph,
    key: &AccountKey,
    mode: SyncMode,
    report: &mut AccountReport,
    seen: &mut HashSet<String>,
    inflight: &mut Option<BatchTask>,
) -> Result<(), String> {
    let wabas = source.wabas().await.map_err(|e| e.to_string())?;
    if wabas.is_empty() {
        return Err(
            "no WhatsApp Business Account found: set `waba_id`, or check the account's \
                    phone numbers"
                .into(),
        );
    }
    report.wabas = wabas.clone();
    let filter = match mode {
        SyncMode::Full => ListFilter::default(),
        SyncMode::Pending => ListFilter {
            statuses: vec!["PENDING".into(), "IN_APPEAL".into()],
        },
    };
    for waba in &wabas {
        let mut after: Option<String> = None;
        loop {
            let page = source
                .list_page(waba, &filter, after.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            report.pages += 1;
            report.skipped += page.skipped;
            seen.extend(page.templates.iter().map(|t| t.id.clone()));
            submit(ctx, key, report, inflight, page.templates).await?;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    if mode == SyncMode::Pending {
        // Templates that left review are no longer in the filtered listing: look each one up.
        let name = key.name.clone();
        let under_review: Vec<(String, String)> = ctx
            .db
            .run(move |conn| {
                let Some(id) = accounts::find_id(conn, &name)? else {
                    return Ok(vec![]);
                };
                Ok(tpl::for_account(conn, id)?
                    .into_iter()
                    .filter(|t| t.deleted_at.is_none())
                    .filter(|t| TemplateStatus::parse(&t.status).is_under_review())
                    .map(|t| (t.waba_id, t.template_id))
                    .collect())
            })
            .await
            .map_err(|e| e.to_string())?;
        let mut found = Vec::new();
        let missing: Vec<_> = under_review
            .into_iter()
            .filter(|(_, id)| !seen.contains(id))
            .collect();
        for (waba, id) in missing {
            if let Some(t) = source
                .get_template(&waba, &id)
                .await
                .map_err(|e| e.to_string())?
            {
                seen.insert(t.id.clone());
                found.push(t);
            }
        }
        submit(ctx, key, report, inflight, found).await?;
    }
    Ok(())
}

/// Starts reconciling a batch, after collecting the one before it: one write in flight.
async fn submit(
    ctx: &SyncContext,
    key: &AccountKey,
    report: &mut AccountReport,
    inflight: &mut Option<BatchTask>,
    templates: Vec<RemoteTemplate>,
) -> Result<(), String> {
    let task = tokio::spawn(reconcile_batch(ctx.db.clone(), key.clone(), templates));
    match inflight.replace(task) {
        Some(previous) => merge(report, previous).await,
        None => Ok(()),
    }
}

/// Reconciles one batch of fetched templates. Plans on a read first, and takes the write lock
/// only when something changed (then plans again inside the transaction, so a concurrent
/// webhook cannot be overwritten by a stale plan).
async fn reconcile_batch(
    db: Db,
    key: AccountKey,
    templates: Vec<RemoteTemplate>,
) -> Result<AccountReport, DbError> {
    if templates.is_empty() {
        return Ok(AccountReport::default());
    }
    let templates = Arc::new(templates);
    let (name, fetched) = (key.name.clone(), templates.clone());
    let now = key.now;
    let planned = db
        .run(move |conn| {
            let rows = match accounts::find_id(conn, &name)? {
                Some(id) => tpl::by_template_ids(conn, id, fetched.iter().map(|t| t.id.as_str()))?,
                None => vec![],
            };
            Ok(plan(&rows, &fetched, now))
        })
        .await?;
    if planned.is_empty() || key.dry_run {
        let mut r = AccountReport::default();
        tally(&planned, &mut r);
        return Ok(r);
    }
    db.write(move |conn| {
        let id = accounts::ensure(conn, &key.name, key.source, now)?;
        let rows = tpl::by_template_ids(conn, id, templates.iter().map(|t| t.id.as_str()))?;
        let plan = plan(&rows, &templates, now);
        apply(conn, id, &plan, now, EventSource::Sync)?;
        let mut r = AccountReport::default();
        tally(&plan, &mut r);
        Ok(r)
    })
    .await
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
    let full = opts.mode == SyncMode::Full;
    let (key, opts2, partial) = (key.clone(), opts.clone(), report.clone());
    let gone = move |conn: &mut SqliteConnection, id: Option<i32>| -> diesel::QueryResult<Plan> {
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
            sync_runs::insert(conn, &run_row(id, &opts2, &r, key.now))?;
            Ok(r)
        })
        .await
    };
    *report = done.map_err(|e| e.to_string())?;
    Ok(())
}

fn run_row(
    account_id: i32,
    opts: &SyncOptions,
    r: &AccountReport,
    now: i64,
) -> sync_runs::NewSyncRun {
    sync_runs::NewSyncRun {
        account_id,
        kind: opts.mode.as_str().into(),
        started_at: now,
        finished_at: now + (r.duration_ms / 1000) as i64,
        pages: r.pages as i32,
        requests: r.requests as i32,
        seen: r.seen as i32,
        created: r.created as i32,
        changed: r.changed as i32,
        removed: r.removed as i32,
        skipped: r.skipped as i32,
        error: r.error.clone(),
    }
}

async fn record_failure(
    ctx: &SyncContext,
    account: &AccountConfig,
    opts: &SyncOptions,
    report: &AccountReport,
    now: DateTime<Utc>,
) {
    let (name, src, opts, r) = (
        account.name.clone(),
        account.source.as_str(),
        opts.clone(),
        report.clone(),
    );
    let now = now.timestamp();
    let res: Result<(), DbError> = ctx
        .db
        .write(move |conn| {
            let id = accounts::ensure(conn, &name, src, now)?;
            sync_runs::insert(conn, &run_row(id, &opts, &r, now))
        })
        .await;
    if let Err(e) = res {
        tracing::error!(account = %account.name, "could not record the failed sync run: {e}");
    }
}

/// Adds a plan's counts and changes to `r`.
fn tally(plan: &Plan, r: &mut AccountReport) {
    r.created += plan.inserts.len() as u32;
    r.changed += plan.updates.len() as u32;
    r.removed += plan.deletes.len() as u32;
    r.events += plan.event_count() as u32;
    r.changes.extend(plan.change_lines());
}
