//! Which replica runs the scheduled jobs. Every `serve` process accepts webhooks, serves pages
//! and delivers notifications; only the leader runs [`super::run`].
//!
//! On SQLite there is one machine, and its `serve` leads from the start. On PostgreSQL each
//! replica campaigns for a session advisory lock on a connection of its own, every
//! [`CAMPAIGN`]. The holder leads while that connection lives: it checks it every
//! [`CAMPAIGN`] and stops its jobs when it breaks. The server releases the lock when the
//! connection closes, so a leader that is stopped (it closes the connection after its jobs
//! end) or killed (its socket closes with the process) is replaced within one campaign
//! interval by another replica. A run can never overlap another of the same job: besides
//! leadership, every sync also holds the sync lock (`sync::lock`).

use std::future::Future;
use std::time::Duration;

use diesel::RunQueryDsl;
use tokio::sync::watch;

use crate::db::{Conn, Db};
use crate::metrics::Metrics;

/// How often a follower tries to lead, and a leader checks its connection.
pub const CAMPAIGN: Duration = Duration::from_secs(3);

/// The advisory lock key whose holder leads.
const LEADER_LOCK: i64 = 0x7465_6d70_6c61_0003;

/// Runs `jobs` whenever this replica leads, until `shutdown`. `jobs` gets a receiver that
/// turns true when it must stop (shutdown, or leadership lost) and should return soon after.
pub async fn lead<F, Fut>(
    db: Db,
    metrics: Metrics,
    mut shutdown: watch::Receiver<bool>,
    mut jobs: F,
) where
    F: FnMut(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        if *shutdown.borrow() {
            return;
        }
        let held = if db.is_postgres() {
            match campaign(&db).await {
                Some(conn) => Some(conn),
                None => {
                    tokio::select! {
                        _ = tokio::time::sleep(CAMPAIGN) => continue,
                        _ = shutdown.changed() => return,
                    }
                }
            }
        } else {
            None
        };
        tracing::info!("this replica leads: it runs the scheduled jobs");
        metrics.set_leader(true);
        let (stop, stopped) = watch::channel(false);
        let running = tokio::spawn(jobs(stopped));
        let mut held = held;
        let shutting_down = loop {
            tokio::select! {
                _ = shutdown.changed() => break true,
                _ = tokio::time::sleep(CAMPAIGN), if held.is_some() => {
                    let conn = held.take();
                    // A check that hangs (a half-open connection, a failover) counts as lost:
                    // better no leader for a moment than two.
                    let check = tokio::task::spawn_blocking(move || conn.and_then(still_held));
                    match tokio::time::timeout(CAMPAIGN, check).await {
                        Ok(Ok(Some(conn))) => held = Some(conn),
                        _ => {
                            tracing::warn!("lost the leader lock (its connection broke); \
                                            stopping the scheduled jobs");
                            break false;
                        }
                    }
                }
            }
        };
        let _ = stop.send(true);
        let _ = running.await;
        metrics.set_leader(false);
        // Released at once for the next replica (closing the connection would too, once the
        // server noticed).
        if let Some(mut conn) = held {
            let _ = tokio::task::spawn_blocking(move || {
                crate::on_backend!(&mut conn, c =>
                    diesel::sql_query("SELECT pg_advisory_unlock($1)")
                        .bind::<diesel::sql_types::BigInt, _>(LEADER_LOCK)
                        .execute(c))
            })
            .await;
        }
        if shutting_down {
            return;
        }
    }
}

/// Tries once to take the leader lock; the connection that holds it, if taken.
async fn campaign(db: &Db) -> Option<Conn> {
    let db = db.clone();
    tokio::task::spawn_blocking(move || {
        #[derive(diesel::QueryableByName)]
        struct Got {
            #[diesel(sql_type = diesel::sql_types::Bool)]
            locked: bool,
        }
        let mut conn = match db.dedicated() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("cannot campaign for leadership: {e}");
                return None;
            }
        };
        let got: Result<Got, _> = crate::on_backend!(&mut conn, c =>
            diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked")
                .bind::<diesel::sql_types::BigInt, _>(LEADER_LOCK)
                .get_result(c));
        match got {
            Ok(g) if g.locked => Some(conn),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!("cannot campaign for leadership: {e}");
                None
            }
        }
    })
    .await
    .ok()
    .flatten()
}

/// The connection back if it still answers (and so still holds the session's lock).
fn still_held(mut conn: Conn) -> Option<Conn> {
    use diesel::connection::SimpleConnection;
    conn.batch_execute("SELECT 1").ok().map(|()| conn)
}
