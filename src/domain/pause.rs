//! The pause ladder: a template paused for low quality resumes after 3 hours the first time
//! and 6 hours the second; the third pause disables it. Meta names each pause in the status
//! webhook's `other_info.title` (FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE); that word
//! wins, and templar counts its own PAUSED events only for pauses it learnt of by sync.

use serde_json::Value;

/// Where a paused template stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pause {
    /// A pause for low quality: strike 1 (3 h) or 2 (6 h).
    Strike {
        strike: u32,
        hours: i64,
        /// When it should resume (unix seconds).
        resumes_at: i64,
    },
    /// Paused for rate limiting: not a strike; it resumes when Meta lifts it.
    RateLimiting,
}

/// How many pauses disable a template.
pub const STRIKES: u32 = 3;

impl Pause {
    /// The `count`-th low-quality pause (at least 1), begun at `paused_at`.
    pub fn nth(count: u32, paused_at: i64) -> Pause {
        let strike = count.max(1);
        let hours = if strike <= 1 { 3 } else { 6 };
        Pause::Strike {
            strike,
            hours,
            resumes_at: paused_at + hours * 3600,
        }
    }

    /// The latest of a template's pauses, given each PAUSED event in order as (when, status
    /// before, detail JSON text). A pause Meta named is what Meta said; an unnamed one (seen by
    /// sync) is the strike after the last one known. A return to PAUSED from ARCHIVED or
    /// DELETED (unarchiving, reappearing) is the same pause as before, not a new one.
    pub fn latest<'a>(
        pauses: impl IntoIterator<Item = (i64, Option<&'a str>, Option<&'a str>)>,
    ) -> Option<Pause> {
        let mut strikes = 0;
        let mut last = None;
        for (at, from, detail) in pauses {
            if !is_new_pause(from) {
                continue;
            }
            let pause = match title(detail).as_deref() {
                Some("FIRST_PAUSE") => Pause::nth(1, at),
                Some("SECOND_PAUSE") => Pause::nth(2, at),
                Some("RATE_LIMITING_PAUSE") => Pause::RateLimiting,
                _ => Pause::nth(strikes + 1, at),
            };
            if let Pause::Strike { strike, .. } = pause {
                strikes = strike;
            }
            last = Some(pause);
        }
        last
    }
}

/// Whether a change to PAUSED from `from` starts a pause (not a return from ARCHIVED or
/// DELETED to the pause it had).
pub fn is_new_pause(from: Option<&str>) -> bool {
    !matches!(from, Some("ARCHIVED" | "DELETED"))
}

/// Meta's `other_info.title` in an event's detail, when it sent one.
pub fn title(detail: Option<&str>) -> Option<String> {
    let v: Value = serde_json::from_str(detail?).ok()?;
    v.pointer("/other_info/title")?
        .as_str()
        .map(|t| t.trim().to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pause_is_three_hours_later_ones_six() {
        assert_eq!(
            Pause::nth(0, 100),
            Pause::Strike {
                strike: 1,
                hours: 3,
                resumes_at: 100 + 3 * 3600
            }
        );
        assert_eq!(
            Pause::nth(2, 0),
            Pause::Strike {
                strike: 2,
                hours: 6,
                resumes_at: 6 * 3600
            }
        );
    }

    #[test]
    fn meta_s_title_wins_over_templar_s_count() {
        let second = r#"{"other_info":{"title":"SECOND_PAUSE","description":"x"}}"#;
        let rate = r#"{"other_info":{"title":"RATE_LIMITING_PAUSE"}}"#;
        let a = Some("APPROVED");
        // templar saw one pause only, but Meta says it is the second.
        assert_eq!(
            Pause::latest([(0, a, Some(second))]),
            Some(Pause::nth(2, 0))
        );
        assert_eq!(
            Pause::latest([(0, a, Some(rate))]),
            Some(Pause::RateLimiting)
        );
        // A rate-limiting pause is not a strike: the next unnamed pause is the first.
        assert_eq!(
            Pause::latest([(0, a, Some(rate)), (10, a, None)]),
            Some(Pause::nth(1, 10))
        );
        // Unnamed pauses (seen by sync) count.
        assert_eq!(
            Pause::latest([(0, a, None), (10, a, None)]),
            Some(Pause::nth(2, 10))
        );
        // A sync saw the pause, then the webhook named it: Meta's word wins.
        assert_eq!(
            Pause::latest([(0, a, None), (5, None, Some(second))]),
            Some(Pause::nth(2, 5))
        );
        // Unarchived back to PAUSED: still the first pause.
        assert_eq!(
            Pause::latest([(0, a, None), (20, Some("ARCHIVED"), None)]),
            Some(Pause::nth(1, 0))
        );
        assert_eq!(Pause::latest([]), None);
    }
}
