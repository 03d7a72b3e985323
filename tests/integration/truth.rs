//! What templar records stays true when upstream misbehaves: malformed records, cursors that do
//! not move or go round, runs that never end, and the schedules of `serve`.

use std::time::Duration;

use serde_json::{json, Value};
use templar::sim::SimOptions;

use crate::common::{self, start, App, Env};

/// Templates templar considers live (not deleted), by id.
fn live(env: &Env) -> Vec<String> {
    let out = env.cli(&["templates", "list", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let list: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    list.iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

async fn corrupt(env: &Env, id: &str, keep_id: bool) {
    env.post(
        &format!("/_sim/templates/{id}/corrupt"),
        json!({ "keep_id": keep_id }),
    )
    .await;
}

fn sim_ids(state: &Value) -> Vec<String> {
    state["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_record_keeps_its_template_and_the_run_says_partial() {
    let env = start(1, 50).await;
    env.sync().await;
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    corrupt(&env, id, true).await;

    let report = env.sync().await;
    let a = &report.accounts[0];
    assert!(a.error.is_none(), "{a:?}");
    assert_eq!((a.skipped, a.removed), (1, 0), "{a:?}");
    assert_eq!(a.outcome, "partial");
    assert!(
        live(&env).contains(&id.to_string()),
        "still upstream, still live"
    );
    assert_eq!(common::events(&env.db, id).len(), 1, "no DELETED event");

    // The overview says so in the account's health cell.
    let (status, _, html) = common::get(&common::app(&env), "/", &[]).await;
    assert_eq!(status, 200);
    let rows = common::Page::parse(&html).texts("table tbody tr");
    let row = rows
        .iter()
        .find(|r| r.starts_with("acme"))
        .expect("acme's row");
    assert!(
        row.contains("partial 1 unreadable records skipped"),
        "{row}"
    );
    // A pending check, which reads too little to know, does not clear it.
    env.sync_with(templar::sync::SyncMode::Pending, false).await;
    let (_, _, html) = common::get(&common::app(&env), "/", &[]).await;
    let rows = common::Page::parse(&html).texts("table tbody tr");
    let row = rows
        .iter()
        .find(|r| r.starts_with("acme"))
        .expect("acme's row");
    assert!(row.contains("partial"), "{row}");

    // `templar sync` says so too, in its summary and its JSON.
    let out = env.cli(&["sync"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let line = common::stdout(&out);
    let words: Vec<&str> = line.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(words[2], "partial", "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waba_whose_every_record_is_malformed_fails_and_deletes_nothing() {
    let env = start(1, 30).await;
    env.sync().await;
    let ids = sim_ids(&env.sim_state().await);
    for id in &ids {
        corrupt(&env, id, true).await;
    }
    let report = env.sync().await;
    let a = &report.accounts[0];
    let err = a.error.as_deref().expect("the run fails");
    assert!(err.contains("none of the 30 template records"), "{err}");
    assert_eq!(a.outcome, "failed");
    assert_eq!(live(&env).len(), 30);
    assert_eq!(env.count("template_events"), 30, "nothing marked deleted");
    let out = env.cli(&["sync", "--json"]);
    assert!(!out.status.success(), "a failed run exits non-zero");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_record_without_a_readable_id_makes_the_listing_delete_nothing() {
    let env = start(1, 40).await;
    env.sync().await;
    let ids = sim_ids(&env.sim_state().await);
    // One template really goes, and another record loses its id: that record may be the one
    // that went, so nothing can be marked deleted this time.
    env.control(
        reqwest::Method::DELETE,
        &format!("/_sim/templates/{}", ids[0]),
        json!({}),
    )
    .await;
    corrupt(&env, &ids[1], false).await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    assert!(a.error.is_none(), "{a:?}");
    assert_eq!(
        (a.skipped, a.removed, a.outcome.as_str()),
        (1, 0, "partial")
    );
    assert_eq!(live(&env).len(), 40);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_that_does_not_move_fails_the_run_and_deletes_nothing() {
    let env = start(1, 350).await;
    env.sync().await;
    env.post("/_sim/faults", json!({"cursor": "stuck"})).await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    let err = a.error.as_deref().expect("the run fails");
    assert!(err.contains("the `after` cursor did not move"), "{err}");
    assert_eq!(a.removed, 0);
    assert_eq!(
        live(&env).len(),
        350,
        "the templates not reached are not deleted"
    );
    assert_eq!(env.count("sync_runs"), 2, "the failed run is recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cursor_that_goes_round_ends_the_run_with_a_clear_error() {
    let env = start(1, 450).await;
    env.sync().await;
    env.post("/_sim/faults", json!({"cursor": "cycle"})).await;
    let report = tokio::time::timeout(Duration::from_secs(60), env.sync())
        .await
        .expect("the run ends");
    let a = &report.accounts[0];
    let err = a.error.as_deref().expect("the run fails");
    assert!(err.contains("came back to a page already read"), "{err}");
    assert_eq!(live(&env).len(), 450);
    // The lock is free again: the next run happens.
    env.post("/_sim/faults", json!({})).await;
    let report = env.sync().await;
    assert!(!report.failed(), "{report:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_past_its_deadline_fails_and_frees_the_lock() {
    // Two accounts one at a time: the deadline is the run's, not each account's.
    let opts = SimOptions {
        accounts: 2,
        templates: 600,
        latency: Duration::from_millis(400),
        ..SimOptions::default()
    };
    let env = App::with_sim(opts)
        .section("sync", "run_timeout_secs", 1)
        .section("sync", "concurrency", 1)
        .start()
        .await;
    let started = std::time::Instant::now();
    let report = env.sync().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    for a in &report.accounts {
        let err = a.error.as_deref().expect("the run fails");
        assert!(err.contains("did not finish within 1 s"), "{err}");
        assert!(err.contains("sync.run_timeout_secs"), "{err}");
    }
    assert_eq!(env.count("sync_runs"), 2, "the failed runs are recorded");
    // What it read before the deadline is kept, and the next run is not locked out.
    let again = env.sync().await;
    assert!(
        again.accounts[0].error.is_some(),
        "still too slow, but it ran"
    );
}

fn full_runs(env: &Env) -> i64 {
    env.count("sync_runs WHERE kind = 'full' AND error IS NULL")
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_catches_up_at_start_on_a_sync_and_usage_pull_never_run() {
    // The test schedules fire once a year: only the catch-up can run them.
    let env = start(1, 20).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = common::serve(&env.config, listener).await;
    common::wait_for("the catch-up full sync", || full_runs(&env) == 1).await;
    common::wait_for("the catch-up usage pull", || {
        env.count("job_runs WHERE job = 'usage_pull'") == 1
    })
    .await;
    assert_eq!(live(&env).len(), 20);
    server.stop().await;

    // Restarted soon after, nothing is overdue: no second run.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = common::serve(&env.config, listener).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.stop().await;
    assert_eq!(full_runs(&env), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_that_meets_a_pending_check_waits_instead_of_being_dropped() {
    // Both fire every second, so they always coincide.
    let env = App::new(1, 20)
        .section("sync", "schedule", "* * * * * *")
        .section("sync", "pending_schedule", "* * * * * *")
        .start()
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = common::serve(&env.config, listener).await;
    common::wait_for("the catch-up full sync", || full_runs(&env) >= 1).await;
    let first = full_runs(&env);
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let ran = full_runs(&env) - first;
    server.stop().await;
    // Five firings; a slow machine may let one pass while a run is still going.
    assert!(ran >= 4, "{ran} full syncs in five seconds");
}

/// Observed figures per template id: [sent, delivered, read, failed].
fn per_template(db: &templar::db::Db) -> std::collections::BTreeMap<String, [i64; 4]> {
    use diesel::prelude::*;
    use templar::db::schema::template_daily_stats as s;
    use templar::db::schema::templates as t;
    let rows: Vec<(String, i64, i64, i64, i64)> = s::table
        .inner_join(t::table)
        .filter(s::origin.eq("observed"))
        .select((t::template_id, s::sent, s::delivered, s::read, s::failed))
        .load(&mut db.conn().unwrap())
        .unwrap();
    let mut out = std::collections::BTreeMap::new();
    for (id, a, b, c, d) in rows {
        let slot: &mut [i64; 4] = out.entry(id).or_default();
        for (x, y) in slot.iter_mut().zip([a, b, c, d]) {
            *x += y;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_that_arrive_before_their_template_count_for_it_once_it_is_known() {
    // One simulated day of traffic, delivered to two installations of the same accounts: one
    // synced before the webhooks flowed, one (a fresh install) synced only after.
    let env = start(2, 40).await;
    let mut config = env.config.clone();
    config.database = common::scratch_database(env.dir.path(), "fresh.db");
    let fresh = templar::db::Db::open(&config.database).unwrap();
    let fresh_ctx = templar::sync::SyncContext {
        db: fresh.clone(),
        config: std::sync::Arc::new(config.clone()),
        client: templar::sources::http_client(),
        metrics: Default::default(),
    };
    let sync_fresh = || async {
        let opts = templar::sync::SyncOptions {
            mode: templar::sync::SyncMode::Full,
            account: None,
            dry_run: false,
        };
        templar::sync::run_once(&fresh_ctx, &opts, common::now())
            .await
            .unwrap()
    };

    env.sync().await;
    env.sim.world().advance(24 * 3600);
    let hooks = env.sim.take_webhooks();
    common::deliver(&common::app(&env), &hooks).await;
    common::deliver(&common::app_on(&fresh, &config), &hooks).await;
    let early = per_template(&fresh);
    assert!(!sync_fresh().await.failed());
    assert!(!env.sync().await.failed());

    let synced_first = per_template(&env.db);
    let sent =
        |m: &std::collections::BTreeMap<String, [i64; 4]>| m.values().map(|v| v[0]).sum::<i64>();
    assert!(
        sent(&synced_first) > 100,
        "a day of traffic: {}",
        sent(&synced_first)
    );
    assert!(
        sent(&early) < sent(&synced_first),
        "before the sync most had no template"
    );
    assert_eq!(per_template(&fresh), synced_first);
    // The account and period roll-ups moved with them.
    assert_eq!(
        common::stats_and_recount(&fresh).0,
        common::stats_and_recount(&fresh).1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_stops_promptly_while_a_long_sync_runs() {
    // Twenty pages at a second each: the catch-up sync at start is still going when asked to
    // stop.
    let opts = SimOptions {
        accounts: 1,
        templates: 2000,
        latency: Duration::from_secs(1),
        ..SimOptions::default()
    };
    let env = App::with_sim(opts).start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = common::serve(&env.config, listener).await;
    common::wait_for("the sync to be under way", || env.count("templates") > 0).await;
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("serve stops without waiting for the sync to end");
    assert!(env.count("templates") < 2000, "it was stopped mid-run");
}
