//! The usage pull (`sync.usage_schedule`): template analytics and message history from each
//! account's source, into the daily roll-up.

use tokio::sync::watch;

use crate::clock;
use crate::sync::SyncContext;

/// Pulls usage on `sync.usage_schedule` until `shutdown`.
pub async fn run(ctx: SyncContext, shutdown: watch::Receiver<bool>) {
    let schedule = ctx.config.sync.usage_schedule.clone();
    tracing::info!(schedule = %schedule.expr, "usage pull scheduled");
    super::every(schedule, shutdown, || async {
        for r in crate::usage::run(&ctx, None, clock::now()).await {
            if let Some(e) = r.error {
                tracing::warn!(account = %r.account, "usage pull failed: {e}");
            }
        }
    })
    .await;
}
