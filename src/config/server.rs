//! `[server]`: how `templar serve` treats its connections: deadlines for slow clients, a cap on
//! connections, and how long a shutdown may take.

use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    header_timeout_secs: Option<f64>,
    request_timeout_secs: Option<f64>,
    max_connections: Option<usize>,
    shutdown_timeout_secs: Option<f64>,
    page_cache_mb: Option<usize>,
    page_builds: Option<usize>,
}

/// `[server]`, validated.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// A request's headers must arrive within this; an idle keep-alive connection is closed
    /// after it too (the wait for the next request's headers).
    pub header_timeout: Duration,
    /// Reading a request's body and answering it must end within this (webhooks and pages).
    pub request_timeout: Duration,
    /// Connections open at once; more wait in the listen queue.
    pub max_connections: usize,
    /// After Ctrl-C or SIGTERM, in-flight requests get this long; then templar exits anyway.
    pub shutdown_timeout: Duration,
    /// The most bytes of built dashboard pages kept.
    pub page_cache_bytes: usize,
    /// Dashboard pages built at once; more wait.
    pub page_builds: usize,
}

fn seconds(key: &str, v: Option<f64>, default: f64) -> Result<Duration, ConfigError> {
    let s = v.unwrap_or(default);
    if !(s > 0.0 && s <= 3600.0) {
        return Err(ConfigError::new(key, "must be between 0 and 3600 seconds"));
    }
    Ok(Duration::from_secs_f64(s))
}

pub(super) fn validate(s: RawServer) -> Result<ServerConfig, ConfigError> {
    let max_connections = s.max_connections.unwrap_or(1024);
    if !(1..=1_000_000).contains(&max_connections) {
        return Err(ConfigError::new(
            "server.max_connections",
            "must be between 1 and 1000000",
        ));
    }
    Ok(ServerConfig {
        header_timeout: seconds("server.header_timeout_secs", s.header_timeout_secs, 10.0)?,
        request_timeout: seconds("server.request_timeout_secs", s.request_timeout_secs, 30.0)?,
        max_connections,
        shutdown_timeout: seconds(
            "server.shutdown_timeout_secs",
            s.shutdown_timeout_secs,
            10.0,
        )?,
        page_cache_bytes: s.page_cache_mb.unwrap_or(32).min(65_536) * 1024 * 1024,
        page_builds: match s.page_builds.unwrap_or(4) {
            0 => return Err(ConfigError::new("server.page_builds", "must be at least 1")),
            n => n,
        },
    })
}
