//! Webhook-ingest benchmark: many concurrent clients post signed single-status Meta webhooks
//! to a real `templar serve` (a child process, against a database synced from the simulator,
//! so every status resolves its account and template and updates the roll-up). The same server
//! then answers a no-op route (`/livez`) under the same load, for the ratio, and a signed
//! webhook with nothing to store, to show where the time goes.
//!
//! The load comes from `common/load.rs`: raw HTTP/1.1 over keep-alive connections, every
//! request prepared before the clock starts, the same client code for every phase.
//!
//! Run: `cargo bench --bench ingest` (env BENCH_REQUESTS, BENCH_CLIENTS, BENCH_SECONDS,
//! BENCH_ROUNDS to vary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that cannot set up should stop"
)]

#[path = "common/load.rs"]
mod load;
#[path = "common/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn templar(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_templar"));
    c.args(args).env("RUST_LOG", "error");
    c
}

struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let (total, clients) = (
        env_or("BENCH_REQUESTS", 480_000),
        env_or("BENCH_CLIENTS", 64),
    );
    let seconds = env_or("BENCH_SECONDS", 6);
    let rounds = env_or("BENCH_ROUNDS", 3).max(1);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("templar.toml");
    let mut sim = Kill(
        templar(&[
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--accounts",
            "2",
            "--templates",
            "50",
        ])
        .arg("--write-config")
        .arg(&config)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap(),
    );
    let mut lines = BufReader::new(sim.0.stdout.take().unwrap()).lines();
    let sim_url = lines
        .next()
        .unwrap()
        .unwrap()
        .trim_start_matches("simulator listening on ")
        .to_string();
    let _ = lines.next();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    std::fs::write(&config, text).unwrap();
    let ok = templar(&["--config", config.to_str().unwrap(), "sync"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(ok.success());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let state: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("{sim_url}/_sim/state"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let waba = state["wabas"][0]["id"].as_str().unwrap().to_string();
    let pnid = state["wabas"][0]["phone_number_ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let template = state["templates"][0]["id"].as_str().unwrap().to_string();

    let _server = Kill(
        templar(&["--config", config.to_str().unwrap(), "serve"])
            .spawn()
            .unwrap(),
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let mut up = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(up, "server did not start");

    // Half the requests send new messages, half move them to delivered.
    let now = 1_790_000_000i64;
    let secret = templar::sim::META_APP_SECRET.as_bytes();
    let signed = |body: String| {
        let sig = format!("sha256={}", templar::signing::sign(secret, body.as_bytes()));
        load::request(
            "POST",
            "/webhooks/meta",
            &[
                ("X-Hub-Signature-256", &sig),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let ingest: Vec<Vec<u8>> = (0..total)
        .map(|i| {
            // Every other request moves a message sent about 1,000 requests earlier to
            // delivered (a run takes the list from its start and never reaches its second
            // half: it used to be every `sent` first, then every `delivered`).
            let (n, status) = if i % 2 == 0 { (i / 2, "sent") } else { ((i / 2).saturating_sub(500), "delivered") };
            signed(json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
                          "statuses": [{"id": format!("wamid.BENCH{n:08}"), "status": status, "timestamp": (now + n as i64).to_string(),
                                        "recipient_id": "15551234567", "biz_opaque_callback_data": format!("templar:{template}")}]}}]}]})
            .to_string())
        })
        .collect();
    // The same size of signed request, verified and parsed, with nothing to store (an
    // unknown field, acknowledged and ignored).
    let ignored = signed(
        json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": "account_review_update",
            "value": {"decision": "APPROVED", "padding": "x".repeat(300)}}]}]})
        .to_string(),
    );
    let noop = load::request("GET", "/livez", &[], b"");

    // Ingest and no-op alternate in rounds, so that a machine getting slower or faster during
    // the run moves both figures alike rather than the ratio.
    let phase = Duration::from_secs_f64(seconds as f64 / rounds as f64);
    println!("ingest benchmark: signed single-status Meta webhooks, {clients} keep-alive connections, {rounds} rounds of ingest then no-op, {seconds} s of each in all, 2 cores shared by client and server");
    let (ingest, noop, ignored) = (
        Arc::new(ingest),
        Arc::new(vec![noop]),
        Arc::new(vec![ignored]),
    );
    let taken = std::sync::atomic::AtomicUsize::new(0);
    let unused = std::sync::atomic::AtomicUsize::new(0);
    let mut runs = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        runs.0.push(load::run(
            addr,
            ingest.clone(),
            &taken,
            false,
            clients,
            2,
            phase,
        ));
        runs.1.push(load::run(
            addr,
            noop.clone(),
            &unused,
            true,
            clients,
            2,
            phase,
        ));
    }
    let per_round: Vec<String> = runs
        .0
        .iter()
        .zip(&runs.1)
        .map(|(i, n)| format!("{:.2}", i.rate / n.rate))
        .collect();
    let (stored, noop) = (
        load::Figures::combine(runs.0),
        load::Figures::combine(runs.1),
    );
    println!(
        "  ingest   {:>8.0} events/s   p50 {:.2} ms   p99 {:.2} ms   non-2xx {}   (targets: >= 10000/s, p99 < 50 ms)",
        stored.rate, stored.p50_ms, stored.p99_ms, stored.non_2xx
    );
    if stored.exhausted {
        println!("  (every prepared webhook was sent before the deadline: raise BENCH_REQUESTS for full phases)");
    }
    println!(
        "  no-op    {:>8.0} requests/s p50 {:.2} ms   p99 {:.2} ms",
        noop.rate, noop.p50_ms, noop.p99_ms
    );
    let parsed = load::run(addr, ignored, &unused, true, clients, 2, phase);
    println!(
        "  parsed   {:>8.0} requests/s p50 {:.2} ms   p99 {:.2} ms   (signed, verified, parsed, nothing to store; one phase)",
        parsed.rate, parsed.p50_ms, parsed.p99_ms
    );
    println!(
        "  ratio    {:.2} of the no-op rate (target >= 0.50); by round {}",
        stored.rate / noop.rate,
        per_round.join(", ")
    );
    assert_eq!(stored.non_2xx, 0, "every webhook acknowledged");

    // Check the work was really done: every message stored and delivered.
    let db = templar::db::Db::open(dir.path().join("templar.db")).unwrap();
    use diesel::prelude::*;
    use templar::db::schema::messages as m;
    let delivered: i64 = m::table
        .filter(m::delivered_at.is_not_null())
        .count()
        .get_result(&mut db.conn().unwrap())
        .unwrap();
    let rows: i64 = m::table
        .count()
        .get_result(&mut db.conn().unwrap())
        .unwrap();
    println!("  stored   {rows} messages, {delivered} of them delivered (every acknowledged status is in the database)");

    // The same webhooks into PostgreSQL, through one and through two `serve` replicas.
    match pg::server() {
        Err(why) => println!("PostgreSQL: skipped ({why})"),
        Ok(server) => {
            for replicas in [1, 2] {
                let case = PgCase {
                    server: &server,
                    replicas,
                    config: &config,
                    ingest: &ingest,
                    clients,
                    duration: Duration::from_secs(seconds as u64),
                };
                case.run(&rt);
            }
        }
    }
    drop(sim);
}

