//! Numbers: periods, totals, daily series and per-template figures, read from
//! `template_daily_stats` (never from `messages`) by the queries in `db::models::stats`, which
//! this module re-exports. The dashboard, its JSON API and the exports all go through here, so
//! they cannot disagree.
//!
//! Where Meta reports a template's day (`origin = meta`) its sent, delivered, read, clicked and
//! cost are used; otherwise templar's observed numbers. Failures are always observed (Meta's
//! analytics do not count them).

use chrono::{Days, NaiveDate};
use serde::Serialize;

pub use crate::db::models::stats::{
    daily, failures, per_template, refresh_windows, rows, totals, windows_current, WINDOWS,
};

/// A range of UTC days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The `days` days ending with `today`.
    pub fn last(today: NaiveDate, days: u32) -> Period {
        let from = today
            .checked_sub_days(Days::new(u64::from(days.max(1)) - 1))
            .unwrap_or(today);
        Period { from, to: today }
    }

    /// The period of the same length that ends the day before this one starts.
    pub fn previous(&self) -> Period {
        let days = (self.to - self.from).num_days().max(0) as u64 + 1;
        let to = self
            .from
            .checked_sub_days(Days::new(1))
            .unwrap_or(self.from);
        let from = to.checked_sub_days(Days::new(days - 1)).unwrap_or(to);
        Period { from, to }
    }

    /// From `?days=N` or `?from=YYYY-MM-DD&to=YYYY-MM-DD`; 30 days when neither is given.
    pub fn parse(
        days: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
    ) -> Result<Period, String> {
        let date = |s: &str, what: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| format!("`{s}` is not a date like 2026-11-25 ({what})"))
        };
        match (from.filter(|s| !s.is_empty()), to.filter(|s| !s.is_empty())) {
            (Some(f), t) => {
                let from = date(f, "from")?;
                let to = match t {
                    Some(t) => date(t, "to")?,
                    None => today,
                };
                if to < from {
                    return Err(format!("the period ends ({to}) before it starts ({from})"));
                }
                if (to - from).num_days() > 3660 {
                    return Err("the period is longer than ten years".into());
                }
                Ok(Period { from, to })
            }
            (None, Some(t)) => Ok(Period::last(date(t, "to")?, 30)),
            (None, None) => match days.filter(|s| !s.is_empty()) {
                None => Ok(Period::last(today, 30)),
                Some(d) => match d.parse::<u32>() {
                    Ok(n) if (1..=3660).contains(&n) => Ok(Period::last(today, n)),
                    _ => Err(format!("`{d}` is not a number of days between 1 and 3660")),
                },
            },
        }
    }

    /// Every day of the period, in order.
    pub fn days(&self) -> Vec<NaiveDate> {
        self.from
            .iter_days()
            .take_while(|d| *d <= self.to)
            .collect()
    }

    /// `YYYY-MM-DD` of the first day.
    pub fn from_s(&self) -> String {
        self.from.format("%Y-%m-%d").to_string()
    }

    /// `YYYY-MM-DD` of the last day.
    pub fn to_s(&self) -> String {
        self.to.format("%Y-%m-%d").to_string()
    }
}

/// Message counts and cost; in JSON with its `cost_source`, so every cost an API answer
/// shows says where it came from.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub failed: i64,
    /// Reported plus estimated.
    pub cost: f64,
    /// The part of `cost` estimated from the rate card (template-days Meta did not report),
    /// in the card's currency.
    pub estimated: f64,
}

impl Serialize for Totals {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = s.serialize_struct("Totals", 8)?;
        out.serialize_field("sent", &self.sent)?;
        out.serialize_field("delivered", &self.delivered)?;
        out.serialize_field("read", &self.read)?;
        out.serialize_field("clicked", &self.clicked)?;
        out.serialize_field("failed", &self.failed)?;
        out.serialize_field("cost", &self.cost)?;
        out.serialize_field("estimated", &self.estimated)?;
        out.serialize_field("cost_source", self.cost_source())?;
        out.end()
    }
}

impl Totals {
    /// Adds `o` to this.
    pub fn add(&mut self, o: &Totals) {
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.read += o.read;
        self.clicked += o.clicked;
        self.failed += o.failed;
        self.cost += o.cost;
        self.estimated += o.estimated;
    }

    /// Adds an estimated cost.
    pub fn add_estimate(&mut self, cost: f64) {
        self.cost += cost;
        self.estimated += cost;
    }

    /// `reported` (Meta's template analytics), `estimated` (any part from the rate card), or
    /// empty when there is no cost.
    pub fn cost_source(&self) -> &'static str {
        if self.estimated > 0.0 {
            "estimated"
        } else if self.cost > 0.0 {
            "reported"
        } else {
            ""
        }
    }

    fn ratio(a: i64, b: i64) -> Option<f64> {
        (b > 0).then(|| a as f64 / b as f64)
    }

    /// delivered / sent.
    pub fn delivery_rate(&self) -> Option<f64> {
        Self::ratio(self.delivered, self.sent)
    }

    /// read / delivered.
    pub fn read_rate(&self) -> Option<f64> {
        Self::ratio(self.read, self.delivered)
    }

    /// failed / sent.
    pub fn failure_rate(&self) -> Option<f64> {
        Self::ratio(self.failed, self.sent)
    }

    /// clicked / delivered.
    pub fn click_rate(&self) -> Option<f64> {
        Self::ratio(self.clicked, self.delivered)
    }
}

/// Which rows to read.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub account: Option<String>,
    pub template_row: Option<i32>,
    /// Only these templates (e.g. one page of a list).
    pub template_rows: Option<Vec<i32>>,
}

/// One template's day, as each origin reported it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayRow {
    pub template_row: i32,
    pub day: String,
    pub meta: Option<Totals>,
    pub observed: Option<Totals>,
}

impl DayRow {
    /// The numbers to show: Meta's where it reported the day, else observed; failures observed.
    pub fn combined(&self) -> Totals {
        let failed = self.observed.map_or(0, |o| o.failed);
        match (self.meta, self.observed) {
            (Some(m), _) => Totals { failed, ..m },
            (None, Some(o)) => o,
            (None, None) => Totals::default(),
        }
    }

    /// `meta` or `observed`: where [`DayRow::combined`] comes from.
    pub fn source(&self) -> &'static str {
        if self.meta.is_some() {
            "meta"
        } else {
            "observed"
        }
    }
}

/// Totals of a period: combined, and each origin on its own.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Breakdown {
    pub combined: Totals,
    pub meta: Totals,
    pub observed: Totals,
}

#[cfg(test)]
mod tests;
