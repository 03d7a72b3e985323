//! Graph's error envelope: decoding it, and what each code means for retrying.

use reqwest::StatusCode;
use serde::Deserialize;

/// Graph's error envelope; Kapso sometimes sends `{"error": "text"}` instead of an object.
#[derive(Deserialize)]
pub(crate) struct Envelope {
    error: WireError,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WireError {
    Object {
        #[serde(default)]
        message: String,
        #[serde(default)]
        code: Option<serde_json::Value>,
        #[serde(default)]
        is_transient: Option<bool>,
        #[serde(default)]
        error_data: Option<serde_json::Value>,
    },
    Text(String),
}

/// An upstream error, decoded from whatever envelope came back.
#[derive(Debug, Clone)]
pub struct UpstreamError {
    pub status: u16,
    pub code: Option<i64>,
    pub message: String,
    pub transient: bool,
}

/// Graph codes that mean "you are calling too much".
pub(crate) const RATE_LIMIT_CODES: &[i64] = &[4, 17, 32, 613, 80007, 80008, 130429, 131056];

/// Graph codes that mean "your credentials are not good enough".
pub(crate) fn is_auth_code(code: i64) -> bool {
    matches!(code, 0 | 10 | 102 | 190) || (200..300).contains(&code)
}

/// Graph codes Meta documents as transient.
pub(crate) const TRANSIENT_CODES: &[i64] = &[1, 2, 131000, 131016, 133004, 131057];

/// The most of an upstream error message templar keeps (characters).
const MAX_MESSAGE: usize = 300;

impl UpstreamError {
    /// Decodes an error body; never fails (an undecodable body becomes its first bytes).
    pub fn decode(status: StatusCode, body: &[u8]) -> UpstreamError {
        let (message, code, transient) = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope {
                error:
                    WireError::Object {
                        message,
                        code,
                        is_transient,
                        error_data,
                    },
            }) => {
                let code = code.and_then(|c| c.as_i64().or_else(|| c.as_str()?.parse().ok()));
                let details = error_data
                    .as_ref()
                    .and_then(|d| d.get("details"))
                    .and_then(|d| d.as_str())
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default();
                (
                    format!("{message}{details}"),
                    code,
                    is_transient.unwrap_or(false),
                )
            }
            Ok(Envelope {
                error: WireError::Text(t),
            }) => (t, None, false),
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                let text = if text.trim().is_empty() {
                    status.canonical_reason().unwrap_or("error").to_string()
                } else {
                    text
                };
                (text, None, false)
            }
        };
        UpstreamError {
            status: status.as_u16(),
            code,
            // Upstream's words reach logs, `sync_runs.error` and pages: bounded, whatever it sent.
            message: crate::text::excerpt(&message, MAX_MESSAGE),
            transient,
        }
    }

    pub(crate) fn is_rate_limit(&self) -> bool {
        self.status == 429 || self.code.is_some_and(|c| RATE_LIMIT_CODES.contains(&c))
    }

    pub(crate) fn is_auth(&self) -> bool {
        self.status == 401 || self.code.is_some_and(is_auth_code)
    }

    pub(crate) fn is_transient(&self) -> bool {
        self.transient
            || self.status >= 500
            || self.status == 408
            || self.code.is_some_and(|c| TRANSIENT_CODES.contains(&c))
    }
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(code) => write!(f, "HTTP {} code {}: {}", self.status, code, self.message),
            None => write!(f, "HTTP {}: {}", self.status, self.message),
        }
    }
}

/// Meta's pair rate limit: one message to the same customer every few seconds.
pub const PAIR_RATE_LIMIT: i64 = 131056;

/// Cloud API throughput reached for the phone number.
pub const THROUGHPUT_LIMIT: i64 = 130429;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_huge_error_message_is_kept_short() {
        let long = "x".repeat(50_000);
        let body = format!(
            r#"{{"error": {{"message": "{long}", "code": 100, "error_data": {{"details": "{long}"}}}}}}"#
        );
        let e = UpstreamError::decode(StatusCode::BAD_REQUEST, body.as_bytes());
        assert!(
            e.message.chars().count() <= MAX_MESSAGE + 1,
            "{}",
            e.message.len()
        );
        assert_eq!(e.code, Some(100));
        let body = format!(r#"{{"error": "{long}"}}"#);
        let e = UpstreamError::decode(StatusCode::BAD_REQUEST, body.as_bytes());
        assert!(e.message.chars().count() <= MAX_MESSAGE + 1);
    }
}
