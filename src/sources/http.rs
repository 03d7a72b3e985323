//! The HTTP client both sources share: authentication, per-request timeouts, retries of
//! idempotent GETs with jittered exponential backoff, `Retry-After`, and Meta's usage headers
//! (`X-Business-Use-Case-Usage`, `X-App-Usage`): slow down as usage nears 100 %, stop calling
//! while Meta says access is blocked.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;
use tokio::time::Instant;

use super::SourceError;
use crate::config::{Secret, SyncConfig};

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `Authorization: Bearer` (Meta).
    Bearer(Secret),
    /// `X-API-Key` (Kapso).
    ApiKey(Secret),
}

/// Retry and rate-limit policy, from `[sync]`.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub max_retries: u32,
    pub retry_base: Duration,
    pub max_rate_limit_wait: Duration,
    pub request_timeout: Duration,
}

impl RetryPolicy {
    /// Up to `times` jittered exponential delays from `retry_base`, each at most 30 s.
    pub fn delays(&self, times: u32) -> impl Iterator<Item = Duration> {
        Self::exponential(self.retry_base, times)
    }

    /// Up to `times` delays for a rate limit that named no wait: as [`Self::delays`], from four
    /// times the base.
    pub fn rate_delays(&self, times: u32) -> impl Iterator<Item = Duration> {
        Self::exponential(self.retry_base.saturating_mul(4), times)
    }

    fn exponential(base: Duration, times: u32) -> impl Iterator<Item = Duration> {
        ExponentialBuilder::default()
            .with_min_delay(base)
            .with_max_delay(Duration::from_secs(30))
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
struct Throttle {
    /// No calls before this instant (Meta asked us to stop).
    blocked_until: Option<Instant>,
    /// Pause between calls while usage is high.
    pace: Duration,
}

/// One account's view of an upstream: its credentials, policy and throttle state.
pub struct Upstream {
    client: reqwest::Client,
    auth: Auth,
    policy: RetryPolicy,
    throttle: Mutex<Throttle>,
    requests: AtomicU32,
}

/// Graph's error envelope; Kapso sometimes sends `{"error": "text"}` instead of an object.
#[derive(Deserialize)]
struct Envelope {
    error: WireError,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WireError {
    Object {
        #[serde(default)]
        message: String,
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        is_transient: Option<bool>,
        #[serde(default)]
        error_data: Option<serde_json::Value>,
    },
    Text(String),
}

/// An upstream error, decoded from whatever envelope came back.
#[derive(Debug, Clone)]
pub struct UpstreamError {
    pub status: u16,
    pub code: Option<i64>,
    pub message: String,
    pub transient: bool,
}

/// Graph codes that mean "you are calling too much".
const RATE_LIMIT_CODES: &[i64] = &[4, 17, 32, 613, 80007, 80008, 130429, 131056];
/// Graph codes that mean "your credentials are not good enough".
fn is_auth_code(code: i64) -> bool {
    matches!(code, 0 | 10 | 102 | 190) || (200..300).contains(&code)
}
/// Graph codes Meta documents as transient.
const TRANSIENT_CODES: &[i64] = &[1, 2, 131000, 131016, 133004, 131057];

impl UpstreamError {
    /// Decodes an error body; never fails (an undecodable body becomes its first bytes).
    pub fn decode(status: StatusCode, body: &[u8]) -> UpstreamError {
        let (message, code, transient) = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope {
                error:
                    WireError::Object {
                        message,
                        code,
                        is_transient,
                        error_data,
                    },
            }) => {
                let code = code.and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
                let details = error_data
                    .as_ref()
                    .and_then(|d| d.get("details"))
                    .and_then(|d| d.as_str())
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                (
                    format!("{message}{details}"),
                    code,
                    is_transient.unwrap_or(false),
                )
            }
            Ok(Envelope {
                error: WireError::Text(t),
            }) => (t, None, false),
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                let text = if text.trim().is_empty() {
                    status.canonical_reason().unwrap_or("error").to_string()
                } else {
                    text
                };
                (text, None, false)
            }
        };
        UpstreamError {
            status: status.as_u16(),
            code,
            message,
            transient,
        }
    }

    fn is_rate_limit(&self) -> bool {
        self.status == 429 || self.code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c))
    }

    fn is_auth(&self) -> bool {
        self.status == 401 || self.code.is_some_and(is_auth_code)
    }

    fn is_transient(&self) -> bool {
        self.transient
            || self.status >= 500
            || self.status == 408
            || self.code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
    }
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "HTTP {} code {}: {}", self.status, code, self.message),
            None => write!(f, "HTTP {}: {}", self.status, self.message),
        }
    }
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

fn header_json(headers: &HeaderMap, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(headers.get(name)?.to_str().ok()?).ok()
}

/// The longest wait templar will represent: a day, far past any sensible
/// `max_rate_limit_wait_secs`, so an absurd wait upstream asks for fails the run at once
/// instead of being slept on (or overflowing a clock).
pub const ABSURD_WAIT: Duration = Duration::from_secs(24 * 3600);

