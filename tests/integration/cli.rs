//! The command line as a user meets it: help, exit codes, config errors naming the key.

use crate::common::{self, cli, start};

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("templar.toml");
    std::fs::write(&p, text).unwrap();
    p
}

const ACCOUNT: &str =
    "[[account]]\nname = \"acme\"\nsource = \"meta\"\nwaba_id = \"1\"\ntoken = \"t\"\n";

#[test]
fn bad_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (format!("[sync]\nschedule = \"every monday\"\n{ACCOUNT}"), "sync.schedule"),
        ("[[account]]\nname = \"x\"\nsource = \"twilio\"\ntoken = \"t\"\n".to_string(), "account[0].source"),
        (
            "[[account]]\nname = \"x\"\nsource = \"meta\"\nwaba_id = \"1\"\ntoken_env = \"TEMPLAR_TEST_UNSET_TOKEN\"\n"
                .to_string(),
            "TEMPLAR_TEST_UNSET_TOKEN",
        ),
        (format!("colour = \"blue\"\n{ACCOUNT}"), "colour"),
        (format!("[sync]\nconcurrency = \"four\"\n{ACCOUNT}"), "sync.concurrency"),
    ];
    for (text, key) in cases {
        let path = write(dir.path(), &text);
        let out = cli(&path, &["sync"]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = common::stderr(&out);
        assert!(err.contains(key), "`{key}` not named in: {err}");
    }
    let out = cli(&dir.path().join("missing.toml"), &["sync"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("does not exist"));
}

#[test]
fn help_explains_every_command() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = common::stdout(&out);
    // The "Commands:" list, not the intro (which names some commands in passing): each command
    // has its own line with a description.
    let listed: Vec<(String, String)> = text
        .split("Commands:")
        .nth(1)
        .expect("a Commands: section")
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| {
            let mut parts = l.trim().splitn(2, ' ');
            Some((parts.next()?.to_string(), parts.next()?.trim().to_string()))
        })
        .collect();
    for cmd in [
        "demo",
        "serve",
        "sync",
        "templates",
        "send",
        "window",
        "export",
        "notify",
        "migrate",
        "simulate",
    ] {
        let described = listed.iter().any(|(c, d)| c == cmd && d.len() > 20);
        assert!(
            described,
            "{cmd} has no line of its own in --help: {listed:?}"
        );
    }
    for cmd in ["sync", "templates", "send", "export", "serve"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd} --help");
        assert!(common::stdout(&out).contains(&format!("Usage: templar {cmd}")));
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
        .args(["sync", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn show_asks_for_a_language_when_the_name_is_ambiguous() {
    let env = start(2, 20).await;
    env.sync().await;
    // Both WABAs have the same first template name (the catalogue is per WABA).
    let out = env.cli(&["templates", "show", "order_confirmation"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("pass --language"));
    let out = env.cli(&[
        "templates",
        "show",
        "order_confirmation",
        "--account",
        "acme",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(common::stdout(&out).contains("history:"));
    let out = env.cli(&["templates", "show", "no_such_template"]);
    assert_eq!(out.status.code(), Some(1));
    let out = env.cli(&["templates", "list", "--account", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("no account named `nobody`"));
}

#[tokio::test(flavor = "multi_thread")]
async fn list_filters_and_json_fields() {
    let env = start(2, 60).await;
    env.sync().await;
    let out = env.cli(&[
        "templates",
        "list",
        "--json",
        "--account",
        "globex",
        "--category",
        "utility",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!list.is_empty());
    for t in &list {
        assert_eq!(t["account"], "globex");
        assert_eq!(t["source"], "kapso");
        assert_eq!(t["category"], "UTILITY");
        for key in [
            "id",
            "name",
            "language",
            "status",
            "quality",
            "rejected_reason",
            "components",
            "last_changed_at",
        ] {
            assert!(t.get(key).is_some(), "{key}");
        }
        assert!(t["id"].is_string());
    }
    let out = env.cli(&["templates", "list", "--name", "order"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let rows: Vec<&str> = text
        .lines()
        .skip(1)
        .filter(|l| !l.ends_with("templates"))
        .collect();
    assert!(!rows.is_empty(), "the search found something: {text}");
    assert!(rows.iter().all(|l| l.contains("order")), "{text}");
    // The search ignores case, on both backends.
    let upper = env.cli(&["templates", "list", "--name", "ORDER"]);
    assert_eq!(common::stdout(&upper), text);
}

#[tokio::test(flavor = "multi_thread")]
async fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::BufRead;
    let env = start(2, 200).await;
    env.sync().await;
    for args in [
        vec!["templates", "list", "--json"],
        vec!["templates", "list"],
        vec!["export", "--by", "template", "--format", "jsonl"],
    ] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
            .arg("--config")
            .arg(env.config_path())
            .args(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Read one line, then hang up, as `| head -1` does.
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert_eq!(common::stderr(&out), "", "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_account_is_bad_usage_everywhere_with_a_suggestion() {
    let env = start(2, 10).await;
    env.sync().await;
    for args in [
        vec!["sync", "--account", "acm"],
        vec!["sync", "--pending", "--account", "acm"],
        vec!["export", "--account", "acm"],
        vec!["templates", "list", "--account", "acm"],
        vec!["window", "--account", "acm", "--to", "+15551234567"],
        vec![
            "send",
            "--account",
            "acm",
            "--to",
            "+15551234567",
            "--text",
            "hi",
        ],
    ] {
        let out = env.cli(&args);
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("no account named `acm`; did you mean `acme`?"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("config error"), "{args:?}: {err}");
    }
    // Nothing close: no guess, the list.
    let out = env.cli(&["sync", "--account", "zzzz"]);
    let err = common::stderr(&out);
    assert!(
        !err.contains("did you mean") && err.contains("acme, globex"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_show_prints_every_part_labelled_and_suggests_a_name() {
    let env = start(1, 20).await;
    env.sync().await;
    let state = env.sim_state().await;
    let t = state["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| {
            let kinds: Vec<&str> = t["components"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|c| c["type"].as_str())
                .collect();
            kinds.contains(&"FOOTER") && kinds.contains(&"BUTTONS")
        })
        .expect("a template with a footer and buttons")
        .clone();
    let name = t["name"].as_str().unwrap();
    let out = env.cli(&["templates", "show", name]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let field = |label: &str| {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .map(|v| v.trim().to_string())
            .unwrap_or_else(|| panic!("no `{label}` line in:\n{text}"))
    };
    assert_eq!(field("language"), t["language"].as_str().unwrap());
    assert!(field("id").starts_with(t["id"].as_str().unwrap()));
    let body = t["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "BODY")
        .unwrap()["text"]
        .as_str()
        .unwrap();
    assert_eq!(field("BODY"), body);
    assert!(!field("FOOTER").is_empty());
    let buttons = field("BUTTONS");
    assert!(buttons.starts_with('['), "{buttons}");
    // A typo gets the closest name.
    let typo = &name[..name.len() - 1];
    let out = env.cli(&["templates", "show", typo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains(&format!("did you mean `{name}`?")),
        "{}",
        common::stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn small_cli_answers_say_what_is_true() {
    let env = start(1, 120).await;
    // `sync` prints its table and no log lines by default.
    let out = env.cli(&["sync"]);
    assert!(out.status.success());
    assert_eq!(common::stderr(&out), "");
    assert!(common::stdout(&out).starts_with("acme"));
    // No channel configured: said, not "0 pending".
    let out = env.cli(&["notify", "status"]);
    assert!(out.status.success());
    assert!(common::stdout(&out).starts_with("no notification channels are configured"));
    // A refused free-form send lists 15 approved templates and counts the rest.
    let approved = env.cli(&["templates", "list", "--status", "APPROVED", "--json"]);
    let approved: serde_json::Value = serde_json::from_slice(&approved.stdout).unwrap();
    let approved = approved.as_array().unwrap().len();
    assert!(approved > 15, "{approved}");
    let out = env.cli(&[
        "send",
        "--account",
        "acme",
        "--to",
        "+15550009999",
        "--text",
        "hello",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    let listed = err
        .lines()
        .filter(|l| l.starts_with("  ") && l.contains("): "))
        .count();
    assert_eq!(listed, 15, "{err}");
    assert!(
        err.contains(&format!("... and {} more", approved - 15)),
        "{err}"
    );
    // `serve --help` names what it serves.
    let out = env.cli(&["serve", "--help"]);
    let help = common::stdout(&out);
    for path in [
        "/webhooks/meta",
        "/webhooks/kapso",
        "/metrics",
        "/healthz",
        "/api/",
    ] {
        assert!(help.contains(path), "{path} in serve --help");
    }
}

/// `templar demo` tells a story a newcomer can follow: histories read forwards, approvals have a
/// time to approval, notifications are visible, and something changes while they watch.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_tells_the_story_forwards_and_keeps_moving() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
        .args(["demo", "--listen", &format!("127.0.0.1:{port}"), "--dir"])
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let json = |path: String| {
        let http = http.clone();
        async move {
            match http.get(path).send().await {
                Ok(r) if r.status().is_success() => r.json::<serde_json::Value>().await.ok(),
                _ => None,
            }
        }
    };
    // Replayed and pulled: approvals have a time to approval.
    let mut analytics = None;
    for _ in 0..240 {
        if let Some(a) = json(format!("{base}/api/analytics?days=7")).await {
            if a["by_category"].as_array().is_some_and(|c| !c.is_empty()) {
                analytics = Some(a);
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let analytics = analytics.expect("the demo's analytics show approvals");
    assert!(analytics["by_category"][0]["templates"].as_u64().unwrap() > 0);

    // Every history reads forwards, starting with the first sighting.
    let list = json(format!("{base}/api/templates?status=APPROVED"))
        .await
        .unwrap();
    for line in list["lines"].as_array().unwrap().iter().take(10) {
        let id = line["id"].as_str().unwrap();
        let t = json(format!("{base}/api/templates/{id}")).await.unwrap();
        let events = t["events"].as_array().unwrap();
        let times: Vec<&str> = events.iter().map(|e| e["at"].as_str().unwrap()).collect();
        let mut sorted = times.clone();
        sorted.sort();
        assert_eq!(times, sorted, "{id}: history out of order");
        assert!(
            events[0]["from"].is_null(),
            "{id} starts with its first sighting"
        );
    }
    // Notifications are visible, delivered to the demo's chat.
    let mut notes = serde_json::Value::Null;
    for _ in 0..120 {
        notes = json(format!("{base}/api/notifications")).await.unwrap();
        if notes["delivered"].as_i64().unwrap() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(notes["delivered"].as_i64().unwrap() > 0, "{notes}");
    assert_eq!(notes["channels"][0]["name"], "demo-chat");

    // Something keeps changing while a newcomer watches: a change more than 12 s after the
    // replay's last ones settled (it beats every 20 s).
    let watching = std::time::Instant::now();
    let newest = |v: serde_json::Value| v["newest"].as_i64().unwrap();
    let mut last = newest(json(format!("{base}/api/changes?since=0")).await.unwrap());
    let mut moved = false;
    while watching.elapsed() < std::time::Duration::from_secs(45) {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let now = newest(json(format!("{base}/api/changes?since=0")).await.unwrap());
        if now > last && watching.elapsed() > std::time::Duration::from_secs(12) {
            moved = true;
            break;
        }
        last = now;
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(moved, "nothing happened in 45 s of the demo");
}
