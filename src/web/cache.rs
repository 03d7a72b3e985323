//! A page cache for the dashboard's GET pages and their JSON mirrors. A page is rebuilt only
//! when the data changed: SQLite's `PRAGMA data_version`, read on a connection of the cache's
//! own that never writes, changes whenever any connection of any process commits (a webhook,
//! a sync, a `templar send` in another process). A request is answered with a page whose build
//! started after it arrived, so nobody sees data older than their click, with one exception
//! that keeps the dashboard fast while webhooks stream in: while another request is already
//! rebuilding the page, a request gets the page as last built if that build started less than
//! [`STALE`] ago (`X-Templar-Cache: stale`). Pages are rebuilt at least every minute all the
//! same, for the ages they show.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::Conn;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use diesel::prelude::*;

use super::AppState;

/// How old a page may be when served during another request's rebuild of it (measured from
/// when its build started). Without it, under a steady stream of commits every request waited
/// for a build: p99 171 ms (overview) at 10k templates with 1,000 webhook events/s; with it,
/// see docs/benchmarks.md (Dashboard, live).
pub const STALE: std::time::Duration = std::time::Duration::from_secs(2);
/// Pages also say how long ago things happened ("waiting 3h"): rebuilt at least this often.
const MAX_AGE: std::time::Duration = std::time::Duration::from_secs(60);
/// Pages (and misses) tracked at most; the least recently asked for go first.
const CAPACITY: usize = 4096;
/// Longest address whose page is kept (longer ones are built each time).
const MAX_KEY: usize = 2048;
/// Largest page body the cache buffers (pages are paged; the largest are well under 1 MB).
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Clone)]
struct Entry {
    version: i64,
    /// When its build started (its data is at least that new).
    started: Instant,
    content_type: HeaderValue,
    body: Bytes,
}

/// One page: the entry as last built (read without waiting), and the lock a build holds.
#[derive(Default)]
struct SlotInner {
    entry: Mutex<Option<Entry>>,
    build: tokio::sync::Mutex<()>,
}

type Slot = Arc<SlotInner>;

/// The pages kept: per key, when it was last asked for, its slot, and its body's size.
#[derive(Default)]
struct Slots {
    map: HashMap<String, (Instant, Slot, usize)>,
    /// The sum of the sizes: never above the cache's byte budget.
    bytes: usize,
}

impl Slots {
    /// Drops the least recently asked-for page (not `keep`); whether there was one.
    fn evict_one(&mut self, keep: &str) -> bool {
        let oldest = self
            .map
            .iter()
            .filter(|(k, _)| k.as_str() != keep)
            .min_by_key(|(_, (at, _, _))| *at)
            .map(|(k, _)| k.clone());
        match oldest.and_then(|k| self.map.remove(&k)) {
            Some((_, _, size)) => {
                self.bytes -= size;
                true
            }
            None => false,
        }
    }
}

/// The cache, shared by every request.
#[derive(Clone)]
pub struct PageCache {
    /// A connection that only ever reads the database's data version; `None` disables caching.
    watcher: Option<Arc<Mutex<Conn>>>,
    /// Where to open a new watcher when a PostgreSQL one breaks (a server restart).
    db: Option<crate::db::Db>,
    slots: Arc<Mutex<Slots>>,
    /// The most page bytes kept (`server.page_cache_mb`).
    budget: usize,
    /// Page builds at once (`server.page_builds`): a burst of distinct pages queues here
    /// instead of building all at once, each with its own memory.
    builds: Arc<tokio::sync::Semaphore>,
}

#[derive(QueryableByName)]
struct DataVersion {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    data_version: i64,
}

impl PageCache {
    /// A cache watching `db` through a connection of its own (none: caching off), keeping at
    /// most `budget` bytes of pages and building at most `builds` at once.
    pub fn new(db: Option<&crate::db::Db>, budget: usize, builds: usize) -> Self {
        let watcher = db.and_then(|db| {
            db.dedicated()
                .map_err(|e| tracing::warn!("page cache off: {e}"))
                .ok()
        });
        PageCache {
            watcher: watcher.map(|c| Arc::new(Mutex::new(c))),
            db: db.filter(|db| db.is_postgres()).cloned(),
            slots: Arc::default(),
            budget,
            builds: Arc::new(tokio::sync::Semaphore::new(builds.max(1))),
        }
    }

