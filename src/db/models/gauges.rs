//! What `/metrics` reads from the database at each scrape, so the gauges are right whichever
//! process did the work (a CLI run, another replica). Each is one grouped query over an indexed
//! or bounded table.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

/// Live (not deleted) templates of one account with the same status, quality and category.
#[derive(QueryableByName, Debug)]
pub struct TemplateGroup {
    #[diesel(sql_type = Text)]
    pub account: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub quality: String,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

/// One account's freshness: the oldest template under review, the last successful full sync
/// and usage pull, and the failed runs since the last good one.
#[derive(QueryableByName, Debug)]
pub struct AccountHealth {
    #[diesel(sql_type = Text)]
    pub account: String,
    /// When the longest-waiting template under review went under review.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub pending_since: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_full_sync: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub last_usage_pull: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub failures_in_a_row: i64,
}

/// One channel's outbox.
#[derive(QueryableByName, Debug)]
pub struct Outbox {
    #[diesel(sql_type = Text)]
    pub channel: String,
    #[diesel(sql_type = BigInt)]
    pub pending: i64,
    #[diesel(sql_type = BigInt)]
    pub dead: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub oldest_pending: Option<i64>,
}

pub fn templates(conn: &mut Conn) -> QueryResult<Vec<TemplateGroup>> {
    crate::db::sql(
        conn,
        "SELECT a.name AS account, t.status AS status, COALESCE(t.quality, 'UNKNOWN') AS quality, \
                t.category AS category, COUNT(*) AS n \
         FROM templates t JOIN accounts a ON a.id = t.account_id \
         WHERE t.deleted_at IS NULL GROUP BY 1, 2, 3, 4",
    )
    .load(conn)
}

pub fn accounts(conn: &mut Conn) -> QueryResult<Vec<AccountHealth>> {
    // Under review since its latest status event (or since first seen, with none).
    crate::db::sql(conn,
        "SELECT a.name AS account, \
           (SELECT MIN(COALESCE((SELECT MAX(e.at) FROM template_events e \
                                 WHERE e.template_id = t.id AND e.field = 'status'), t.first_seen_at)) \
            FROM templates t WHERE t.account_id = a.id AND t.deleted_at IS NULL \
              AND t.status IN ('PENDING', 'IN_APPEAL')) AS pending_since, \
           (SELECT MAX(r.finished_at) FROM sync_runs r \
            WHERE r.account_id = a.id AND r.kind = 'full' AND r.error IS NULL) AS last_full_sync, \
           (SELECT j.succeeded_at FROM job_runs j WHERE j.job = 'usage:' || a.name) AS last_usage_pull, \
           (SELECT COUNT(*) FROM sync_runs r WHERE r.account_id = a.id AND r.kind = 'full' \
              AND r.error IS NOT NULL \
              AND r.id > COALESCE((SELECT MAX(s.id) FROM sync_runs s WHERE s.account_id = a.id \
                                   AND s.kind = 'full' AND s.error IS NULL), 0)) AS failures_in_a_row \
         FROM accounts a ORDER BY a.name",
    )
    .load(conn)
}

pub fn outbox(conn: &mut Conn) -> QueryResult<Vec<Outbox>> {
    crate::db::sql(conn,
        "SELECT channel, \
           CAST(SUM(CASE WHEN delivered_at IS NULL AND dead_at IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS pending, \
           CAST(SUM(CASE WHEN dead_at IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT) AS dead, \
           MIN(CASE WHEN delivered_at IS NULL AND dead_at IS NULL THEN created_at END) AS oldest_pending \
         FROM notifications GROUP BY channel",
    )
    .load(conn)
}

/// Everything `/metrics` reads from the database, in one read transaction.
pub struct Gauges {
    pub templates: Vec<TemplateGroup>,
    pub accounts: Vec<AccountHealth>,
    pub outbox: Vec<Outbox>,
}

pub fn read(conn: &mut Conn) -> QueryResult<Gauges> {
    conn.transaction(|c| {
        Ok(Gauges {
            templates: templates(c)?,
            accounts: accounts(c)?,
            outbox: outbox(c)?,
        })
    })
}
