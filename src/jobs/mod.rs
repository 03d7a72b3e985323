//! Scheduled work: one file per job, and one loop ([`run`]) that starts them all inside
//! `templar serve`. A failed run is logged and its loop keeps going.
//!
//! | job | schedule |
//! |---|---|
//! | [`full_sync`] | `sync.schedule` |
//! | [`pending_check`] | `sync.pending_schedule` |
//! | [`usage_pull`] | `sync.usage_schedule` |
//! | [`reports`] | each `[[report]]`'s `schedule` |
//! | [`period_totals`] | a minute past each UTC midnight |
//! | [`digest`] | each `[[notify]]` channel's `digest` |

pub mod digest;
pub mod full_sync;
pub mod pending_check;
pub mod period_totals;
pub mod reports;
pub mod usage_pull;

use tokio::sync::watch;

use crate::clock;
use crate::config::CronSchedule;
use crate::notify::worker::Notifier;
use crate::sync::SyncContext;

/// Starts every scheduled job and waits until each has seen `shutdown`.
pub async fn run(ctx: SyncContext, notifier: Notifier, shutdown: watch::Receiver<bool>) {
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(full_sync::run(ctx.clone(), shutdown.clone()));
    tasks.spawn(pending_check::run(ctx.clone(), shutdown.clone()));
    tasks.spawn(usage_pull::run(ctx.clone(), shutdown.clone()));
    tasks.spawn(reports::run(
        ctx.db.clone(),
        ctx.config.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(period_totals::run(ctx.db.clone(), shutdown.clone()));
    tasks.spawn(digest::run(notifier, shutdown));
    while tasks.join_next().await.is_some() {}
}

/// Sleeps until each firing of `schedule` and runs `job`, until `shutdown`.
pub async fn every<F, Fut>(schedule: CronSchedule, mut shutdown: watch::Receiver<bool>, mut job: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    loop {
        let now = clock::now();
        let Some(next) = schedule.next_after(now) else {
            tracing::warn!(schedule = %schedule.expr, "schedule never fires again");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => job().await,
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
