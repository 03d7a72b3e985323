//! The query layer for numbers: periods, totals, daily series and per-template figures, read from
//! `template_daily_stats` (never from `messages`). The dashboard, its JSON API and the exports
//! all go through here, so they cannot disagree.
//!
//! Where Meta reports a template's day (`origin = meta`) its sent, delivered, read, clicked and
//! cost are used; otherwise templar's observed numbers. Failures are always observed (Meta's
//! analytics do not count them).

use std::collections::{BTreeMap, HashMap};

use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{
    accounts, template_daily_errors as errors, template_daily_stats as stats, templates,
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

/// Message counts and cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Totals {
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub clicked: i64,
    pub failed: i64,
    pub cost: f64,
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

type Raw = (i32, String, String, i64, i64, i64, i64, i64, f64);

/// Every template-day of the scope in the period.
pub fn rows(
    conn: &mut SqliteConnection,
    scope: &Scope,
    period: &Period,
) -> QueryResult<Vec<DayRow>> {
    let mut q = stats::table
        .inner_join(templates::table.inner_join(accounts::table))
        .filter(stats::day.ge(period.from_s()))
        .filter(stats::day.le(period.to_s()))
        .select((
            stats::template_row,
            stats::day,
            stats::origin,
            stats::sent,
            stats::delivered,
            stats::read,
            stats::clicked,
            stats::failed,
            stats::cost,
        ))
        .into_boxed();
    if let Some(a) = &scope.account {
        q = q.filter(accounts::name.eq(a.clone()));
    }
    if let Some(t) = scope.template_row {
        q = q.filter(stats::template_row.eq(t));
    }
    if let Some(ts) = &scope.template_rows {
        q = q.filter(stats::template_row.eq_any(ts.clone()));
    }
    let raw: Vec<Raw> = q.load(conn)?;
    let mut by: BTreeMap<(String, i32), DayRow> = BTreeMap::new();
    for (t, day, origin, sent, delivered, read, clicked, failed, cost) in raw {
        let totals = Totals {
            sent,
            delivered,
            read,
            clicked,
            failed,
            cost,
        };
        let row = by.entry((day.clone(), t)).or_insert_with(|| DayRow {
            template_row: t,
            day,
            ..Default::default()
        });
        match origin.as_str() {
            "meta" => row.meta = Some(totals),
            _ => row.observed = Some(totals),
        }
    }
    Ok(by.into_values().collect())
}

/// Totals of a period: combined, and each origin on its own.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Breakdown {
    pub combined: Totals,
    pub meta: Totals,
    pub observed: Totals,
}

#[derive(diesel::QueryableByName)]
struct Agg {
    #[diesel(sql_type = diesel::sql_types::Text)]
    key: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    m_sent: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    m_delivered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    m_read: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    m_clicked: i64,
    #[diesel(sql_type = diesel::sql_types::Double)]
    m_cost: f64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    o_sent: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    o_delivered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    o_read: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    o_clicked: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    o_failed: i64,
    /// Observed figures of template-days Meta did not report.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    u_sent: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    u_delivered: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    u_read: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    u_clicked: i64,
}

impl Agg {
    fn breakdown(&self) -> Breakdown {
        let meta = Totals {
            sent: self.m_sent,
            delivered: self.m_delivered,
            read: self.m_read,
            clicked: self.m_clicked,
            failed: 0,
            cost: self.m_cost,
        };
        let observed = Totals {
            sent: self.o_sent,
            delivered: self.o_delivered,
            read: self.o_read,
            clicked: self.o_clicked,
            failed: self.o_failed,
            cost: 0.0,
        };
        let combined = Totals {
            sent: self.m_sent + self.u_sent,
            delivered: self.m_delivered + self.u_delivered,
            read: self.m_read + self.u_read,
            clicked: self.m_clicked + self.u_clicked,
            failed: self.o_failed,
            cost: self.m_cost,
        };
        Breakdown {
            combined,
            meta,
            observed,
        }
    }
}

