//! Scheduled work: one file per job, and one loop ([`run`]) that starts them all inside
//! `templar serve`, on the replica that leads ([`leader`]). A failed run is logged and its
//! loop keeps going.
//!
//! | job | schedule |
//! |---|---|
//! | [`full_sync`] | `sync.schedule` |
//! | [`pending_check`] | `sync.pending_schedule` |
//! | [`usage_pull`] | `sync.usage_schedule` |
//! | [`reports`] | each `[[report]]`'s `schedule` |
//! | [`period_totals`] | a minute past each UTC midnight |
//! | [`digest`] | each `[[notify]]` channel's `digest` |
//! | [`retention`] | 03:17 UTC daily |
//! | [`anomalies`] | every 10 minutes |

pub mod anomalies;
pub mod digest;
pub mod full_sync;
pub mod leader;
pub mod pending_check;
pub mod period_totals;
pub mod reports;
pub mod retention;
pub mod usage_pull;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::clock;
use crate::config::CronSchedule;
use crate::notify::worker::Notifier;
use crate::sync::SyncContext;

/// Starts every scheduled job and waits until each has seen `shutdown`.
pub async fn run(ctx: SyncContext, notifier: Notifier, shutdown: watch::Receiver<bool>) {
    let full_sync_due = Arc::new(AtomicBool::new(false));
    let (started, first_sync) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(full_sync::run(
        ctx.clone(),
        full_sync_due.clone(),
        started,
        shutdown.clone(),
    ));
    tasks.spawn(pending_check::run(
        ctx.clone(),
        full_sync_due,
        shutdown.clone(),
    ));
    tasks.spawn(usage_pull::run(ctx.clone(), first_sync, shutdown.clone()));
    tasks.spawn(reports::run(
        ctx.db.clone(),
        ctx.config.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(period_totals::run(ctx.db.clone(), shutdown.clone()));
    tasks.spawn(retention::run(
        ctx.db.clone(),
        ctx.config.clone(),
        shutdown.clone(),
    ));
    tasks.spawn(anomalies::run(ctx.db.clone(), shutdown.clone()));
    tasks.spawn(digest::run(notifier, shutdown));
    while tasks.join_next().await.is_some() {}
}

/// Whether a job that last succeeded at `last` (unix seconds) missed a firing of `schedule`:
/// it never ran, or longer ago than the schedule's interval.
pub fn overdue(schedule: &CronSchedule, last: Option<i64>, now: DateTime<Utc>) -> bool {
    match (last, schedule.interval(now)) {
        (None, _) => true,
        (Some(last), Some(gap)) => now.timestamp() - last > gap.num_seconds(),
        (Some(_), None) => false,
    }
}

/// Runs `job` at once when `catch_up`, then at each firing of `schedule`, until `shutdown`
/// (which also ends a run in progress: what it committed stays).
pub async fn every<F, Fut>(
    schedule: CronSchedule,
    catch_up: bool,
    mut shutdown: watch::Receiver<bool>,
    mut job: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    if catch_up {
        tokio::select! {
            _ = job() => {},
            _ = shutdown.changed() => return,
        }
    }
    loop {
        let now = clock::now();
        let Some(next) = schedule.next_after(now) else {
            tracing::warn!(schedule = %schedule.expr, "schedule never fires again");
            return;
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = async { tokio::time::sleep(wait).await; job().await } => {},
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
    }
}
