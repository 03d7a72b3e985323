//! The pause ladder: a template paused for low quality resumes after 3 hours the first time
//! and 6 hours the second; the third pause disables it.

/// Where a paused template stands on the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// 1 or 2 (a third pause disables the template).
    pub strike: u32,
    /// How long this pause lasts.
    pub hours: i64,
    /// When it should resume (unix seconds).
    pub resumes_at: i64,
}

/// How many pauses disable a template.
pub const STRIKES: u32 = 3;

impl Pause {
    /// The pause that began at `paused_at`, the `count`-th pause of its template (at least 1).
    pub fn nth(count: u32, paused_at: i64) -> Pause {
        let strike = count.max(1);
        let hours = if strike <= 1 { 3 } else { 6 };
        Pause {
            strike,
            hours,
            resumes_at: paused_at + hours * 3600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_pause_is_three_hours_later_ones_six() {
        assert_eq!(
            Pause::nth(0, 100),
            Pause {
                strike: 1,
                hours: 3,
                resumes_at: 100 + 3 * 3600
            }
        );
        assert_eq!(Pause::nth(1, 0).hours, 3);
        assert_eq!(Pause::nth(2, 0).hours, 6);
    }
}
