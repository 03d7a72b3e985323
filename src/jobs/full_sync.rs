//! The full reconciliation of every account (`sync.schedule`): every template, and the ones
//! no longer listed marked deleted.

use tokio::sync::watch;

use crate::clock;
use crate::sync::{self, SyncContext, SyncError, SyncMode, SyncOptions};

/// Runs a full reconciliation on `sync.schedule` until `shutdown`; a run that would overlap another is skipped.
pub async fn run(ctx: SyncContext, shutdown: watch::Receiver<bool>) {
    let schedule = ctx.config.sync.schedule.clone();
    tracing::info!(schedule = %schedule.expr, "Full sync scheduled");
    super::every(schedule, shutdown, || async {
        let opts = SyncOptions {
            mode: SyncMode::Full,
            account: None,
            dry_run: false,
        };
        match sync::run_once(&ctx, &opts, clock::now()).await {
            Ok(report) if report.failed() => {
                tracing::warn!("Full sync finished with failed accounts")
            }
            Ok(_) => {}
            Err(SyncError::AlreadyRunning(_)) => {
                tracing::info!("Full sync skipped: another sync is still running")
            }
            Err(e) => tracing::error!("Full sync did not run: {e}"),
        }
    })
    .await;
}
