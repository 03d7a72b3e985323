//! `templar.toml`: parsed, validated once at start-up into a typed [`Config`] that is passed
//! explicitly (no globals). Every error names the key and what was wrong. Secrets are referenced
//! by environment variable (`X_env`) or given inline (`X`), and never printed.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::SourceKind;

/// A configuration problem: which key, and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("config error: `{key}`: {message}")]
pub struct ConfigError {
    /// The dotted key, e.g. `sync.schedule` or `account[1].token_env`.
    pub key: String,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl ConfigError {
    fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// A secret value: shown as `***` by `Debug`, never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// A validated cron schedule, keeping the expression the user wrote.
#[derive(Clone, Debug)]
pub struct CronSchedule {
    /// As written in the config.
    pub expr: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    /// Parses the 5-field crontab form (minute first) or the 6-field form with seconds.
    /// Numeric days of the week follow crontab: 0 and 7 are Sunday.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let mut full: Vec<String> = match fields.len() {
            5 => std::iter::once("0")
                .chain(fields.iter().copied())
                .map(String::from)
                .collect(),
            6 => fields.iter().map(|s| s.to_string()).collect(),
            n => {
                return Err(format!(
                    "`{expr}` is not a valid cron expression: it has {n} fields; use 5 \
                     (minute hour day month weekday) or 6 (with seconds first)"
                ))
            }
        };
        full[5] = crontab_weekdays(&full[5]);
        let schedule = cron::Schedule::from_str(&full.join(" "))
            .map_err(|e| format!("`{expr}` is not a valid cron expression: {e}"))?;
        Ok(CronSchedule {
            expr: expr.to_string(),
            schedule,
        })
    }

    /// The first firing strictly after `after`.
    pub fn next_after(
        &self,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.schedule.after(&after).next()
    }
}

/// The cron crate numbers weekdays 1-7 from Sunday; crontab numbers 0-7 from Sunday (7 too).
/// Names mean the same in both, so numbers become names.
fn crontab_weekdays(field: &str) -> String {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    if !field
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '-')
    {
        return field.to_string();
    }
    field
        .split(',')
        .map(|part| {
            part.split('-')
                .map(|n| {
                    n.parse::<usize>()
                        .ok()
                        .and_then(|i| NAMES.get(i))
                        .map_or(n, |v| v)
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// SQLite database file.
    pub database: PathBuf,
    /// Address `serve` listens on.
    pub listen: SocketAddr,
    /// Base URL for links in notifications.
    pub public_url: String,
    pub sync: SyncConfig,
    pub accounts: Vec<AccountConfig>,
    pub webhooks: WebhooksConfig,
    pub dashboard: DashboardConfig,
    pub notify: Vec<NotifyConfig>,
    pub reports: Vec<ReportConfig>,
}

/// One `[[report]]`: a usage export on a schedule.
#[derive(Debug, Clone)]
pub struct ReportConfig {
    pub schedule: CronSchedule,
    pub format: crate::export::Format,
    pub by: crate::export::By,
    /// Days covered, ending yesterday.
    pub days: u32,
    pub account: Option<String>,
    /// A `[[notify]]` channel to announce it through.
    pub notify: Option<String>,
    /// Where the files go.
    pub dir: PathBuf,
}

/// Everything a channel can subscribe to.
pub const NOTIFY_EVENTS: &[&str] = &[
    "approved",
    "rejected",
    "paused",
    "disabled",
    "quality_down",
    "quality_up",
    "category_changed",
    "status_changed",
    "sync_failing",
    "sync_recovered",
    "digest",
];

/// One `[[notify]]` channel.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    pub name: String,
    pub kind: NotifyKind,
    /// Event names this channel wants (see [`NOTIFY_EVENTS`]).
    pub events: Vec<String>,
    /// Only these accounts (all when empty).
    pub accounts: Vec<String>,
    /// Only template names matching this glob (`*` and `?`).
    pub templates: Option<String>,
    /// Daily digest, if wanted.
    pub digest: Option<CronSchedule>,
    /// Deliveries tried at most this many times before they are marked dead.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, capped at an hour.
    pub retry_base: Duration,
}

/// Where a channel delivers.
#[derive(Debug, Clone)]
pub enum NotifyKind {
    /// JSON POST signed with `X-Templar-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
    Webhook { url: Secret, secret: Secret },
    /// Slack-compatible incoming webhook (also Mattermost).
    Slack { url: Secret },
    /// SMTP.
    Email(EmailConfig),
}

impl NotifyKind {
    /// `webhook`, `slack` or `email`.
    pub fn as_str(&self) -> &'static str {
        match self {
            NotifyKind::Webhook { .. } => "webhook",
            NotifyKind::Slack { .. } => "slack",
            NotifyKind::Email(_) => "email",
        }
    }
}

/// SMTP settings of an email channel.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    pub host: String,
    pub port: u16,
    /// `starttls` (default), `tls` or `none`.
    pub tls: String,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
}

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
}

