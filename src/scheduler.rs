//! The cron loop inside `templar serve`: a full reconciliation on `sync.schedule` and a cheap
//! check of templates under review on `sync.pending_schedule`, and the usage pull on
//! `sync.usage_schedule`. A failed run is logged and the
//! loop keeps going; a run that would overlap another is skipped.

use tokio::sync::watch;

use crate::clock;
use crate::config::CronSchedule;
use crate::sync::{self, SyncContext, SyncError, SyncMode, SyncOptions};

/// Runs both sync schedules until `shutdown` turns true.
pub async fn run(ctx: SyncContext, shutdown: watch::Receiver<bool>) {
    let full = tokio::spawn(sync_loop(
        ctx.clone(),
        ctx.config.sync.schedule.clone(),
        SyncMode::Full,
        shutdown.clone(),
    ));
    let shutdown_usage = shutdown.clone();
    let pending = tokio::spawn(sync_loop(
        ctx.clone(),
        ctx.config.sync.pending_schedule.clone(),
        SyncMode::Pending,
        shutdown,
    ));
    let usage = tokio::spawn(usage_loop(ctx.clone(), shutdown_usage));
    let _ = tokio::join!(full, pending, usage);
}

async fn usage_loop(ctx: SyncContext, shutdown: watch::Receiver<bool>) {
    let schedule = ctx.config.sync.usage_schedule.clone();
    tracing::info!(schedule = %schedule.expr, "usage pull scheduled");
    every(schedule, shutdown, || async {
        for r in crate::usage::run(&ctx, None, clock::now()).await {
            if let Some(e) = r.error {
                tracing::warn!(account = %r.account, "usage pull failed: {e}");
            }
        }
    })
    .await;
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

async fn sync_loop(
    ctx: SyncContext,
    schedule: CronSchedule,
    mode: SyncMode,
    shutdown: watch::Receiver<bool>,
) {
    tracing::info!(schedule = %schedule.expr, "{mode:?} sync scheduled");
    every(schedule, shutdown, || async {
        let opts = SyncOptions {
            mode,
            account: None,
            dry_run: false,
        };
        match sync::run_once(&ctx, &opts, clock::now()).await {
            Ok(report) if report.failed() => {
                tracing::warn!("{mode:?} sync finished with failed accounts")
            }
            Ok(_) => {}
            Err(SyncError::AlreadyRunning(_)) => {
                tracing::info!("{mode:?} sync skipped: another sync is still running")
            }
            Err(e) => tracing::error!("{mode:?} sync did not run: {e}"),
        }
    })
    .await;
}

/// Runs each `[[report]]` on its schedule until `shutdown`.
pub async fn reports(
    db: crate::db::Db,
    config: std::sync::Arc<crate::config::Config>,
    shutdown: watch::Receiver<bool>,
) {
    let mut tasks = Vec::new();
    for (i, r) in config.reports.iter().enumerate() {
        let (db, config, r, stop) = (db.clone(), config.clone(), r.clone(), shutdown.clone());
        tracing::info!(schedule = %r.schedule.expr, "report {i} scheduled");
        tasks.push(tokio::spawn(async move {
            every(r.schedule.clone(), stop, || async {
                let (config, r) = (config.clone(), r.clone());
                let now = clock::now();
                let done = db
                    .write(move |c| {
                        Ok(crate::export::run_report(
                            c,
                            &config,
                            &r,
                            now.date_naive(),
                            now.timestamp(),
                        ))
                    })
                    .await;
                match done {
                    Ok(Ok(path)) => tracing::info!("report written to {}", path.display()),
                    Ok(Err(e)) => tracing::error!("report {i} failed: {e}"),
                    Err(e) => tracing::error!("report {i} failed: {e}"),
                }
            })
            .await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Makes the preset periods' per-template totals (`template_window_totals`) end today, if
/// they do not already. `serve` calls it before it starts answering, so that analytics is fast
/// from the first request (about 1.5 s at 10,000 templates with 30 days of traffic).
pub async fn refresh_windows(db: &crate::db::Db) {
    let today = clock::now().date_naive();
    let started = std::time::Instant::now();
    let done = db
        .write(move |c| {
            if crate::report::windows_current(c, today)? {
                return Ok(false);
            }
            crate::report::refresh_windows(c, today).map(|()| true)
        })
        .await;
    match done {
        Ok(true) => tracing::info!(
            "per-template totals of the last 7, 30 and 90 days rebuilt in {:.1}s",
            started.elapsed().as_secs_f64()
        ),
        Ok(false) => {}
        Err(e) => tracing::warn!("per-template period totals not rebuilt: {e}"),
    }
}

/// Rebuilds the preset periods' per-template totals a minute past each UTC midnight, until
/// `shutdown`. Until it has, pages add up the days instead (correct, slower).
pub async fn windows(db: crate::db::Db, shutdown: watch::Receiver<bool>) {
    match CronSchedule::parse("0 1 0 * * *") {
        Ok(daily) => every(daily, shutdown, || refresh_windows(&db)).await,
        Err(e) => tracing::error!("the daily schedule of period totals did not parse: {e}"),
    }
}
