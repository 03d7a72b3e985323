//! The full reconciliation of every account (`sync.schedule`): every template, and the ones
//! no longer listed marked deleted. It is never dropped: a due run waits for a sync in
//! progress, and the pending check stands aside while it waits.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::clock;
use crate::db::models::sync_runs;
use crate::sync::{self, SyncContext, SyncError, SyncMode, SyncOptions};

/// How often a due full sync looks again whether the sync in progress has finished.
const RETRY: Duration = Duration::from_millis(250);

/// Runs a full reconciliation on `sync.schedule` until `shutdown`, and at once when the last
/// successful one is older than the schedule's interval (or there was none).
/// `started` turns true once the catch-up run (if any) is over.
pub async fn run(
    ctx: SyncContext,
    due: Arc<AtomicBool>,
    started: watch::Sender<bool>,
    shutdown: watch::Receiver<bool>,
) {
    let schedule = ctx.config.sync.schedule.clone();
    tracing::info!(schedule = %schedule.expr, "Full sync scheduled");
    let names: Vec<String> = ctx.config.accounts.iter().map(|a| a.name.clone()).collect();
    let last = ctx
        .db
        .run(move |c| sync_runs::last_full_success(c, &names))
        .await
        .unwrap_or(None);
    let catch_up = super::overdue(&schedule, last, clock::now());
    if catch_up {
        tracing::info!("Full sync overdue: running it now");
        let mut stop = shutdown.clone();
        tokio::select! {
            _ = once(&ctx, &due) => {},
            _ = stop.changed() => return,
        }
    }
    started.send_replace(true);
    super::every(schedule, false, shutdown, || once(&ctx, &due)).await;
}

async fn once(ctx: &SyncContext, due: &AtomicBool) {
    let opts = SyncOptions {
        mode: SyncMode::Full,
        account: None,
        dry_run: false,
    };
    due.store(true, Ordering::SeqCst);
    let mut waited = false;
    let outcome = loop {
        match sync::run_once(ctx, &opts, clock::now()).await {
            Err(SyncError::AlreadyRunning(_)) => {
                if !waited {
                    tracing::info!("Full sync waiting for the sync in progress to finish");
                    waited = true;
                }
                tokio::time::sleep(RETRY).await;
            }
            other => break other,
        }
    };
    due.store(false, Ordering::SeqCst);
    match outcome {
        Ok(report) if report.failed() => {
            tracing::warn!("Full sync finished with failed accounts")
        }
        Ok(_) => {}
        Err(e) => tracing::error!("Full sync did not run: {e}"),
    }
}