/// One `[[account]]`.
#[derive(Debug, Clone)]
pub struct AccountConfig {
    pub name: String,
    pub source: SourceKind,
    /// Required for Meta; for Kapso, discovered from phone numbers when absent.
    pub waba_id: Option<String>,
    pub phone_number_ids: Vec<String>,
    /// Meta access token, or Kapso API key.
    pub credential: Secret,
    /// Upstream base URL without a trailing slash.
    pub base_url: String,
    /// e.g. `v24.0`.
    pub graph_version: String,
}

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

// ---- the file as written -------------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: Option<String>,
    listen: Option<String>,
    public_url: Option<String>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default, rename = "account")]
    accounts: Vec<RawAccount>,
    #[serde(default)]
    webhooks: RawWebhooks,
    #[serde(default)]
    dashboard: RawDashboard,
    #[serde(default)]
    notify: Vec<RawNotify>,
    #[serde(default, rename = "report")]
    reports: Vec<RawReport>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    schedule: Option<String>,
    format: Option<String>,
    by: Option<String>,
    days: Option<u32>,
    account: Option<String>,
    notify: Option<String>,
    dir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    name: Option<String>,
    kind: Option<String>,
    url: Option<String>,
    url_env: Option<String>,
    secret: Option<String>,
    secret_env: Option<String>,
    events: Option<Vec<String>>,
    #[serde(default)]
    accounts: Vec<String>,
    templates: Option<String>,
    digest: Option<String>,
    max_attempts: Option<u32>,
    retry_base_ms: Option<u64>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_password_env: Option<String>,
    from: Option<String>,
    #[serde(default)]
    to: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSync {
    schedule: Option<String>,
    pending_schedule: Option<String>,
    usage_schedule: Option<String>,
    concurrency: Option<usize>,
    page_size: Option<u32>,
    request_timeout_secs: Option<f64>,
    max_retries: Option<u32>,
    retry_base_ms: Option<u64>,
    max_rate_limit_wait_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    name: Option<String>,
    source: Option<String>,
    waba_id: Option<String>,
    #[serde(default)]
    phone_number_ids: Vec<String>,
    token: Option<String>,
    token_env: Option<String>,
    api_key: Option<String>,
    api_key_env: Option<String>,
    base_url: Option<String>,
    graph_version: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWebhooks {
    meta: Option<RawMetaWebhook>,
    kapso: Option<RawKapsoWebhook>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetaWebhook {
    app_secret: Option<String>,
    app_secret_env: Option<String>,
    verify_token: Option<String>,
    verify_token_env: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKapsoWebhook {
    secret: Option<String>,
    secret_env: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    token: Option<String>,
    token_env: Option<String>,
}

/// Reads environment variables; a function so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// Finds the config file (`--config`, else `$TEMPLAR_CONFIG`, else `./templar.toml`) and
    /// loads it.
    pub fn locate_and_load(flag: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match flag {
            Some(p) => p.to_path_buf(),
            None => match process_env("TEMPLAR_CONFIG") {
                Some(p) => PathBuf::from(p),
                None => PathBuf::from("templar.toml"),
            },
        };
        if !path.exists() {
            return Err(ConfigError::new(
                "--config",
                format!(
                    "{} does not exist; pass --config FILE, set TEMPLAR_CONFIG, or create \
                     ./templar.toml (`templar simulate --write-config templar.toml` writes one \
                     that points at the built-in simulator)",
                    path.display()
                ),
            ));
        }
        Config::load(&path, &process_env)
    }

    /// Loads and validates the file at `path`.
    pub fn load(path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::new("--config", format!("cannot read {}: {e}", path.display()))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut cfg = Config::parse(&text, base, env)?;
        cfg.path = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses and validates TOML text; relative paths are resolved against `base_dir`.
    pub fn parse(text: &str, base_dir: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map_or_else(|| "(file)".to_string(), |s| key_at(text, s.start));
            ConfigError::new(key, e.message().trim().to_string())
        })?;
        validate(raw, base_dir, env)
    }
}

/// Best-effort name of the key at a byte offset, for parse errors.
fn key_at(text: &str, offset: usize) -> String {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[start..end].trim();
    let is_header = line.starts_with('[');
    let key = line
        .split('=')
        .next()
        .unwrap_or("")
        .trim()
        .trim_matches(['[', ']']);
    let section = text[..start]
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('['))
        .map(|l| l.trim().trim_matches(['[', ']']).to_string());
    match section {
        Some(s) if !key.is_empty() && !is_header => format!("{s}.{key}"),
        _ if !key.is_empty() => key.to_string(),
        Some(s) => s,
        None => "(file)".to_string(),
    }
}

