//! `sync_runs`: one row per run and account, the source of sync health.

use crate::db::Conn;
use diesel::prelude::*;

use crate::db::schema::{accounts, sync_runs};

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
    /// Quiet pending checks this row stands for (they found nothing to change).
    pub repeats: i32,
}

/// Records a pending check that changed nothing: it extends the account's latest row when
/// that is a quiet pending check too (one row per quiet stretch, not one every two minutes).
pub fn insert_quiet_pending(conn: &mut Conn, run: &NewSyncRun) -> QueryResult<()> {
    let latest: Option<SyncRun> = sync_runs::table
        .filter(sync_runs::account_id.eq(run.account_id))
        .order(sync_runs::id.desc())
        .select(SyncRun::as_select())
        .first(conn)
        .optional()?;
    match latest {
        Some(l)
            if l.kind == "pending"
                && l.error.is_none()
                && l.created + l.changed + l.removed + l.skipped == 0 =>
        {
            diesel::update(sync_runs::table.find(l.id))
                .set((
                    sync_runs::finished_at.eq(run.finished_at),
                    sync_runs::repeats.eq(sync_runs::repeats + 1),
                    sync_runs::requests.eq(sync_runs::requests + run.requests),
                    sync_runs::seen.eq(run.seen),
                ))
                .execute(conn)
                .map(|_| ())
        }
        _ => insert(conn, run),
    }
}

/// Records a run.
pub fn insert(conn: &mut Conn, run: &NewSyncRun) -> QueryResult<()> {
    diesel::insert_into(sync_runs::table)
        .values(run)
        .execute(conn)
        .map(|_| ())
}

/// The latest `limit` runs of an account, newest first.
pub fn recent(conn: &mut Conn, account_id: i32, limit: i64) -> QueryResult<Vec<SyncRun>> {
    sync_runs::table
        .filter(sync_runs::account_id.eq(account_id))
        .order(sync_runs::id.desc())
        .limit(limit)
        .select(SyncRun::as_select())
        .load(conn)
}

/// Which runs a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunFilter {
    /// Full syncs, and any run that failed.
    Full,
    Pending,
    Failed,
    All,
}

/// An account's newest runs that pass `filter`.
pub fn recent_filtered(
    conn: &mut Conn,
    account_id: i32,
    filter: RunFilter,
    limit: i64,
) -> QueryResult<Vec<SyncRun>> {
    let q = sync_runs::table
        .filter(sync_runs::account_id.eq(account_id))
        .into_boxed();
    let q = match filter {
        RunFilter::Full => q.filter(
            sync_runs::kind
                .eq("full")
                .or(sync_runs::error.is_not_null()),
        ),
        RunFilter::Pending => q.filter(sync_runs::kind.eq("pending")),
        RunFilter::Failed => q.filter(sync_runs::error.is_not_null()),
        RunFilter::All => q,
    };
    q.order(sync_runs::id.desc())
        .limit(limit)
        .select(SyncRun::as_select())
        .load(conn)
}

/// The id of the newest run started before `before` (0 when there is none).
pub fn last_id_before(conn: &mut Conn, before: i64) -> QueryResult<i32> {
    Ok(sync_runs::table
        .filter(sync_runs::started_at.lt(before))
        .select(diesel::dsl::max(sync_runs::id))
        .first::<Option<i32>>(conn)?
        .unwrap_or(0))
}

/// A run as notifications read it.
#[derive(Queryable, Debug, Clone)]
pub struct RunOutcome {
    pub id: i32,
    pub account_id: i32,
    pub error: Option<String>,
    pub account: String,
    pub finished_at: i64,
}

/// Up to `limit` runs with ids above `after`, oldest first.
pub fn after(conn: &mut Conn, after: i32, limit: i64) -> QueryResult<Vec<RunOutcome>> {
    sync_runs::table
        .inner_join(accounts::table)
        .filter(sync_runs::id.gt(after))
        .order(sync_runs::id)
        .limit(limit)
        .select((
            sync_runs::id,
            sync_runs::account_id,
            sync_runs::error,
            accounts::name,
            sync_runs::finished_at,
        ))
        .load(conn)
}

/// The errors of an account's last `n` runs up to run `up_to`, newest first (`None` for a run
/// that succeeded).
pub fn errors_up_to(
    conn: &mut Conn,
    account_id: i32,
    up_to: i32,
    n: i64,
) -> QueryResult<Vec<Option<String>>> {
    sync_runs::table
        .filter(sync_runs::account_id.eq(account_id))
        .filter(sync_runs::id.le(up_to))
        .order(sync_runs::id.desc())
        .limit(n)
        .select(sync_runs::error)
        .load(conn)
}

/// When the full sync last succeeded for every one of `names`: the oldest of their latest
/// successful full runs; `None` when one of them never had one.
pub fn last_full_success(conn: &mut Conn, names: &[String]) -> QueryResult<Option<i64>> {
    let mut oldest: Option<i64> = None;
    for name in names {
        let last: Option<i64> = sync_runs::table
            .inner_join(accounts::table)
            .filter(accounts::name.eq(name))
            .filter(sync_runs::kind.eq("full"))
            .filter(sync_runs::error.is_null())
            .select(diesel::dsl::max(sync_runs::finished_at))
            .first(conn)?;
        let Some(last) = last else { return Ok(None) };
        oldest = Some(oldest.map_or(last, |o| o.min(last)));
    }
    Ok(oldest)
}
