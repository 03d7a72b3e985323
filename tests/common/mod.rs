//! Test helpers: a simulator on a free local port, a config pointing at it in a scratch
//! directory, and small wrappers around the control API.
#![allow(dead_code, reason = "not every test uses every helper")]

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

/// Fast retries and short timeouts so fault tests do not crawl.
pub const FAST_SYNC: &str = "[sync]\nretry_base_ms = 20\nrequest_timeout_secs = 1.5\n";

pub async fn start(accounts: usize, templates: usize) -> Env {
    start_with(
        SimOptions {
            accounts,
            templates,
            ..SimOptions::default()
        },
        |t| t,
    )
    .await
}

/// Starts a simulator and writes its config, letting `edit` change the TOML first.
pub async fn start_with(opts: SimOptions, edit: impl FnOnce(String) -> String) -> Env {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sim = Sim::start(opts, listener, 1_790_000_000).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let toml = edit(sim.config_toml().replace("[sync]\n", FAST_SYNC));
    let path = dir.path().join("templar.toml");
    std::fs::write(&path, toml).unwrap();
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

impl Env {
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("templar.toml")
    }

    pub fn ctx(&self) -> SyncContext {
        SyncContext {
            db: self.db.clone(),
            config: Arc::new(self.config.clone()),
            client: templar::sources::http_client(),
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
