//! Notifications: what happened to a template (or an account's sync), said in words a person can
//! act on, delivered to webhooks, Slack and email. Events come from the append-only history
//! ([`outbox::expand`]); deliveries live in a durable outbox and are retried with backoff
//! ([`worker`]).

pub mod channels;
pub mod outbox;
pub mod worker;

use serde::{Deserialize, Serialize};

/// The JSON a `webhook` channel receives; also what Slack and email messages are rendered from.
/// `id` is stable per event: a receiver that sees it twice can drop the second.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Payload {
    /// `event:<n>` for template changes, `sync:<n>` for sync health, `anomaly:<n>` and
    /// `number:<n>` for delivery anomalies and number health, `digest:<channel>:<day>`.
    pub id: String,
    /// approved, rejected, paused, disabled, quality_down, quality_up, category_changed,
    /// status_changed, content_changed, number_quality_down, messaging_limit_changed,
    /// delivery_anomaly, sync_failing, sync_recovered, digest, test.
    pub event: String,
    pub occurred_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// Pauses so far, this one included (the third disables the template).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strike: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumes_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    /// A category change: what it does to the template's monthly cost at its recent volume
    /// (estimated from the rate card).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_change: Option<String>,
    /// Sync health: the last error and how many runs failed in a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failures: Option<u32>,
    /// The dashboard page to open.
    pub url: String,
    /// A file that goes with it (a scheduled report): attached to emails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// One line: what happened.
    pub title: String,
    /// What it means and what to do.
    pub text: String,
}

/// The template an event is about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TemplateRef {
    pub id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    pub quality: Option<String>,
}

/// The change itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Change {
    pub field: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::config::NamePattern;

    fn glob(pattern: &str, name: &str) -> bool {
        NamePattern::new(pattern).unwrap().matches(name)
    }

    #[test]
    fn globs() {
        assert!(glob("order_*", "order_confirmation"));
        assert!(glob("*_v?", "promo_offer_v2"));
        assert!(!glob("order_*", "shipping_update"));
        assert!(glob("*", ""));
    }

    #[test]
    fn a_pathological_pattern_is_answered_at_once() {
        // The recursive matcher this replaced took minutes here (2^n ways to split the name).
        let name = "a".repeat(60);
        assert!(!glob(&"*a".repeat(20).replace("*a*a", "*a*b"), &name));
        assert!(glob(&"*a".repeat(20), &name));
    }

    #[test]
    fn a_broken_pattern_is_refused_with_a_reason() {
        assert!(NamePattern::new("order_[")
            .unwrap_err()
            .contains("not a valid pattern"));
    }
}
