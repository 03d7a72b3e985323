//! `[[notify]]`: notification channels (webhook, Slack, email), what each wants, and how hard
//! it retries.

use std::time::Duration;

use super::accounts::AccountConfig;
use super::raw::RawNotify;
use super::schedule::CronSchedule;
use super::secret::{required_secret, secret, EnvLookup, Secret};
use super::ConfigError;

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
    "content_changed",
    "number_quality_down",
    "messaging_limit_changed",
    "delivery_anomaly",
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
    pub templates: Option<NamePattern>,
    /// Daily digest, if wanted.
    pub digest: Option<CronSchedule>,
    /// Deliveries tried at most this many times before they are marked dead.
    pub max_attempts: u32,
    /// First retry delay; doubles per attempt, capped at an hour.
    pub retry_base: Duration,
}

/// A glob over template names (`*` any run of characters, `?` one character), compiled once.
/// globset matches in time linear in the name; the hand-written matcher it replaced
/// backtracked exponentially on patterns like `*a*a*a*a*b`.
#[derive(Debug, Clone)]
pub struct NamePattern {
    text: String,
    matcher: globset::GlobMatcher,
}

impl NamePattern {
    /// Compiles a pattern; the error says what is wrong with it.
    pub fn new(text: &str) -> Result<NamePattern, String> {
        let glob = globset::GlobBuilder::new(text)
            .literal_separator(false)
            .backslash_escape(false)
            .build()
            .map_err(|e| format!("not a valid pattern: {}", e.kind()))?;
        Ok(NamePattern {
            text: text.to_string(),
            matcher: glob.compile_matcher(),
        })
    }

    /// Whether `name` matches.
    pub fn matches(&self, name: &str) -> bool {
        self.matcher.is_match(name)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
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

pub(super) fn validate(
    raw: Vec<RawNotify>,
    accounts: &[AccountConfig],
    env: EnvLookup<'_>,
) -> Result<Vec<NotifyConfig>, ConfigError> {
    let mut out: Vec<NotifyConfig> = Vec::new();
    for (i, n) in raw.into_iter().enumerate() {
        let key = |k: &str| format!("notify[{i}].{k}");
        let name = n
            .name
            .clone()
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                ConfigError::new(key("name"), "missing: every [[notify]] needs a name")
            })?;
        if out.iter().any(|o| o.name == name) {
            return Err(ConfigError::new(
                key("name"),
                format!("`{name}` is used by two channels"),
            ));
        }
        let kind = kind(&key, &n, env)?;
        out.push(channel(&key, name, kind, n, accounts)?);
    }
    Ok(out)
}

/// What a channel wants and how it retries, once its kind is known.
fn channel(
    key: &dyn Fn(&str) -> String,
    name: String,
    kind: NotifyKind,
    n: RawNotify,
    accounts: &[AccountConfig],
) -> Result<NotifyConfig, ConfigError> {
    let events = n.events.unwrap_or_else(|| {
        NOTIFY_EVENTS
            .iter()
            // Opt-in: a digest, every status move, and edits (usually your own).
            .filter(|e| !matches!(**e, "digest" | "status_changed" | "content_changed"))
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
        Some(d) => Some(CronSchedule::parse(&d).map_err(|m| ConfigError::new(key("digest"), m))?),
        None => None,
    };
    let templates = match n.templates.filter(|t| !t.is_empty()) {
        Some(p) => Some(NamePattern::new(&p).map_err(|m| ConfigError::new(key("templates"), m))?),
        None => None,
    };
    Ok(NotifyConfig {
        name,
        kind,
        events,
        accounts: n.accounts,
        templates,
        digest,
        max_attempts: n.max_attempts.unwrap_or(8).max(1),
        retry_base: Duration::from_millis(n.retry_base_ms.unwrap_or(30_000)),
    })
}

fn kind(
    key: &dyn Fn(&str) -> String,
    n: &RawNotify,
    env: EnvLookup<'_>,
) -> Result<NotifyKind, ConfigError> {
    let url = || -> Result<Secret, ConfigError> {
        let u = required_secret(
            &key("url"),
            n.url.clone(),
            n.url_env.clone(),
            env,
            "the channel's URL",
        )?;
        match reqwest::Url::parse(u.expose()) {
            Ok(p) if p.scheme() == "http" || p.scheme() == "https" => Ok(u),
            // The URL may hold a token: do not echo it.
            _ => Err(ConfigError::new(key("url"), "is not an http(s) URL")),
        }
    };
    match n.kind.as_deref() {
        Some("webhook") => Ok(NotifyKind::Webhook {
            url: url()?,
            secret: required_secret(
                &key("secret"),
                n.secret.clone(),
                n.secret_env.clone(),
                env,
                "the signing secret",
            )?,
        }),
        Some("slack") => Ok(NotifyKind::Slack { url: url()? }),
        Some("email") => Ok(NotifyKind::Email(email(key, n, env)?)),
        Some(other) => Err(ConfigError::new(
            key("kind"),
            format!("unknown kind `{other}`; expected webhook, slack or email"),
        )),
        None => Err(ConfigError::new(
            key("kind"),
            "missing: webhook, slack or email",
        )),
    }
}

fn email(
    key: &dyn Fn(&str) -> String,
    n: &RawNotify,
    env: EnvLookup<'_>,
) -> Result<EmailConfig, ConfigError> {
    let host = n
        .smtp_host
        .clone()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            ConfigError::new(
                key("smtp_host"),
                "missing: an email channel needs an SMTP server",
            )
        })?;
    let tls = n.smtp_tls.clone().unwrap_or_else(|| "starttls".into());
    if !["starttls", "tls", "none"].contains(&tls.as_str()) {
        return Err(ConfigError::new(
            key("smtp_tls"),
            format!("`{tls}`: use starttls, tls or none"),
        ));
    }
    let from = n
        .from
        .clone()
        .filter(|f| f.contains('@'))
        .ok_or_else(|| ConfigError::new(key("from"), "missing or not an email address"))?;
    if n.to.is_empty() || n.to.iter().any(|t| !t.contains('@')) {
        return Err(ConfigError::new(
            key("to"),
            "needs one or more email addresses",
        ));
    }
    Ok(EmailConfig {
        port: n.smtp_port.unwrap_or(if tls == "tls" { 465 } else { 587 }),
        host,
        tls,
        username: n.smtp_username.clone(),
        password: secret(
            &key("smtp_password"),
            n.smtp_password.clone(),
            n.smtp_password_env.clone(),
            env,
            "the SMTP password",
        )?,
        from,
        to: n.to.clone(),
    })
}
