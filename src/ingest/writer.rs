//! The single writer: every webhook request hands its events to one thread, which applies as
//! many requests as are waiting in one transaction (group commit), then answers each. A request
//! is acknowledged only after its data is committed, and throughput is bounded by the HTTP
//! stack rather than by one commit per request.
//!
//! Checkpoints (copying committed pages from the WAL into the database file, with an fsync) run
//! on a thread of their own. Left to SQLite they run inside whichever commit crosses 1,000 WAL
//! pages, and every webhook waiting on that commit waits for the disk too: under load that cost
//! an eighth of the throughput and doubled p99.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::Conn;
use diesel::connection::SimpleConnection;
use tokio::sync::{mpsc, oneshot};

use super::apply::{self, Outcome, Resolver};
use super::IngestEvent;
use crate::db::{write_transaction, Db};

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

/// How often the checkpointer copies what the writer committed into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// WAL pages (4 KiB each) past which the checkpointer briefly holds the writer back so that
/// the log restarts from its beginning. Copying alongside a busy writer never catches up with
/// it completely, and SQLite reuses the log only once it has.
const WAL_RESTART_PAGES: i64 = 16_384;

/// How long a restart may hold the writer back waiting for readers (milliseconds).
const RESTART_WAIT_MS: u32 = 50;

/// How long after a restart gave up the next one is tried.
const RESTART_BACKOFF: Duration = Duration::from_secs(1);

