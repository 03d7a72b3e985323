//! Secrets: referenced by environment variable (`X_env`) or given inline (`X`), and never
//! printed (`Debug` shows `***`).

use super::ConfigError;

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

/// Whether the value at a dotted key is a secret (or may hold one, like a webhook URL): its
/// value is never echoed in an error.
pub(super) fn is_secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key);
    matches!(
        last,
        "token" | "api_key" | "app_secret" | "verify_token" | "secret" | "url" | "smtp_password"
    )
}

/// Reads environment variables; a function so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The secret at `key` (inline) or `key_env` (an environment variable), if either is set; an
/// `_env` naming an unset variable is an error.
pub(super) fn secret(
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

/// As [`secret`], and missing is an error too.
pub(super) fn required_secret(
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