/// `Retry-After` as delay-seconds or an HTTP date, read defensively: a value that is not a
/// finite, non-negative number of seconds or a date is ignored, and one past [`ABSURD_WAIT`]
/// (`inf`, `1e20`) counts as that.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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
fn regain_wait(minutes: u64) -> Duration {
    Duration::from_secs(minutes.saturating_mul(60)).min(ABSURD_WAIT)
}

impl Upstream {
    /// A client for one account.
    pub fn new(client: reqwest::Client, auth: Auth, policy: RetryPolicy) -> Self {
        Upstream {
            client,
            auth,
            policy,
            throttle: Mutex::new(Throttle::default()),
            requests: AtomicU32::new(0),
        }
    }

    /// HTTP requests made so far (retries included).
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Waits out a block or pacing delay; errors if the block is longer than policy allows.
    async fn wait_turn(&self) -> Result<(), SourceError> {
        let (until, pace) = {
            let t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
            (t.blocked_until, t.pace)
        };
        if let Some(until) = until {
            let wait = until.saturating_duration_since(Instant::now());
            if wait > self.policy.max_rate_limit_wait {
                return Err(SourceError::RateLimited {
                    retry_after: wait,
                    message: "upstream rate limit still in force".into(),
                });
            }
            tokio::time::sleep(wait).await;
        }
        if !pace.is_zero() {
            tokio::time::sleep(pace).await;
        }
        Ok(())
    }

    fn observe_usage(&self, headers: &HeaderMap) {
        let (pct, regain) = parse_usage(headers);
        let mut t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        t.pace = match pct {
            Some(p) if p >= 95.0 => Duration::from_secs(2),
            Some(p) if p >= 90.0 => Duration::from_millis(500),
            Some(p) if p >= 75.0 => Duration::from_millis(100),
            _ => Duration::ZERO,
        };
        if let Some(minutes) = regain.filter(|m| *m > 0) {
            let until = Instant::now() + regain_wait(minutes);
            t.blocked_until = Some(t.blocked_until.map_or(until, |u| u.max(until)));
        }
    }

    fn block_for(&self, wait: Duration) {
        let mut t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        let until = Instant::now() + wait;
        t.blocked_until = Some(t.blocked_until.map_or(until, |u| u.max(until)));
    }

    fn request(&self, method: Method, url: Url) -> reqwest::RequestBuilder {
        let rb = self
            .client
            .request(method, url)
            .timeout(self.policy.request_timeout);
        match &self.auth {
            Auth::Bearer(t) => rb.bearer_auth(t.expose()),
            Auth::ApiKey(k) => rb.header("X-API-Key", k.expose()),
        }
    }

    /// GETs `url` and decodes JSON into any value.
    pub async fn get_json(&self, url: Url) -> Result<serde_json::Value, SourceError> {
        self.get(url).await
    }

