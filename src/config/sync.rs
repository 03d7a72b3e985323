//! `[sync]`: schedules and how hard to press upstream.

use std::time::Duration;

use super::raw::RawSync;
use super::schedule::{schedule, CronSchedule};
use super::ConfigError;

/// `[sync]`: schedules and how hard to press upstream.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub schedule: CronSchedule,
    pub pending_schedule: CronSchedule,
    pub usage_schedule: CronSchedule,
    /// Accounts synced at once.
    pub concurrency: usize,
    /// Templates asked for per page.
    pub page_size: u32,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Retries of an idempotent GET after a 429, 5xx, timeout or truncated body.
    pub max_retries: u32,
    /// First backoff delay; doubles per retry, with full jitter.
    pub retry_base: Duration,
    /// Longest rate-limit wait to sit out; a longer one fails the account's run instead.
    pub max_rate_limit_wait: Duration,
    /// The longest one account's run may take; then it fails and lets the next run in.
    pub run_timeout: Duration,
}

fn positive(key: &str, v: Option<u64>, default: u64) -> Result<u64, ConfigError> {
    match v.unwrap_or(default) {
        0 => Err(ConfigError::new(key, "must be greater than 0")),
        n => Ok(n),
    }
}

pub(super) fn validate(s: RawSync) -> Result<SyncConfig, ConfigError> {
    let timeout = s.request_timeout_secs.unwrap_or(30.0);
    if !(timeout > 0.0 && timeout <= 600.0) {
        return Err(ConfigError::new(
            "sync.request_timeout_secs",
            "must be between 0 and 600",
        ));
    }
    let page_size = positive("sync.page_size", s.page_size.map(u64::from), 100)?;
    if page_size > 1000 {
        return Err(ConfigError::new("sync.page_size", "must be at most 1000"));
    }
    Ok(SyncConfig {
        schedule: schedule("sync.schedule", s.schedule, "*/15 * * * *")?,
        pending_schedule: schedule("sync.pending_schedule", s.pending_schedule, "*/2 * * * *")?,
        usage_schedule: schedule("sync.usage_schedule", s.usage_schedule, "5 * * * *")?,
        concurrency: positive("sync.concurrency", s.concurrency.map(|c| c as u64), 4)? as usize,
        page_size: page_size as u32,
        request_timeout: Duration::from_secs_f64(timeout),
        max_retries: s.max_retries.unwrap_or(4),
        retry_base: Duration::from_millis(s.retry_base_ms.unwrap_or(500)),
        max_rate_limit_wait: Duration::from_secs(s.max_rate_limit_wait_secs.unwrap_or(300)),
        run_timeout: Duration::from_secs(positive(
            "sync.run_timeout_secs",
            s.run_timeout_secs,
            600,
        )?),
    })
}