fn secret(
    key: &str,
    inline: Option<String>,
    env_name: Option<String>,
    env: EnvLookup<'_>,
    what: &str,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(v) = inline.filter(|v| !v.is_empty()) {
        return Ok(Some(Secret(v)));
    }
    match env_name {
        None => Ok(None),
        Some(var) => match env(&var) {
            Some(v) => Ok(Some(Secret(v))),
            None => Err(ConfigError::new(
                format!("{key}_env"),
                format!("names the environment variable {var} ({what}), which is not set"),
            )),
        },
    }
}

fn required_secret(
    key: &str,
    inline: Option<String>,
    env_name: Option<String>,
    env: EnvLookup<'_>,
    what: &str,
) -> Result<Secret, ConfigError> {
    secret(key, inline, env_name, env, what)?.ok_or_else(|| {
        ConfigError::new(
            format!("{key}_env"),
            format!("missing: set `{key}_env` to an environment variable holding {what} (or `{key}` inline)"),
        )
    })
}

fn schedule(key: &str, value: Option<String>, default: &str) -> Result<CronSchedule, ConfigError> {
    CronSchedule::parse(value.as_deref().unwrap_or(default)).map_err(|m| ConfigError::new(key, m))
}

fn validate(raw: RawConfig, base_dir: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigError> {
    let database = env("TEMPLAR_DATABASE")
        .or(raw.database)
        .unwrap_or_else(|| "templar.db".into());
    let database = {
        let p = PathBuf::from(&database);
        if p.is_relative() {
            base_dir.join(p)
        } else {
            p
        }
    };
    let listen_s = env("TEMPLAR_LISTEN")
        .or(raw.listen)
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_s.parse().map_err(|_| {
        ConfigError::new(
            "listen",
            format!("`{listen_s}` is not an address like 127.0.0.1:8080"),
        )
    })?;
    let public_url = env("TEMPLAR_PUBLIC_URL")
        .or(raw.public_url)
        .unwrap_or_else(|| format!("http://{listen}"));
    reqwest::Url::parse(&public_url)
        .map_err(|e| ConfigError::new("public_url", format!("`{public_url}` is not a URL: {e}")))?;

    let s = raw.sync;
    let positive = |key: &str, v: Option<u64>, default: u64| -> Result<u64, ConfigError> {
        match v.unwrap_or(default) {
            0 => Err(ConfigError::new(key, "must be greater than 0")),
            n => Ok(n),
        }
    };
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
    let sync = SyncConfig {
        schedule: schedule("sync.schedule", s.schedule, "*/15 * * * *")?,
        pending_schedule: schedule("sync.pending_schedule", s.pending_schedule, "*/2 * * * *")?,
        usage_schedule: schedule("sync.usage_schedule", s.usage_schedule, "5 * * * *")?,
        concurrency: positive("sync.concurrency", s.concurrency.map(|c| c as u64), 4)? as usize,
        page_size: page_size as u32,
        request_timeout: Duration::from_secs_f64(timeout),
        max_retries: s.max_retries.unwrap_or(4),
        retry_base: Duration::from_millis(s.retry_base_ms.unwrap_or(500)),
        max_rate_limit_wait: Duration::from_secs(s.max_rate_limit_wait_secs.unwrap_or(300)),
    };

    let mut accounts = Vec::new();
    let mut names = HashSet::new();
    for (i, a) in raw.accounts.into_iter().enumerate() {
        let key = |k: &str| format!("account[{i}].{k}");
        let name = a.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| {
            ConfigError::new(key("name"), "missing: every [[account]] needs a name")
        })?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return Err(ConfigError::new(
                key("name"),
                format!("`{name}` may only hold letters, digits, `-`, `_` and `.`"),
            ));
        }
        if !names.insert(name.clone()) {
            return Err(ConfigError::new(
                key("name"),
                format!("`{name}` is used by two accounts"),
            ));
        }
        let source = match a.source.as_deref() {
            Some("meta") => SourceKind::Meta,
            Some("kapso") => SourceKind::Kapso,
            Some(other) => {
                return Err(ConfigError::new(
                    key("source"),
                    format!("unknown source `{other}`; expected `meta` or `kapso`"),
                ))
            }
            None => {
                return Err(ConfigError::new(
                    key("source"),
                    "missing: `meta` or `kapso`",
                ))
            }
        };
        let credential = match source {
            SourceKind::Meta => {
                if a.api_key.is_some() || a.api_key_env.is_some() {
                    return Err(ConfigError::new(
                        key("api_key_env"),
                        "is for Kapso accounts; a Meta account takes `token_env`",
                    ));
                }
                required_secret(
                    &key("token"),
                    a.token,
                    a.token_env,
                    env,
                    "the Meta access token",
                )?
            }
            SourceKind::Kapso => {
                if a.token.is_some() || a.token_env.is_some() {
                    return Err(ConfigError::new(
                        key("token_env"),
                        "is for Meta accounts; a Kapso account takes `api_key_env`",
                    ));
                }
                required_secret(
                    &key("api_key"),
                    a.api_key,
                    a.api_key_env,
                    env,
                    "the Kapso API key",
                )?
            }
        };
        let waba_id = a.waba_id.filter(|w| !w.trim().is_empty());
        if source == SourceKind::Meta && waba_id.is_none() {
            return Err(ConfigError::new(
                key("waba_id"),
                "missing: a Meta account needs its WhatsApp Business Account id",
            ));
        }
        if let Some(w) = &waba_id {
            if !w.chars().all(|c| c.is_ascii_digit()) {
                return Err(ConfigError::new(
                    key("waba_id"),
                    format!("`{w}` is not a numeric id"),
                ));
            }
        }
        let base_url = a
            .base_url
            .unwrap_or_else(|| match source {
                SourceKind::Meta => "https://graph.facebook.com".into(),
                SourceKind::Kapso => "https://api.kapso.ai".into(),
            })
            .trim_end_matches('/')
            .to_string();
        match reqwest::Url::parse(&base_url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
            _ => {
                return Err(ConfigError::new(
                    key("base_url"),
                    format!("`{base_url}` is not an http(s) URL"),
                ))
            }
        }
        let graph_version = a.graph_version.unwrap_or_else(|| "v24.0".into());
        let version_ok = graph_version
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && (a.to_string() + b).chars().all(|c| c.is_ascii_digit())
            });
        if !version_ok {
            return Err(ConfigError::new(
                key("graph_version"),
                format!("`{graph_version}` is not a Graph API version like v24.0"),
            ));
        }
        accounts.push(AccountConfig {
            name,
            source,
            waba_id,
            phone_number_ids: a.phone_number_ids,
            credential,
            base_url,
            graph_version,
        });
    }

    let webhooks = WebhooksConfig {
        meta: match raw.webhooks.meta {
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
        },
        kapso: match raw.webhooks.kapso {
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
        },
    };

    let token = secret(
        "dashboard.token",
        raw.dashboard.token,
        raw.dashboard.token_env,
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

    let notify = validate_notify(raw.notify, &accounts, env)?;
    let mut reports = Vec::new();
    for (i, r) in raw.reports.into_iter().enumerate() {
        let key = |k: &str| format!("report[{i}].{k}");
        let schedule = CronSchedule::parse(r.schedule.as_deref().unwrap_or(""))
            .map_err(|m| ConfigError::new(key("schedule"), m))?;
        let format = match r.format.as_deref().unwrap_or("csv") {
            "csv" => crate::export::Format::Csv,
            "json" => crate::export::Format::Json,
            "jsonl" => crate::export::Format::Jsonl,
            other => {
                return Err(ConfigError::new(
                    key("format"),
                    format!("`{other}`: use csv, json or jsonl"),
                ))
            }
        };
        let by = match r.by.as_deref().unwrap_or("day") {
            "day" => crate::export::By::Day,
            "week" => crate::export::By::Week,
            "month" => crate::export::By::Month,
            "template" => crate::export::By::Template,
            other => {
                return Err(ConfigError::new(
                    key("by"),
                    format!("`{other}`: use day, week, month or template"),
                ))
            }
        };
        if let Some(a) = &r.account {
            if !accounts.iter().any(|x| &x.name == a) {
                return Err(ConfigError::new(
                    key("account"),
                    format!("no account named `{a}`"),
                ));
            }
        }
        if let Some(n) = &r.notify {
            if !notify.iter().any(|c| &c.name == n) {
                return Err(ConfigError::new(
                    key("notify"),
                    format!("no [[notify]] channel named `{n}`"),
                ));
            }
        }
        let dir = PathBuf::from(r.dir.unwrap_or_else(|| "reports".into()));
        let days = r.days.unwrap_or(7);
        if !(1..=366).contains(&days) {
            return Err(ConfigError::new(key("days"), "must be between 1 and 366"));
        }
        reports.push(ReportConfig {
            schedule,
            format,
            by,
            days,
            account: r.account,
            notify: r.notify,
            dir: if dir.is_relative() {
                base_dir.join(dir)
            } else {
                dir
            },
        });
    }

    Ok(Config {
        path: None,
        database,
        listen,
        public_url: public_url.trim_end_matches('/').to_string(),
        sync,
        accounts,
        webhooks,
        dashboard: DashboardConfig { token },
        notify,
        reports,
    })
}

