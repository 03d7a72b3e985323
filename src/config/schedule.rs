//! Cron schedules: the 5-field crontab form or the 6-field form with seconds.

use std::str::FromStr;

use super::ConfigError;

/// A validated cron schedule, keeping the expression the user wrote.
#[derive(Clone, Debug)]
pub struct CronSchedule {
    /// As written in the config.
    pub expr: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    /// Parses the 5-field crontab form (minute first) or the 6-field form with seconds.
    /// Numeric days of the week follow crontab: 0 and 7 are Sunday.
    pub fn parse(expr: &str) -> Result<Self, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let mut full: Vec<String> = match fields.len() {
            5 => std::iter::once("0")
                .chain(fields.iter().copied())
                .map(String::from)
                .collect(),
            6 => fields.iter().map(|s| s.to_string()).collect(),
            n => {
                return Err(format!(
                    "`{expr}` is not a valid cron expression: it has {n} fields; use 5 \
                     (minute hour day month weekday) or 6 (with seconds first)"
                ))
            }
        };
        full[5] = crontab_weekdays(&full[5]);
        let schedule = cron::Schedule::from_str(&full.join(" "))
            .map_err(|e| format!("`{expr}` is not a valid cron expression: {e}"))?;
        Ok(CronSchedule {
            expr: expr.to_string(),
            schedule,
        })
    }

    /// The first firing strictly after `after`.
    pub fn next_after(
        &self,
        after: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        self.schedule.after(&after).next()
    }

    /// The gap between the next two firings after `now` (how stale a job may be before it is
    /// overdue); `None` for a schedule that fires fewer than twice more.
    pub fn interval(&self, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::Duration> {
        let mut next = self.schedule.after(&now);
        let (a, b) = (next.next()?, next.next()?);
        Some(b - a)
    }
}

/// The cron crate numbers weekdays 1-7 from Sunday; crontab numbers 0-7 from Sunday (7 too).
/// Names mean the same in both, so numbers become names.
fn crontab_weekdays(field: &str) -> String {
    const NAMES: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];
    if !field
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '-')
    {
        return field.to_string();
    }
    field
        .split(',')
        .map(|part| {
            part.split('-')
                .map(|n| {
                    n.parse::<usize>()
                        .ok()
                        .and_then(|i| NAMES.get(i))
                        .map_or(n, |v| v)
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The schedule at `key`, or `default` when it is not set.
pub(super) fn schedule(
    key: &str,
    value: Option<String>,
    default: &str,
) -> Result<CronSchedule, ConfigError> {
    CronSchedule::parse(value.as_deref().unwrap_or(default)).map_err(|m| ConfigError::new(key, m))
}
