//! Full-sync benchmark: `templar sync` (the binary, as a child process, so its allocator and
//! start-up count and its peak RSS is its own) of 20 WABAs x 2,000 templates from the
//! simulator (another child) with 20 ms latency per request, then an immediate re-sync that
//! must write nothing but its `sync_runs` rows.
//!
//! Run: `cargo bench --bench sync` (env BENCH_ACCOUNTS, BENCH_TEMPLATES, BENCH_LATENCY_MS to vary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that cannot set up should stop"
)]

#[path = "common/child.rs"]
mod child;
#[path = "common/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use templar::config::Config;
use templar::db::Db;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let (accounts, templates, latency_ms) = (
        env_or("BENCH_ACCOUNTS", 20),
        env_or("BENCH_TEMPLATES", 2000),
        env_or("BENCH_LATENCY_MS", 20),
    );
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("templar.toml");
    let mut sim = Command::new(env!("CARGO_BIN_EXE_templar"))
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--accounts",
            &accounts.to_string(),
        ])
        .args([
            "--templates",
            &templates.to_string(),
            "--latency-ms",
            &latency_ms.to_string(),
        ])
        .arg("--write-config")
        .arg(&config_path)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the simulator");
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("simulator listening on"), "{first}");
    let _ = lines.next(); // "wrote ..."

    let config = Config::load(&config_path, &|_| None).unwrap();
    let concurrency = config.sync.concurrency;
    println!("sync benchmark: `templar sync` of {accounts} WABAs x {templates} templates, {latency_ms} ms latency, concurrency {concurrency}");
    let first = child::templar(&config_path, &["sync", "--json"]);
    let report: Value = serde_json::from_slice(&first.output.stdout).unwrap();
    let accounts_done = report["accounts"].as_array().unwrap();
    assert!(
        accounts_done.iter().all(|a| a["error"].is_null()),
        "{report}"
    );
    let sum = |k: &str| -> u64 { accounts_done.iter().map(|a| a[k].as_u64().unwrap()).sum() };
    let (requests, seen) = (sum("requests"), sum("seen"));
    let bound = Duration::from_millis(latency_ms) * requests as u32 / concurrency as u32;
    let ratio = first.seconds / bound.as_secs_f64();
    println!(
        "  full sync     wall {:.3} s   requests {requests}   templates {seen}   {:.0} templates/s",
        first.seconds,
        seen as f64 / first.seconds
    );
    println!("  lower bound   {:.3} s (requests x latency / concurrency)   ratio {ratio:.3}   target <= 1.25", bound.as_secs_f64());
    println!(
        "  peak RSS      {:.1} MB   target < 100 MB",
        first.peak_rss_mb
    );

    let db = Db::open(&config.database).unwrap();
    let before = (
        count(&db, "template_events"),
        count(&db, "templates"),
        count(&db, "sync_runs"),
    );
    let again = child::templar(&config_path, &["sync", "--json"]);
    let report: Value = serde_json::from_slice(&again.output.stdout).unwrap();
    assert!(report["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["error"].is_null()));
    let after = (
        count(&db, "template_events"),
        count(&db, "templates"),
        count(&db, "sync_runs"),
    );
    println!(
        "  re-sync       wall {:.3} s   events written {}   templates added {}   sync_runs rows {} (target: only the run rows)",
        again.seconds,
        after.0 - before.0,
        after.1 - before.1,
        after.2 - before.2
    );

    // The same full sync into a fresh PostgreSQL database on this machine.
    match pg::server() {
        Err(why) => println!("  PostgreSQL: skipped ({why})"),
        Ok(server) => {
            let url = pg::fresh_database(&server, "bench_sync");
            let mut table: toml::Table =
                toml::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
            table.insert("database".into(), url.into());
            let pg_config = dir.path().join("templar-pg.toml");
            std::fs::write(&pg_config, toml::to_string(&table).unwrap()).unwrap();
            let run = child::templar(&pg_config, &["sync", "--json"]);
            let report: Value = serde_json::from_slice(&run.output.stdout).unwrap();
            assert!(
                report["accounts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|a| a["error"].is_null()),
                "{report}"
            );
            println!(
                "  postgres      wall {:.3} s   ratio {:.3} (target <= 1.25)   peak RSS {:.1} MB",
                run.seconds,
                run.seconds / bound.as_secs_f64(),
                run.peak_rss_mb
            );
        }
    }
    let _ = sim.kill();
    let _ = sim.wait();
}

fn count(db: &Db, table: &str) -> i64 {
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
