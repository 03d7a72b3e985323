//! `templar.toml`: parsed, validated once at start-up into a typed [`Config`] that is passed
//! explicitly (no globals). Every error names the key and what was wrong. Secrets are referenced
//! by environment variable (`X_env`) or given inline (`X`), and never printed.
//!
//! [`raw`] is the file as written; each section validates in its own file.

mod accounts;
mod notify;
mod raw;
mod reports;
mod retention;
mod schedule;
mod secret;
mod server;
mod sync;
mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use accounts::AccountConfig;
pub use notify::{EmailConfig, NamePattern, NotifyConfig, NotifyKind, NOTIFY_EVENTS};
pub use reports::ReportConfig;
pub use retention::RetentionConfig;
pub use schedule::CronSchedule;
pub use secret::{process_env, EnvLookup, Secret};
pub use server::ServerConfig;
pub use sync::SyncConfig;
pub use webhooks::{DashboardConfig, KapsoWebhookConfig, MetaWebhookConfig, WebhooksConfig};

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

/// The whole, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// The SQLite database file, or a PostgreSQL URL.
    pub database: crate::db::Location,
    /// Address `serve` listens on.
    pub listen: SocketAddr,
    /// Base URL for links in notifications.
    pub public_url: String,
    /// How logs are written to stderr.
    pub log_format: LogFormat,
    pub sync: SyncConfig,
    pub accounts: Vec<AccountConfig>,
    pub webhooks: WebhooksConfig,
    pub dashboard: DashboardConfig,
    pub notify: Vec<NotifyConfig>,
    pub reports: Vec<ReportConfig>,
    pub server: ServerConfig,
    pub retention: RetentionConfig,
    /// `rate_card = "FILE.csv"`: the card cost estimates use (`None`: the built-in one).
    pub rate_card: Option<crate::pricing::RateCard>,
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
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map_or_else(|| "(file)".to_string(), |s| key_at(text, s.start));
            let echoes_value = e.message().contains("invalid");
            let message = if secret::is_secret_key(&key) && echoes_value {
                // serde's message quotes the value it met ("invalid type: integer `12345`").
                "has the wrong type: expected a string (the value is not shown: it is a secret)"
                    .to_string()
            } else {
                e.message().trim().to_string()
            };
            ConfigError::new(key, message)
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

fn validate(
    raw: raw::RawConfig,
    base_dir: &Path,
    env: EnvLookup<'_>,
) -> Result<Config, ConfigError> {
    let database = env("TEMPLAR_DATABASE")
        .or(raw.database)
        .unwrap_or_else(|| "templar.db".into());
    let database = crate::db::Location::parse(&database, base_dir);
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
    let log_format = match (env("TEMPLAR_LOG_FORMAT"), raw.log_format) {
        (None, None) => LogFormat::Text,
        (from_env, from_file) => {
            let key = if from_env.is_some() {
                "TEMPLAR_LOG_FORMAT"
            } else {
                "log_format"
            };
            let f = from_env.or(from_file).unwrap_or_default();
            LogFormat::parse(&f).ok_or_else(|| {
                ConfigError::new(key, format!("`{f}` is not \"text\" or \"json\""))
            })?
        }
    };
    let sync = sync::validate(raw.sync)?;
    let accounts = accounts::validate(raw.accounts, env)?;
    let webhooks = webhooks::validate(raw.webhooks, env)?;
    let dashboard = webhooks::validate_dashboard(raw.dashboard, listen, &public_url, env)?;
    let notify = notify::validate(raw.notify, &accounts, env)?;
    let reports = reports::validate(raw.reports, &accounts, &notify, base_dir)?;
    let server = server::validate(raw.server)?;
    let retention = retention::validate(raw.retention)?;
    let rate_card = raw
        .rate_card
        .map(|f| rate_card(&base_dir.join(f)))
        .transpose()?;
    Ok(Config {
        path: None,
        database,
        listen,
        public_url: public_url.trim_end_matches('/').to_string(),
        log_format,
        sync,
        accounts,
        webhooks,
        dashboard,
        notify,
        reports,
        server,
        retention,
        rate_card,
    })
}

/// Reads and checks the rate card `rate_card` names.
fn rate_card(path: &Path) -> Result<crate::pricing::RateCard, ConfigError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new("rate_card", format!("cannot read {shown}: {e}")))?;
    crate::pricing::RateCard::parse(&text, &shown.to_string())
        .map_err(|e| ConfigError::new("rate_card", format!("{shown}: {e}")))
}

/// An account name (from `--account`, a form, a query) that the config does not have: bad
/// usage, not a bad config.
#[derive(Debug, thiserror::Error)]
pub struct UnknownAccount {
    pub name: String,
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no account named `{}`", self.name)?;
        let known: Vec<&str> = self.known.iter().map(String::as_str).collect();
        if let Some(close) = crate::text::closest(&self.name, &known) {
            write!(f, "; did you mean `{close}`?")?;
        }
        write!(f, " Configured: {}", known.join(", "))
    }
}

/// `log_format`: lines for people (the default) or one JSON object per line for a log
/// pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(s: &str) -> Option<LogFormat> {
        match s {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

impl Config {
    /// The account called `name`, or an error naming the closest and listing the others.
    pub fn account(&self, name: &str) -> Result<&AccountConfig, UnknownAccount> {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| UnknownAccount {
                name: name.to_string(),
                known: self.accounts.iter().map(|a| a.name.clone()).collect(),
            })
    }
}

#[cfg(test)]
mod tests;
