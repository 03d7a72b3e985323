//! A run's outcome: the report people read, and the `sync_runs` row health and notifications read.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::*;
use crate::config::AccountConfig;
use crate::db::models::{accounts, sync_runs};
use crate::db::DbError;
use crate::ledger::Plan;

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
    /// Records upstream returned that did not parse (their templates are kept as they were).
    pub skipped: u32,
    /// Of those, the ones whose id could not be read either: the listing is then incomplete
    /// and marks nothing deleted.
    pub unidentified: u32,
    pub events: u32,
    pub duration_ms: u64,
    pub error: Option<String>,
    /// `ok`, `partial` (records were skipped) or `failed`.
    pub outcome: String,
    /// Status, quality and category changes (new templates are counted, not listed).
    pub changes: Vec<ChangeLine>,
}

impl AccountReport {
    pub(crate) fn outcome_now(&self) -> &'static str {
        match (&self.error, self.skipped) {
            (Some(_), _) => "failed",
            (None, 0) => "ok",
            (None, _) => "partial",
        }
    }
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

pub(crate) fn run_row(
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

pub(crate) async fn record_failure(
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
pub(crate) fn tally(plan: &Plan, r: &mut AccountReport) {
    r.created += plan.inserts.len() as u32;
    r.changed += plan.updates.len() as u32;
    r.removed += plan.deletes.len() as u32;
    r.events += plan.event_count() as u32;
    r.changes.extend(plan.change_lines());
}
