//! The TOML file as written, before validation: every table refuses unknown keys.

use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) database: Option<String>,
    pub(super) listen: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) log_format: Option<String>,
    pub(super) rate_card: Option<String>,
    #[serde(default)]
    pub(super) sync: RawSync,
    #[serde(default, rename = "account")]
    pub(super) accounts: Vec<RawAccount>,
    #[serde(default)]
    pub(super) webhooks: RawWebhooks,
    #[serde(default)]
    pub(super) dashboard: RawDashboard,
    #[serde(default)]
    pub(super) notify: Vec<RawNotify>,
    #[serde(default, rename = "report")]
    pub(super) reports: Vec<RawReport>,
    #[serde(default)]
    pub(super) server: super::server::RawServer,
    #[serde(default)]
    pub(super) retention: super::retention::RawRetention,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReport {
    pub(super) schedule: Option<String>,
    pub(super) format: Option<String>,
    pub(super) by: Option<String>,
    pub(super) days: Option<u32>,
    pub(super) account: Option<String>,
    pub(super) notify: Option<String>,
    pub(super) dir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotify {
    pub(super) name: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) url: Option<String>,
    pub(super) url_env: Option<String>,
    pub(super) secret: Option<String>,
    pub(super) secret_env: Option<String>,
    pub(super) events: Option<Vec<String>>,
    #[serde(default)]
    pub(super) accounts: Vec<String>,
    pub(super) templates: Option<String>,
    pub(super) digest: Option<String>,
    pub(super) max_attempts: Option<u32>,
    pub(super) retry_base_ms: Option<u64>,
    pub(super) smtp_host: Option<String>,
    pub(super) smtp_port: Option<u16>,
    pub(super) smtp_tls: Option<String>,
    pub(super) smtp_username: Option<String>,
    pub(super) smtp_password: Option<String>,
    pub(super) smtp_password_env: Option<String>,
    pub(super) from: Option<String>,
    #[serde(default)]
    pub(super) to: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSync {
    pub(super) schedule: Option<String>,
    pub(super) pending_schedule: Option<String>,
    pub(super) usage_schedule: Option<String>,
    pub(super) concurrency: Option<usize>,
    pub(super) page_size: Option<u32>,
    pub(super) request_timeout_secs: Option<f64>,
    pub(super) max_retries: Option<u32>,
    pub(super) retry_base_ms: Option<u64>,
    pub(super) max_rate_limit_wait_secs: Option<u64>,
    pub(super) run_timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAccount {
    pub(super) name: Option<String>,
    pub(super) source: Option<String>,
    pub(super) waba_id: Option<String>,
    #[serde(default)]
    pub(super) phone_number_ids: Vec<String>,
    pub(super) token: Option<String>,
    pub(super) token_env: Option<String>,
    pub(super) api_key: Option<String>,
    pub(super) api_key_env: Option<String>,
    pub(super) base_url: Option<String>,
    pub(super) graph_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    pub(super) meta: Option<RawMetaWebhook>,
    pub(super) kapso: Option<RawKapsoWebhook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetaWebhook {
    pub(super) app_secret: Option<String>,
    pub(super) app_secret_env: Option<String>,
    pub(super) verify_token: Option<String>,
    pub(super) verify_token_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKapsoWebhook {
    pub(super) secret: Option<String>,
    pub(super) secret_env: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDashboard {
    pub(super) token: Option<String>,
    pub(super) token_env: Option<String>,
}
