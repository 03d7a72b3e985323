//! Webhooks in: Meta's and Kapso's payloads become [`IngestEvent`]s, which one writer applies
//! in group-committed transactions ([`writer`]). Template events follow the same rules as sync
//! (one event per real change); message statuses only move forward and roll up into
//! `template_daily_stats` as they do.

pub mod apply;
pub mod kapso;
pub mod meta;
pub mod writer;

use chrono::{TimeZone, Utc};

/// How far a message got. Failed is terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    Delivered,
    Read,
    Failed,
}

impl Delivery {
    /// Parses Meta's and Kapso's lower-case status names; `None` for others (e.g. `played`,
    /// `pending`), which are acknowledged and ignored.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "sent" => Some(Delivery::Sent),
            "delivered" => Some(Delivery::Delivered),
            "read" => Some(Delivery::Read),
            "failed" => Some(Delivery::Failed),
            _ => None,
        }
    }
}

/// Which template a message was sent with, as far as the payload says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TemplateHint {
    /// Nothing in the payload names it (Meta status webhooks, unless the sender set
    /// `biz_opaque_callback_data`).
    Unknown,
    /// Meta's template id.
    Id(String),
    /// Name and language code.
    NameLanguage(String, String),
}

impl TemplateHint {
    /// What a message keeps of this hint while its template is not known.
    pub fn reference(&self) -> Option<String> {
        use crate::db::models::messages::{reference_by_id, reference_by_name};
        match self {
            TemplateHint::Unknown => None,
            TemplateHint::Id(id) => Some(reference_by_id(id)),
            TemplateHint::NameLanguage(name, lang) => {
                Some(reference_by_name(name, &normalize_language(lang)))
            }
        }
    }
}

/// A delivery status of one outbound message.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageStatus {
    pub wamid: String,
    pub phone_number_id: String,
    pub waba_id: Option<String>,
    pub recipient: String,
    pub status: Delivery,
    pub at: i64,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    /// Pricing category (marketing, utility, ...).
    pub category: Option<String>,
    pub template: TemplateHint,
    /// `webhook` or `history`.
    pub origin: &'static str,
}

pub use crate::domain::normalize_language;
pub use crate::ledger::{TemplateChange, TemplateChangeKind};

/// One thing a webhook told us.
#[derive(Debug, Clone, PartialEq)]
pub enum IngestEvent {
    Template(TemplateChange),
    Status(MessageStatus),
    /// A customer wrote to a phone number: opens the 24-hour window; a button reply to one of
    /// our messages counts as a click on it.
    Inbound {
        phone_number_id: String,
        /// The customer's phone number, when Meta sent it (users with a username may have none).
        from: Option<String>,
        /// The customer's business-scoped user id (BSUID), when sent.
        user_id: Option<String>,
        at: i64,
        replied_to: Option<String>,
        is_button: bool,
    },
    /// `phone_number_quality_update`: what happened to a number (FLAGGED, ONBOARDING,
    /// THROUGHPUT_UPGRADE...) and the portfolio's messaging limit now, where said.
    Number {
        waba_id: String,
        display_phone_number: String,
        event: String,
        limit: Option<String>,
    },
}

/// The UTC day of a unix time, as `YYYY-MM-DD`.
pub fn day_of(ts: i64) -> String {
    use chrono::Datelike;
    match Utc.timestamp_opt(ts, 0).single() {
        // The writer computes this for every status: `format` parses its pattern each time.
        Some(t) if (0..=9999).contains(&t.year()) => {
            format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
        }
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => "1970-01-01".into(),
    }
}

/// The convention by which a sender names the template in `biz_opaque_callback_data`, so that
/// Meta's status webhooks (which do not name it) can be attributed: `templar:<template id>`.
pub const OPAQUE_PREFIX: &str = "templar:";

impl TemplateHint {
    /// From a status's `biz_opaque_callback_data`: the template id `templar send` put there,
    /// or unknown for anything else.
    pub fn from_opaque(data: Option<&str>) -> TemplateHint {
        match data.and_then(|d| d.strip_prefix(OPAQUE_PREFIX)) {
            Some(id) if !id.is_empty() => TemplateHint::Id(id.to_string()),
            _ => TemplateHint::Unknown,
        }
    }
}

/// Parses a numeric value Meta sends as a string or a number.
pub fn int_of(v: &serde_json::Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

/// Parses an id Meta sends as a string or a number.
pub fn id_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod day_tests {
    use super::*;

    #[test]
    fn only_templar_callback_data_names_a_template() {
        assert_eq!(
            TemplateHint::from_opaque(Some("templar:123")),
            TemplateHint::Id("123".into())
        );
        for other in [
            None,
            Some(""),
            Some("templar:"),
            Some("crm:123"),
            Some("123"),
        ] {
            assert_eq!(
                TemplateHint::from_opaque(other),
                TemplateHint::Unknown,
                "{other:?}"
            );
        }
    }

    #[test]
    fn day_of_matches_chrono_everywhere() {
        for ts in [
            0,
            -1,
            86_399,
            86_400,
            1_700_000_000,
            253_402_300_799,
            253_402_300_800,
            -62_167_219_200,
            -62_167_219_201,
            i64::MAX,
        ] {
            let want = Utc
                .timestamp_opt(ts, 0)
                .single()
                .map_or("1970-01-01".to_string(), |t| {
                    t.format("%Y-%m-%d").to_string()
                });
            assert_eq!(day_of(ts), want, "{ts}");
        }
    }
}