fn validate_notify(
    raw: Vec<RawNotify>,
    accounts: &[AccountConfig],
    env: EnvLookup<'_>,
) -> Result<Vec<NotifyConfig>, ConfigError> {
    let mut out: Vec<NotifyConfig> = Vec::new();
    for (i, n) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("notify[{i}].{k}");
        let name = n.name.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
            ConfigError::new(key("name"), "missing: every [[notify]] needs a name")
        })?;
        if out.iter().any(|o| o.name == name) {
            return Err(ConfigError::new(
                key("name"),
                format!("`{name}` is used by two channels"),
            ));
        }
        let url = |n_url: Option<String>, n_env: Option<String>| -> Result<Secret, ConfigError> {
            let u = required_secret(&key("url"), n_url, n_env, env, "the channel's URL")?;
            match reqwest::Url::parse(u.expose()) {
                Ok(p) if p.scheme() == "http" || p.scheme() == "https" => Ok(u),
                // The URL may hold a token: do not echo it.
                _ => Err(ConfigError::new(key("url"), "is not an http(s) URL")),
            }
        };
        let kind = match n.kind.as_deref() {
            Some("webhook") => NotifyKind::Webhook {
                url: url(n.url, n.url_env)?,
                secret: required_secret(
                    &key("secret"),
                    n.secret,
                    n.secret_env,
                    env,
                    "the signing secret",
                )?,
            },
            Some("slack") => NotifyKind::Slack {
                url: url(n.url, n.url_env)?,
            },
            Some("email") => {
                let host = n.smtp_host.filter(|h| !h.is_empty()).ok_or_else(|| {
                    ConfigError::new(
                        key("smtp_host"),
                        "missing: an email channel needs an SMTP server",
                    )
                })?;
                let tls = n.smtp_tls.unwrap_or_else(|| "starttls".into());
                if !["starttls", "tls", "none"].contains(&tls.as_str()) {
                    return Err(ConfigError::new(
                        key("smtp_tls"),
                        format!("`{tls}`: use starttls, tls or none"),
                    ));
                }
                let from = n.from.filter(|f| f.contains('@')).ok_or_else(|| {
                    ConfigError::new(key("from"), "missing or not an email address")
                })?;
                if n.to.is_empty() || n.to.iter().any(|t| !t.contains('@')) {
                    return Err(ConfigError::new(
                        key("to"),
                        "needs one or more email addresses",
                    ));
                }
                NotifyKind::Email(EmailConfig {
                    port: n.smtp_port.unwrap_or(if tls == "tls" { 465 } else { 587 }),
                    host,
                    tls,
                    username: n.smtp_username,
                    password: secret(
                        &key("smtp_password"),
                        n.smtp_password,
                        n.smtp_password_env,
                        env,
                        "the SMTP password",
                    )?,
                    from,
                    to: n.to,
                })
            }
            Some(other) => {
                return Err(ConfigError::new(
                    key("kind"),
                    format!("unknown kind `{other}`; expected webhook, slack or email"),
                ))
            }
            None => {
                return Err(ConfigError::new(
                    key("kind"),
                    "missing: webhook, slack or email",
                ))
            }
        };
        let events = n.events.unwrap_or_else(|| {
            NOTIFY_EVENTS
                .iter()
                .filter(|e| **e != "digest" && **e != "status_changed")
                .map(|e| e.to_string())
                .collect()
        });
        if let Some(bad) = events.iter().find(|e| !NOTIFY_EVENTS.contains(&e.as_str())) {
            return Err(ConfigError::new(
                key("events"),
                format!(
                    "unknown event `{bad}`; expected some of {}",
                    NOTIFY_EVENTS.join(", ")
                ),
            ));
        }
        if let Some(bad) = n
            .accounts
            .iter()
            .find(|a| !accounts.iter().any(|c| &c.name == *a))
        {
            return Err(ConfigError::new(
                key("accounts"),
                format!("no account named `{bad}`"),
            ));
        }
        let digest = match n.digest {
            Some(d) => {
                Some(CronSchedule::parse(&d).map_err(|m| ConfigError::new(key("digest"), m))?)
            }
            None => None,
        };
        out.push(NotifyConfig {
            name,
            kind,
            events,
            accounts: n.accounts,
            templates: n.templates.filter(|t| !t.is_empty()),
            digest,
            max_attempts: n.max_attempts.unwrap_or(8).max(1),
            retry_base: Duration::from_millis(n.retry_base_ms.unwrap_or(30_000)),
        });
    }
    Ok(out)
}

