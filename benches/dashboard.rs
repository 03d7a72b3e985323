//! Dashboard benchmark: seed 10,000 templates and 1,000,000 messages, then load `/`,
//! `/templates`, `/templates/{id}` and `/analytics` from 16 concurrent clients against a real
//! `templar serve`; the same with 100 templates and 10,000 messages, for the ratio. Each page
//! is loaded three ways: cached (no writes), built (every request builds), and live (signed
//! webhooks add 1,000 message events a second while the clients read).
//!
//! Run: `cargo bench --bench dashboard` (BENCH_REQUESTS cached requests per page, default
//! 320; BENCH_BUILT_REQUESTS requests that each build the page, default 64;
//! BENCH_ONLY_LARGE=1 for the large instance alone; BENCH_DB_DIR=DIR keeps the seeded
//! databases there, for looking at queries afterwards). The large instance is then copied into
//! PostgreSQL (`templar db copy`, BENCH_POSTGRES or the private server of `.ci/postgres`) and
//! measured the same way on it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that cannot set up should stop"
)]

#[path = "common/seed.rs"]
mod seed;

#[path = "common/pg.rs"]
mod pg;

#[path = "common/child.rs"]
#[allow(
    dead_code,
    reason = "this benchmark reads only the peak RSS of its server"
)]
mod child;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The secret the benchmark's webhooks are signed with.
const SECRET: &str = "bench-app-secret";

/// Posts signed Meta status webhooks, 10 statuses each, 100 a second (1,000 events a second),
/// for new messages of `template` until `stop`; returns how many events were accepted.
fn stream(
    base: String,
    template: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let client = reqwest::Client::new();
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let (mut n, mut accepted) = (0u64, 0u64);
            let now = templar::clock::now().timestamp();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let statuses: Vec<serde_json::Value> = (0..10)
                    .map(|_| {
                        n += 1;
                        serde_json::json!({"id": format!("wamid.LIVE{n:09}"), "status": "sent",
                            "timestamp": now.to_string(), "recipient_id": "15551234567",
                            "biz_opaque_callback_data": format!("templar:{template}")})
                    })
                    .collect();
                let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1000",
                    "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "1", "phone_number_id": "bench-pn"},
                    "statuses": statuses}}]}]})
                .to_string();
                let sig = templar::signing::sign(SECRET.as_bytes(), body.as_bytes());
                let ok = client
                    .post(format!("{base}/webhooks/meta"))
                    .header("x-hub-signature-256", format!("sha256={sig}"))
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                accepted += if ok { 10 } else { 0 };
            }
            accepted
        })
    })
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0
}

/// 16 clients share `requests` GETs of `path`; with `unique`, each carries a query parameter of
/// its own, so the page cache never answers and every request builds the page (what happens
/// when the data changes between requests).
async fn load(base: &str, path: &str, requests: usize, unique: bool) -> (f64, f64) {
    let client = reqwest::Client::new();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (client, next, url) = (client.clone(), next.clone(), format!("{base}{path}"));
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= requests {
                    break;
                }
                let url = if unique {
                    format!(
                        "{url}{}nocache={i}",
                        if url.contains('?') { '&' } else { '?' }
                    )
                } else {
                    url.clone()
                };
                let t = Instant::now();
                let r = client.get(&url).send().await.unwrap();
                assert!(r.status().is_success(), "{url}: {}", r.status());
                let _ = r.bytes().await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    (pct(&all, 0.5), pct(&all, 0.99))
}

