//! `[webhooks.*]` (the secrets that verify what Meta and Kapso post) and `[dashboard]` (the
//! login token).

use std::net::SocketAddr;

use super::raw::{RawDashboard, RawWebhooks};
use super::secret::{required_secret, secret, EnvLookup, Secret};
use super::ConfigError;

/// `[webhooks.*]`: secrets for verifying what Meta and Kapso post.
#[derive(Debug, Clone, Default)]
pub struct WebhooksConfig {
    pub meta: Option<MetaWebhookConfig>,
    pub kapso: Option<KapsoWebhookConfig>,
}

/// `[webhooks.meta]`.
#[derive(Debug, Clone)]
pub struct MetaWebhookConfig {
    pub app_secret: Secret,
    pub verify_token: Secret,
}

/// `[webhooks.kapso]`.
#[derive(Debug, Clone)]
pub struct KapsoWebhookConfig {
    pub secret: Secret,
}

/// `[dashboard]`.
#[derive(Debug, Clone, Default)]
pub struct DashboardConfig {
    /// Required unless `listen` is a loopback address.
    pub token: Option<Secret>,
}

pub(super) fn validate(
    raw: RawWebhooks,
    env: EnvLookup<'_>,
) -> Result<WebhooksConfig, ConfigError> {
    let meta = match raw.meta {
        None => None,
        Some(m) => Some(MetaWebhookConfig {
            app_secret: required_secret(
                "webhooks.meta.app_secret",
                m.app_secret,
                m.app_secret_env,
                env,
                "the Meta app secret",
            )?,
            verify_token: required_secret(
                "webhooks.meta.verify_token",
                m.verify_token,
                m.verify_token_env,
                env,
                "the webhook verify token",
            )?,
        }),
    };
    let kapso = match raw.kapso {
        None => None,
        Some(k) => Some(KapsoWebhookConfig {
            secret: required_secret(
                "webhooks.kapso.secret",
                k.secret,
                k.secret_env,
                env,
                "the Kapso webhook secret",
            )?,
        }),
    };
    Ok(WebhooksConfig { meta, kapso })
}

/// The dashboard's token: required unless `serve` listens on a loopback address and
/// `public_url` names this machine too (a reverse proxy in front of a loopback `listen` would
/// otherwise publish the dashboard and its Send test to anyone).
pub(super) fn validate_dashboard(
    raw: RawDashboard,
    listen: SocketAddr,
    public_url: &str,
    env: EnvLookup<'_>,
) -> Result<DashboardConfig, ConfigError> {
    let token = secret(
        "dashboard.token",
        raw.token,
        raw.token_env,
        env,
        "the dashboard login token",
    )?;
    if token.is_none() && !listen.ip().is_loopback() {
        return Err(ConfigError::new(
            "dashboard.token_env",
            format!(
                "missing: `listen` is {listen}, not a loopback address, so the dashboard needs a \
                 login token"
            ),
        ));
    }
    let public_host = reqwest::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let local = public_host == "localhost"
        || public_host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if token.is_none() && !local {
        return Err(ConfigError::new(
            "dashboard.token_env",
            format!(
                "missing: `public_url` is {public_url}, reachable from other machines through \
                 your proxy, so the dashboard needs a login token"
            ),
        ));
    }
    Ok(DashboardConfig { token })
}
