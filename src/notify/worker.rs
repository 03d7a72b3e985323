//! The delivery worker inside `templar serve`: every half second it fills the outbox from the
//! logs and delivers what is due. Channels are delivered concurrently, each in order, so a slow
//! or dead channel never delays another. A failed delivery is retried with exponential backoff
//! until `max_attempts`, then marked dead (and shown by `templar notify status`).

use crate::db::Conn;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Days, Utc};
use diesel::prelude::*;
use tokio::sync::watch;

use super::channels;
use super::outbox::{self, classify};
use super::Payload;
use crate::clock;
use crate::config::{Config, NotifyConfig};
use crate::db::models::notifications::{self as out, NotificationRow};
use crate::db::models::{attention, events, stats};
use crate::db::Db;
use crate::metrics::Metrics;

/// Deliveries claimed at once: a channel sends them one after another, each within the
/// channels' timeout, so all are sent well inside the claim's lease (8 x 15 s = 120 s at the
/// very worst) and no other replica takes one that is still being sent.
const CLAIM: i64 = (out::LEASE / super::channels::TIMEOUT.as_secs() as i64) / 2;

/// What the worker needs.
#[derive(Clone)]
pub struct Notifier {
    pub db: Db,
    pub config: Arc<Config>,
    pub client: reqwest::Client,
    pub metrics: Metrics,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub queued: usize,
    pub delivered: usize,
    pub retried: usize,
    pub dead: usize,
}

/// (row id, attempts so far, result, next attempt if retried).
type Outcome = (i32, i32, Result<(), String>, Option<i64>);