/// The columns of [`Agg`] summed over `template_daily_stats s`: Meta's (`m_`), observed (`o_`),
/// and observed where Meta did not report the template-day (`u_`), decided per row by a
/// primary-key probe.
const SUMS: &str = "\
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.sent END), 0) AS m_sent, \
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.delivered END), 0) AS m_delivered, \
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.read END), 0) AS m_read, \
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.clicked END), 0) AS m_clicked, \
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.cost END), 0.0) AS m_cost, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.sent END), 0) AS o_sent, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.delivered END), 0) AS o_delivered, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.read END), 0) AS o_read, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.clicked END), 0) AS o_clicked, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.failed END), 0) AS o_failed, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.sent END), 0) AS u_sent, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.delivered END), 0) AS u_delivered, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.read END), 0) AS u_read, \
    COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.clicked END), 0) AS u_clicked";

/// Aggregates the roll-up in SQL, grouped by `group` (`s.day` or `s.template_row`): the same
/// rule as [`DayRow::combined`] (Meta's figures where it reported the template-day), decided
/// per row by a primary-key probe rather than by loading rows.
fn aggregate(
    conn: &mut SqliteConnection,
    scope: &Scope,
    period: &Period,
    group: &str,
) -> QueryResult<Vec<Agg>> {
    use diesel::sql_types::{Integer, Text};
    let whole_accounts = scope.template_row.is_none() && scope.template_rows.is_none();
    if whole_accounts && group != "s.template_row" {
        return aggregate_accounts(conn, scope.account.as_deref(), period, group);
    }
    if whole_accounts {
        if let Some(days) = window_for(conn, period)? {
            return aggregate_window(conn, scope.account.as_deref(), days);
        }
    }
    let mut sql =
        format!("SELECT CAST({group} AS TEXT) AS key, {SUMS} FROM template_daily_stats s");
    if scope.account.is_some() {
        sql.push_str(
            " JOIN templates t ON t.id = s.template_row JOIN accounts a ON a.id = t.account_id",
        );
    }
    sql.push_str(" WHERE s.day >= ? AND s.day <= ?");
    if scope.account.is_some() {
        sql.push_str(" AND a.name = ?");
    }
    if scope.template_row.is_some() {
        sql.push_str(" AND s.template_row = ?");
    }
    if let Some(ts) = &scope.template_rows {
        if ts.is_empty() {
            return Ok(vec![]);
        }
        let list: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
        sql.push_str(&format!(" AND s.template_row IN ({})", list.join(",")));
    }
    sql.push_str(&format!(" GROUP BY {group}"));
    let mut q = diesel::sql_query(sql)
        .into_boxed::<diesel::sqlite::Sqlite>()
        .bind::<Text, _>(period.from_s())
        .bind::<Text, _>(period.to_s());
    if let Some(a) = &scope.account {
        q = q.bind::<Text, _>(a.clone());
    }
    if let Some(t) = scope.template_row {
        q = q.bind::<Integer, _>(t);
    }
    q.load(conn)
}

/// [`aggregate`] for whole accounts (or all of them), grouped by `'all'` or `s.day`: read from
/// `account_daily_totals`, one row per account and day, which triggers keep equal to the
/// roll-up summed by the same rule.
fn aggregate_accounts(
    conn: &mut SqliteConnection,
    account: Option<&str>,
    period: &Period,
    group: &str,
) -> QueryResult<Vec<Agg>> {
    use diesel::sql_types::Text;
    let mut sql = format!(
        "SELECT CAST({group} AS TEXT) AS key, \
         COALESCE(SUM(s.m_sent), 0) AS m_sent, COALESCE(SUM(s.m_delivered), 0) AS m_delivered, \
         COALESCE(SUM(s.m_read), 0) AS m_read, COALESCE(SUM(s.m_clicked), 0) AS m_clicked, \
         COALESCE(SUM(s.m_cost), 0.0) AS m_cost, \
         COALESCE(SUM(s.o_sent), 0) AS o_sent, COALESCE(SUM(s.o_delivered), 0) AS o_delivered, \
         COALESCE(SUM(s.o_read), 0) AS o_read, COALESCE(SUM(s.o_clicked), 0) AS o_clicked, \
         COALESCE(SUM(s.o_failed), 0) AS o_failed, \
         COALESCE(SUM(s.c_sent - s.m_sent), 0) AS u_sent, \
         COALESCE(SUM(s.c_delivered - s.m_delivered), 0) AS u_delivered, \
         COALESCE(SUM(s.c_read - s.m_read), 0) AS u_read, \
         COALESCE(SUM(s.c_clicked - s.m_clicked), 0) AS u_clicked \
         FROM account_daily_totals s"
    );
    if account.is_some() {
        sql.push_str(" JOIN accounts a ON a.id = s.account_id");
    }
    sql.push_str(" WHERE s.day >= ? AND s.day <= ?");
    if account.is_some() {
        sql.push_str(" AND a.name = ?");
    }
    sql.push_str(&format!(" GROUP BY {group}"));
    let mut q = diesel::sql_query(sql)
        .into_boxed::<diesel::sqlite::Sqlite>()
        .bind::<Text, _>(period.from_s())
        .bind::<Text, _>(period.to_s());
    if let Some(a) = account {
        q = q.bind::<Text, _>(a.to_string());
    }
    q.load(conn)
}

