//! Webhook-ingest benchmark: many concurrent clients post signed single-status Meta webhooks
//! to a real `templar serve` (a child process, against a database synced from the simulator,
//! so every status resolves its account and template and updates the roll-up). The same server
//! then answers a no-op route (`/livez`) under the same load, for the ratio.
//!
//! The load comes from `wrk` (Debian package `wrk`) when it is installed: a C client costs the
//! shared 2 cores little, so the figures describe the server. Without it, a built-in reqwest
//! client stands in, and says so (it costs about as much CPU as the server).
//!
//! Run: `cargo bench --bench ingest` (env BENCH_REQUESTS, BENCH_CLIENTS, BENCH_SECONDS to vary).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that cannot set up should stop"
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Runs `requests` through `clients` concurrent connections; returns wall time and latencies.
async fn load(
    client: reqwest::Client,
    requests: Arc<Vec<reqwest::Request>>,
    clients: usize,
) -> (Duration, Vec<Duration>) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, requests, next) = (client.clone(), requests.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(req) = requests.get(i) else { break };
                let req = req.try_clone().unwrap();
                let t = Instant::now();
                let resp = client.execute(req).await.unwrap();
                assert!(resp.status().is_success(), "{}", resp.status());
                let _ = resp.bytes().await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (started.elapsed(), all)
}

/// wrk's figures: requests/s, p50 and p99 in ms, and responses that were not 2xx.
struct WrkRun {
    rate: f64,
    p50: f64,
    p99: f64,
    errors: u64,
}

fn wrk_ms(s: &str) -> f64 {
    let (n, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "s" => n * 1000.0,
        _ => n,
    }
}

fn wrk(url: &str, clients: usize, seconds: usize, script: Option<&std::path::Path>) -> WrkRun {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{clients}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    let out = cmd.arg(url).output().expect("run wrk");
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            .unwrap_or_default()
    };
    let errors = text
        .lines()
        .find(|l| l.contains("Non-2xx"))
        .and_then(|l| l.rsplit(' ').next()?.trim().parse().ok())
        .unwrap_or(0);
    WrkRun {
        rate: field("Requests/sec:").parse().unwrap_or(f64::NAN),
        p50: wrk_ms(&field("50%")),
        p99: wrk_ms(&field("99%")),
        errors,
    }
}

/// Feeds each wrk thread its own share of the pre-signed requests, in order.
const WRK_SCRIPT: &str = r#"
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  reqs = {}
  local i = 0
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    if i % 2 == id then
      local sig, body = line:match("^(%x+) (.*)$")
      reqs[#reqs + 1] = wrk.format("POST", "/webhooks/meta",
        {["X-Hub-Signature-256"] = "sha256=" .. sig, ["Content-Type"] = "application/json"}, body)
    end
    i = i + 1
  end
  n = 0