    /// Drops `key`'s slot (an answer that is not kept leaves no key behind).
    fn forget(&self, key: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, size)) = slots.map.remove(key) {
            slots.bytes -= size;
        }
    }

    /// The bytes of the pages kept now.
    pub fn bytes(&self) -> usize {
        self.slots.lock().unwrap_or_else(|p| p.into_inner()).bytes
    }

    /// Records the size of the page just stored under `key`, then drops the least recently
    /// used pages until the budget holds. Returns whether the page may stay (one larger than
    /// the whole budget may not).
    fn stored(&self, key: &str, size: usize) -> bool {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if size > self.budget {
            return false;
        }
        let Slots { map, bytes } = &mut *slots;
        match map.get_mut(key) {
            Some((_, _, old)) => {
                *bytes = *bytes - *old + size;
                *old = size;
            }
            None => return false,
        }
        while slots.bytes > self.budget && slots.evict_one(key) {}
        true
    }

    /// The database's data version, or `None` when it cannot be read (then nothing is cached).
    ///
    /// SQLite's `data_version` changes when another connection commits. On PostgreSQL every
    /// table's statement trigger moves `data_version.n` once per transaction that changed
    /// data, whichever replica ran it, so a page built before another replica's webhook is
    /// not served after it.
    ///
    /// SQLite's answer is a local read of microseconds. PostgreSQL's is a round trip, made off
    /// the async threads and given up after [`VERSION_WAIT`] (the page is then built without
    /// the cache), so a stalled server cannot freeze the runtime; a connection that broke is
    /// replaced.
    async fn version(&self) -> Option<i64> {
        let w = self.watcher.clone()?;
        let Some(db) = self.db.clone() else {
            let mut c = w.lock().unwrap_or_else(|p| p.into_inner());
            return read_version(&mut c);
        };
        let read = tokio::task::spawn_blocking(move || {
            // A read still waiting on a stalled server holds the watcher: do not queue behind.
            let mut c = w.try_lock().ok()?;
            let v = read_version(&mut c);
            if v.is_none() && diesel::r2d2::R2D2Connection::is_broken(&mut *c) {
                if let Ok(fresh) = db.dedicated() {
                    *c = fresh;
                }
            }
            v
        });
        tokio::time::timeout(VERSION_WAIT, read).await.ok()?.ok()?
    }

    fn slot(&self, key: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if !slots.map.contains_key(key) && slots.map.len() >= CAPACITY {
            slots.evict_one(key);
        }
        let (at, slot, _) = slots
            .map
            .entry(key.to_string())
            .or_insert_with(|| (Instant::now(), Arc::default(), 0));
        *at = Instant::now();
        slot.clone()
    }
}

/// How long a page waits for PostgreSQL's data version before it is built uncached.
const VERSION_WAIT: Duration = Duration::from_secs(2);

fn read_version(c: &mut Conn) -> Option<i64> {
    let text = match c {
        Conn::Sqlite(_) => "PRAGMA data_version",
        Conn::Pg(_) => "SELECT n AS data_version FROM data_version",
    };
    diesel::sql_query(text)
        .get_result::<DataVersion>(c)
        .ok()
        .map(|v| v.data_version)
}

fn fresh(e: &Entry, version: i64, arrived: Instant) -> bool {
    (e.version == version && e.started.elapsed() < MAX_AGE) || e.started >= arrived
}

fn respond(e: &Entry, hit: bool) -> Response {
    respond_as(e, if hit { "hit" } else { "miss" })
}

fn respond_as(e: &Entry, how: &'static str) -> Response {
    let mut r = (StatusCode::OK, e.body.clone()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, e.content_type.clone());
    r.headers_mut()
        .insert("x-templar-cache", HeaderValue::from_static(how));
    r
}

/// Serves cacheable GETs from the cache, building each page once per data change.
pub async fn layer(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let cache = &state.pages;
    if req.method() != Method::GET {
        return next.run(req).await;
    }
    let arrived = Instant::now();
    let Some(version) = cache.version().await else {
        return next.run(req).await;
    };
    let key = req.uri().to_string();
    // Keys count against memory too: a long address is built, not kept. A page carrying a
    // form's one-time message is built for that one request.
    if key.len() > MAX_KEY || req.uri().query().is_some_and(|q| q.contains("flash=")) {
        return next.run(req).await;
    }
    let slot = cache.slot(&key);
    let last = slot.entry.lock().unwrap_or_else(|p| p.into_inner()).clone();
    if let Some(e) = last.as_ref().filter(|e| fresh(e, version, arrived)) {
        return respond(e, true);
    }
    let _guard = match slot.build.try_lock() {
        Ok(g) => g,
        Err(_) => {
            // Someone is rebuilding this page right now: a recent enough build will do.
            if let Some(e) = last.as_ref().filter(|e| e.started.elapsed() < STALE) {
                return respond_as(e, "stale");
            }
            let g = slot.build.lock().await;
            let done = slot.entry.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if let Some(e) = done.as_ref().filter(|e| fresh(e, version, arrived)) {
                return respond(e, true);
            }
            g
        }
    };
    // Read the version before building, so a change during the build makes the next
    // request rebuild.
    let version = cache.version().await.unwrap_or(version);
    let started = Instant::now();
    let _building = cache.builds.acquire().await;
    let page = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let build = Instant::now();
    let resp = next.run(req).await;
    state.metrics.observe(
        "templar_page_build_seconds",
        &[("page", &page)],
        build.elapsed().as_secs_f64(),
    );
    if resp.status() != StatusCode::OK {
        cache.forget(&key);
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let Some(content_type) = parts.headers.get(header::CONTENT_TYPE).cloned() else {
        return Response::from_parts(parts, body);
    };
    let bytes = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "page too large").into_response();
        }
    };
    let entry = Entry {
        version,
        started,
        content_type,
        body: bytes,
    };
    let out = respond(&entry, false);
    let keep = cache.stored(&key, entry.body.len());
    *slot.entry.lock().unwrap_or_else(|p| p.into_inner()) = keep.then_some(entry);
    out
}
