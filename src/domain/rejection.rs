//! Meta's rejection info, as its status webhooks carry it in `rejection_info` and templar keeps
//! it in the event's detail.

use serde_json::Value;

/// What Meta said of a rejection beyond the reason code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RejectionInfo {
    /// Meta's explanation (`rejection_info.reason`).
    pub reason: Option<String>,
    /// What Meta recommends changing (`rejection_info.recommendation`).
    pub recommendation: Option<String>,
}

impl RejectionInfo {
    /// Reads it from an event's detail JSON (absent or malformed detail reads as empty).
    pub fn from_detail(detail: Option<&str>) -> RejectionInfo {
        let value = detail.and_then(|d| serde_json::from_str::<Value>(d).ok());
        RejectionInfo::from_value(value.as_ref())
    }

    /// Reads it from a parsed detail.
    pub fn from_value(detail: Option<&Value>) -> RejectionInfo {
        let field = |name: &str| {
            detail
                .and_then(|d| d.pointer(&format!("/rejection_info/{name}")))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        RejectionInfo {
            reason: field("reason"),
            recommendation: field("recommendation"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_fields_and_tolerates_garbage() {
        let r = RejectionInfo::from_detail(Some(
            r#"{"rejection_info":{"reason":"params adjacent","recommendation":"separate them"}}"#,
        ));
        assert_eq!(r.reason.as_deref(), Some("params adjacent"));
        assert_eq!(r.recommendation.as_deref(), Some("separate them"));
        assert_eq!(
            RejectionInfo::from_detail(Some("{not json")),
            RejectionInfo::default()
        );
        assert_eq!(
            RejectionInfo::from_detail(Some(r#"{"rejection_info":{"reason":5}}"#)),
            RejectionInfo::default()
        );
    }
}
