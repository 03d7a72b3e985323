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
