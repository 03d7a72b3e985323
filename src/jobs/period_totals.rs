//! The per-template totals of the preset periods (7, 30 and 90 days) that analytics reads,
//! rebuilt so they end today.

use tokio::sync::watch;

use crate::clock;
use crate::config::CronSchedule;
use crate::db::Db;

/// Makes the preset periods' per-template totals (`template_window_totals`) end today, if
/// they do not already. `serve` calls it before it starts answering, so that analytics is fast
/// from the first request (about 1.5 s at 10,000 templates with 30 days of traffic).
pub async fn refresh(db: &Db) {
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
pub async fn run(db: Db, shutdown: watch::Receiver<bool>) {
    match CronSchedule::parse("0 1 0 * * *") {
        Ok(daily) => super::every(daily, false, shutdown, || refresh(&db)).await,
        Err(e) => tracing::error!("the daily schedule of period totals did not parse: {e}"),
    }
}
