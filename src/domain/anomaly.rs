//! When a template's delivery goes wrong: the last hours' failure rate and error codes against
//! the template's own baseline (the 7 days before), compared as rates so volume does not
//! matter. Thresholds live here, once.

use serde::Serialize;

/// The window the recent figures cover, in hours.
pub const RECENT_HOURS: i64 = 6;
/// The baseline before it, in days.
pub const BASELINE_DAYS: i64 = 7;
/// Sends in the window below which nothing is judged (and, for the failure rate, in the
/// baseline too).
pub const MIN_SENDS: i64 = 50;

/// Codes that surge for reasons a business can act on: per-user marketing limits (131049),
/// customers who stopped marketing (131050), undeliverable numbers (131026), and paused
/// templates or pacing (132015).
pub const WATCHED_CODES: &[i32] = &[131049, 131050, 131026, 132015];

/// A template's figures over one window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Messages sent (or failed without a `sent`).
    pub sent: i64,
    pub failed: i64,
    pub delivered: i64,
    pub read: i64,
    /// Failures by error code.
    pub codes: Vec<(i32, i64)>,
}

impl Figures {
    pub fn failure_rate(&self) -> f64 {
        ratio(self.failed, self.sent)
    }

    pub fn read_rate(&self) -> Option<f64> {
        (self.delivered > 0).then(|| ratio(self.read, self.delivered))
    }

    fn code_share(&self, code: i32) -> f64 {
        let n = self
            .codes
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(0, |x| x.1);
        ratio(n, self.sent)
    }
}

fn ratio(a: i64, b: i64) -> f64 {
    if b > 0 {
        a as f64 / b as f64
    } else {
        0.0
    }
}

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// `error_code` (one code surged), `failure_rate` (failures as a whole jumped) or
    /// `read_rate` (delivered messages are read far less than before).
    pub kind: &'static str,
    pub code: Option<i32>,
    /// The rate in the window and in the baseline (0..1): of the code, of all failures, or of
    /// reads among delivered messages.
    pub recent: f64,
    pub baseline: f64,
}

/// Judges a template's window against its baseline. A watched code surges when it fails at
/// least 5 % of the window's sends (10 messages or more) and at least three times its
/// baseline share; failures as a whole jump when the rate at least doubles and rises by 5
/// points, with [`MIN_SENDS`] on both sides. Failures come first; else reads fall when the
/// read rate of delivered messages halves and drops by 15 points, with [`MIN_SENDS`]
/// deliveries on both sides (the window's newest messages have had little time to be read:
/// the margin is wide for that).
pub fn judge(recent: &Figures, baseline: &Figures) -> Option<Finding> {
    if recent.sent < MIN_SENDS {
        return None;
    }
    failures(recent, baseline).or_else(|| reads(recent, baseline))
}

fn reads(recent: &Figures, baseline: &Figures) -> Option<Finding> {
    if recent.delivered < MIN_SENDS || baseline.delivered < MIN_SENDS {
        return None;
    }
    let (now, before) = (recent.read_rate()?, baseline.read_rate()?);
    (now <= 0.5 * before && before - now >= 0.15).then_some(Finding {
        kind: "read_rate",
        code: None,
        recent: now,
        baseline: before,
    })
}

/// What a finding is about, in a few words, and what its rates count ("sends" or "delivered").
pub fn subject(kind: &str, code: Option<i32>) -> (String, &'static str) {
    match (kind, code) {
        (_, Some(code)) => (format!("error {code}"), "sends"),
        ("read_rate", None) => ("reads fell".into(), "delivered"),
        _ => ("failures jumped".into(), "sends"),
    }
}

fn failures(recent: &Figures, baseline: &Figures) -> Option<Finding> {
    let surge = WATCHED_CODES
        .iter()
        .map(|&code| {
            let n = recent
                .codes
                .iter()
                .find(|(c, _)| *c == code)
                .map_or(0, |x| x.1);
            (code, n, recent.code_share(code), baseline.code_share(code))
        })
        .filter(|(_, n, now, before)| *n >= 10 && *now >= 0.05 && *now >= 3.0 * before)
        .max_by(|a, b| a.2.total_cmp(&b.2));
    if let Some((code, _, now, before)) = surge {
        return Some(Finding {
            kind: "error_code",
            code: Some(code),
            recent: now,
            baseline: before,
        });
    }
    let (now, before) = (recent.failure_rate(), baseline.failure_rate());
    (baseline.sent >= MIN_SENDS && now >= 2.0 * before && now - before >= 0.05).then_some(Finding {
        kind: "failure_rate",
        code: None,
        recent: now,
        baseline: before,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(sent: i64, failed: i64, codes: &[(i32, i64)]) -> Figures {
        Figures {
            sent,
            failed,
            delivered: sent - failed,
            read: (sent - failed) / 2,
            codes: codes.to_vec(),
        }
    }

    #[test]
    fn a_watched_code_that_surges_is_named() {
        let base = f(1000, 40, &[(131049, 10), (131026, 30)]);
        let now = f(100, 30, &[(131049, 25), (131026, 5)]);
        let found = judge(&now, &base).unwrap();
        assert_eq!((found.kind, found.code), ("error_code", Some(131049)));
        assert!((found.recent - 0.25).abs() < 1e-9 && (found.baseline - 0.01).abs() < 1e-9);
    }

    #[test]
    fn the_same_rates_at_another_volume_are_no_anomaly() {
        let base = f(7000, 280, &[(131049, 70), (131026, 210)]);
        assert_eq!(judge(&f(100, 4, &[(131049, 1), (131026, 3)]), &base), None);
        // Too few sends to judge, however bad.
        assert_eq!(judge(&f(20, 15, &[(131049, 15)]), &base), None);
    }

    #[test]
    fn reads_that_halve_are_a_read_rate_drop_after_failures() {
        // 60 % of deliveries read the week before, 20 % in the window.
        let read = |sent: i64, read: i64| Figures {
            read,
            ..f(sent, 0, &[])
        };
        let found = judge(&read(200, 40), &read(1000, 600)).unwrap();
        assert_eq!((found.kind, found.code), ("read_rate", None));
        assert!((found.recent - 0.2).abs() < 1e-9 && (found.baseline - 0.6).abs() < 1e-9);
        // A dip the window's unread newest messages explain is none.
        assert_eq!(judge(&read(200, 90), &read(1000, 600)), None);
        // Halved but from 20 % to 10 %: too small to page anyone.
        assert_eq!(judge(&read(200, 20), &read(1000, 200)), None);
        // Failures that jumped are named first.
        let both = Figures {
            read: 10,
            ..f(200, 40, &[(131000, 40)])
        };
        assert_eq!(judge(&both, &read(1000, 600)).unwrap().kind, "failure_rate");
    }

    #[test]
    fn failures_that_double_without_one_code_are_a_failure_rate_jump() {
        let base = f(1000, 30, &[(131000, 30)]);
        let found = judge(&f(200, 22, &[(131000, 22)]), &base).unwrap();
        assert_eq!((found.kind, found.code), ("failure_rate", None));
        // Doubled but only from 1 % to 2 %: not worth a page.
        assert_eq!(
            judge(&f(200, 4, &[(131000, 4)]), &f(1000, 10, &[(131000, 10)])),
            None
        );
        // No baseline to compare with.
        assert_eq!(judge(&f(200, 22, &[(131000, 22)]), &f(10, 0, &[])), None);
    }
}
