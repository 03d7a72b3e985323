//! `[retention]`: how long the raw records are kept. Roll-ups (every number the dashboard and
//! the usage exports show) and template history are kept forever.

use serde::Deserialize;

use super::ConfigError;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    messages_days: Option<u32>,
    sync_runs_days: Option<u32>,
    notifications_days: Option<u32>,
    webhook_receipts_days: Option<u32>,
}

/// `[retention]`, validated: days to keep each kind of record; `None` keeps it forever (`0`
/// in the file).
#[derive(Debug, Clone)]
pub struct RetentionConfig {
    /// Messages (per-message rows; `templar export --messages`), by their UTC day.
    pub messages_days: Option<u32>,
    pub sync_runs_days: Option<u32>,
    /// Delivered and dead notifications.
    pub notifications_days: Option<u32>,
    /// Kapso's idempotency keys (Kapso retries within hours).
    pub webhook_receipts_days: Option<u32>,
}

pub(super) fn validate(r: RawRetention) -> Result<RetentionConfig, ConfigError> {
    let days = |key: &str, v: Option<u32>, default: u32| match v.unwrap_or(default) {
        0 => Ok(None),
        n if n > 36_500 => Err(ConfigError::new(
            key,
            "must be at most 36500 days (0 keeps forever)",
        )),
        n => Ok(Some(n)),
    };
    Ok(RetentionConfig {
        messages_days: days("retention.messages_days", r.messages_days, 400)?,
        sync_runs_days: days("retention.sync_runs_days", r.sync_runs_days, 90)?,
        notifications_days: days("retention.notifications_days", r.notifications_days, 90)?,
        webhook_receipts_days: days(
            "retention.webhook_receipts_days",
            r.webhook_receipts_days,
            30,
        )?,
    })
}