/// The preset period `template_window_totals` holds for exactly these days, if it is current.
fn window_for(conn: &mut SqliteConnection, period: &Period) -> QueryResult<Option<i32>> {
    use diesel::sql_types::{Integer, Text};
    #[derive(diesel::QueryableByName)]
    struct W {
        #[diesel(sql_type = Integer)]
        days: i32,
    }
    let found: Option<W> =
        diesel::sql_query("SELECT days FROM window_bounds WHERE first_day = ? AND last_day = ?")
            .bind::<Text, _>(period.from_s())
            .bind::<Text, _>(period.to_s())
            .get_result(conn)
            .optional()?;
    Ok(found.map(|w| w.days))
}

/// Each template's totals over a preset period, from `template_window_totals`.
fn aggregate_window(
    conn: &mut SqliteConnection,
    account: Option<&str>,
    days: i32,
) -> QueryResult<Vec<Agg>> {
    use diesel::sql_types::{Integer, Text};
    let mut sql = String::from(
        "SELECT CAST(w.template_row AS TEXT) AS key, w.m_sent, w.m_delivered, w.m_read, \
         w.m_clicked, w.m_cost, w.o_sent, w.o_delivered, w.o_read, w.o_clicked, w.o_failed, \
         w.c_sent - w.m_sent AS u_sent, w.c_delivered - w.m_delivered AS u_delivered, \
         w.c_read - w.m_read AS u_read, w.c_clicked - w.m_clicked AS u_clicked \
         FROM template_window_totals w",
    );
    if account.is_some() {
        sql.push_str(
            " JOIN templates t ON t.id = w.template_row JOIN accounts a ON a.id = t.account_id \
             WHERE w.days = ? AND a.name = ?",
        );
    } else {
        sql.push_str(" WHERE w.days = ?");
    }
    let mut q = diesel::sql_query(sql)
        .into_boxed::<diesel::sqlite::Sqlite>()
        .bind::<Integer, _>(days);
    if let Some(a) = account {
        q = q.bind::<Text, _>(a.to_string());
    }
    q.load(conn)
}

/// The preset periods of [`template_window_totals`], in days.
pub const WINDOWS: [u32; 3] = [7, 30, 90];

/// Rebuilds `window_bounds` and `template_window_totals` for the periods ending `today`, in the
/// caller's transaction. Between rebuilds, triggers keep the totals current.
pub fn refresh_windows(conn: &mut SqliteConnection, today: NaiveDate) -> QueryResult<()> {
    use diesel::sql_types::{Integer, Text};
    diesel::sql_query("DELETE FROM template_window_totals").execute(conn)?;
    diesel::sql_query("DELETE FROM window_bounds").execute(conn)?;
    for days in WINDOWS {
        let p = Period::last(today, days);
        diesel::sql_query("INSERT INTO window_bounds (days, first_day, last_day) VALUES (?, ?, ?)")
            .bind::<Integer, _>(days as i32)
            .bind::<Text, _>(p.from_s())
            .bind::<Text, _>(p.to_s())
            .execute(conn)?;
        // The same sums as `aggregate`; combined is Meta's plus observed where Meta was silent.
        diesel::sql_query(format!(
            "INSERT INTO template_window_totals SELECT key, ?, m_sent, m_delivered, m_read, \
             m_clicked, m_cost, o_sent, o_delivered, o_read, o_clicked, o_failed, \
             m_sent + u_sent, m_delivered + u_delivered, m_read + u_read, m_clicked + u_clicked \
             FROM (SELECT s.template_row AS key, {SUMS} FROM template_daily_stats s \
                   WHERE s.day >= ? AND s.day <= ? GROUP BY s.template_row)"
        ))
        .bind::<Integer, _>(days as i32)
        .bind::<Text, _>(p.from_s())
        .bind::<Text, _>(p.to_s())
        .execute(conn)?;
    }
    Ok(())
}

