//! `[[account]]`: one WABA reached through Meta or Kapso, with its credential.

use std::collections::HashSet;

use super::raw::RawAccount;
use super::secret::{required_secret, EnvLookup, Secret};
use super::ConfigError;
use crate::domain::SourceKind;

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
    /// e.g. `v26.0`.
    pub graph_version: String,
}

pub(super) fn validate(
    raw: Vec<RawAccount>,
    env: EnvLookup<'_>,
) -> Result<Vec<AccountConfig>, ConfigError> {
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in raw.into_iter().enumerate() {
        let name = name(i, a.name.clone())?;
        if !names.insert(name.clone()) {
            return Err(ConfigError::new(
                format!("account[{i}].name"),
                format!("`{name}` is used by two accounts"),
            ));
        }
        out.push(account(i, name, a, env)?);
    }
    Ok(out)
}

fn name(i: usize, name: Option<String>) -> Result<String, ConfigError> {
    let key = format!("account[{i}].name");
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ConfigError::new(&key, "missing: every [[account]] needs a name"))?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(ConfigError::new(
            key,
            format!("`{name}` may only hold letters, digits, `-`, `_` and `.`"),
        ));
    }
    Ok(name)
}

fn account(
    i: usize,
    name: String,
    a: RawAccount,
    env: EnvLookup<'_>,
) -> Result<AccountConfig, ConfigError> {
    let key = |k: &str| format!("account[{i}].{k}");
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
    let credential = credential(&key, source, &a, env)?;
    let waba_id = waba_id(&key, source, a.waba_id)?;
    let base_url = base_url(&key, source, a.base_url)?;
    let graph_version = graph_version(&key, a.graph_version)?;
    Ok(AccountConfig {
        name,
        source,
        waba_id,
        phone_number_ids: a.phone_number_ids,
        credential,
        base_url,
        graph_version,
    })
}

/// A Meta account's token or a Kapso account's API key; the other kind's key is a mistake.
fn credential(
    key: &dyn Fn(&str) -> String,
    source: SourceKind,
    a: &RawAccount,
    env: EnvLookup<'_>,
) -> Result<Secret, ConfigError> {
    match source {
        SourceKind::Meta => {
            if a.api_key.is_some() || a.api_key_env.is_some() {
                return Err(ConfigError::new(
                    key("api_key_env"),
                    "is for Kapso accounts; a Meta account takes `token_env`",
                ));
            }
            required_secret(
                &key("token"),
                a.token.clone(),
                a.token_env.clone(),
                env,
                "the Meta access token",
            )
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
                a.api_key.clone(),
                a.api_key_env.clone(),
                env,
                "the Kapso API key",
            )
        }
    }
}

fn waba_id(
    key: &dyn Fn(&str) -> String,
    source: SourceKind,
    waba_id: Option<String>,
) -> Result<Option<String>, ConfigError> {
    let waba_id = waba_id.filter(|w| !w.trim().is_empty());
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
    Ok(waba_id)
}

fn base_url(
    key: &dyn Fn(&str) -> String,
    source: SourceKind,
    base_url: Option<String>,
) -> Result<String, ConfigError> {
    let base_url = base_url
        .unwrap_or_else(|| match source {
            SourceKind::Meta => "https://graph.facebook.com".into(),
            SourceKind::Kapso => "https://api.kapso.ai".into(),
        })
        .trim_end_matches('/')
        .to_string();
    match reqwest::Url::parse(&base_url) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Ok(base_url),
        _ => Err(ConfigError::new(
            key("base_url"),
            format!("`{base_url}` is not an http(s) URL"),
        )),
    }
}

fn graph_version(
    key: &dyn Fn(&str) -> String,
    graph_version: Option<String>,
) -> Result<String, ConfigError> {
    let graph_version = graph_version.unwrap_or_else(|| "v26.0".into());
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
            format!("`{graph_version}` is not a Graph API version like v26.0"),
        ));
    }
    Ok(graph_version)
}
