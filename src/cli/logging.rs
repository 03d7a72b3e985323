//! Logs to stderr: lines for people, or one JSON object per line (`log_format = "json"`) for
//! Loki, Elasticsearch or CloudWatch. What is logged never carries a secret or a webhook body:
//! upstream text reaches a log only as a short, bounded excerpt.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{ConfigError, LogFormat};

/// Sets up the global logger once: `RUST_LOG` if set, else `default_level`.
pub fn init(default_level: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        // `{"timestamp":…,"level":…,"target":…,"message":…,<fields>}`, span names alongside.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        // Colours only for a terminal: a file or a pipe gets plain text.
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// `TEMPLAR_LOG_FORMAT` for the commands that read no config file (`demo`, `simulate`).
pub fn from_env() -> Result<LogFormat, ConfigError> {
    match std::env::var("TEMPLAR_LOG_FORMAT") {
        Err(_) => Ok(LogFormat::Text),
        Ok(f) => LogFormat::parse(&f).ok_or_else(|| ConfigError {
            key: "TEMPLAR_LOG_FORMAT".into(),
            message: format!("`{f}` is not \"text\" or \"json\""),
        }),
    }
}
