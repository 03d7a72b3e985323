//! The HTTP client both sources share: authentication, per-request timeouts, retries of
//! idempotent GETs with jittered exponential backoff, `Retry-After`, and Meta's usage headers
//! (`X-Business-Use-Case-Usage`, `X-App-Usage`): slow down as usage nears 100 %, stop calling
//! while Meta says access is blocked.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, Url};
use tokio::time::Instant;

use super::SourceError;
use crate::config::Secret;

mod errors;
pub use errors::*;

mod limits;
pub use limits::*;

/// Rate-limit waits a GET sits out, named by upstream or not, before it gives up.
const MAX_RATE_WAITS: u32 = 8;

/// How a request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `Authorization: Bearer` (Meta).
    Bearer(Secret),
    /// `X-API-Key` (Kapso).
    ApiKey(Secret),
}

/// One account's view of an upstream: its credentials, policy and throttle state.
pub struct Upstream {
    client: reqwest::Client,
    auth: Auth,
    policy: RetryPolicy,
    throttle: Mutex<Throttle>,
    requests: AtomicU32,
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
        // At most this many rate-limit waits, named by upstream or not, before the run fails:
        // an upstream that keeps answering 429 (even with `Retry-After: 0`) cannot hold a sync
        // for ever.
        let mut rate_waits = 0u32;
        let mut rate_delays = self.policy.rate_delays(MAX_RATE_WAITS);
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
                                let wait = named
                                    .or_else(|| rate_delays.next())
                                    .unwrap_or(self.policy.max_rate_limit_wait);
                                if wait > self.policy.max_rate_limit_wait
                                    || rate_waits >= MAX_RATE_WAITS
                                {
                                    self.block_for(wait);
                                    return Err(SourceError::RateLimited {
                                        retry_after: wait,
                                        message: err.to_string(),
                                    });
                                }
                                rate_waits += 1;
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
mod tests;
