//! The roll-up's queries: template-days, totals and series over a period, per-template
//! figures, failures by error code, and the preset periods' precomputed totals. The value types
//! they return (`Period`, `Totals`, `Breakdown`, ...) are `crate::report`'s.

use crate::db::Conn;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::schema::{
    accounts, template_daily_errors as errors, template_daily_stats as stats, templates,
};
use crate::report::{Breakdown, DayRow, Period, Scope, Totals};

type Raw = (i32, String, String, i64, i64, i64, i64, i64, f64);

/// Every template-day of the scope in the period.
pub fn rows(conn: &mut Conn, scope: &Scope, period: &Period) -> QueryResult<Vec<DayRow>> {
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
    let est = super::countries::estimates(conn, scope, period, super::countries::ROWS)?;
    let mut by: BTreeMap<(String, i32), DayRow> = BTreeMap::new();
    for (t, day, origin, sent, delivered, read, clicked, failed, cost) in raw {
        let totals = Totals {
            sent,
            delivered,
            read,
            clicked,
            failed,
            cost,
            estimated: 0.0,
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
    for row in by.values_mut() {
        if let (None, Some(o)) = (&row.meta, &mut row.observed) {
            let key = format!("{} {}", row.template_row, row.day);
            o.add_estimate(est.get(&key).copied().unwrap_or(0.0));
        }
    }
    Ok(by.into_values().collect())
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
            estimated: 0.0,
        };
        let observed = Totals {
            sent: self.o_sent,
            delivered: self.o_delivered,
            read: self.o_read,
            clicked: self.o_clicked,
            failed: self.o_failed,
            cost: 0.0,
            estimated: 0.0,
        };
        let combined = Totals {
            sent: self.m_sent + self.u_sent,
            delivered: self.m_delivered + self.u_delivered,
            read: self.m_read + self.u_read,
            clicked: self.m_clicked + self.u_clicked,
            failed: self.o_failed,
            cost: self.m_cost,
            estimated: 0.0,
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
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.sent END), 0) AS BIGINT) AS m_sent, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.delivered END), 0) AS BIGINT) AS m_delivered, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.read END), 0) AS BIGINT) AS m_read, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.clicked END), 0) AS BIGINT) AS m_clicked, \
    COALESCE(SUM(CASE WHEN s.origin = 'meta' THEN s.cost END), 0.0) AS m_cost, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.sent END), 0) AS BIGINT) AS o_sent, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.delivered END), 0) AS BIGINT) AS o_delivered, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.read END), 0) AS BIGINT) AS o_read, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.clicked END), 0) AS BIGINT) AS o_clicked, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' THEN s.failed END), 0) AS BIGINT) AS o_failed, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.sent END), 0) AS BIGINT) AS u_sent, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.delivered END), 0) AS BIGINT) AS u_delivered, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.read END), 0) AS BIGINT) AS u_read, \
    CAST(COALESCE(SUM(CASE WHEN s.origin = 'observed' AND NOT EXISTS (SELECT 1 FROM template_daily_stats x WHERE x.template_row = s.template_row AND x.day = s.day AND x.origin = 'meta') THEN s.clicked END), 0) AS BIGINT) AS u_clicked";

/// `GROUP BY group`, or for a constant (`'all'`: one total), a filter that keeps SQLite's
/// answer of no row when nothing matched (PostgreSQL refuses to group by a constant).
fn group_by(group: &str) -> String {
    if group.starts_with('\'') {
        " HAVING COUNT(*) > 0".to_string()
    } else {
        format!(" GROUP BY {group}")
    }
}