    /// GETs `url` and decodes it as `T`, retrying what is safe to retry. A body cut short or
    /// not JSON at all is retried; JSON of the wrong shape is an error at once.
    pub async fn get<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, SourceError> {
        let mut attempt = 0u32;
        let mut retry_delays = self.policy.delays(self.policy.max_retries);
        // Waits for a rate limit that named no time: from four times the base, at most 8.
        let mut rate_delays = self.policy.rate_delays(8);
        loop {
            self.wait_turn().await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = self.request(Method::GET, url.clone()).send().await;
            let failure = match outcome {
                Err(e) => {
                    let what = if e.is_timeout() {
                        "timed out"
                    } else {
                        "failed"
                    };
                    SourceError::Transient(format!("request {what}: {}", e.without_url()))
                }
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    self.observe_usage(&headers);
                    match resp.bytes().await {
                        Err(e) => SourceError::Transient(format!(
                            "reading the response failed: {}",
                            e.without_url()
                        )),
                        Ok(body) if status.is_success() => match serde_json::from_slice::<T>(&body)
                        {
                            Ok(v) => return Ok(v),
                            Err(e) if e.is_data() => return Err(SourceError::Shape(e.to_string())),
                            Err(e) => SourceError::Transient(format!(
                                "response is not valid JSON ({} bytes): {e}",
                                body.len()
                            )),
                        },
                        Ok(body) => {
                            let err = UpstreamError::decode(status, &body);
                            if err.is_rate_limit() {
                                let (_, regain) = parse_usage(&headers);
                                let named = retry_after(&headers).or(regain.map(regain_wait));
                                let wait = named.or_else(|| rate_delays.next());
                                let wait = match wait {
                                    Some(w) if w <= self.policy.max_rate_limit_wait => w,
                                    w => {
                                        let w = w.unwrap_or_default();
                                        self.block_for(w);
                                        return Err(SourceError::RateLimited {
                                            retry_after: w,
                                            message: err.to_string(),
                                        });
                                    }
                                };
                                tracing::warn!(
                                    wait_ms = wait.as_millis() as u64,
                                    "rate limited ({err}); waiting {:.1}s",
                                    wait.as_secs_f64()
                                );
                                self.block_for(wait);
                                continue;
                            }
                            if err.is_auth() {
                                return Err(SourceError::Auth(err));
                            }
                            if !err.is_transient() {
                                return Err(SourceError::Upstream(err));
                            }
                            SourceError::Transient(err.to_string())
                        }
                    }
                }
            };
            let Some(wait) = retry_delays.next() else {
                return Err(match failure {
                    SourceError::Transient(m) => SourceError::Transient(format!(
                        "{m} (gave up after {} attempts)",
                        attempt + 1
                    )),
                    other => other,
                });
            };
            tracing::warn!(
                attempt = attempt + 1,
                "{failure}; retrying in {:.1}s",
                wait.as_secs_f64()
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Meta's pair rate limit: one message to the same customer every few seconds.
pub const PAIR_RATE_LIMIT: i64 = 131056;
/// Cloud API throughput reached for the phone number.
pub const THROUGHPUT_LIMIT: i64 = 130429;

impl Upstream {
    /// Makes a request that changes something upstream (a send, a template create, edit or
    /// delete) and decodes its JSON answer. Such a request is not idempotent, so it is repeated
    /// only when upstream said in so many words that it refused it for rate: 131056 (pair rate)
    /// waits `2 · retry_base · 4^n` as Meta advises, 130429 and other rate limits wait
    /// `Retry-After` or a jittered backoff. A timeout, a dropped connection or a 5xx is never
    /// repeated: the request may have gone through, and the error says so.
    pub async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, SourceError> {
        let mut attempt = 0u32;
        let mut rate_delays = self.policy.delays(self.policy.max_retries + 1);
        rate_delays.next();
        loop {
            self.wait_turn().await?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut rb = self.request(method.clone(), url.clone());
            if let Some(b) = body {
                rb = rb.json(b);
            }
            let resp = match rb.send().await {
                Ok(r) => r,
                Err(e) if e.is_connect() => {
                    // Nothing reached upstream: safe to say it was not sent.
                    return Err(SourceError::Transient(format!(
                        "cannot connect: {}",
                        e.without_url()
                    )));
                }
                Err(e) => {
                    let what = if e.is_timeout() {
                        "timed out"
                    } else {
                        "failed"
                    };
                    return Err(SourceError::Unknown(format!(
                        "the request {what} ({}); it may or may not have taken effect, \
                         so it was not repeated",
                        e.without_url()
                    )));
                }
            };
            let status = resp.status();
            let headers = resp.headers().clone();
            self.observe_usage(&headers);
            let bytes = resp.bytes().await.map_err(|e| {
                SourceError::Unknown(format!(
                    "reading the answer failed ({}); the request may have taken effect",
                    e.without_url()
                ))
            })?;
            if status.is_success() {
                return serde_json::from_slice(&bytes).map_err(|e| {
                    SourceError::Shape(format!("the answer is not the JSON expected: {e}"))
                });
            }
            let err = UpstreamError::decode(status, &bytes);
            if err.is_rate_limit() && attempt < self.policy.max_retries {
                let wait = if err.code == Some(PAIR_RATE_LIMIT) {
                    self.policy
                        .retry_base
                        .saturating_mul(2 * 4u32.saturating_pow(attempt.min(8)))
                } else {
                    retry_after(&headers)
                        .or_else(|| rate_delays.next())
                        .unwrap_or(ABSURD_WAIT)
                };
                if wait <= self.policy.max_rate_limit_wait {
                    tracing::warn!(
                        attempt = attempt + 1,
                        "refused for rate ({err}); trying again in {:.1}s",
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                    continue;
                }
            }
            if err.is_rate_limit() {
                return Err(SourceError::RateLimited {
                    retry_after: retry_after(&headers).unwrap_or_default(),
                    message: if attempt > 0 {
                        format!("{err} (still refused after {} attempts)", attempt + 1)
                    } else {
                        err.to_string()
                    },
                });
            }
            if err.is_auth() {
                return Err(SourceError::Auth(err));
            }
            return Err(SourceError::Upstream(err));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_object_and_string_envelopes() {
        let e = UpstreamError::decode(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"message":"(#80007) limit","type":"OAuthException","code":80007}}"#,
        );
        assert_eq!(e.code, Some(80007));
        assert!(e.is_rate_limit());
        let e = UpstreamError::decode(
            StatusCode::BAD_REQUEST,
            br#"{"error":"hsm_id is required"}"#,
        );
        assert_eq!(e.message, "hsm_id is required");
        assert!(!e.is_transient());
        let e = UpstreamError::decode(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert!(e.is_transient());
        let e = UpstreamError::decode(
            StatusCode::BAD_REQUEST,
            br#"{"error":{"message":"Invalid OAuth access token","code":190}}"#,
        );
        assert!(e.is_auth());
    }

    #[test]
    fn usage_header_takes_the_maximum() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            r#"{"102":[{"type":"whatsapp_business_management","call_count":40,"total_cputime":91,"total_time":12,"estimated_time_to_regain_access":0}]}"#
                .parse()
                .unwrap(),
        );
        assert_eq!(parse_usage(&h), (Some(91.0), Some(0)));
    }
}
