//! `sync_runs`: one row per run and account, the source of sync health.

use diesel::prelude::*;

use crate::db::schema::sync_runs;

/// A run to record.
#[derive(Insertable, Debug, Clone, Default)]
#[diesel(table_name = sync_runs)]
pub struct NewSyncRun {
    pub account_id: i32,
    pub kind: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub pages: i32,
    pub requests: i32,
    pub seen: i32,
    pub created: i32,
    pub changed: i32,
    pub removed: i32,
    pub skipped: i32,
    pub error: Option<String>,
}

/// A recorded run.
#[derive(Queryable, Selectable, Debug, Clone, serde::Serialize)]
#[diesel(table_name = sync_runs)]
pub struct SyncRun {
    pub id: i32,
    pub account_id: i32,
    pub kind: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub pages: i32,
    pub requests: i32,
    pub seen: i32,
    pub created: i32,
    pub changed: i32,
    pub removed: i32,
    pub skipped: i32,
    pub error: Option<String>,
}

/// Records a run.
pub fn insert(conn: &mut SqliteConnection, run: &NewSyncRun) -> QueryResult<()> {
    diesel::insert_into(sync_runs::table)
        .values(run)
        .execute(conn)
        .map(|_| ())
}

/// The latest `limit` runs of an account, newest first.
pub fn recent(
    conn: &mut SqliteConnection,
    account_id: i32,
    limit: i64,
) -> QueryResult<Vec<SyncRun>> {
    sync_runs::table
        .filter(sync_runs::account_id.eq(account_id))
        .order(sync_runs::id.desc())
        .limit(limit)
        .select(SyncRun::as_select())
        .load(conn)
}