/// Aggregates the roll-up in SQL, grouped by `group` (`s.day` or `s.template_row`): the same
/// rule as [`DayRow::combined`] (Meta's figures where it reported the template-day), decided
/// per row by a primary-key probe rather than by loading rows.
fn aggregate(
    conn: &mut Conn,
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
    sql.push_str(&group_by(group));
    let mut q = crate::db::sql(conn, sql)
        .into_boxed::<crate::db::MultiBackend>()
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
    conn: &mut Conn,
    account: Option<&str>,
    period: &Period,
    group: &str,
) -> QueryResult<Vec<Agg>> {
    use diesel::sql_types::Text;
    let mut sql = format!(
        "SELECT CAST({group} AS TEXT) AS key, \
         CAST(COALESCE(SUM(s.m_sent), 0) AS BIGINT) AS m_sent, CAST(COALESCE(SUM(s.m_delivered), 0) AS BIGINT) AS m_delivered, \
         CAST(COALESCE(SUM(s.m_read), 0) AS BIGINT) AS m_read, CAST(COALESCE(SUM(s.m_clicked), 0) AS BIGINT) AS m_clicked, \
         COALESCE(SUM(s.m_cost), 0.0) AS m_cost, \
         CAST(COALESCE(SUM(s.o_sent), 0) AS BIGINT) AS o_sent, CAST(COALESCE(SUM(s.o_delivered), 0) AS BIGINT) AS o_delivered, \
         CAST(COALESCE(SUM(s.o_read), 0) AS BIGINT) AS o_read, CAST(COALESCE(SUM(s.o_clicked), 0) AS BIGINT) AS o_clicked, \
         CAST(COALESCE(SUM(s.o_failed), 0) AS BIGINT) AS o_failed, \
         CAST(COALESCE(SUM(s.c_sent - s.m_sent), 0) AS BIGINT) AS u_sent, \
         CAST(COALESCE(SUM(s.c_delivered - s.m_delivered), 0) AS BIGINT) AS u_delivered, \
         CAST(COALESCE(SUM(s.c_read - s.m_read), 0) AS BIGINT) AS u_read, \
         CAST(COALESCE(SUM(s.c_clicked - s.m_clicked), 0) AS BIGINT) AS u_clicked \
         FROM account_daily_totals s"
    );
    if account.is_some() {
        sql.push_str(" JOIN accounts a ON a.id = s.account_id");
    }
    sql.push_str(" WHERE s.day >= ? AND s.day <= ?");
    if account.is_some() {
        sql.push_str(" AND a.name = ?");
    }
    sql.push_str(&group_by(group));
    let mut q = crate::db::sql(conn, sql)
        .into_boxed::<crate::db::MultiBackend>()
        .bind::<Text, _>(period.from_s())
        .bind::<Text, _>(period.to_s());
    if let Some(a) = account {
        q = q.bind::<Text, _>(a.to_string());
    }
    q.load(conn)
}

/// The preset period `template_window_totals` holds for exactly these days, if it is current.
fn window_for(conn: &mut Conn, period: &Period) -> QueryResult<Option<i32>> {
    use diesel::sql_types::{Integer, Text};
    #[derive(diesel::QueryableByName)]
    struct W {
        #[diesel(sql_type = Integer)]
        days: i32,
    }
    let found: Option<W> = crate::db::sql(
        conn,
        "SELECT days FROM window_bounds WHERE first_day = ? AND last_day = ?",
    )
    .bind::<Text, _>(period.from_s())
    .bind::<Text, _>(period.to_s())
    .get_result(conn)
    .optional()?;
    Ok(found.map(|w| w.days))
}

