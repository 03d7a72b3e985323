//! Upstreams: one trait, [`TemplateSource`], with Meta's Graph API ([`meta`]) and Kapso's proxy
//! and Platform API ([`kapso`]) behind it. Each maps its wire format into
//! [`crate::domain::RemoteTemplate`].

pub mod graph;
pub mod http;
pub mod kapso;
pub mod manage;
pub mod meta;

use std::time::Duration;

use crate::config::{AccountConfig, SyncConfig};
use crate::domain::{RemoteTemplate, SourceKind};
use http::{Auth, RetryPolicy, Upstream, UpstreamError};

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
    /// Records that did not parse and were skipped (each one logged).
    pub skipped: u32,
    /// The cursor of the next page; `None` on the last.
    pub next: Option<String>,
}

/// Which templates to list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only these statuses (upper case), e.g. `["PENDING", "IN_APPEAL"]`.
    pub statuses: Vec<String>,
}

/// A place templates come from.
pub trait TemplateSource {
    /// The WABAs this account covers (configured, or discovered).
    fn wabas(&self) -> impl std::future::Future<Output = Result<Vec<String>, SourceError>> + Send;
    /// One page of the templates of `waba` matching `filter`: the first when `after` is
    /// `None`, else the one after that cursor.
    fn list_page(
        &self,
        waba: &str,
        filter: &ListFilter,
        after: Option<&str>,
    ) -> impl std::future::Future<Output = Result<TemplatePage, SourceError>> + Send;
    /// One template by id; `Ok(None)` when upstream says it does not exist.
    fn get_template(
        &self,
        waba: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<RemoteTemplate>, SourceError>> + Send;
    /// HTTP requests made so far.
    fn requests(&self) -> u32;
}

/// An account's source, whichever kind it is.
pub enum Source {
    Meta(meta::MetaSource),
    Kapso(kapso::KapsoSource),
}

impl Source {
    /// Builds the source for a configured account.
    pub fn for_account(
        account: &AccountConfig,
        sync: &SyncConfig,
        client: reqwest::Client,
    ) -> Self {
        let policy = RetryPolicy::from(sync);
        match account.source {
            SourceKind::Meta => Source::Meta(meta::MetaSource::new(
                account,
                sync.page_size,
                Upstream::new(client, Auth::Bearer(account.credential.clone()), policy),
            )),
            SourceKind::Kapso => Source::Kapso(kapso::KapsoSource::new(
                account,
                sync.page_size,
                Upstream::new(client, Auth::ApiKey(account.credential.clone()), policy),
            )),
        }
    }
}

impl TemplateSource for Source {
    async fn wabas(&self) -> Result<Vec<String>, SourceError> {
        match self {
            Source::Meta(s) => s.wabas().await,
            Source::Kapso(s) => s.wabas().await,
        }
    }

    async fn list_page(
        &self,
        waba: &str,
        filter: &ListFilter,
        after: Option<&str>,
    ) -> Result<TemplatePage, SourceError> {
        match self {
            Source::Meta(s) => s.list_page(waba, filter, after).await,
            Source::Kapso(s) => s.list_page(waba, filter, after).await,
        }
    }

    async fn get_template(
        &self,
        waba: &str,
        id: &str,
    ) -> Result<Option<RemoteTemplate>, SourceError> {
        match self {
            Source::Meta(s) => s.get_template(waba, id).await,
            Source::Kapso(s) => s.get_template(waba, id).await,
        }
    }

    fn requests(&self) -> u32 {
        match self {
            Source::Meta(s) => s.requests(),
            Source::Kapso(s) => s.requests(),
        }
    }
}

/// The shared HTTP client: connection pooling across accounts, a user agent, no proxy surprises.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .user_agent(concat!("templar/", env!("CARGO_PKG_VERSION")))
        .pool_max_idle_per_host(16)
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}
