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
}
