//! The one place that reads the wall clock. Everything that decides by time takes `now` as an
//! argument, so tests can pass any instant; `clippy.toml` forbids `Utc::now` elsewhere.

use chrono::{DateTime, TimeZone, Utc};

/// The current time.
#[expect(
    clippy::disallowed_methods,
    reason = "this is the edge that reads the clock"
)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Formats unix seconds for people: `2026-11-25 23:50 UTC`.
pub fn human(ts: i64) -> String {
    match Utc.timestamp_opt(ts, 0).single() {
        Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => ts.to_string(),
    }
}

/// Formats unix seconds as RFC 3339 for machines.
pub fn rfc3339(ts: i64) -> String {
    match Utc.timestamp_opt(ts, 0).single() {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        None => ts.to_string(),
    }
}

/// Serialises a unix time as RFC 3339 in JSON (`#[serde(serialize_with = "clock::as_rfc3339")]`),
/// as every API answer writes times.
pub fn as_rfc3339<S: serde::Serializer>(ts: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*ts))
}

/// The UTC day of unix seconds: `2026-11-25`, as daily roll-ups key days.
pub fn day(ts: i64) -> String {
    match Utc.timestamp_opt(ts, 0).single() {
        Some(t) => t.format("%Y-%m-%d").to_string(),
        None => ts.to_string(),
    }
}
