//! Rate limits read from upstream's headers, defensively: usage percentages, `Retry-After`,
//! `estimated_time_to_regain_access`; and the retry policy's backoff.

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::HeaderMap;
use tokio::time::Instant;

use crate::config::SyncConfig;

/// Retry and rate-limit policy, from `[sync]`.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub retry_base: Duration,
    pub max_rate_limit_wait: Duration,
    pub request_timeout: Duration,
}

impl RetryPolicy {
    /// Up to `times` jittered exponential delays: the n-th (from 0) between `retry_base·2ⁿ/2`
    /// and `retry_base·2ⁿ`, each at most 30 s.
    pub fn delays(&self, times: u32) -> impl Iterator<Item = Duration> {
        Self::exponential(self.retry_base, times)
    }

    /// Up to `times` delays for a rate limit that named no wait: as [`Self::delays`], from
    /// twice the base (the first between 2 and 4 times `retry_base`).
    pub fn rate_delays(&self, times: u32) -> impl Iterator<Item = Duration> {
        Self::exponential(self.retry_base.saturating_mul(4), times)
    }

    /// Delay `n` (from 0) is uniform in `[base·2ⁿ/2, base·2ⁿ]`, at most 30 s: backon adds up
    /// to 100 % jitter on top of its delay, so its delays start at half the base and stop at
    /// 15 s.
    pub(crate) fn exponential(base: Duration, times: u32) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(base / 2)
            .with_max_delay(Duration::from_secs(15))
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(times as usize)
            .build()
    }
}

impl From<&SyncConfig> for RetryPolicy {
    fn from(s: &SyncConfig) -> Self {
        RetryPolicy {
            max_retries: s.max_retries,
            retry_base: s.retry_base,
            max_rate_limit_wait: s.max_rate_limit_wait,
            request_timeout: s.request_timeout,
        }
    }
}

#[derive(Default)]
pub(crate) struct Throttle {
    /// No calls before this instant (Meta asked us to stop).
    pub(crate) blocked_until: Option<Instant>,
    /// Pause between calls while usage is high.
    pub(crate) pace: Duration,
}

/// Usage figures from `X-Business-Use-Case-Usage` / `X-App-Usage`: the highest percentage and
/// the longest `estimated_time_to_regain_access` (minutes) across all entries.
pub fn parse_usage(headers: &HeaderMap) -> (Option<f64>, Option<u64>) {
    let mut pct: Option<f64> = None;
    let mut regain: Option<u64> = None;
    let mut visit = |obj: &serde_json::Map<String, serde_json::Value>| {
        for key in ["call_count", "total_cputime", "total_time"] {
            if let Some(v) = obj.get(key).and_then(|v| v.as_f64()) {
                pct = Some(pct.map_or(v, |p| p.max(v)));
            }
        }
        if let Some(m) = obj
            .get("estimated_time_to_regain_access")
            .and_then(|v| v.as_u64())
        {
            regain = Some(regain.map_or(m, |r| r.max(m)));
        }
    };
    if let Some(v) = header_json(headers, "x-business-use-case-usage") {
        for entries in v.as_object().into_iter().flat_map(|o| o.values()) {
            for e in entries.as_array().into_iter().flatten() {
                if let Some(o) = e.as_object() {
                    visit(o);
                }
            }
        }
    }
    if let Some(serde_json::Value::Object(o)) = header_json(headers, "x-app-usage") {
        visit(&o);
    }
    (pct, regain)
}

pub(crate) fn header_json(headers: &HeaderMap, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(headers.get(name)?.to_str().ok()?).ok()
}

/// The longest wait templar will represent: a day, far past any sensible
/// `max_rate_limit_wait_secs`, so an absurd wait upstream asks for fails the run at once
/// instead of being slept on (or overflowing a clock).
pub const ABSURD_WAIT: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` as delay-seconds or an HTTP date, read defensively: a value that is not a
/// finite, non-negative number of seconds or a date is ignored, and one past [`ABSURD_WAIT`]
/// (`inf`, `1e20`) counts as that.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<f64>() {
        return match secs {
            s if s.is_nan() || s < 0.0 => None,
            s if s >= ABSURD_WAIT.as_secs_f64() => Some(ABSURD_WAIT),
            s => Some(Duration::from_secs_f64(s)),
        };
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = (at.with_timezone(&chrono::Utc) - crate::clock::now())
        .to_std()
        .unwrap_or_default();
    Some(wait.min(ABSURD_WAIT))
}

/// Meta's `estimated_time_to_regain_access` (minutes) as a wait, capped at [`ABSURD_WAIT`].
pub(crate) fn regain_wait(minutes: u64) -> Duration {
    Duration::from_secs(minutes.saturating_mul(60)).min(ABSURD_WAIT)
}
