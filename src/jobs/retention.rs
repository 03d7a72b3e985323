//! Retention (`[retention]`), daily at 03:17 UTC: raw records past their time go, in batches
//! of a few thousand rows, each its own short write transaction, so webhooks never wait long
//! behind a purge. Roll-ups and template history stay, so every total is unchanged.

use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use serde::Serialize;
use tokio::sync::watch;

use crate::clock;
use crate::config::{Config, CronSchedule};
use crate::db::models::{accounts, retention as purge};
use crate::db::{Db, DbError};

/// Rows removed by one purge.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Purged {
    pub messages: usize,
    pub sync_runs: usize,
    pub notifications: usize,
    pub webhook_receipts: usize,
}

/// Runs the purge every day until `shutdown`.
pub async fn run(db: Db, config: std::sync::Arc<Config>, shutdown: watch::Receiver<bool>) {
    let Ok(daily) = CronSchedule::parse("17 3 * * *") else {
        return;
    };
    super::every(daily, false, shutdown, || async {
        match purge(&db, &config, clock::now()).await {
            Ok(p) if p == Purged::default() => {}
            Ok(p) => tracing::info!(
                "retention: removed {} messages, {} sync runs, {} notifications, {} webhook receipts",
                p.messages, p.sync_runs, p.notifications, p.webhook_receipts
            ),
            Err(e) => tracing::warn!("retention failed: {e}"),
        }
    })
    .await;
}

/// Removes what `[retention]` says is past its time at `now`.
pub async fn purge(db: &Db, config: &Config, now: DateTime<Utc>) -> Result<Purged, DbError> {
    let r = &config.retention;
    let cutoff = |days: u32| now.checked_sub_days(Days::new(days.into())).unwrap_or(now);
    let mut out = Purged::default();
    let ids: Vec<i32> = db
        .run(|c| Ok(accounts::all(c)?.into_iter().map(|a| a.id).collect()))
        .await?;
    if let Some(days) = r.messages_days {
        let day = cutoff(days).format("%Y-%m-%d").to_string();
        for account in ids.iter().copied().map(Some).chain([None]) {
            let day = day.clone();
            out.messages += batches(db, move |c| purge::messages_before(c, account, &day)).await?;
        }
    }
    if let Some(days) = r.sync_runs_days {
        let before = cutoff(days).timestamp();
        for &account in &ids {
            out.sync_runs +=
                batches(db, move |c| purge::sync_runs_before(c, account, before)).await?;
        }
    }
    if let Some(days) = r.notifications_days {
        let before = cutoff(days).timestamp();
        out.notifications += batches(db, move |c| purge::notifications_before(c, before)).await?;
    }
    if let Some(days) = r.webhook_receipts_days {
        let before = cutoff(days).timestamp();
        out.webhook_receipts += batches(db, move |c| purge::receipts_before(c, before)).await?;
    }
    Ok(out)
}

/// Runs `step` (one batch, one transaction) until a batch comes back short, pausing between
/// batches so other writers get the lock; returns the rows removed.
async fn batches<F>(db: &Db, step: F) -> Result<usize, DbError>
where
    F: Fn(&mut crate::db::Conn) -> diesel::QueryResult<usize> + Clone + Send + 'static,
{
    let mut total = 0;
    loop {
        let step = step.clone();
        let n = db.write(move |c| step(c)).await?;
        total += n;
        if n < purge::BATCH as usize {
            return Ok(total);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
