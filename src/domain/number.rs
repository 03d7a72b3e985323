//! A phone number's health as Meta describes it on `GET /{phone_number_id}` and in the
//! `phone_number_quality_update` webhook: the fields templar keeps (named as Meta names them),
//! what counts as a change, and which changes are worth telling someone.

use serde::Serialize;

/// What templar keeps of a number. `None`: Meta did not say (the field is left as it was).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NumberHealth {
    pub id: String,
    pub display_phone_number: Option<String>,
    pub verified_name: Option<String>,
    /// GREEN, YELLOW, RED, or NA / UNKNOWN before Meta has rated it.
    pub quality_rating: Option<String>,
    /// APPROVED, PENDING_REVIEW, DECLINED, EXPIRED, AVAILABLE_WITHOUT_REVIEW, NONE.
    pub name_status: Option<String>,
    /// `throughput.level`: STANDARD (80 messages a second) or HIGH (up to 1,000). [I] for
    /// values other than STANDARD, which Meta's own example shows.
    pub throughput: Option<String>,
    /// The business portfolio's daily limit (`whatsapp_business_manager_messaging_limit`,
    /// e.g. TIER_2K): one for every number of the portfolio.
    pub messaging_limit: Option<String>,
}

/// Reads a `GET /{phone_number_id}` answer. `None` without an id.
pub fn from_graph(v: &serde_json::Value) -> Option<NumberHealth> {
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .filter(|s| !s.is_empty())
            .map(|s| s.to_string())
    };
    Some(NumberHealth {
        id: text("id")?,
        display_phone_number: text("display_phone_number"),
        verified_name: text("verified_name"),
        quality_rating: text("quality_rating").map(|s| s.to_ascii_uppercase()),
        name_status: text("name_status").map(|s| s.to_ascii_uppercase()),
        throughput: v
            .pointer("/throughput/level")
            .and_then(|x| x.as_str())
            .map(|s| s.to_ascii_uppercase()),
        // [I] The deprecated `messaging_limit_tier` is read where the new field is missing.
        messaging_limit: text("whatsapp_business_manager_messaging_limit")
            .or_else(|| text("messaging_limit_tier"))
            .map(|s| s.to_ascii_uppercase()),
    })
}

/// Higher is better; `None` for a number not rated yet.
pub fn quality_rank(q: &str) -> Option<u8> {
    match q {
        "GREEN" => Some(3),
        "YELLOW" => Some(2),
        "RED" => Some(1),
        _ => None,
    }
}

/// The notification kind of a number event: `number_quality_down` when the rating falls or
/// Meta flags or downgrades the number, `messaging_limit_changed` when a known limit moves.
pub fn classify(field: &str, old: Option<&str>, new: &str) -> Option<&'static str> {
    match field {
        "quality_rating" => match (old.and_then(quality_rank), quality_rank(new)) {
            (Some(a), Some(b)) if b < a => Some("number_quality_down"),
            _ => None,
        },
        "event" if matches!(new, "FLAGGED" | "DOWNGRADE") => Some("number_quality_down"),
        "messaging_limit" if old.is_some_and(|o| o != new) => Some("messaging_limit_changed"),
        _ => None,
    }
}

/// A limit as people say it: `TIER_2K` → `2,000 customers a day`.
pub fn limit_words(limit: &str) -> String {
    let n = match limit {
        "TIER_50" => "50",
        "TIER_250" => "250",
        "TIER_1K" => "1,000",
        "TIER_2K" => "2,000",
        "TIER_10K" => "10,000",
        "TIER_100K" => "100,000",
        "TIER_UNLIMITED" => return "unlimited".into(),
        other => return other.to_string(),
    };
    format!("{n} customers a day")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_fields_are_read_as_meta_names_them() {
        let v = serde_json::json!({"id": "106540352242922", "display_phone_number": "15550783881",
            "verified_name": "Lucky Shrub", "quality_rating": "GREEN", "name_status": "APPROVED",
            "throughput": {"level": "STANDARD"}, "whatsapp_business_manager_messaging_limit": "TIER_2K"});
        let h = from_graph(&v).unwrap();
        assert_eq!(h.throughput.as_deref(), Some("STANDARD"));
        assert_eq!(h.messaging_limit.as_deref(), Some("TIER_2K"));
        assert_eq!(
            from_graph(&serde_json::json!({"quality_rating": "RED"})),
            None
        );
    }

    #[test]
    fn only_a_fall_or_a_flag_is_quality_down() {
        assert_eq!(
            classify("quality_rating", Some("GREEN"), "YELLOW"),
            Some("number_quality_down")
        );
        assert_eq!(classify("quality_rating", Some("YELLOW"), "GREEN"), None);
        assert_eq!(classify("quality_rating", None, "RED"), None);
        assert_eq!(
            classify("event", None, "FLAGGED"),
            Some("number_quality_down")
        );
        assert_eq!(
            classify("messaging_limit", Some("TIER_2K"), "TIER_10K"),
            Some("messaging_limit_changed")
        );
        assert_eq!(classify("messaging_limit", None, "TIER_10K"), None);
        assert_eq!(limit_words("TIER_10K"), "10,000 customers a day");
    }
}