impl Config {
    /// The account called `name`, or an error listing the ones that exist.
    pub fn account(&self, name: &str) -> Result<&AccountConfig, ConfigError> {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.accounts.iter().map(|a| a.name.as_str()).collect();
                ConfigError::new(
                    "--account",
                    format!(
                        "no account named `{name}`; configured: {}",
                        known.join(", ")
                    ),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/cfg"), &no_env)
    }

    const META: &str = r#"
[[account]]
name = "acme"
source = "meta"
waba_id = "1"
token = "t"
"#;

    #[test]
    fn defaults_apply() {
        let c = parse(META).unwrap();
        assert_eq!(c.database, PathBuf::from("/cfg/templar.db"));
        assert_eq!(c.sync.concurrency, 4);
        assert_eq!(c.accounts[0].base_url, "https://graph.facebook.com");
        assert_eq!(c.accounts[0].graph_version, "v24.0");
    }

    #[test]
    fn bad_cron_names_the_key() {
        let e = parse(&format!("[sync]\nschedule = \"every day\"\n{META}")).unwrap_err();
        assert_eq!(e.key, "sync.schedule");
        assert!(e.message.contains("not a valid cron expression"), "{e}");
    }

    #[test]
    fn five_and_six_field_cron() {
        let five = CronSchedule::parse("*/15 * * * *").unwrap();
        let six = CronSchedule::parse("30 */15 * * * *").unwrap();
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            five.next_after(t).unwrap().to_rfc3339(),
            "2026-01-01T00:15:00+00:00"
        );
        assert_eq!(
            six.next_after(t).unwrap().to_rfc3339(),
            "2026-01-01T00:15:30+00:00"
        );
    }

