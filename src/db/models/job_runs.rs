//! `job_runs`: when each scheduled job last succeeded, so `serve` catches up on what it missed.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::upsert::excluded;

use crate::db::schema::job_runs;

/// The `job_runs` key of one account's usage pull.
pub fn usage_job(account: &str) -> String {
    format!("usage:{account}")
}

/// Records that `job` finished without error at `at`.
pub fn succeeded(conn: &mut Conn, job: &str, at: i64) -> QueryResult<()> {
    crate::on_backend!(conn, bc => diesel::insert_into(job_runs::table)
        .values((job_runs::job.eq(job), job_runs::succeeded_at.eq(at)))
        .on_conflict(job_runs::job)
        .do_update()
        .set(job_runs::succeeded_at.eq(excluded(job_runs::succeeded_at)))
        .execute(bc))
    .map(|_| ())
}

/// When `job` last succeeded, if ever.
pub fn last_success(conn: &mut Conn, job: &str) -> QueryResult<Option<i64>> {
    job_runs::table
        .find(job)
        .select(job_runs::succeeded_at)
        .first(conn)
        .optional()
}
