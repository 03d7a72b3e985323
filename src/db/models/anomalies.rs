//! Delivery anomalies (`delivery_anomalies`): the figures the check compares, read from
//! `messages`, and the findings it keeps, one per template and day.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};
use serde::Serialize;

use crate::db::schema::{accounts as a, delivery_anomalies as d, templates as t};
use crate::domain::anomaly::Figures;

#[derive(QueryableByName)]
struct Counts {
    #[diesel(sql_type = Integer)]
    template_row: i32,
    #[diesel(sql_type = BigInt)]
    recent: i64,
    #[diesel(sql_type = BigInt)]
    sent: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    delivered: i64,
    #[diesel(sql_type = BigInt)]
    read: i64,
}

#[derive(QueryableByName)]
struct Codes {
    #[diesel(sql_type = Integer)]
    template_row: i32,
    #[diesel(sql_type = BigInt)]
    recent: i64,
    #[diesel(sql_type = Nullable<Integer>)]
    code: Option<i32>,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Each template of an account with messages since `since`: its figures before `split`
/// (the baseline) and from it (the recent window). A message's time is its `sent`, else its
/// failure.
pub fn windows(
    conn: &mut Conn,
    account_id: i32,
    since: i64,
    split: i64,
) -> QueryResult<std::collections::HashMap<i32, (Figures, Figures)>> {
    // The day bound lets SQLite use the (account_id, day) index.
    let day = crate::clock::day(since - 86_400);
    let from = "FROM messages WHERE account_id = ? AND day >= ? AND template_row IS NOT NULL \
                AND COALESCE(sent_at, failed_at) >= ?";
    let counts: Vec<Counts> = crate::db::sql(conn, format!(
        "SELECT template_row, CAST(CASE WHEN COALESCE(sent_at, failed_at) >= ? THEN 1 ELSE 0 END AS BIGINT) AS recent, COUNT(*) AS sent, \
         COUNT(failed_at) AS failed, COUNT(delivered_at) AS delivered, COUNT(read_at) AS read \
         {from} GROUP BY 1, 2"
    ))
    .bind::<BigInt, _>(split)
    .bind::<Integer, _>(account_id)
    .bind::<Text, _>(&day)
    .bind::<BigInt, _>(since)
    .load(conn)?;
    let codes: Vec<Codes> = crate::db::sql(conn, format!(
        "SELECT template_row, CAST(CASE WHEN COALESCE(sent_at, failed_at) >= ? THEN 1 ELSE 0 END AS BIGINT) AS recent, error_code AS code, \
         COUNT(*) AS n {from} AND failed_at IS NOT NULL GROUP BY 1, 2, 3"
    ))
    .bind::<BigInt, _>(split)
    .bind::<Integer, _>(account_id)
    .bind::<Text, _>(&day)
    .bind::<BigInt, _>(since)
    .load(conn)?;
    let mut out: std::collections::HashMap<i32, (Figures, Figures)> = Default::default();
    for c in counts {
        let pair = out.entry(c.template_row).or_default();
        let f = if c.recent != 0 {
            &mut pair.1
        } else {
            &mut pair.0
        };
        f.sent += c.sent;
        f.failed += c.failed;
        f.delivered += c.delivered;
        f.read += c.read;
    }
    for c in codes {
        let pair = out.entry(c.template_row).or_default();
        let f = if c.recent != 0 {
            &mut pair.1
        } else {
            &mut pair.0
        };
        f.codes.push((c.code.unwrap_or(0), c.n));
    }
    Ok(out)
}

/// A finding to keep.
#[derive(Insertable, Debug, Clone)]
#[diesel(table_name = d)]
pub struct NewAnomaly {
    pub template_row: i32,
    pub day: String,
    pub kind: String,
    pub error_code: Option<i32>,
    pub recent_sent: i64,
    pub recent_rate: f64,
    pub baseline_rate: f64,
    pub recent_read_rate: Option<f64>,
    pub baseline_read_rate: Option<f64>,
    pub detected_at: i64,
}

/// Keeps a finding unless the template has one for that day already; whether it was new.
pub fn insert(conn: &mut Conn, a: &NewAnomaly) -> QueryResult<bool> {
    crate::on_backend!(conn, bc => diesel::insert_into(d::table)
        .values(a)
        .on_conflict((d::template_row, d::day))
        .do_nothing()
        .execute(bc))
    .map(|n| n == 1)
}

/// A kept finding, with its template and account.
#[derive(Queryable, Debug, Clone, Serialize)]
pub struct Anomaly {
    pub id: i32,
    #[serde(skip)]
    pub template_row: i32,
    pub day: String,
    pub kind: String,
    pub error_code: Option<i32>,
    pub recent_sent: i64,
    pub recent_rate: f64,
    pub baseline_rate: f64,
    pub recent_read_rate: Option<f64>,
    pub baseline_read_rate: Option<f64>,
    pub detected_at: i64,
    pub template_id: String,
    pub name: String,
    pub language: String,
    pub account: String,
}

type Columns = (
    d::id,
    d::template_row,
    d::day,
    d::kind,
    d::error_code,
    d::recent_sent,
    d::recent_rate,
    d::baseline_rate,
    d::recent_read_rate,
    d::baseline_read_rate,
    d::detected_at,
    t::template_id,
    t::name,
    t::language,
    a::name,
);

const COLUMNS: Columns = (
    d::id,
    d::template_row,
    d::day,
    d::kind,
    d::error_code,
    d::recent_sent,
    d::recent_rate,
    d::baseline_rate,
    d::recent_read_rate,
    d::baseline_read_rate,
    d::detected_at,
    t::template_id,
    t::name,
    t::language,
    a::name,
);

/// Findings detected since `since`, newest first, at most `limit`, and how many in all.
pub fn recent(conn: &mut Conn, since: i64, limit: i64) -> QueryResult<(Vec<Anomaly>, i64)> {
    let rows = d::table
        .inner_join(t::table.inner_join(a::table))
        .filter(d::detected_at.ge(since))
        .order(d::id.desc())
        .limit(limit)
        .select(COLUMNS)
        .load(conn)?;
    let n = d::table
        .filter(d::detected_at.ge(since))
        .count()
        .get_result(conn)?;
    Ok((rows, n))
}

/// Findings after id `after`, oldest first (the notifier's cursor).
pub fn after(conn: &mut Conn, after: i32, limit: i64) -> QueryResult<Vec<Anomaly>> {
    d::table
        .inner_join(t::table.inner_join(a::table))
        .filter(d::id.gt(after))
        .order(d::id.asc())
        .limit(limit)
        .select(COLUMNS)
        .load(conn)
}

/// The newest id detected before `at` (where a new notifier starts).
pub fn last_id_before(conn: &mut Conn, at: i64) -> QueryResult<i32> {
    d::table
        .filter(d::detected_at.lt(at))
        .select(diesel::dsl::max(d::id))
        .first::<Option<i32>>(conn)
        .map(|x| x.unwrap_or(0))
}