    #[test]
    fn crontab_weekday_numbers() {
        // 2026-01-01 is a Thursday; "1" in crontab is Monday.
        let monday = CronSchedule::parse("0 8 * * 1").unwrap();
        let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            monday.next_after(t).unwrap().to_rfc3339(),
            "2026-01-05T08:00:00+00:00"
        );
        assert!(CronSchedule::parse("0 8 * * MON-FRI").is_ok());
    }

    #[test]
    fn unknown_source_names_the_key() {
        let e =
            parse("[[account]]\nname = \"x\"\nsource = \"twilio\"\ntoken = \"t\"\n").unwrap_err();
        assert_eq!(e.key, "account[0].source");
        assert!(e.message.contains("twilio"));
    }

    #[test]
    fn missing_secret_names_the_variable() {
        let e = parse("[[account]]\nname = \"x\"\nsource = \"meta\"\nwaba_id = \"1\"\ntoken_env = \"NOPE_TOKEN\"\n")
            .unwrap_err();
        assert_eq!(e.key, "account[0].token_env");
        assert!(e.message.contains("NOPE_TOKEN"));
    }

    #[test]
    fn unknown_key_is_rejected() {
        let e = parse("[sync]\nschedul = \"* * * * *\"\n").unwrap_err();
        assert!(e.message.contains("schedul"), "{e}");
        assert_eq!(e.key, "sync.schedul");
    }

    #[test]
    fn secrets_do_not_debug_print() {
        let c = parse(META).unwrap();
        assert!(!format!("{c:?}").contains("\"t\""));
    }

    #[test]
    fn public_listen_needs_a_token() {
        let e = parse(&format!("listen = \"0.0.0.0:8080\"\n{META}")).unwrap_err();
        assert_eq!(e.key, "dashboard.token_env");
    }
}