end
function request()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
"#;

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let (total, clients) = (
        env_or("BENCH_REQUESTS", 240_000),
        env_or("BENCH_CLIENTS", 64),
    );
    let seconds = env_or("BENCH_SECONDS", 4);
    let have_wrk = Command::new("wrk").arg("--version").output().is_ok();
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

    let rt = tokio::runtime::Builder::new_multi_thread()
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
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..200 {
            if client.get(format!("{base}/livez")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("server did not start");
    });

    // Half the requests send new messages, half move them to delivered.
    let now = 1_790_000_000i64;
    let secret = templar::sim::META_APP_SECRET.as_bytes();
    let bodies: Vec<(String, String)> = (0..total)
        .map(|i| {
            let (n, status) = if i < total / 2 { (i, "sent") } else { (i - total / 2, "delivered") };
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": "messages",
                "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
                          "statuses": [{"id": format!("wamid.BENCH{n:08}"), "status": status, "timestamp": (now + n as i64).to_string(),
                                        "recipient_id": "15551234567", "biz_opaque_callback_data": format!("templar:{template}")}]}}]}]})
            .to_string();
            (templar::ingest::signature::sign(secret, body.as_bytes()), body)
        })
        .collect();

    println!("ingest benchmark: signed single-status Meta webhooks, {clients} concurrent connections, 2 cores shared by client and server");
    let (rate, noop_rate) = if have_wrk {
        let file = dir.path().join("bodies.txt");
        let lines: Vec<String> = bodies.iter().map(|(s, b)| format!("{s} {b}")).collect();
        std::fs::write(&file, lines.join("\n")).unwrap();
        let script = dir.path().join("post.lua");
        std::fs::write(&script, WRK_SCRIPT).unwrap();
        std::env::set_var("BENCH_BODIES", &file);
        let ingest = wrk(&base, clients, seconds, Some(&script));
        println!("  load from wrk, {seconds} s per phase");
        println!("  ingest   {:>8.0} events/s   p50 {:.2} ms   p99 {:.2} ms   non-2xx {}   (targets: >= 10000/s, p99 < 50 ms)", ingest.rate, ingest.p50, ingest.p99, ingest.errors);
        let noop = wrk(&format!("{base}/livez"), clients, seconds, None);
        println!(
            "  no-op    {:>8.0} requests/s p50 {:.2} ms   p99 {:.2} ms",
            noop.rate, noop.p50, noop.p99
        );
        // Where the time goes: the same size of signed request, verified and parsed, with
        // nothing to store (an unknown field, acknowledged and ignored).
        let ignored: Vec<String> = (0..20_000)
            .map(|i| {
                let body = json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": "account_review_update",
                    "value": {"decision": "APPROVED", "padding": "x".repeat(300), "n": i}}]}]})
                .to_string();
                format!("{} {body}", templar::ingest::signature::sign(secret, body.as_bytes()))
            })
            .collect();
        std::fs::write(&file, ignored.join("\n")).unwrap();
        let parsed = wrk(&base, clients, seconds, Some(&script));
        println!("  parsed   {:>8.0} requests/s p50 {:.2} ms   p99 {:.2} ms   (signed, verified, parsed, nothing to store)", parsed.rate, parsed.p50, parsed.p99);
        assert_eq!(ingest.errors, 0, "every webhook acknowledged");
        assert!(
            ingest.rate * seconds as f64 <= total as f64,
            "raise BENCH_REQUESTS: wrk wrapped around"
        );
        (ingest.rate, noop.rate)
    } else {
        println!("  wrk is not installed (apt-get install wrk): using the built-in client, which takes CPU from the server");
        let total = total.min(40_000);
        let requests: Vec<reqwest::Request> = bodies[..total]
            .iter()
            .map(|(sig, body)| {
                client
                    .post(format!("{base}/webhooks/meta"))
                    .header("x-hub-signature-256", format!("sha256={sig}"))
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .build()
                    .unwrap()
            })
            .collect();
        let noop: Vec<reqwest::Request> = (0..total)
            .map(|_| client.get(format!("{base}/livez")).build().unwrap())
            .collect();
        let (wall, mut lat) = rt.block_on(load(client.clone(), Arc::new(requests), clients));
        lat.sort();
        let rate = total as f64 / wall.as_secs_f64();
        println!("  ingest   {rate:>8.0} events/s   p50 {:.2} ms   p99 {:.2} ms   (targets: >= 10000/s, p99 < 50 ms)", pct(&lat, 0.5), pct(&lat, 0.99));
        let (wall, mut lat) = rt.block_on(load(client.clone(), Arc::new(noop), clients));
        lat.sort();
        let noop_rate = total as f64 / wall.as_secs_f64();
        println!(
            "  no-op    {noop_rate:>8.0} requests/s p50 {:.2} ms   p99 {:.2} ms",
            pct(&lat, 0.5),
            pct(&lat, 0.99)
        );
        (rate, noop_rate)
    };
    println!(
        "  ratio    {:.2} of the no-op rate (target >= 0.50)",
        rate / noop_rate
    );

    // Check the work was really done: every message stored and delivered.
    let db = templar::db::Db::open(&dir.path().join("templar.db")).unwrap();
    use diesel::prelude::*;
    use templar::db::schema::messages as m;
    let delivered: i64 = m::table
        .filter(m::delivered_at.is_not_null())
        .count()
        .get_result(&mut db.conn().unwrap())
        .unwrap();
    let stored: i64 = m::table
        .count()
        .get_result(&mut db.conn().unwrap())
        .unwrap();
    println!("  stored   {stored} messages, {delivered} of them delivered (every acknowledged status is in the database)");
    drop(sim);
}
