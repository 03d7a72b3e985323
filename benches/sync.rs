//! Full-sync benchmark: 20 WABAs x 2,000 templates from the simulator (in a child process, so
//! the memory figure is templar's alone) with 20 ms latency per request, then an immediate
//! re-sync that must write nothing but its `sync_runs` rows.
//!
//! Run: `cargo bench --bench sync` (env BENCH_ACCOUNTS, BENCH_TEMPLATES, BENCH_LATENCY_MS to vary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that cannot set up should stop"
)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use templar::config::Config;
use templar::db::Db;
use templar::sync::{run_once, SyncContext, SyncMode, SyncOptions};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
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

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = Config::load(&config_path, &|_| None).unwrap();
    let concurrency = config.sync.concurrency;
    let db = Db::open(&config.database).unwrap();
    let ctx = SyncContext {
        db: db.clone(),
        config: Arc::new(config),
        client: templar::sources::http_client(),
    };
    let opts = SyncOptions {
        mode: SyncMode::Full,
        account: None,
        dry_run: false,
    };

    println!("sync benchmark: {accounts} WABAs x {templates} templates, {latency_ms} ms latency, concurrency {concurrency}");
    let started = Instant::now();
    let report = rt
        .block_on(run_once(&ctx, &opts, templar::clock::now()))
        .unwrap();
    let wall = started.elapsed();
    assert!(!report.failed(), "{report:?}");
    let requests: u32 = report.accounts.iter().map(|a| a.requests).sum();
    let seen: u32 = report.accounts.iter().map(|a| a.seen).sum();
    let bound = Duration::from_millis(latency_ms) * requests / concurrency as u32;
    let ratio = wall.as_secs_f64() / bound.as_secs_f64();
    println!(
        "  full sync     wall {:.3} s   requests {requests}   templates {seen}   {:.0} templates/s",
        wall.as_secs_f64(),
        seen as f64 / wall.as_secs_f64()
    );
    println!("  lower bound   {:.3} s (requests x latency / concurrency)   ratio {ratio:.3}   target <= 1.25", bound.as_secs_f64());

    let before = db.rows_written();
    let started = Instant::now();
    let report = rt
        .block_on(run_once(&ctx, &opts, templar::clock::now()))
        .unwrap();
    let wall = started.elapsed();
    assert!(!report.failed());
    let written = db.rows_written() - before;
    println!("  re-sync       wall {:.3} s   rows written {written} (the {} sync_runs rows; target: nothing else)", wall.as_secs_f64(), report.accounts.len());
    println!("  peak RSS      {:.1} MB   target < 100 MB", peak_rss_mb());
    let _ = sim.kill();
    let _ = sim.wait();
}