fn main() {
    let requests: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(320);
    let uncached: usize = std::env::var("BENCH_BUILT_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // The account page prices one account's unreported deliveries with the rate card.
    let pages = [
        "/",
        "/templates",
        "/templates/ID",
        "/analytics",
        "/accounts/acme",
    ];
    let mut results = Vec::new();
    let mut memory = None;
    let mut postgres = None;
    let scales: Vec<(usize, usize)> = match std::env::var("BENCH_ONLY_LARGE") {
        Ok(_) => vec![(10_000, 1_000_000)],
        Err(_) => vec![(100, 10_000), (10_000, 1_000_000)],
    };
    for (templates, messages) in scales {
        let tmp = tempfile::tempdir().unwrap();
        let dir = match std::env::var("BENCH_DB_DIR") {
            Ok(d) => {
                let d = std::path::PathBuf::from(d).join(format!("{templates}"));
                let _ = std::fs::remove_dir_all(&d);
                std::fs::create_dir_all(&d).unwrap();
                d
            }
            Err(_) => tmp.path().to_path_buf(),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = seed::config(&dir, &format!("127.0.0.1:{port}"));
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!(
            "\n[webhooks.meta]\napp_secret = \"{SECRET}\"\nverify_token = \"bench\"\n"
        ));
        std::fs::write(&config, text).unwrap();
        let db = templar::db::Db::open(dir.join("templar.db")).unwrap();
        let t0 = Instant::now();
        let busiest = seed::seed(&db, templates, messages, templar::clock::now().timestamp());
        println!(
            "seeded {templates} templates, {messages} messages ({} roll-up rows) in {:.1} s",
            seed::stat_rows(&db),
            t0.elapsed().as_secs_f64()
        );
        drop(db);
        let _server = Kill(
            Command::new(env!("CARGO_BIN_EXE_templar"))
                .args(["--config", config.to_str().unwrap(), "serve"])
                .env("RUST_LOG", "error")
                .spawn()
                .unwrap(),
        );
        let base = format!("http://127.0.0.1:{port}");
        wait_up(&rt, &base);
        let row = measure(&rt, &base, &busiest, &pages, requests, uncached);
        // 128 clients at once, each on a long period of its own: every request builds a page
        // of its own, which the cache may not keep beyond its byte budget.
        let pid = _server.0.id();
        let before = child::vm_hwm_kb(pid).unwrap_or(0.0) / 1024.0;
        rt.block_on(distinct_periods(&base, 128));
        let after = child::vm_hwm_kb(pid).unwrap_or(0.0) / 1024.0;
        memory = Some((templates, before, after));
        results.push((templates, messages, row));
        if templates == 10_000 {
            drop(_server);
            postgres = postgres_case(&rt, &config, &busiest, &pages, requests, uncached);
        }
    }
    println!("\ndashboard benchmark: 16 concurrent clients, 2 cores shared with the client");
    println!("cached: {requests} requests per page while the data does not change (the page cache answers)");
    println!("built: {uncached} requests per page, each building the page (as when data changes between requests)");
    println!(
        "live: {} requests per page while webhooks add 1,000 message events a second",
        requests * 10
    );
    for (templates, messages, row) in &results {
        println!("\n{templates} templates / {messages} messages");
        for (page, p50, p99, u50, u99, l50, l99) in row {
            println!(
                "{page:<16} cached p50 {p50:>6.1} p99 {p99:>6.1} ms    built p50 {u50:>7.1} p99 {u99:>7.1} ms    live p50 {l50:>6.1} p99 {l99:>6.1} ms"
            );
        }
    }
    if let Some(row) = &postgres {
        println!("\nthe same 10000 templates / 1000000 messages on PostgreSQL (one replica, same machine)");
        for (page, p50, p99, u50, u99, l50, l99) in row {
            println!(
                "{page:<16} cached p50 {p50:>6.1} p99 {p99:>6.1} ms    built p50 {u50:>7.1} p99 {u99:>7.1} ms    live p50 {l50:>6.1} p99 {l99:>6.1} ms"
            );
        }
    }
    if results.len() == 2 {
        println!("\np99 ratio, large to small instance:");
        for i in 0..pages.len() {
            let (page, _, s99, _, su99, _, sl99) = results[0].2[i];
            let (_, _, b99, _, bu99, _, bl99) = results[1].2[i];
            println!(
                "{page:<16} cached {:>6.2}    built {:>7.2}    live {:>6.2}",
                b99 / s99,
                bu99 / su99,
                bl99 / sl99
            );
        }
    }
    println!("targets: p99 < 50 ms on each page at 10k/1M, and within 2x of the small instance");
    if let Some((templates, before, after)) = memory {
        println!(
            "\nserver peak RSS at {templates} templates: {before:.0} MB after the page loads, \
             {after:.0} MB after 128 clients on distinct ten-year /analytics periods \
             (target < 256 MB)"
        );
    }
}

/// `clients` concurrent GETs of `/analytics`, each over a ten-year period of its own.
async fn distinct_periods(base: &str, clients: usize) {
    let started = Instant::now();
    let client = reqwest::Client::new();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let from =
            chrono::NaiveDate::from_ymd_opt(2017, 1, 1).unwrap() + chrono::Days::new(i as u64);
        let url = format!("{base}/analytics?from={from}&to=2026-11-30");
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let r = client.get(&url).send().await.unwrap();
            let status = r.status().as_u16();
            let _ = r.bytes().await;
            status
        }));
    }
    let mut answered = std::collections::BTreeMap::new();
    for t in tasks {
        *answered.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    // Builds wait their turn (server.page_builds); one that waits past the request deadline
    // gets 408 rather than holding memory.
    println!(
        "128 distinct ten-year /analytics pages in {:.1} s, answers by status: {answered:?}",
        started.elapsed().as_secs_f64()
    );
}

