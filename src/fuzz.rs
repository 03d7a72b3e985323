//! Property-based tests: arbitrary bytes and arbitrary JSON (shaped like what each parser
//! reads, so the tests reach deep into it) fed to every parser of untrusted input: Meta's and
//! Kapso's webhooks, upstream template pages, analytics, error envelopes and rate-limit
//! headers, and template definition files. None may panic. `PROPTEST_CASES` sets how many cases
//! each runs (2,000 by default; `PROPTEST_CASES=200000 cargo test --lib fuzz` runs longer).

use proptest::prelude::*;
use serde_json::Value;

use crate::sources::graph::{self, PagingStyle};

/// Keys the parsers look for, so arbitrary objects hit real paths.
const KEYS: &[&str] = &[
    "object",
    "entry",
    "id",
    "time",
    "changes",
    "field",
    "value",
    "statuses",
    "messages",
    "metadata",
    "phone_number_id",
    "contacts",
    "wa_id",
    "user_id",
    "from",
    "from_user_id",
    "recipient_id",
    "recipient_user_id",
    "status",
    "timestamp",
    "errors",
    "code",
    "title",
    "message",
    "biz_opaque_callback_data",
    "pricing",
    "category",
    "event",
    "message_template_id",
    "message_template_name",
    "message_template_language",
    "reason",
    "other_info",
    "rejection_info",
    "new_quality_score",
    "new_category",
    "correct_category",
    "category_update_timestamp",
    "context",
    "type",
    "conversation",
    "phone_number",
    "kapso",
    "template",
    "name",
    "language",
    "data",
    "paging",
    "cursors",
    "after",
    "next",
    "data_points",
    "template_id",
    "start",
    "sent",
    "delivered",
    "read",
    "clicked",
    "count",
    "cost",
    "error",
    "error_data",
    "details",
    "components",
    "text",
    "quality_score",
    "score",
    "body",
    "buttons",
    "example",
    "parameter_format",
    "business_scoped_user_id",
    "to",
];

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        proptest::sample::select(KEYS).prop_map(|k| Value::String(k.to_string())),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        proptest::sample::select(KEYS).prop_map(str::to_string),
                        ".{0,6}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json().prop_map(|v| v.to_string().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn meta_webhooks(body in bytes(), v in json()) {
        let _ = crate::ingest::meta::parse_bytes(&body, 1_700_000_000);
        let _ = crate::ingest::meta::parse(&v, 1_700_000_000);
    }

    #[test]
    fn kapso_webhooks(v in json(), event in prop_oneof![
        Just("whatsapp.message.received"), Just("whatsapp.message.sent"),
        Just("whatsapp.message.delivered"), Just("whatsapp.message.read"),
        Just("whatsapp.message.failed"), Just("whatsapp.other")]) {
        let _ = crate::ingest::kapso::parse(event, &v, 1_700_000_000);
    }

    #[test]
    fn template_pages(body in bytes(), after in proptest::option::of(".{0,4}"), linked in any::<bool>()) {
        for style in [PagingStyle::NextLink, PagingStyle::AfterCursor { linked }] {
            if let Ok(page) = serde_json::from_slice::<graph::Page>(&body) {
                let _ = graph::read_page(page, "1", after.as_deref(), style);
            }
        }
    }

    #[test]
    fn single_templates(v in json()) {
        let _ = graph::parse_template("1", v);
    }

    #[test]
    fn analytics_pages(body in bytes()) {
        if let Ok(b) = serde_json::from_slice::<crate::sources::insights::AnalyticsBody>(&body) {
            let _ = crate::sources::insights::read_analytics(b, "CLOUD_API");
        }
    }

    #[test]
    fn error_envelopes(body in bytes(), status in 100u16..600) {
        let status = axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
        let _ = crate::sources::http::UpstreamError::decode(status, &body);
    }

    #[test]
    fn rate_limit_headers(retry in ".{0,24}", usage in bytes(), minutes in any::<u64>()) {
        use axum::http::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(&retry) {
            h.insert("retry-after", v);
        }
        if let Ok(v) = HeaderValue::from_bytes(&usage) {
            h.insert("x-business-use-case-usage", v.clone());
            h.insert("x-app-usage", v);
        }
        let _ = crate::sources::http::retry_after(&h);
        let _ = crate::sources::http::parse_usage(&h);
        let _ = crate::sources::http::regain_wait(minutes);
    }

    #[test]
    fn template_definitions(text in prop_oneof![".{0,200}", json().prop_map(|v| v.to_string())]) {
        let _ = crate::authoring::parse(&text, std::path::Path::new("t.json"));
    }
}
