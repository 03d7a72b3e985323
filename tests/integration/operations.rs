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
    crate::sqlite_only!("`db backup` copies the SQLite file; PostgreSQL has pg_dump");
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
    if common::on_postgres() {
        // PostgreSQL is backed up with its own tools: said plainly, exit 1.
        let out = env.cli(&["db", "backup", "copy.db"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            common::stderr(&out).contains("pg_dump"),
            "{}",
            common::stderr(&out)
        );
        let out = env.cli(&["db", "check"]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        return;
    }
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
    // The database itself, or a file SQLite keeps beside it (writing there corrupts it).
    let db = env
        .config
        .database
        .sqlite_path()
        .unwrap()
        .display()
        .to_string();
    for target in [
        db.clone(),
        format!("{db}-wal"),
        format!("{db}-shm"),
        format!("{db}.sync-lock"),
    ] {
        let out = env.cli(&["db", "backup", &target]);
        assert_eq!(out.status.code(), Some(1), "{target}");
        assert!(
            common::stderr(&out).contains("the database itself"),
            "{target}"
        );
    }
    // What a backup killed half-way left is cleaned up by the next one.
    let stale = env.dir.path().join(".fresh.db.partial");
    std::fs::write(&stale, b"half a copy").unwrap();
    std::fs::write(env.dir.path().join(".fresh.db.partial-journal"), b"x").unwrap();
    let fresh = env.dir.path().join("fresh.db");
    let out = env.cli(&["db", "backup", fresh.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(!stale.exists() && !env.dir.path().join(".fresh.db.partial-journal").exists());
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
    let served = common::serve_process(
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
    let served = common::serve_process(&env, &[("RUST_LOG", "info")]).await;
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
    assert!(
        err.contains("TEMPLAR_LOG_FORMAT") && err.contains("yaml"),
        "{err}"
    );
}

/// `/metrics` read through an exposition-format parser, after checking that the parser kept
/// every sample line (it skips lines it cannot read).
async fn scrape(env: &common::Env, url: &str) -> prometheus_parse::Scrape {
    let text = env
        .http
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let histogram_series: std::collections::BTreeSet<String> = samples
        .iter()
        .filter(|l| l.contains("_bucket{"))
        .map(|l| l.split(",le=").next().unwrap().to_string())
        .collect();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    let bucket_lines = samples.iter().filter(|l| l.contains("_bucket{")).count();
    assert_eq!(
        scrape.samples.len(),
        samples.len() - bucket_lines + histogram_series.len(),
        "every line parsed:\n{text}"
    );
    scrape
}

/// The value of `name` with exactly these labels (a gauge, counter or untyped sample).
fn value(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .find(|x| x.metric == name && labels.iter().all(|(k, v)| x.labels.get(k) == Some(v)))
        .map(|x| match x.value {
            prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name} is a histogram"),
        })
}

fn gauge(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    value(s, name, labels).unwrap_or_else(|| panic!("{name}{labels:?} in /metrics"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_tell_an_operator_what_to_alert_on() {
    let (hook_url, hook) = common::receivers::http(None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let env = common::App::with_sim(SimOptions {
        accounts: 3,
        templates: 30,
        webhook_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        ..Default::default()
    })
    // The third account's API cannot be reached: it never syncs.
    .account(2, "base_url", "http://127.0.0.1:9")
    .notify(common::Channel::webhook("hook", &hook_url, "s").with("events", vec!["approved"]))
    .notify(
        common::Channel::webhook("down", "http://127.0.0.1:9/hook", "s")
            .with("events", vec!["approved"])
            .with("max_attempts", 1),
    )
    .start()
    .await;
    let third = env.config.accounts[2].name.clone();
    env.sync().await;
    templar::usage::run(&env.ctx(), Some("acme"), common::now()).await;
    // `serve` catches up on the full sync at start: the third account never succeeded.
    let server = common::serve(&env.config, listener).await;
    common::wait_for("the catch-up sync", || env.count("sync_runs") >= 6).await;

    let before = scrape(&env, &server.url).await;
    assert_eq!(
        gauge(
            &before,
            "templar_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(gauge(&before, "templar_database_up", &[]), 1.0);
    // Template counts equal the database's, status by status.
    use diesel::prelude::*;
    use templar::db::schema::{accounts as a, templates as t};
    let stored: Vec<(String, i64)> = t::table
        .inner_join(a::table)
        .filter(a::name.eq("acme"))
        .filter(t::deleted_at.is_null())
        .group_by(t::status)
        .select((t::status, diesel::dsl::count_star()))
        .load(&mut env.db.conn().unwrap())
        .unwrap();
    assert!(!stored.is_empty());
    for (status, n) in &stored {
        let labels = [("account", "acme"), ("status", status.as_str())];
        assert_eq!(
            gauge(&before, "templar_templates", &labels),
            *n as f64,
            "{status}"
        );
    }
    let paused = |s: &prometheus_parse::Scrape| {
        gauge(
            s,
            "templar_templates",
            &[("account", "acme"), ("status", "PAUSED")],
        )
    };
    // Freshness: acme synced and pulled just now; the third never synced and failed twice.
    let age = |s: &prometheus_parse::Scrape, name: &str, account: &str| {
        gauge(s, name, &[("account", account)])
    };
    assert!(age(&before, "templar_full_sync_age_seconds", "acme") < 600.0);
    assert!(age(&before, "templar_usage_pull_age_seconds", "acme") < 600.0);
    for account in ["acme", "globex", third.as_str()] {
        age(&before, "templar_usage_pull_age_seconds", account);
    }
    assert!(age(&before, "templar_full_sync_age_seconds", &third).is_infinite());
    assert_eq!(
        age(&before, "templar_sync_consecutive_failures", &third),
        2.0
    );
    // Pending checks are not full syncs: they neither add to nor reset the count.
    env.sync_with(templar::sync::SyncMode::Pending, false).await;
    let now = scrape(&env, &server.url).await;
    assert_eq!(age(&now, "templar_sync_consecutive_failures", &third), 2.0);
    assert_eq!(
        age(&before, "templar_sync_consecutive_failures", "acme"),
        0.0
    );
    let waiting = age(
        &before,
        "templar_oldest_pending_template_age_seconds",
        "acme",
    );
    assert!((0.0..600.0).contains(&waiting), "{waiting}");
    // The catch-up run was this process's: its duration is in the histogram.
    let runs = value(
        &before,
        "templar_sync_run_seconds_count",
        &[("account", &third), ("mode", "full")],
    );
    assert_eq!(runs, Some(1.0));

    // An approval reaches `hook` and dies on `down`; a pause shows in the counts.
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap();
    env.post(
        &format!("/_sim/templates/{id}/status"),
        serde_json::json!({"status": "APPROVED"}),
    )
    .await;
    let approved = env.template_with_status("APPROVED").await;
    let approved_id = approved["id"].as_str().unwrap();
    env.post(
        &format!("/_sim/templates/{approved_id}/status"),
        serde_json::json!({"status": "PAUSED"}),
    )
    .await;
    let mut after = scrape(&env, &server.url).await;
    for _ in 0..200 {
        let dead = value(&after, "templar_notifications_dead", &[("channel", "down")]);
        // Accepted by the receiver is not yet recorded as delivered: wait for both.
        let pending = value(
            &after,
            "templar_notifications_pending",
            &[("channel", "hook")],
        );
        if hook.lock().unwrap().accepted.len() == 1
            && dead == Some(1.0)
            && pending.unwrap_or(0.0) == 0.0
            && paused(&after) > paused(&before)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        after = scrape(&env, &server.url).await;
    }
    assert_eq!(paused(&after), paused(&before) + 1.0);
    assert_eq!(
        gauge(&after, "templar_notifications_dead", &[("channel", "down")]),
        1.0
    );
    assert_eq!(
        gauge(
            &after,
            "templar_notifications_pending",
            &[("channel", "hook")]
        ),
        0.0
    );
    assert_eq!(
        gauge(
            &after,
            "templar_notifications_oldest_pending_age_seconds",
            &[("channel", "hook")]
        ),
        0.0
    );
    assert_eq!(
        value(
            &after,
            "templar_notification_delivery_seconds_count",
            &[("channel", "hook")]
        ),
        Some(1.0)
    );
    let webhooks = value(
        &after,
        "templar_webhook_request_seconds_count",
        &[("source", "meta")],
    );
    assert!(webhooks >= Some(2.0), "{webhooks:?}");
    assert_eq!(
        gauge(
            &after,
            "templar_notifications_total",
            &[("channel", "hook"), ("outcome", "delivered")]
        ),
        1.0
    );
    // An account taken out of the config leaves no gauge behind to alert on forever.
    let mut fewer = env.config.clone();
    fewer.accounts.retain(|a| a.name != third);
    let (_, _, text) = common::get(&common::app_on(&env.db, &fewer), "/metrics", &[]).await;
    assert!(!text.contains(&format!("account=\"{third}\"")), "{text}");
    assert!(text.contains("templar_full_sync_age_seconds{account=\"acme\"}"));
    // Every metric the example alert rules use is one templar exposes.
    let rules = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/alerts.yml"),
    )
    .unwrap();
    let exposed: std::collections::BTreeSet<&str> =
        after.samples.iter().map(|s| s.metric.as_str()).collect();
    let used: Vec<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("templar_"))
        .collect();
    assert!(used.len() >= 8, "{used:?}");
    for name in used {
        assert!(
            exposed.contains(name),
            "docs/alerts.yml uses {name}, not in /metrics"
        );
    }
    server.stop().await;
}

/// The systemd units in `deploy/` pass `systemd-analyze verify` without a single warning (an
/// unknown or misspelt key is only a warning there), and every command they run is one the
/// binary accepts.
#[test]
fn the_shipped_systemd_units_verify_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let scratch = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_templar");
    let mut units = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.ends_with(".service") || name.ends_with(".timer")) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines() {
            let Some(cmd) = line
                .strip_prefix("ExecStart=")
                .or_else(|| line.strip_prefix("ExecStartPost="))
            else {
                continue;
            };
            let args: Vec<&str> = cmd.split_whitespace().collect();
            assert_eq!(args[0], "/usr/local/bin/templar", "{name}: {line}");
            let out = Command::new(bin)
                .args(&args[1..])
                .arg("--help")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}: `{cmd}` is not a templar command"
            );
        }
        std::fs::write(
            scratch.path().join(&name),
            text.replace("/usr/local/bin/templar", bin),
        )
        .unwrap();
        units.push(name);
    }
    assert!(units.iter().any(|u| u == "templar.service"), "{units:?}");
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze is not installed: unit verification skipped");
        return;
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .current_dir(scratch.path())
        .output()
        .unwrap();
    let said = format!("{}{}", common::stdout(&out), common::stderr(&out));
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}