/// One page's figures: (page, cached p50, p99, built p50, p99, live p50, p99), in ms.
type Row = (&'static str, f64, f64, f64, f64, f64, f64);

/// Loads each page cached, built and live from 16 clients against the server at `base`.
fn measure(
    rt: &tokio::runtime::Runtime,
    base: &str,
    busiest: &str,
    pages: &[&'static str],
    requests: usize,
    uncached: usize,
) -> Vec<Row> {
    let mut row = Vec::new();
    for &page in pages {
        let path = page.replace("ID", busiest);
        let t = Instant::now();
        rt.block_on(async {
            reqwest::get(format!("{base}{path}"))
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        eprintln!(
            "  {path}: first request {:.0} ms",
            t.elapsed().as_secs_f64() * 1000.0
        );
        rt.block_on(load(base, &path, 32, false)); // warm up
        let (p50, p99) = rt.block_on(load(base, &path, requests, false));
        let (u50, u99) = rt.block_on(load(base, &path, uncached, true));
        // Live: the same cached requests while 1,000 message events a second come in.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let streamer = stream(base.to_string(), busiest.to_string(), stop.clone());
        std::thread::sleep(Duration::from_millis(500));
        let t = Instant::now();
        // Ten times the cached requests, so the run spans several 2 s staleness windows
        // and the requests that pay for a rebuild are in the figures.
        let (l50, l99) = rt.block_on(load(base, &path, requests * 10, false));
        let seconds = t.elapsed().as_secs_f64();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let events = streamer.join().unwrap();
        eprintln!(
            "  {path}: live, {:.0} events/s accepted while reading",
            events as f64 / (seconds + 0.5)
        );
        row.push((page, p50, p99, u50, u99, l50, l99));
    }
    row
}

/// The large instance moved into PostgreSQL with `templar db copy`, served from there and
/// measured the same way; `None` when no PostgreSQL server can be had.
fn postgres_case(
    rt: &tokio::runtime::Runtime,
    config: &std::path::Path,
    busiest: &str,
    pages: &[&'static str],
    requests: usize,
    uncached: usize,
) -> Option<Vec<Row>> {
    let server = match pg::server() {
        Ok(s) => s,
        Err(why) => {
            println!("PostgreSQL: skipped ({why})");
            return None;
        }
    };
    let url = pg::fresh_database(&server, "bench_dashboard");
    let cfg = config.to_str().unwrap();
    let t = Instant::now();
    let ok = Command::new(env!("CARGO_BIN_EXE_templar"))
        .args(["--config", cfg, "db", "copy"])
        .env("TEMPLAR_COPY_TO", &url)
        .env("RUST_LOG", "error")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success(), "templar db copy failed");
    eprintln!(
        "copied into PostgreSQL in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Kill(
        Command::new(env!("CARGO_BIN_EXE_templar"))
            .args(["--config", cfg, "serve"])
            .env("TEMPLAR_DATABASE", &url)
            .env("TEMPLAR_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "error")
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_up(rt, &base);
    Some(measure(rt, &base, busiest, pages, requests, uncached))
}

/// Waits up to 10 s for the server at `base` to answer `/livez`.
fn wait_up(rt: &tokio::runtime::Runtime, base: &str) {
    rt.block_on(async {
        for _ in 0..400 {
            if reqwest::get(format!("{base}/livez")).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    });
}
