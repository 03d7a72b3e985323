//! How numbers and times read on the dashboard.

use crate::clock;
use crate::report::Totals;

/// `1234567` -> `1,234,567`.
pub fn int(n: i64) -> String {
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A rate as a percentage, or an em dash when there is nothing to divide by.
pub fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "—".into(), |r| format!("{:.1} %", r * 100.0))
}

/// A cost in the account's currency (Meta reports amounts without a currency symbol).
pub fn money(v: f64) -> String {
    if v == 0.0 {
        "—".into()
    } else {
        format!("{v:.2}")
    }
}

/// The currency costs are in, for a label: the one code the accounts in view report, else why
/// there is none (`accounts`: the accounts in view; `None` for all).
pub fn currency(
    known: &std::collections::HashMap<String, String>,
    accounts: Option<&[&str]>,
) -> String {
    let mut codes: Vec<&str> = known
        .iter()
        .filter(|(a, _)| accounts.is_none_or(|list| list.contains(&a.as_str())))
        .map(|(_, c)| c.as_str())
        .collect();
    codes.sort_unstable();
    codes.dedup();
    match codes.as_slice() {
        [one] => (*one).to_string(),
        [] => "(no currency reported)".into(),
        _ => "(mixed currencies)".into(),
    }
}

/// The change from `before` to `now`, as a signed percentage; `None` without a base.
pub fn change(now: f64, before: f64) -> Option<String> {
    (before > 0.0).then(|| {
        let c = (now - before) / before * 100.0;
        if c.abs() < 0.05 {
            "±0 %".into()
        } else {
            format!("{}{:.1} %", if c > 0.0 { "+" } else { "−" }, c.abs())
        }
    })
}

/// The change of a rate in percentage points; `None` when either is undefined.
pub fn change_pp(now: Option<f64>, before: Option<f64>) -> Option<String> {
    let d = (now? - before?) * 100.0;
    Some(if d.abs() < 0.05 {
        "±0 pp".into()
    } else {
        format!("{}{:.1} pp", if d > 0.0 { "+" } else { "−" }, d.abs())
    })
}

/// Where an account's template analytics stand, in words with what to do (the overview and the
/// account page say the same). `state` is the last pull's (`None`: never pulled).
pub fn analytics(source: &str, state: Option<&str>) -> String {
    match (source, state) {
        ("kapso", _) => "from Kapso's message history (Kapso has no Meta analytics)".into(),
        (_, Some("ok")) => "pulled from Meta's template analytics".into(),
        (_, Some("not_enabled")) => "off: enable template insights for this WABA \
             (is_enabled_for_insights) to get Meta's figures; until then templar counts webhooks"
            .into(),
        (_, Some("unavailable")) => "not offered for this WABA (e.g. EU or Japan): templar counts \
             what webhooks report"
            .into(),
        (_, Some("error")) => "the last pull failed: see the account page, or run \
             `templar sync --usage`"
            .into(),
        (_, Some(other)) => other.to_string(),
        (_, None) => {
            "not pulled yet: runs on sync.usage_schedule, or `templar sync --usage`".into()
        }
    }
}

/// How long ago, in the largest unit that fits.
pub fn ago(now: i64, ts: i64) -> String {
    let d = (now - ts).max(0);
    match d {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", d / 60),
        3600..=172_799 => format!("{} h ago", d / 3600),
        _ => format!("{} days ago", d / 86_400),
    }
}

/// A duration in hours or days.
pub fn span(secs: i64) -> String {
    if secs < 3600 {
        format!("{} min", secs.max(0) / 60)
    } else if secs < 2 * 86_400 {
        format!("{:.1} h", secs as f64 / 3600.0)
    } else {
        format!("{:.1} days", secs as f64 / 86_400.0)
    }
}

/// A unix time for people.
pub fn when(ts: i64) -> String {
    clock::human(ts)
}

/// Display helpers askama templates call on [`Totals`].
pub trait Show {
    fn sent_s(&self) -> String;
    fn delivered_s(&self) -> String;
    fn read_s(&self) -> String;
    fn clicked_s(&self) -> String;
    fn failed_s(&self) -> String;
    fn delivery_pct(&self) -> String;
    fn read_pct(&self) -> String;
    fn failure_pct(&self) -> String;
    fn cost_s(&self) -> String;
    /// The currency of the cost and where it comes from: `USD, reported`, `USD, estimated`.
    /// `reported` is the currency Meta reports for the accounts in view (see [`currency`]).
    fn cost_label(&self, reported: &str) -> String;
}

impl Show for Totals {
    fn sent_s(&self) -> String {
        int(self.sent)
    }
    fn delivered_s(&self) -> String {
        int(self.delivered)
    }
    fn read_s(&self) -> String {
        int(self.read)
    }
    fn clicked_s(&self) -> String {
        int(self.clicked)
    }
    fn failed_s(&self) -> String {
        int(self.failed)
    }
    fn delivery_pct(&self) -> String {
        pct(self.delivery_rate())
    }
    fn read_pct(&self) -> String {
        pct(self.read_rate())
    }
    fn failure_pct(&self) -> String {
        pct(self.failure_rate())
    }
    fn cost_s(&self) -> String {
        money(self.cost)
    }

    fn cost_label(&self, reported: &str) -> String {
        let card = crate::pricing::card().currency.clone();
        let has_reported = self.cost - self.estimated > 0.0;
        let code = match (self.estimated > 0.0, has_reported) {
            (false, _) => reported.to_string(),
            (true, false) => card,
            (true, true) if reported == card => card,
            (true, true) => "(mixed currencies)".into(),
        };
        match self.cost_source() {
            "" => code,
            source => format!("{code}, {source}"),
        }
    }
}

/// The CSS class of a status badge (colour goes with the status text, never instead of it).
/// Where a paused template stands, in one line.
pub fn pause(p: &crate::domain::pause::Pause) -> String {
    use crate::domain::pause::{Pause, STRIKES};
    match p {
        Pause::Strike {
            strike, resumes_at, ..
        } => format!(
            "strike {strike} of {STRIKES}; resumes around {}",
            when(*resumes_at)
        ),
        Pause::RateLimiting => "paused for rate limiting (not a strike)".into(),
    }
}

pub fn status_class(status: &str) -> &'static str {
    match status {
        "APPROVED" => "ok",
        "PENDING" | "IN_APPEAL" => "wait",
        "REJECTED" | "DISABLED" => "bad",
        "PAUSED" | "FLAGGED" | "LIMIT_EXCEEDED" => "warn",
        _ => "neutral",
    }
}

/// The CSS class of a quality badge.
pub fn quality_class(q: &str) -> &'static str {
    match q {
        "GREEN" => "ok",
        "YELLOW" => "warn",
        "RED" => "bad",
        _ => "neutral",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(int(12), "12");
        assert_eq!(pct(Some(0.9512)), "95.1 %");
        assert_eq!(pct(None), "—");
        assert_eq!(ago(10_000, 10_000 - 7200), "2 h ago");
    }
}
