//! Running templar in production: backups and checks while `serve` writes, metrics an operator
//! alerts on, and logs a pipeline can ship.

use std::process::Command;

use templar::db::Db;
use templar::sim::SimOptions;

use crate::common::{self, post_hook, start_live, stats_and_recount};

/// Runs the binary with the test's config, the database swapped for `database`.
fn cli_on(env: &common::Env, database: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_templar"))
        .arg("--config")
        .arg(env.config_path())
        .args(args)
        .env_remove("RUST_LOG")
        .env("TEMPLAR_DATABASE", database)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_taken_while_webhooks_stream_in_is_consistent_and_checks_clean() {
    let (env, server) = start_live(SimOptions {
        accounts: 2,
        templates: 40,
        ..Default::default()
    })
    .await;
    env.sync().await;
    env.sim.world().advance(24 * 3600);
    let hooks = env.sim.take_webhooks();
    assert!(hooks.len() > 200, "{} webhooks", hooks.len());
    // Webhooks keep arriving while the backup runs.
    let (http, url) = (env.http.clone(), server.url.clone());
    let stream = tokio::spawn(async move {
        for h in &hooks {
            assert_eq!(post_hook(&http, &url, h).await, 200);
        }
    });
    let file = env.dir.path().join("backup.db");
    let out = tokio::task::spawn_blocking({
        let config = env.config_path();
        let file = file.clone();
        move || common::cli(&config, &["db", "backup", file.to_str().unwrap()])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("backup.db"),
        "{}",
        common::stdout(&out)
    );
    stream.await.unwrap();

    // The copy is one snapshot: every roll-up equals a recount of the messages it holds.
    let copy = Db::open_without_migrating(&file).unwrap();
    assert!(common::count(&copy, "templates") >= 80);
    let (stored, recount) = stats_and_recount(&copy);
    assert_eq!(stored, recount);
    let out = cli_on(&env, &file, &["db", "check"]);
    assert!(out.status.success(), "{}", common::stdout(&out));
    assert!(common::stdout(&out).trim_end().ends_with(": ok"));
    // No partial file is left beside it.
    let names: Vec<String> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.contains("partial")), "{names:?}");

    // A second backup to the same file replaces it with a newer snapshot.
    let before = common::count(&copy, "messages");
    drop(copy);
    let out = env.cli(&["db", "backup", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let copy = Db::open_without_migrating(&file).unwrap();
    assert_eq!(
        common::count(&copy, "messages"),
        common::count(&env.db, "messages")
    );
    assert!(common::count(&copy, "messages") >= before);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn backup_and_check_refuse_what_they_cannot_do_with_a_clear_error() {
    let env = common::start(1, 5).await;
    env.sync().await;
    // A folder that does not exist: exit 1, said plainly, nothing written.
    let missing = env.dir.path().join("nope").join("backup.db");
    let out = env.cli(&["db", "backup", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("does not exist"),
        "{}",
        common::stderr(&out)
    );
    assert!(!env.dir.path().join("nope").exists());
    // The database itself.
    let out = env.cli(&["db", "backup", env.config.database.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("the database itself"));
    // A database that was never created.
    let never = env.dir.path().join("never.db");
    let out = cli_on(&env, &never, &["db", "check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(common::stderr(&out).contains("does not exist yet"));
    assert!(!never.exists(), "check creates nothing");

    // A damaged copy: check says so and exits 1.
    let file = env.dir.path().join("copy.db");
    let out = env.cli(&["db", "backup", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let mut bytes = std::fs::read(&file).unwrap();
    let page = 4096;
    assert!(bytes.len() > 4 * page);
    // Scribble over the b-tree pages after the schema page.
    for b in &mut bytes[page + 8..3 * page] {
        *b = 0x5a;
    }
    std::fs::write(&file, &bytes).unwrap();
    let out = cli_on(&env, &file, &["db", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", common::stdout(&out));
    let said = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(
        said.contains("problem:") || said.contains("malformed"),
        "{said}"
    );
}

/// A `templar serve` process on a free port with `vars` set, its stderr going to a file.
struct Served {
    child: std::process::Child,
    url: String,
    log: std::path::PathBuf,
}

async fn serve_process(env: &common::Env, vars: &[(&str, &str)]) -> Served {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let log = env.dir.path().join(format!("serve-{port}.log"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_templar"));
    cmd.arg("--config")
        .arg(env.config_path())
        .arg("serve")
        .env_remove("RUST_LOG")
        .env("TEMPLAR_LISTEN", format!("127.0.0.1:{port}"))
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = cmd.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..400 {
        if env.http.get(format!("{url}/livez")).send().await.is_ok() {
            return Served { child, url, log };
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!(
        "serve did not start: {}",
        std::fs::read_to_string(&log).unwrap()
    );
}

impl Served {
    /// SIGTERM, wait, and the log it wrote.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        assert!(self.child.wait().unwrap().success());
        std::fs::read_to_string(&self.log).unwrap()
    }
}

/// Every secret value in the test's config file (tokens, app secret, webhook secrets).
fn secrets(env: &common::Env) -> Vec<String> {
    fn walk(v: &toml::Value, key: &str, out: &mut Vec<String>) {
        match v {
            toml::Value::Table(t) => t.iter().for_each(|(k, v)| walk(v, k, out)),
            toml::Value::Array(a) => a.iter().for_each(|v| walk(v, key, out)),
            toml::Value::String(s)
                if ["token", "secret", "api_key", "password"]
                    .iter()
                    .any(|w| key.contains(w))
                    && !key.ends_with("_env") =>
            {
                out.push(s.clone());
            }
            _ => {}
        }
    }
    let table: toml::Value =
        toml::from_str(&std::fs::read_to_string(env.config_path()).unwrap()).unwrap();
    let mut out = Vec::new();
    walk(&table, "", &mut out);
    out
}

/// Webhooks that try to get a body or a secret into the log: a customer's message, a bad
/// signature, malformed JSON, an unknown status, a hostile event header.
async fn provoke(env: &common::Env, url: &str, marker: &str) {
    let state = env.sim_state().await;
    let waba = state["wabas"][0]["id"].as_str().unwrap();
    let pnid = state["wabas"][0]["phone_number_ids"][0].as_str().unwrap();
    let inbound = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": waba,
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
        "contacts": [{"wa_id": "15550001111", "profile": {"name": marker}}],
        "messages": [{"from": "15550001111", "id": "wamid.LOG1", "timestamp": "1790000000",
                      "type": "text", "text": {"body": marker}}],
        "statuses": [{"id": "wamid.LOG2", "status": format!("{}{marker}", "x".repeat(100)),
                      "timestamp": "1790000000", "recipient_id": "15550001111"}]}}]}]})
    .to_string();
    assert_eq!(common::post_meta(&env.http, url, &inbound).await, 200);
    let forged = env
        .http
        .post(format!("{url}/webhooks/meta"))
        .header("x-hub-signature-256", "sha256=00")
        .body(inbound.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let broken = format!("{{\"object\": \"{marker}\", ");
    assert_eq!(common::post_meta(&env.http, url, &broken).await, 400);
    let hostile = format!("{}{marker}", "y".repeat(100));
    let status = common::post_kapso(
        &env.http,
        url,
        &hostile,
        "log-1",
        &format!("{{\"m\":\"{marker}\"}}"),
    )
    .await;
    assert!(status.is_success(), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_are_one_object_per_line_without_secrets_or_bodies() {
    let env = common::App::new(2, 10)
        .dashboard_token("dash-log-token")
        .start()
        .await;
    env.sync().await;
    let served = serve_process(
        &env,
        &[("TEMPLAR_LOG_FORMAT", "json"), ("RUST_LOG", "debug")],
    )
    .await;
    let marker = "CUSTOMER-SAID-7f3a";
    provoke(&env, &served.url, marker).await;
    let r = env
        .http
        .get(format!("{}/api/templates", served.url))
        .bearer_auth("dash-log-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = served.stop();

    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 5, "{log}");
    let mut messages = Vec::new();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        for key in ["timestamp", "level", "target"] {
            assert!(v[key].is_string(), "{key} in {line}");
        }
        chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str().unwrap()).unwrap();
        if let Some(m) = v["message"].as_str() {
            messages.push(m.to_string());
        }
    }
    assert!(
        messages.iter().any(|m| m.contains("webhook rejected")),
        "the refused webhooks are logged: {messages:?}"
    );
    assert!(
        !log.contains(marker),
        "a webhook body reached the log:\n{log}"
    );
    for secret in secrets(&env) {
        assert!(!log.contains(&secret), "a secret reached the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn text_logs_to_a_file_have_no_colour_codes_and_bad_formats_are_refused() {
    let env = common::start(1, 5).await;
    let served = serve_process(&env, &[("RUST_LOG", "info")]).await;
    provoke(&env, &served.url, "CUSTOMER-SAID-91c2").await;
    let log = served.stop();
    assert!(log.contains("webhook rejected"), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI codes in a file:\n{log}");
    assert!(!log.contains("CUSTOMER-SAID-91c2"));
    for secret in secrets(&env) {
        assert!(!log.contains(&secret), "a secret reached the log");
    }

    let out = Command::new(env!("CARGO_BIN_EXE_templar"))
        .arg("--config")
        .arg(env.config_path())
        .args(["templates", "list"])
        .env("TEMPLAR_LOG_FORMAT", "yaml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("log_format") && err.contains("yaml"), "{err}");
}
