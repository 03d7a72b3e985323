//! The delivery anomaly check, every 10 minutes: each template's last hours against its own
//! week before ([`crate::domain::anomaly`]), a finding kept once per template and day, which
//! notifies `delivery_anomaly` channels and shows on the overview.

use tokio::sync::watch;

use crate::clock;
use crate::config::CronSchedule;
use crate::db::models::accounts;
use crate::db::models::anomalies::{self, NewAnomaly};
use crate::db::{Db, DbError};
use crate::domain::anomaly::{judge, BASELINE_DAYS, RECENT_HOURS};

/// Runs the check every 10 minutes until `shutdown`.
pub async fn run(db: Db, shutdown: watch::Receiver<bool>) {
    let Ok(schedule) = CronSchedule::parse("*/10 * * * *") else {
        return;
    };
    super::every(schedule, false, shutdown, || async {
        match check(&db, clock::now().timestamp()).await {
            Ok(found) if found.is_empty() => {}
            Ok(found) => tracing::info!("{} new delivery anomalies", found.len()),
            Err(e) => tracing::warn!("delivery anomaly check failed: {e}"),
        }
    })
    .await;
}

/// Judges every template with messages at `now`, keeps what is new (one finding per template
/// and day) and returns it.
pub async fn check(db: &Db, now: i64) -> Result<Vec<NewAnomaly>, DbError> {
    let split = now - RECENT_HOURS * 3600;
    let since = split - BASELINE_DAYS * 86_400;
    let ids: Vec<i32> = db
        .run(|c| Ok(accounts::all(c)?.into_iter().map(|a| a.id).collect()))
        .await?;
    let mut found = Vec::new();
    for id in ids {
        let windows = db
            .run(move |c| anomalies::windows(c, id, since, split))
            .await?;
        for (template_row, (baseline, recent)) in windows {
            let Some(f) = judge(&recent, &baseline) else {
                continue;
            };
            found.push(NewAnomaly {
                template_row,
                day: clock::day(now),
                kind: f.kind.into(),
                error_code: f.code,
                recent_sent: recent.sent,
                recent_rate: f.recent,
                baseline_rate: f.baseline,
                recent_read_rate: recent.read_rate(),
                baseline_read_rate: baseline.read_rate(),
                detected_at: now,
            });
        }
    }
    found.sort_by_key(|a| a.template_row);
    let kept = db
        .write(move |c| {
            let mut kept = Vec::new();
            for a in found {
                if anomalies::insert(c, &a)? {
                    kept.push(a);
                }
            }
            Ok(kept)
        })
        .await?;
    Ok(kept)
}
