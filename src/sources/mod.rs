//! Upstreams: one Graph client ([`Graph`]) for Meta's Cloud API, reached directly or through
//! Kapso's proxy, parametrised by a [`dialect::Dialect`] that holds the few ways the two
//! differ. Kapso forwards Graph's requests and answers, so one client written once is truer
//! than two implementations of a trait that would repeat every call.

pub mod client;
pub mod dialect;
pub mod graph;
pub mod groups;
pub mod http;
pub mod insights;
pub mod library;
pub mod numbers;
pub mod writes;

pub use client::Graph;
pub use insights::{AnalyticsPoint, ANALYTICS_MAX_IDS};
pub use writes::{digits, Accepted, Created};

use std::time::Duration;

use crate::domain::RemoteTemplate;
use http::UpstreamError;

/// Why a source call failed; the syncer treats each kind differently.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Meta or Kapso asked us to stop for longer than we are willing to wait.
    #[error("rate limited; access expected back in {}s: {message}", retry_after.as_secs())]
    RateLimited {
        retry_after: Duration,
        message: String,
    },
    /// The token or API key was refused; retrying will not help.
    #[error("authentication failed: {0}")]
    Auth(UpstreamError),
    /// A network problem, timeout, 5xx or unreadable body that outlasted the retries.
    #[error("{0}")]
    Transient(String),
    /// Upstream refused the request for a reason retrying will not fix.
    #[error("upstream error: {0}")]
    Upstream(UpstreamError),
    /// A request that changes something timed out or lost its answer: it may have taken
    /// effect. Never retried.
    #[error("{0}")]
    Unknown(String),
    /// The response was JSON but not the shape we expect.
    #[error("unexpected response: {0}")]
    Shape(String),
}

/// One page of a template listing.
#[derive(Debug, Default)]
pub struct TemplatePage {
    /// Templates that parsed.
    pub templates: Vec<RemoteTemplate>,
    /// Ids of records that did not parse (each one logged): still upstream, so still seen.
    pub malformed: Vec<String>,
    /// Records that did not parse and whose id could not be read either.
    pub unidentified: u32,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
    /// The page carried a `paging.next` link.
    pub linked: bool,
}

/// Which templates to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only these statuses (upper case), e.g. `["PENDING", "IN_APPEAL"]`.
    pub statuses: Vec<String>,
}

/// The shared HTTP client: connection pooling across accounts, a user agent, no proxy surprises.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("templar/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(16)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