impl Writer {
    /// Starts the writer thread on its own connection to the database. It stops when every
    /// handle is dropped.
    pub fn start(db: Db, resolver: Arc<Resolver>) -> Writer {
        let (tx, rx) = mpsc::channel::<Job>(4096);
        let spawned = std::thread::Builder::new()
            .name("templar-writer".into())
            .spawn(move || match db.dedicated() {
                Ok(mut conn) => {
                    // The checkpointer stops when this sender goes, with the writer.
                    let (_alive, writer_gone) = std::sync::mpsc::channel::<()>();
                    // PostgreSQL checkpoints by itself; SQLite's WAL is the writer's to keep.
                    let checkpointing = !db.is_postgres()
                        && match db.dedicated() {
                            Ok(c) => start_checkpointer(c, writer_gone),
                            Err(e) => {
                                tracing::error!("the checkpointer cannot open the database: {e}");
                                false
                            }
                        };
                    // Without a checkpointer, SQLite's own checkpoints stay on.
                    if checkpointing {
                        if let Err(e) = conn.batch_execute("PRAGMA wal_autocheckpoint = 0") {
                            tracing::warn!("webhook writer: checkpoints stay in its commits: {e}");
                        }
                    }
                    run(&db, conn, resolver, rx);
                }
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

/// Starts the checkpoint thread; whether it started.
fn start_checkpointer(mut conn: Conn, writer_gone: Receiver<()>) -> bool {
    // A restart holds the writer back while it waits for readers of older snapshots (a long
    // export, say): it waits this long at most, then leaves the log alone for a while.
    if let Err(e) = conn.batch_execute(&format!("PRAGMA busy_timeout = {RESTART_WAIT_MS}")) {
        tracing::warn!("checkpointer: {e}");
    }
    let spawned = std::thread::Builder::new()
        .name("templar-checkpoint".into())
        .spawn(move || {
            let mut restart_after = Instant::now();
            while let Err(RecvTimeoutError::Timeout) = writer_gone.recv_timeout(CHECKPOINT_EVERY) {
                checkpoint_round(&mut conn, &mut restart_after, WAL_RESTART_PAGES);
            }
        });
    match spawned {
        Ok(_) => true,
        Err(e) => {
            tracing::error!("cannot start the checkpoint thread: {e}");
            false
        }
    }
}

/// Copies what is committed into the database file; past `restart_pages` pages of log, also
/// restarts the log, unless a restart recently had to give up.
fn checkpoint_round(conn: &mut Conn, restart_after: &mut Instant, restart_pages: i64) {
    match checkpoint(conn, "PASSIVE") {
        Ok(wal) if wal.log > restart_pages && Instant::now() >= *restart_after => {
            match checkpoint(conn, "RESTART") {
                Ok(wal) if wal.busy == 0 => {}
                Ok(_) => {
                    tracing::debug!("WAL restart waits for a reader; trying again later");
                    *restart_after = Instant::now() + RESTART_BACKOFF;
                }
                Err(e) => {
                    tracing::warn!("checkpoint (restart): {e}");
                    *restart_after = Instant::now() + RESTART_BACKOFF;
                }
            }
        }
        Ok(_) => {}
        Err(e) => tracing::warn!("checkpoint: {e}"),
    }
}

/// What `PRAGMA wal_checkpoint` reports.
#[derive(diesel::QueryableByName, Debug)]
struct Wal {
    /// 1 when a RESTART could not finish (readers or a writer in the way).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
    /// Pages in the log.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    log: i64,
}

/// Runs a checkpoint of `mode`.
fn checkpoint(conn: &mut Conn, mode: &str) -> diesel::QueryResult<Wal> {
    use diesel::RunQueryDsl;
    diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)
}

/// Replaces the writer's connection when it no longer works (the server restarted or failed
/// over, the session was killed, a failed transaction left it unusable), so webhooks keep being
/// accepted without a restart of `serve`. A reconnect that fails is tried again at the next
/// request.
fn heal(db: &Db, conn: &mut Conn) {
    use diesel::r2d2::R2D2Connection;
    if !conn.is_broken() && conn.ping().is_ok() {
        return;
    }
    match db.dedicated() {
        Ok(fresh) => {
            tracing::warn!("webhook writer: reconnected to the database");
            *conn = fresh;
        }
        Err(e) => tracing::error!("webhook writer: cannot reconnect to the database: {e}"),
    }
}

fn run(db: &Db, mut conn: Conn, resolver: Arc<Resolver>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = vec![first];
        if diesel::r2d2::R2D2Connection::is_broken(&mut conn) {
            heal(db, &mut conn);
        }
        // No lingering: with callers waiting on the commit, waiting for company only adds
        // latency. Requests that arrive while the group is being applied join it, so the
        // commit (its WAL writes and locks, about half of what a group of 15 costs) is shared
        // by as many as are ready; whatever queues during the commit forms the next group.
        let group = write_transaction(&mut conn, |conn| -> diesel::QueryResult<Vec<_>> {
            let mut cache = apply::Cache::default();
            let mut outcomes = Vec::with_capacity(jobs.len());
            loop {
                for j in &jobs[outcomes.len()..] {
                    let d = &j.delivery;
                    outcomes.push(apply::apply_cached(
                        conn,
                        &resolver,
                        &mut cache,
                        &d.events,
                        d.key.as_deref(),
                        d.now,
                    )?);
                }
                let before = jobs.len();
                while jobs.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(j) => jobs.push(j),
                        Err(_) => break,
                    }
                }
                if jobs.len() == before {
                    break;
                }
            }
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
                // One bad request must not fail the others: retry each on its own, on a
                // connection that works.
                tracing::warn!(
                    "group commit of {} webhook requests failed ({e}); applying one by one",
                    jobs.len()
                );
                heal(db, &mut conn);
                for job in jobs {
                    let d = &job.delivery;
                    let one = write_transaction(&mut conn, |conn| {
                        apply::apply(conn, &resolver, &d.events, d.key.as_deref(), d.now)
                    })
                    .map_err(|e: diesel::result::Error| e.to_string());
                    let _ = job.reply.send(one);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{Delivery as Status, IngestEvent, MessageStatus, TemplateHint};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn committed_pages_reach_the_database_file_without_the_writer_checkpointing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        // Whatever the migrations left in the WAL goes into the file first.
        {
            let mut c = db.dedicated().unwrap();
            checkpoint(&mut c, "TRUNCATE").unwrap();
        }
        let before = std::fs::metadata(&path).unwrap().len();
        let writer = Writer::start(db.clone(), Arc::new(Resolver::default()));
        for batch in 0..20 {
            let events = (0..100)
                .map(|i| {
                    IngestEvent::Status(MessageStatus {
                        wamid: format!("wamid.{batch}.{i}"),
                        phone_number_id: "p".into(),
                        waba_id: None,
                        recipient: "x".repeat(200),
                        status: Status::Sent,
                        at: 1_790_000_000,
                        error_code: None,
                        error_title: None,
                        category: None,
                        template: TemplateHint::Unknown,
                        origin: "webhook",
                    })
                })
                .collect();
            let d = Delivery {
                events,
                key: None,
                now: 1_790_000_000,
            };
            writer.submit(d).await.unwrap();
        }
        // The writer never checkpoints; only the checkpoint thread can grow the file.
        let mut size = before;
        for _ in 0..100 {
            size = std::fs::metadata(&path).unwrap().len();
            if size > before + 200 * 1024 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            size > before + 200 * 1024,
            "2,000 messages of 200+ bytes reach the database file: {before} -> {size} bytes"
        );
    }

    #[test]
    fn a_restart_gives_up_on_a_reader_of_an_old_snapshot_then_backs_off() {
        use diesel::RunQueryDsl;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Db::open(&path).unwrap();
        let mut writer = db.dedicated().unwrap();
        writer
            .batch_execute("PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x TEXT)")
            .unwrap();
        let write = |c: &mut Conn| {
            diesel::sql_query("INSERT INTO t VALUES (printf('%.5000c', 'x'))")
                .execute(c)
                .unwrap();
        };
        write(&mut writer);
        let mut reader = db.dedicated().unwrap();
        reader
            .batch_execute("BEGIN; SELECT count(*) FROM t;")
            .unwrap();
        write(&mut writer);
        let mut ck = db.dedicated().unwrap();
        ck.batch_execute(&format!("PRAGMA busy_timeout = {RESTART_WAIT_MS}"))
            .unwrap();

        let mut restart_after = Instant::now();
        let started = Instant::now();
        checkpoint_round(&mut ck, &mut restart_after, 0);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "gave up instead of waiting for the reader"
        );
        assert!(restart_after > Instant::now(), "backs off after giving up");
        write(&mut writer); // the writer is not held back

        reader.batch_execute("COMMIT").unwrap();
        restart_after = Instant::now();
        checkpoint_round(&mut ck, &mut restart_after, 0);
        write(&mut writer);
        let wal = checkpoint(&mut ck, "PASSIVE").unwrap();
        assert!(
            wal.log <= 3,
            "after the restart the log starts over: {} pages",
            wal.log
        );
    }
}
