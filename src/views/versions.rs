//! A template's content versions as the page and `/api/templates/{id}/versions` show them:
//! each version's parts, the words that changed from the one before, and which version was
//! live on each day of the period.

use serde::Serialize;

use crate::clock;
use crate::db::models::versions::Version;
use crate::domain::content::{self, Part, PartDiff};

/// One version, for people and for the API.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: i32,
    /// When templar first saw it (RFC 3339).
    pub seen_at: String,
    /// `sync`, `webhook` or `manual` (an edit through `templates apply`).
    pub source: String,
    pub parts: Vec<Part>,
    /// What changed from the version before, word by word (empty for version 1).
    pub changes: Vec<PartDiff>,
    /// The components array as stored.
    pub components: serde_json::Value,
}

/// A run of days one version was live, within the period.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LiveSpan {
    pub version: i32,
    pub from: String,
    pub to: String,
}

/// The versions, newest first, each with its difference from the one before.
pub fn views(versions: &[Version]) -> Vec<VersionView> {
    let mut out: Vec<VersionView> = versions
        .iter()
        .enumerate()
        .map(|(i, v)| VersionView {
            version: v.version,
            seen_at: clock::rfc3339(v.seen_at),
            source: v.source.clone(),
            parts: serde_json::from_str(&v.components)
                .map(|c| content::parts(&c))
                .unwrap_or_default(),
            changes: match i.checked_sub(1).and_then(|p| versions.get(p)) {
                Some(before) => content::diff(&before.components, &v.components),
                None => Vec::new(),
            },
            components: serde_json::from_str(&v.components).unwrap_or_default(),
        })
        .collect();
    out.reverse();
    out
}

/// The version live at the end of each day (`YYYY-MM-DD`, UTC); `None` before the first.
pub fn live_on(versions: &[Version], days: &[String]) -> Vec<Option<i32>> {
    days.iter()
        .map(|d| {
            versions
                .iter()
                .filter(|v| clock::day(v.seen_at).as_str() <= d.as_str())
                .map(|v| v.version)
                .next_back()
        })
        .collect()
}

/// Consecutive days with the same live version, as spans.
pub fn spans(days: &[String], live: &[Option<i32>]) -> Vec<LiveSpan> {
    let mut out: Vec<LiveSpan> = Vec::new();
    for (day, v) in days.iter().zip(live) {
        let Some(v) = *v else { continue };
        match out.last_mut() {
            Some(last) if last.version == v => last.to = day.clone(),
            _ => out.push(LiveSpan {
                version: v,
                from: day.clone(),
                to: day.clone(),
            }),
        }
    }
    out
}

/// Chart marks where a new version went live inside the period (not at its first day).
pub fn marks(live: &[Option<i32>]) -> Vec<(usize, String)> {
    live.windows(2)
        .enumerate()
        .filter_map(|(i, w)| match (w[0], w[1]) {
            (Some(a), Some(b)) if a != b => Some((i + 1, format!("v{b}"))),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(version: i32, day: &str) -> Version {
        let at = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp();
        Version {
            id: version,
            template_row: 1,
            version,
            components: format!(r#"[{{"type":"BODY","text":"v{version}"}}]"#),
            seen_at: at,
            source: "sync".into(),
        }
    }

    #[test]
    fn each_day_shows_the_version_live_at_its_end() {
        let vs = [v(1, "2026-11-02"), v(2, "2026-11-04")];
        let days: Vec<String> = (1..=5).map(|d| format!("2026-11-0{d}")).collect();
        let live = live_on(&vs, &days);
        assert_eq!(live, [None, Some(1), Some(1), Some(2), Some(2)]);
        assert_eq!(marks(&live), [(3, "v2".to_string())]);
        let s = spans(&days, &live);
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].version, s[1].from.as_str()), (2, "2026-11-04"));
        let views = views(&vs);
        assert_eq!(views[0].version, 2);
        assert_eq!(views[0].changes[0].label, "Body");
        assert!(views[1].changes.is_empty());
    }
}