/// Whether the preset periods' totals end `today` (else [`refresh_windows`] is due).
pub fn windows_current(conn: &mut SqliteConnection, today: NaiveDate) -> QueryResult<bool> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT COUNT(*) AS n FROM window_bounds WHERE last_day = ?")
        .bind::<Text, _>(today.format("%Y-%m-%d").to_string())
        .get_result(conn)?;
    Ok(n.n == WINDOWS.len() as i64)
}

/// Totals of the scope over the period.
pub fn totals(
    conn: &mut SqliteConnection,
    scope: &Scope,
    period: &Period,
) -> QueryResult<Breakdown> {
    let mut b = Breakdown::default();
    for a in aggregate(conn, scope, period, "'all'")? {
        let x = a.breakdown();
        b.combined.add(&x.combined);
        b.meta.add(&x.meta);
        b.observed.add(&x.observed);
    }
    Ok(b)
}

/// One entry per day of the period (zeros where nothing happened).
pub fn daily(
    conn: &mut SqliteConnection,
    scope: &Scope,
    period: &Period,
) -> QueryResult<Vec<(String, Totals)>> {
    let by_day: HashMap<String, Totals> = aggregate(conn, scope, period, "s.day")?
        .into_iter()
        .map(|a| (a.key.clone(), a.breakdown().combined))
        .collect();
    Ok(period
        .days()
        .into_iter()
        .map(|d| {
            let key = d.format("%Y-%m-%d").to_string();
            let t = by_day.get(&key).copied().unwrap_or_default();
            (key, t)
        })
        .collect())
}

/// Each template's totals over the period.
pub fn per_template(
    conn: &mut SqliteConnection,
    scope: &Scope,
    period: &Period,
) -> QueryResult<HashMap<i32, Totals>> {
    Ok(aggregate(conn, scope, period, "s.template_row")?
        .into_iter()
        .filter_map(|a| {
            a.key
                .parse::<i32>()
                .ok()
                .map(|k| (k, a.breakdown().combined))
        })
        .collect())
}

/// A template's failures by error code over the period, most first.
pub fn failures(
    conn: &mut SqliteConnection,
    template_row: i32,
    period: &Period,
) -> QueryResult<Vec<(i32, i64)>> {
    let rows: Vec<(i32, i64)> = errors::table
        .filter(errors::template_row.eq(template_row))
        .filter(errors::day.ge(period.from_s()))
        .filter(errors::day.le(period.to_s()))
        .select((errors::error_code, errors::failed))
        .load(conn)?;
    let mut by: BTreeMap<i32, i64> = BTreeMap::new();
    for (c, n) in rows {
        *by.entry(c).or_default() += n;
    }
    let mut v: Vec<(i32, i64)> = by.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        assert_eq!(
            Period::parse(Some("7"), None, None, today)
                .unwrap()
                .from_s(),
            "2026-11-19"
        );
        assert_eq!(
            Period::parse(None, None, None, today).unwrap().days().len(),
            30
        );
        let p = Period::parse(None, Some("2026-11-01"), Some("2026-11-03"), today).unwrap();
        assert_eq!(p.days().len(), 3);
        assert!(Period::parse(None, Some("2026-11-05"), Some("2026-11-01"), today).is_err());
        assert!(Period::parse(None, Some("yesterday"), None, today)
            .unwrap_err()
            .contains("not a date"));
        assert!(Period::parse(Some("0"), None, None, today).is_err());
    }

    #[test]
    fn meta_wins_but_failures_are_observed() {
        let meta = Totals {
            sent: 10,
            delivered: 9,
            read: 5,
            clicked: 1,
            failed: 0,
            cost: 0.4,
        };
        let observed = Totals {
            sent: 8,
            delivered: 7,
            read: 4,
            clicked: 0,
            failed: 1,
            cost: 0.0,
        };
        let r = DayRow {
            template_row: 1,
            day: "2026-11-25".into(),
            meta: Some(meta),
            observed: Some(observed),
        };
        assert_eq!(r.combined(), Totals { failed: 1, ..meta });
        assert_eq!(r.source(), "meta");
    }
}
