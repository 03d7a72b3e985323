use super::*;
use reqwest::StatusCode;

#[test]
fn decodes_object_and_string_envelopes() {
    let e = UpstreamError::decode(
        StatusCode::BAD_REQUEST,
        br#"{"error":{"message":"(#80007) limit","type":"OAuthException","code":80007}}"#,
    );
    assert_eq!(e.code, Some(80007));
    assert!(e.is_rate_limit());
    let e = UpstreamError::decode(
        StatusCode::BAD_REQUEST,
        br#"{"error":"hsm_id is required"}"#,
    );
    assert_eq!(e.message, "hsm_id is required");
    assert!(!e.is_transient());
    let e = UpstreamError::decode(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
    assert!(e.is_transient());
    let e = UpstreamError::decode(
        StatusCode::BAD_REQUEST,
        br#"{"error":{"message":"Invalid OAuth access token","code":190}}"#,
    );
    assert!(e.is_auth());
}

#[test]
fn usage_header_takes_the_maximum() {
    let mut h = HeaderMap::new();
    h.insert(
        "x-business-use-case-usage",
        r#"{"102":[{"type":"whatsapp_business_management","call_count":40,"total_cputime":91,"total_time":12,"estimated_time_to_regain_access":0}]}"#
            .parse()
            .unwrap(),
    );
    assert_eq!(parse_usage(&h), (Some(91.0), Some(0)));
}
