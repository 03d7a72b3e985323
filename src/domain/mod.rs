//! Domain types shared by the sources, sync, ingest and the web: template statuses, categories
//! and quality scores as open enums (Meta adds values; an unknown one is kept, never dropped),
//! and the template as a source reports it.

pub mod anomaly;
pub mod content;
pub mod errors;
pub mod number;
pub mod pause;
pub mod rejection;
pub mod status_event;

use serde::{Deserialize, Serialize};

/// `raw` as a business-scoped user id (BSUID: a country code, a dot, then letters or digits,
/// e.g. `US.13491208655302741918`), if it is one, with the country code upper-cased. Meta gives
/// one for every user since 2026, and only one for users who show a username.
pub fn bsuid(raw: &str) -> Option<String> {
    let (country, id) = raw.trim().split_once('.')?;
    let ok = country.len() == 2
        && country.chars().all(|c| c.is_ascii_alphabetic())
        && (1..=64).contains(&id.len())
        && id.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| format!("{}.{id}", country.to_ascii_uppercase()))
}

/// Defines an enum of upper-case wire values with an `Unknown(String)` catch-all.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)+
            /// A value templar does not know yet, stored and shown as Meta sent it.
            Unknown(String),
        }

        impl $name {
            /// Every known variant, in declaration order.
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire value (upper case).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(s) => s,
                }
            }

            /// Parses a wire value case-insensitively; `-` and spaces count as `_`.
            pub fn parse(s: &str) -> Self {
                let norm = s.trim().to_ascii_uppercase().replace(['-', ' '], "_");
                match norm.as_str() {
                    $($wire => Self::$variant,)+
                    _ => Self::Unknown(norm),
                }
            }

            /// Whether this is a value templar knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Unknown(_))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::parse(&s))
            }
        }
    };
}

open_enum! {
    /// A template's review status (plus the webhook-only events Meta sends as statuses).
    TemplateStatus {
        Approved => "APPROVED",
        Pending => "PENDING",
        Rejected => "REJECTED",
        Paused => "PAUSED",
        Disabled => "DISABLED",
        InAppeal => "IN_APPEAL",
        PendingDeletion => "PENDING_DELETION",
        Deleted => "DELETED",
        Archived => "ARCHIVED",
        LimitExceeded => "LIMIT_EXCEEDED",
    }
}

impl TemplateStatus {
    /// Still waiting on Meta's review: checked often by the pending schedule.
    pub fn is_under_review(&self) -> bool {
        matches!(self, Self::Pending | Self::InAppeal)
    }
}

open_enum! {
    /// A template's category; it decides the price of each message.
    Category {
        Marketing => "MARKETING",
        Utility => "UTILITY",
        Authentication => "AUTHENTICATION",
    }
}

open_enum! {
    /// Meta's quality rating of a template.
    Quality {
        Green => "GREEN",
        Yellow => "YELLOW",
        Red => "RED",
        Unknown_ => "UNKNOWN",
    }
}

impl Quality {
    /// Higher is better; `None` for UNKNOWN (a new template) and values templar does not know.
    pub fn rank(&self) -> Option<u8> {
        match self {
            Self::Green => Some(3),
            Self::Yellow => Some(2),
            Self::Red => Some(1),
            _ => None,
        }
    }
}

/// Where an account's data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Meta's Graph API directly, with a Bearer token.
    Meta,
    /// Kapso.ai's Meta proxy and Platform API, with an API key.
    Kapso,
}

impl SourceKind {
    /// The config and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Meta => "meta",
            SourceKind::Kapso => "kapso",
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a template event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// A scheduled or manual reconciliation.
    Sync,
    /// A webhook from Meta or Kapso.
    Webhook,
    /// Something a person did through templar (create, edit).
    Manual,
}

impl EventSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Sync => "sync",
            EventSource::Webhook => "webhook",
            EventSource::Manual => "manual",
        }
    }
}

/// A template as a source reports it, after mapping from the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteTemplate {
    /// The WABA the template belongs to.
    pub waba_id: String,
    /// Meta's template id (a string on REST, an integer in webhooks).
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: Category,
    pub previous_category: Option<Category>,
    pub correct_category: Option<Category>,
    pub sub_category: Option<String>,
    pub status: TemplateStatus,
    pub quality: Option<Quality>,
    pub rejected_reason: Option<String>,
    pub parameter_format: Option<String>,
    /// The components array exactly as the source sent it.
    pub components: serde_json::Value,
}

/// Meta's webhooks write languages as `en-US`; its REST API as `en_US`.
pub fn normalize_language(lang: &str) -> String {
    lang.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_values_are_kept_verbatim() {
        let s = TemplateStatus::parse("FLAGGED");
        assert_eq!(s, TemplateStatus::Unknown("FLAGGED".into()));
        assert_eq!(s.as_str(), "FLAGGED");
        assert!(!s.is_known());
    }

    #[test]
    fn parsing_is_case_insensitive() {
        assert_eq!(TemplateStatus::parse("approved"), TemplateStatus::Approved);
        assert_eq!(TemplateStatus::parse("in-appeal"), TemplateStatus::InAppeal);
        assert_eq!(Quality::parse("unknown"), Quality::Unknown_);
        assert_eq!(Category::parse("Utility"), Category::Utility);
    }

    #[test]
    fn serde_round_trips_unknown() {
        let q: Quality = serde_json::from_str("\"PURPLE\"").unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"PURPLE\"");
    }
}
