use super::*;
use reqwest::StatusCode;
use std::time::Duration;

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

#[test]
fn retry_delays_double_with_jitter_and_stay_under_thirty_seconds() {
    let policy = RetryPolicy {
        max_retries: 12,
        retry_base: Duration::from_millis(500),
        max_rate_limit_wait: Duration::from_secs(300),
        request_timeout: Duration::from_secs(30),
    };
    for _ in 0..50 {
        let delays: Vec<Duration> = policy.delays(12).collect();
        assert_eq!(delays.len(), 12);
        for (n, d) in delays.iter().enumerate() {
            let cap = Duration::from_millis(500 * (1u64 << n)).min(Duration::from_secs(30));
            assert!(
                *d >= cap / 2 && *d <= cap,
                "delay {n}: {d:?} not in [{:?}, {cap:?}]",
                cap / 2
            );
        }
        let first_rate_wait = policy.rate_delays(1).next().unwrap();
        assert!(
            first_rate_wait >= Duration::from_secs(1) && first_rate_wait <= Duration::from_secs(2)
        );
    }
}