/// Each template's totals over a preset period, from `template_window_totals`.
fn aggregate_window(conn: &mut Conn, account: Option<&str>, days: i32) -> QueryResult<Vec<Agg>> {
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
    let mut q = crate::db::sql(conn, sql)
        .into_boxed::<crate::db::MultiBackend>()
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
pub fn refresh_windows(conn: &mut Conn, today: NaiveDate) -> QueryResult<()> {
    use diesel::sql_types::{Integer, Text};
    crate::db::sql(conn, "DELETE FROM template_window_totals").execute(conn)?;
    crate::db::sql(conn, "DELETE FROM window_bounds").execute(conn)?;
    for days in WINDOWS {
        let p = Period::last(today, days);
        crate::db::sql(
            conn,
            "INSERT INTO window_bounds (days, first_day, last_day) VALUES (?, ?, ?)",
        )
        .bind::<Integer, _>(days as i32)
        .bind::<Text, _>(p.from_s())
        .bind::<Text, _>(p.to_s())
        .execute(conn)?;
        // The same sums as `aggregate`; combined is Meta's plus observed where Meta was silent.
        crate::db::sql(
            conn,
            format!(
                "INSERT INTO template_window_totals SELECT key, ?, m_sent, m_delivered, m_read, \
             m_clicked, m_cost, o_sent, o_delivered, o_read, o_clicked, o_failed, \
             m_sent + u_sent, m_delivered + u_delivered, m_read + u_read, m_clicked + u_clicked \
             FROM (SELECT s.template_row AS key, {SUMS} FROM template_daily_stats s \
                   WHERE s.day >= ? AND s.day <= ? GROUP BY s.template_row) AS w"
            ),
        )
        .bind::<Integer, _>(days as i32)
        .bind::<Text, _>(p.from_s())
        .bind::<Text, _>(p.to_s())
        .execute(conn)?;
    }
    Ok(())
}

/// Whether the preset periods' totals end `today` (else [`refresh_windows`] is due).
pub fn windows_current(conn: &mut Conn, today: NaiveDate) -> QueryResult<bool> {
    use diesel::sql_types::{BigInt, Text};
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let n: N = crate::db::sql(
        conn,
        "SELECT COUNT(*) AS n FROM window_bounds WHERE last_day = ?",
    )
    .bind::<Text, _>(today.format("%Y-%m-%d").to_string())
    .get_result(conn)?;
    Ok(n.n == WINDOWS.len() as i64)
}

/// Totals of the scope over the period.
pub fn totals(conn: &mut Conn, scope: &Scope, period: &Period) -> QueryResult<Breakdown> {
    let mut b = Breakdown::default();
    for a in aggregate(conn, scope, period, "'all'")? {
        let x = a.breakdown();
        b.combined.add(&x.combined);
        b.meta.add(&x.meta);
        b.observed.add(&x.observed);
    }
    let est: f64 = super::countries::estimates(conn, scope, period, "'all'")?
        .values()
        .sum();
    b.combined.add_estimate(est);
    b.observed.add_estimate(est);
    Ok(b)
}

/// One entry per day of the period (zeros where nothing happened).
pub fn daily(
    conn: &mut Conn,
    scope: &Scope,
    period: &Period,
) -> QueryResult<Vec<(String, Totals)>> {
    let mut by_day: HashMap<String, Totals> = aggregate(conn, scope, period, "s.day")?
        .into_iter()
        .map(|a| (a.key.clone(), a.breakdown().combined))
        .collect();
    for (day, est) in super::countries::estimates(conn, scope, period, "c.day")? {
        by_day.entry(day).or_default().add_estimate(est);
    }
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
    conn: &mut Conn,
    scope: &Scope,
    period: &Period,
) -> QueryResult<HashMap<i32, Totals>> {
    let mut by: HashMap<i32, Totals> = aggregate(conn, scope, period, "s.template_row")?
        .into_iter()
        .filter_map(|a| {
            a.key
                .parse::<i32>()
                .ok()
                .map(|k| (k, a.breakdown().combined))
        })
        .collect();
    for (t, est) in super::countries::estimates(conn, scope, period, "c.template_row")? {
        if let Ok(t) = t.parse::<i32>() {
            by.entry(t).or_default().add_estimate(est);
        }
    }
    Ok(by)
}

/// A template's failures by error code over the period, most first.
pub fn failures(
    conn: &mut Conn,
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

/// (name, language, sent, failed) of every observed template-day since `day`.
pub fn observed_since(conn: &mut Conn, day: &str) -> QueryResult<Vec<(String, String, i64, i64)>> {
    stats::table
        .inner_join(templates::table)
        .filter(stats::origin.eq("observed"))
        .filter(stats::day.ge(day))
        .select((
            templates::name,
            templates::language,
            stats::sent,
            stats::failed,
        ))
        .load(conn)
}
