//! The cheap check of templates under review (`sync.pending_schedule`): only PENDING and
//! IN_APPEAL templates, so an approval shows within minutes even without webhooks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

use crate::clock;
use crate::sync::{self, SyncContext, SyncError, SyncMode, SyncOptions};

/// Runs the check of templates under review on `sync.pending_schedule` until `shutdown`. A
/// check that would overlap another sync, or that meets a due full sync (which looks at
/// every template anyway), is skipped.
pub async fn run(
    ctx: SyncContext,
    full_sync_due: Arc<AtomicBool>,
    shutdown: watch::Receiver<bool>,
) {
    let schedule = ctx.config.sync.pending_schedule.clone();
    tracing::info!(schedule = %schedule.expr, "Pending check scheduled");
    super::every(schedule, false, shutdown, || async {
        if full_sync_due.load(Ordering::SeqCst) {
            tracing::debug!("Pending check skipped: a full sync is due");
            return;
        }
        let opts = SyncOptions {
            mode: SyncMode::Pending,
            account: None,
            dry_run: false,
        };
        match sync::run_once(&ctx, &opts, clock::now()).await {
            Ok(report) if report.failed() => {
                tracing::warn!("Pending check finished with failed accounts")
            }
            Ok(_) => {}
            Err(SyncError::AlreadyRunning(_)) => {
                tracing::info!("Pending check skipped: another sync is still running")
            }
            Err(e) => tracing::error!("Pending check did not run: {e}"),
        }
    })
    .await;
}
