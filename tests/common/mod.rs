//! Test helpers: a simulator on a free local port, a config pointing at it in a scratch
//! directory, and small wrappers around the control API.
#![allow(dead_code, reason = "not every test uses every helper")]

pub mod app;
pub mod receivers;

pub use app::{App, Channel};

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use serde_json::Value;
use templar::config::Config;
use templar::db::Db;
use templar::sim::{Sim, SimOptions};
use templar::sync::{self, SyncContext, SyncMode, SyncOptions, SyncReport};

/// A simulator, a config and a database, all scratch.
pub struct Env {
    pub sim: Sim,
    pub dir: tempfile::TempDir,
    pub config: Config,
    pub db: Db,
    pub http: reqwest::Client,
}

pub async fn start(accounts: usize, templates: usize) -> Env {
    App::new(accounts, templates).start().await
}

/// Starts a simulator and writes templar's config, built from the simulator's by `config`.
async fn start_env(opts: SimOptions, config: impl FnOnce(toml::Table) -> toml::Table) -> Env {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Simulated time starts three days ago, so a couple of simulated days stay in the past.
    let sim = Sim::start(opts, listener, now().timestamp() - 3 * 86_400)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let table: toml::Table = toml::from_str(&sim.config_toml()).unwrap();
    let path = dir.path().join("templar.toml");
    let mut table = config(table);
    if let Some(url) = scratch_postgres() {
        table.insert("database".into(), url.into());
    }
    std::fs::write(&path, toml::to_string(&table).unwrap()).unwrap();
    let config = Config::load(&path, &|_| None).unwrap();
    let db = Db::open(&config.database).unwrap();
    Env {
        sim,
        dir,
        config,
        db,
        http: reqwest::Client::new(),
    }
}

/// With `TEMPLAR_TEST_POSTGRES` set (to a server URL, as `.ci/test` does for the PostgreSQL
/// run), a new empty database on that server for one test; otherwise `None` (SQLite).
pub fn scratch_postgres() -> Option<String> {
    use diesel::{Connection, RunQueryDsl};
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = std::env::var("TEMPLAR_TEST_POSTGRES").ok()?;
    let name = format!(
        "t{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        rand::random::<u32>()
    );
    let mut admin = diesel::PgConnection::establish(&server).expect("the test PostgreSQL server");
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .unwrap();
    let (base, _) = server.rsplit_once('/').expect("a URL ending in /database");
    Some(format!("{base}/{name}"))
}

/// A second, empty database for a test: on the PostgreSQL server in the PostgreSQL run, else
/// an SQLite file `name` in `dir`.
pub fn scratch_database(dir: &Path, name: &str) -> templar::db::Location {
    match scratch_postgres() {
        Some(url) => templar::db::Location::Postgres(url),
        None => templar::db::Location::Sqlite(dir.join(name)),
    }
}

/// Ends a test that is about SQLite itself (its file, WAL, PRAGMAs) early in the PostgreSQL
/// run, saying why.
#[macro_export]
macro_rules! sqlite_only {
    ($why:expr) => {
        if $crate::common::on_postgres() {
            eprintln!("SQLite only: {}", $why);
            return;
        }
    };
}

/// Whether this run is the PostgreSQL one.
pub fn on_postgres() -> bool {
    std::env::var_os("TEMPLAR_TEST_POSTGRES").is_some()
}