/// Runs `job` every half second until `shutdown`, which also abandons a run in progress (a
/// receiver that hangs does not hold up the exit; its delivery is retried after a restart).
async fn every_half_second<F, Fut>(mut shutdown: watch::Receiver<bool>, job: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = async { tick.tick().await; job().await } => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// The delay before attempt `attempts + 1`: `base * 2^(attempts - 1)`, at most an hour.
pub fn backoff(base: Duration, attempts: u32) -> Duration {
    base.saturating_mul(1 << attempts.saturating_sub(1).min(20))
        .min(Duration::from_secs(3600))
}

impl Notifier {
    /// Runs until `shutdown`: one loop fills the outbox from the logs every half second, and
    /// each channel delivers on its own loop, so a dead or hanging receiver holds up nothing
    /// but itself (each channel's digest is a job of its own, in `jobs`).
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        if self.config.notify.is_empty() {
            return;
        }
        let mut tasks = tokio::task::JoinSet::new();
        let me = self.clone();
        tasks.spawn(every_half_second(shutdown.clone(), move || {
            let me = me.clone();
            async move {
                if let Err(e) = me.fill(clock::now().timestamp()).await {
                    tracing::warn!("notification pass failed: {e}");
                }
            }
        }));
        let names: Vec<String> = self.config.notify.iter().map(|c| c.name.clone()).collect();
        for name in names {
            let me = self.clone();
            tasks.spawn(every_half_second(shutdown.clone(), move || {
                let (me, name) = (me.clone(), name.clone());
                async move {
                    let now = clock::now().timestamp();
                    if let Err(e) = me.deliver_on(Some(&name), now).await {
                        tracing::warn!(channel = %name, "notification delivery failed: {e}");
                    }
                }
            }));
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Fills the outbox for this config's channels, and gives up the deliveries of channels it
    /// lacks once they are old ([`out::BURY_AFTER`]). Returns the deliveries queued.
    pub async fn fill(&self, now: i64) -> Result<usize, crate::db::DbError> {
        let config = self.config.clone();
        let names: Vec<String> = config.notify.iter().map(|c| c.name.clone()).collect();
        self.db
            .write(move |c| {
                out::bury_unconfigured(c, &names, now)?;
                outbox::expand(c, &config, now)
            })
            .await
    }

    /// Fills the outbox and delivers what is due at `now`.
    pub async fn pass(&self, now: i64) -> Result<Pass, String> {
        let config = self.config.clone();
        let queued = self
            .db
            .write(move |c| outbox::expand(c, &config, now))
            .await
            .map_err(|e| e.to_string())?;
        let mut pass = self.deliver(now).await?;
        pass.queued = queued;
        Ok(pass)
    }

    async fn deliver(&self, now: i64) -> Result<Pass, String> {
        self.deliver_on(None, now).await
    }

    /// Delivers what is due at `now` on one channel, or (`None`) on every channel at once.
    async fn deliver_on(&self, channel: Option<&str>, now: i64) -> Result<Pass, String> {
        let only = channel.map(str::to_string);
        let due = self
            .db
            .write(move |c| {
                // A one-shot pass over every channel (tests, the CLI) takes what is due.
                let limit = if only.is_some() { CLAIM } else { 500 };
                out::claim(c, only.as_deref(), now, limit)
            })
            .await
            .map_err(|e| e.to_string())?;
        if due.is_empty() {
            return Ok(Pass::default());
        }
        let mut by_channel: BTreeMap<String, Vec<NotificationRow>> = BTreeMap::new();
        for n in due {
            by_channel.entry(n.channel.clone()).or_default().push(n);
        }
        // What a channel's failure left unsent goes back to its own due time.
        let mut unsent: std::collections::HashMap<i32, i64> = by_channel
            .values()
            .flatten()
            .map(|r| (r.id, r.next_attempt_at))
            .collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (name, rows) in by_channel {
            let channel = self.config.notify.iter().find(|c| c.name == name).cloned();
            let client = self.client.clone();
            tasks.spawn(async move {
                let mut results = Vec::new();
                for row in rows {
                    let outcome = match &channel {
                        None => Err(format!("channel `{name}` is no longer configured")),
                        Some(ch) => match serde_json::from_str::<Payload>(&row.payload) {
                            Ok(p) => channels::send(ch, &p, &row.id.to_string(), &client).await,
                            Err(e) => Err(format!("stored payload unreadable: {e}")),
                        },
                    };
                    let failed = outcome.is_err();
                    results.push((row, channel.clone(), outcome));
                    // A channel that just failed is probably down: leave its other rows for
                    // their own retry time rather than hammering it now.
                    if failed {
                        break;
                    }
                }
                results
            });
        }
        let mut updates = Vec::new();
        while let Some(Ok(results)) = tasks.join_next().await {
            updates.extend(results);
        }
        let mut pass = Pass::default();
        let metrics = self.metrics.clone();
        let mut writes: Vec<Outcome> = Vec::new();
        for (row, ch, outcome) in updates {
            unsent.remove(&row.id);
            let attempts = row.attempts + 1;
            let channel = row.channel.as_str();
            match &outcome {
                Ok(()) => {
                    pass.delivered += 1;
                    metrics.inc(
                        "templar_notifications_total",
                        &[("channel", channel), ("outcome", "delivered")],
                    );
                    // Queued to delivered, in whole seconds (the outbox keeps seconds).
                    let waited = (crate::clock::now().timestamp() - row.created_at).max(0);
                    metrics.observe(
                        "templar_notification_delivery_seconds",
                        &[("channel", channel)],
                        waited as f64,
                    );
                    writes.push((row.id, attempts, Ok(()), None));
                }
                Err(e) => {
                    let max = ch.as_ref().map_or(1, |c| c.max_attempts) as i32;
                    let next = (attempts < max).then(|| {
                        let base = ch
                            .as_ref()
                            .map_or(Duration::from_secs(30), |c| c.retry_base);
                        now + backoff(base, attempts as u32).as_secs().max(1) as i64
                    });
                    if next.is_some() {
                        pass.retried += 1;
                        tracing::warn!(
                            channel,
                            attempt = attempts,
                            "notification not delivered: {e}"
                        );
                    } else {
                        pass.dead += 1;
                        tracing::error!(
                            channel,
                            "notification dead after {attempts} attempts: {e}"
                        );
                    }
                    let outcome_label = if next.is_some() { "retry" } else { "dead" };
                    metrics.inc(
                        "templar_notifications_total",
                        &[("channel", channel), ("outcome", outcome_label)],
                    );
                    writes.push((row.id, attempts, Err(e.clone()), next));
                }
            }
        }
        if !writes.is_empty() || !unsent.is_empty() {
            let unsent: Vec<(i32, i64)> = unsent.into_iter().collect();
            self.db
                .write(move |c| {
                    out::release(c, &unsent)?;
                    for (id, attempts, outcome, next) in &writes {
                        match outcome {
                            Ok(()) => out::delivered(c, *id, *attempts, now)?,
                            Err(e) => out::failed(c, *id, *attempts, e, *next, now)?,
                        }
                    }
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(pass)
    }

    /// Queues a channel's digest of the day before `now`.
    pub async fn queue_digest(
        &self,
        ch: &NotifyConfig,
        now: DateTime<Utc>,
    ) -> Result<bool, String> {
        let config = self.config.clone();
        let name = ch.name.clone();
        self.db
            .write(move |c| {
                let p = digest(c, &config, &name, now)?;
                let json = serde_json::to_string(&p).unwrap_or_default();
                out::enqueue(c, &p.id, &name, "digest", &json, now.timestamp())
            })
            .await
            .map_err(|e| e.to_string())
    }
}

/// Yesterday's changes, what is still pending, and the worst failure rates of the last week.
pub fn digest(
    conn: &mut Conn,
    config: &Config,
    channel: &str,
    now: DateTime<Utc>,
) -> QueryResult<Payload> {
    let today = now.date_naive();
    let yesterday = today.checked_sub_days(Days::new(1)).unwrap_or(today);
    let from = yesterday
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp());
    let to = from + 86_400;
    let events = events::between(conn, from, to)?;
    let mut counts: BTreeMap<&str, u32> = BTreeMap::new();
    let mut lines = Vec::new();
    for (e, name, lang) in &events {
        if let Some(kind) = classify(e) {
            *counts.entry(kind).or_default() += 1;
            if lines.len() < 15 {
                lines.push(format!(
                    "- {name} ({lang}): {} {} → {}",
                    e.field,
                    e.old_value.as_deref().unwrap_or("-"),
                    e.new_value
                ));
            }
        }
    }
    let pending = attention::under_review(conn)?;
    let week = today
        .checked_sub_days(Days::new(7))
        .unwrap_or(today)
        .format("%Y-%m-%d")
        .to_string();
    let rows = stats::observed_since(conn, &week)?;
    let mut per: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    for (n, l, s, f) in rows {
        let e = per.entry((n, l)).or_default();
        e.0 += s;
        e.1 += f;
    }
    let mut worst: Vec<_> = per.into_iter().filter(|(_, (s, _))| *s >= 20).collect();
    worst.sort_by(|a, b| (b.1 .1 * a.1 .0).cmp(&(a.1 .1 * b.1 .0)));
    let mut text = format!("Changes on {yesterday}: ");
    if counts.is_empty() {
        text.push_str("none.");
    } else {
        text.push_str(
            &counts
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        text.push('.');
        text.push('\n');
        text.push_str(&lines.join("\n"));
    }
    text.push_str(&format!("\n\nStill under review: {}", pending.len()));
    for (n, l, since) in pending.iter().take(5) {
        text.push_str(&format!(
            "\n- {n} ({l}), waiting {} h",
            (now.timestamp() - since) / 3600
        ));
    }
    let worst: Vec<String> = worst
        .iter()
        .take(5)
        .filter(|(_, (_, f))| *f > 0)
        .map(|((n, l), (s, f))| {
            format!(
                "- {n} ({l}): {:.1} % of {s} failed",
                *f as f64 * 100.0 / *s as f64
            )
        })
        .collect();
    if !worst.is_empty() {
        text.push_str("\n\nWorst failure rates, last 7 days:\n");
        text.push_str(&worst.join("\n"));
    }
    Ok(Payload {
        id: format!("digest:{channel}:{yesterday}"),
        event: "digest".into(),
        occurred_at: clock::rfc3339(now.timestamp()),
        url: config.public_url.clone(),
        title: format!("Daily digest for {yesterday}"),
        text,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Duration::from_secs(30);
        assert_eq!(backoff(b, 1), Duration::from_secs(30));
        assert_eq!(backoff(b, 3), Duration::from_secs(120));
        assert_eq!(backoff(b, 30), Duration::from_secs(3600));
    }
}