/// One PostgreSQL measurement: a fresh database, synced, `replicas` servers sharing the load.
struct PgCase<'a> {
    server: &'a str,
    replicas: usize,
    config: &'a std::path::Path,
    ingest: &'a Arc<Vec<Vec<u8>>>,
    clients: usize,
    duration: Duration,
}

impl PgCase<'_> {
    fn run(&self, rt: &tokio::runtime::Runtime) {
        let url = pg::fresh_database(self.server, &format!("bench_ingest_{}", self.replicas));
        let cfg = self.config.to_str().unwrap();
        let ok = templar(&["--config", cfg, "sync"])
            .env("TEMPLAR_DATABASE", &url)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let mut servers = Vec::new();
        let mut addrs = Vec::new();
        for _ in 0..self.replicas {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            servers.push(Kill(
                templar(&["--config", cfg, "serve"])
                    .env("TEMPLAR_DATABASE", &url)
                    .env("TEMPLAR_LISTEN", addr.to_string())
                    .spawn()
                    .unwrap(),
            ));
            let up = (0..400).any(|_| {
                std::thread::sleep(Duration::from_millis(25));
                rt.block_on(reqwest::get(format!("http://{addr}/livez")))
                    .is_ok()
            });
            assert!(up, "replica did not start");
            addrs.push(addr);
        }
        // Each replica gets every n-th webhook, in order, on its share of the connections.
        let shares: Vec<Arc<Vec<Vec<u8>>>> = (0..self.replicas)
            .map(|r| {
                Arc::new(
                    self.ingest
                        .iter()
                        .skip(r)
                        .step_by(self.replicas)
                        .cloned()
                        .collect(),
                )
            })
            .collect();
        let per = (self.clients / self.replicas).max(1);
        let figures: Vec<load::Figures> = std::thread::scope(|s| {
            let runs: Vec<_> = addrs
                .iter()
                .zip(&shares)
                .map(|(addr, share)| {
                    s.spawn(move || {
                        let taken = std::sync::atomic::AtomicUsize::new(0);
                        load::run(*addr, share.clone(), &taken, false, per, 1, self.duration)
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let elapsed = figures.iter().map(|f| f.elapsed).max().unwrap_or_default();
        let non_2xx = figures.iter().map(|f| f.non_2xx).sum();
        let latencies = figures.into_iter().flat_map(|f| f.latencies).collect();
        let all = load::Figures::new(latencies, elapsed, non_2xx, false);
        println!(
            "  postgres {:>8.0} events/s   p50 {:.2} ms   p99 {:.2} ms   non-2xx {}   ({} replica{}, same machine; targets: >= 10000/s, p99 < 50 ms)",
            all.rate,
            all.p50_ms,
            all.p99_ms,
            all.non_2xx,
            self.replicas,
            if self.replicas == 1 { "" } else { "s" }
        );
        assert_eq!(all.non_2xx, 0, "every webhook acknowledged");
        drop(servers);
        let db = templar::db::Db::open(templar::db::Location::Postgres(url)).unwrap();
        use diesel::prelude::*;
        use templar::db::schema::messages as m;
        let rows: i64 = m::table
            .count()
            .get_result(&mut db.conn().unwrap())
            .unwrap();
        println!("           {rows} messages stored");
    }
}