impl Env {
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("templar.toml")
    }

    pub fn ctx(&self) -> SyncContext {
        SyncContext {
            db: self.db.clone(),
            config: Arc::new(self.config.clone()),
            client: templar::sources::http_client(),
            metrics: Default::default(),
        }
    }

    pub async fn sync(&self) -> SyncReport {
        self.sync_with(SyncMode::Full, false).await
    }

    pub async fn sync_with(&self, mode: SyncMode, dry_run: bool) -> SyncReport {
        let opts = SyncOptions {
            mode,
            account: None,
            dry_run,
        };
        sync::run_once(&self.ctx(), &opts, now()).await.unwrap()
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .http
            .request(method, format!("{}{path}", self.sim.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.control(reqwest::Method::POST, path, body).await
    }

    pub async fn sim_state(&self) -> Value {
        self.http
            .get(format!("{}/_sim/state", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sim_stats(&self) -> Value {
        self.http
            .get(format!("{}/_sim/stats", self.sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The first simulated template with this status.
    pub async fn template_with_status(&self, status: &str) -> Value {
        let state = self.sim_state().await;
        state["templates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["status"] == status)
            .cloned()
            .unwrap()
    }

    /// One pass of the notifier's outbox fill, now: the deliveries it queued.
    pub fn notify_pass(&self) -> usize {
        let mut c = self.db.conn().unwrap();
        templar::notify::outbox::expand(&mut c, &self.config, now().timestamp()).unwrap()
    }

    /// Counts rows of a table.
    pub fn count(&self, table: &str) -> i64 {
        count(&self.db, table)
    }

    /// Runs the templar binary with this env's config.
    pub fn cli(&self, args: &[&str]) -> Output {
        cli(&self.config_path(), args)
    }
}

pub fn count(db: &Db, table: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut c = db.conn().unwrap();
    diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
        .get_result::<N>(&mut c)
        .unwrap()
        .n
}

/// Runs the templar binary.
pub fn cli(config: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    templar::clock::now()
}

/// Events of the template with Meta id `id`: (field, from, to, source).
pub fn events(db: &Db, id: &str) -> Vec<(String, Option<String>, String, String)> {
    use diesel::prelude::*;
    use templar::db::schema::{template_events as e, templates as t};
    let mut c = db.conn().unwrap();
    e::table
        .inner_join(t::table)
        .filter(t::template_id.eq(id))
        .order(e::id)
        .select((e::field, e::old_value, e::new_value, e::source))
        .load(&mut c)
        .unwrap()
}

/// A running `templar serve` (scheduler, HTTP, writer) for this env.
pub struct Server {
    pub url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
    }
}

/// Starts `serve` on `listener` with this env's config.
pub async fn serve(config: &Config, listener: tokio::net::TcpListener) -> Server {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let config = config.clone();
    let handle = tokio::spawn(async move {
        templar::cli::serve::serve(config, listener, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Server {
        url,
        stop: Some(tx),
        handle: Some(handle),
    }
}

/// A simulator that posts its webhooks to a templar server, both running.
pub async fn start_live(mut opts: SimOptions) -> (Env, Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    opts.webhook_url = Some(format!("http://{}", listener.local_addr().unwrap()));
    let env = App::with_sim(opts).start().await;
    let server = serve(&env.config, listener).await;
    (env, server)
}

/// Posts a Meta webhook signed with the simulator's app secret.
pub async fn post_meta(http: &reqwest::Client, base: &str, body: &str) -> reqwest::StatusCode {
    let sig = templar::signing::sign(templar::sim::META_APP_SECRET.as_bytes(), body.as_bytes());
    http.post(format!("{base}/webhooks/meta"))
        .header("x-hub-signature-256", format!("sha256={sig}"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

/// Posts a Kapso webhook signed with the simulator's secret.
pub async fn post_kapso(
    http: &reqwest::Client,
    base: &str,
    event: &str,
    key: &str,
    body: &str,
) -> reqwest::StatusCode {
    let sig = templar::signing::sign(
        templar::sim::KAPSO_WEBHOOK_SECRET.as_bytes(),
        body.as_bytes(),
    );
    http.post(format!("{base}/webhooks/kapso"))
        .header("x-webhook-signature", sig)
        .header("x-webhook-event", event)
        .header("x-idempotency-key", key)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

/// Posts a simulator webhook as the simulator would.
pub async fn post_hook(
    http: &reqwest::Client,
    base: &str,
    hook: &templar::sim::Webhook,
) -> reqwest::StatusCode {
    let mut req = http
        .post(format!("{base}{}", hook.path()))
        .header("content-type", "application/json");
    for (k, v) in hook.headers() {
        req = req.header(k, v);
    }
    req.body(hook.body.clone()).send().await.unwrap().status()
}

/// (template_row, day) -> [sent, delivered, read, clicked, failed].
pub type DailyCounts = std::collections::BTreeMap<(i32, String), [i64; 5]>;
type StatusTimes = (
    Option<i32>,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Observed daily stats as stored, and as recounted from `messages`.
pub fn stats_and_recount(db: &Db) -> (DailyCounts, DailyCounts) {
    use diesel::prelude::*;
    use templar::db::schema::{messages as m, template_daily_stats as s};
    let mut c = db.conn().unwrap();
    let stored: Vec<(i32, String, i64, i64, i64, i64, i64)> = s::table
        .filter(s::origin.eq("observed"))
        .select((
            s::template_row,
            s::day,
            s::sent,
            s::delivered,
            s::read,
            s::clicked,
            s::failed,
        ))
        .load(&mut c)
        .unwrap();
    let rows: Vec<StatusTimes> = m::table
        .select((
            m::template_row,
            m::day,
            m::sent_at,
            m::delivered_at,
            m::read_at,
            m::clicked_at,
            m::failed_at,
        ))
        .load(&mut c)
        .unwrap();
    let stored = stored
        .into_iter()
        .filter(|r| [r.2, r.3, r.4, r.5, r.6] != [0; 5])
        .map(|r| ((r.0, r.1), [r.2, r.3, r.4, r.5, r.6]))
        .collect();
    let mut recount = std::collections::BTreeMap::new();
    for (t, day, a, b, c2, d, e) in rows {
        let Some(t) = t else { continue };
        let v: &mut [i64; 5] = recount.entry((t, day)).or_default();
        for (slot, x) in v.iter_mut().zip([a, b, c2, d, e]) {
            *slot += i64::from(x.is_some());
        }
    }
    (stored, recount)
}

/// The web app of this env, for `oneshot` requests.
pub fn app(env: &Env) -> axum::Router {
    app_on(&env.db, &env.config)
}

/// The web app on any database and config (a second installation against the same simulator).
pub fn app_on(db: &Db, config: &Config) -> axum::Router {
    let config = Arc::new(config.clone());
    let writer = templar::ingest::writer::Writer::start(
        db.clone(),
        Arc::new(templar::ingest::apply::Resolver::from_config(&config)),
    );
    let metrics = templar::metrics::Metrics::default();
    let ctx = SyncContext {
        db: db.clone(),
        config: config.clone(),
        client: templar::sources::http_client(),
        metrics: metrics.clone(),
    };
    let state = templar::web::AppState::new(db.clone(), config, writer, metrics, ctx);
    templar::web::router(state)
}

/// A GET through the app: (status, headers, body).
pub async fn get(
    app: &axum::Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let mut req = axum::http::Request::get(path);
    // As a browser on the dashboard's own address would send them.
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req = req.header("host", "127.0.0.1:8080");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A form POST through the app.
pub async fn post_form(
    app: &axum::Router,
    path: &str,
    form: &str,
    headers: &[(&str, &str)],
) -> (u16, axum::http::HeaderMap, String) {
    use tower::ServiceExt;
    let mut req =
        axum::http::Request::post(path).header("content-type", "application/x-www-form-urlencoded");
    // A form on the dashboard's own pages, unless the test says otherwise.
    let given = |name: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    if !given("host") {
        req = req.header("host", "127.0.0.1:8080");
    }
    if !given("origin") && !given("sec-fetch-site") {
        req = req.header("origin", "http://127.0.0.1:8080");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app
        .clone()
        .oneshot(req.body(axum::body::Body::from(form.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024 * 1024)
        .await
        .unwrap();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// Simulated traffic delivered as webhooks straight into the app, then a usage pull.
pub async fn with_traffic(env: &Env, app: &axum::Router, hours: i64) {
    env.sim.world().advance(hours * 3600);
    deliver(app, &env.sim.take_webhooks()).await;
    templar::usage::run(&env.ctx(), None, now()).await;
}

/// Posts simulator webhooks straight into the app; each must be answered 200.
pub async fn deliver(app: &axum::Router, hooks: &[templar::sim::Webhook]) {
    use tower::ServiceExt;
    for hook in hooks {
        let mut req =
            axum::http::Request::post(hook.path()).header("content-type", "application/json");
        for (k, v) in hook.headers() {
            req = req.header(k, v);
        }
        let resp = app
            .clone()
            .oneshot(req.body(axum::body::Body::from(hook.body.clone())).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
    }
}

/// Polls `ok` every 50 ms for up to 10 s; panics naming `what` if it never holds.
pub async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..200 {
        if ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The CSRF token a dashboard page's forms carry.
pub fn csrf_token(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page has a form with a CSRF token")
        .to_string()
}

/// A page parsed as a browser would, to check the elements a user sees.
pub struct Page(scraper::Html);

impl Page {
    pub fn parse(html: &str) -> Page {
        Page(scraper::Html::parse_document(html))
    }

    /// The text of every element matching `css`, whitespace collapsed.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(css).expect("a valid selector");
        self.0
            .select(&sel)
            .map(|e| {
                e.text()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    /// What submitting the GET form matching `css` sends, as a browser builds it: every named
    /// input's value and every select's chosen option, with `set` changing or adding fields.
    pub fn form_query(&self, css: &str, set: &[(&str, &str)]) -> String {
        let form_sel = scraper::Selector::parse(css).expect("a valid selector");
        let form = self
            .0
            .select(&form_sel)
            .next()
            .expect("the form is on the page");
        let fields = scraper::Selector::parse("input[name], select[name]").unwrap();
        let option = scraper::Selector::parse("option").unwrap();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for e in form.select(&fields) {
            let name = e.value().attr("name").unwrap().to_string();
            let value = if e.value().name() == "select" {
                let options: Vec<_> = e.select(&option).collect();
                let chosen = options
                    .iter()
                    .find(|o| o.value().attr("selected").is_some())
                    .or(options.first())
                    .expect("a select has options");
                chosen
                    .value()
                    .attr("value")
                    .map(str::to_string)
                    .unwrap_or_else(|| chosen.text().collect())
            } else {
                e.value().attr("value").unwrap_or("").to_string()
            };
            pairs.push((name, value));
        }
        for (k, v) in set {
            match pairs.iter_mut().find(|(n, _)| n == k) {
                Some(p) => p.1 = v.to_string(),
                None => pairs.push((k.to_string(), v.to_string())),
            }
        }
        serde_urlencoded::to_string(&pairs).unwrap()
    }

    /// The `attr` of every element matching `css`.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let sel = scraper::Selector::parse(css).expect("a valid selector");
        self.0
            .select(&sel)
            .filter_map(|e| e.value().attr(attr).map(str::to_string))
            .collect()
    }
}

/// A `templar serve` process on a free port with `vars` set, its stderr going to a file.
pub struct Served {
    pub child: std::process::Child,
    pub url: String,
    pub log: std::path::PathBuf,
}

pub async fn serve_process(env: &Env, vars: &[(&str, &str)]) -> Served {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = env.dir.path().join(format!("serve-{port}.log"));
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_templar"));
    cmd.arg("--config")
        .arg(env.config_path())
        .arg("serve")
        .env_remove("RUST_LOG")
        .env("TEMPLAR_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if env.http.get(format!("{url}/livez")).send().await.is_ok() {
            return Served { child, url, log };
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "serve did not start: {}",
        std::fs::read_to_string(&log).unwrap()
    );
}

impl Served {
    /// SIGTERM, wait, and the log it wrote.
    pub fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        assert!(self.child.wait().unwrap().success());
        std::fs::read_to_string(&self.log).unwrap()
    }
}
