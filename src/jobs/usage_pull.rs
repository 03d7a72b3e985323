//! The usage pull (`sync.usage_schedule`): template analytics and message history from each
//! account's source, into the daily roll-up.

use tokio::sync::watch;

use crate::clock;
use crate::db::models::job_runs;
use crate::sync::SyncContext;

/// The name of this job in `job_runs`.
const JOB: &str = "usage_pull";

/// Pulls usage on `sync.usage_schedule` until `shutdown`, and at once when the last pull that
/// succeeded for every account is older than the schedule's interval (or there was none).
/// A catch-up pull waits for `first_sync` (the full sync's own catch-up), since usage is
/// attributed to the templates that sync brings in.
pub async fn run(
    ctx: SyncContext,
    mut first_sync: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
) {
    let schedule = ctx.config.sync.usage_schedule.clone();
    tracing::info!(schedule = %schedule.expr, "usage pull scheduled");
    let last = ctx
        .db
        .run(|c| job_runs::last_success(c, JOB))
        .await
        .unwrap_or(None);
    let catch_up = super::overdue(&schedule, last, clock::now());
    if catch_up {
        let mut stop = shutdown.clone();
        tokio::select! {
            _ = first_sync.wait_for(|done| *done) => {},
            _ = stop.changed() => return,
        }
    }
    super::every(schedule, catch_up, shutdown, || async {
        let now = clock::now();
        let mut ok = true;
        for r in crate::usage::run(&ctx, None, now).await {
            if let Some(e) = r.error {
                ok = false;
                tracing::warn!(account = %r.account, "usage pull failed: {e}");
            }
        }
        if ok {
            let at = now.timestamp();
            if let Err(e) = ctx.db.write(move |c| job_runs::succeeded(c, JOB, at)).await {
                tracing::error!("could not record the usage pull: {e}");
            }
        }
    })
    .await;
}
