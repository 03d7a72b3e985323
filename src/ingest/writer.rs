//! The single writer: every webhook request hands its events to one thread, which applies as
//! many requests as are waiting in one transaction (group commit), then answers each. A request
//! is acknowledged only after its data is committed, and throughput is bounded by the HTTP
//! stack rather than by one commit per request.

use std::path::PathBuf;
use std::sync::Arc;

use diesel::SqliteConnection;
use tokio::sync::{mpsc, oneshot};

use super::apply::{self, Outcome, Resolver};
use super::IngestEvent;
use crate::db::Db;

/// One request's worth of events.
#[derive(Debug)]
pub struct Delivery {
    pub events: Vec<IngestEvent>,
    /// Kapso's `X-Idempotency-Key`: a delivery already applied changes nothing.
    pub key: Option<String>,
    pub now: i64,
}

struct Job {
    delivery: Delivery,
    reply: oneshot::Sender<Result<Outcome, String>>,
}

/// A handle to the writer; cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Job>,
}

/// Requests applied in one transaction at most.
const MAX_GROUP: usize = 512;

impl Writer {
    /// Starts the writer thread on its own connection to the database at `path`. It stops
    /// when every handle is dropped.
    pub fn start(db: Db, path: PathBuf, resolver: Arc<Resolver>) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let spawned = std::thread::Builder::new()
            .name("templar-writer".into())
            .spawn(move || match db.dedicated(&path) {
                Ok(conn) => run(conn, resolver, rx),
                Err(e) => tracing::error!("the webhook writer cannot open the database: {e}"),
            });
        if let Err(e) = spawned {
            tracing::error!("cannot start the webhook writer thread: {e}");
        }
        Writer { tx }
    }

    /// Applies a delivery; returns once it is committed.
    pub async fn submit(&self, delivery: Delivery) -> Result<Outcome, String> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { delivery, reply })
            .await
            .map_err(|_| "the webhook writer has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the webhook writer dropped the request".to_string())?
    }
}

fn run(mut conn: SqliteConnection, resolver: Arc<Resolver>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        // No lingering: with callers waiting on the commit, waiting for company only adds
        // latency. Whatever queued during the last commit forms the next group by itself.
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let group = conn.immediate_transaction(|conn| -> diesel::QueryResult<Vec<_>> {
            let mut cache = apply::Cache::default();
            let outcomes = jobs
                .iter()
                .map(|j| {
                    let d = &j.delivery;
                    apply::apply_cached(
                        conn,
                        &resolver,
                        &mut cache,
                        &d.events,
                        d.key.as_deref(),
                        d.now,
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            cache.flush(conn)?;
            Ok(outcomes)
        });
        match group {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                // One bad request must not fail the others: retry each on its own.
                tracing::warn!(
                    "group commit of {} webhook requests failed ({e}); applying one by one",
                    jobs.len()
                );
                for job in jobs {
                    let d = &job.delivery;
                    let one = conn
                        .immediate_transaction(|conn| {
                            apply::apply(conn, &resolver, &d.events, d.key.as_deref(), d.now)
                        })
                        .map_err(|e: diesel::result::Error| e.to_string());
                    let _ = job.reply.send(one);
                }
            }
        }
    }
}
