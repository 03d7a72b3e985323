//! Sync against the simulator: paging, reconciliation, events, faults, isolation.

use serde_json::json;
use templar::sim::SimOptions;
use templar::sync::{SyncError, SyncMode, SyncOptions};

use crate::common::{self, events, start, App};

#[tokio::test(flavor = "multi_thread")]
async fn every_page_of_a_large_catalogue_is_stored() {
    let env = start(2, 2345).await;
    let report = env.sync().await;
    assert!(!report.failed(), "{report:?}");
    for a in &report.accounts {
        assert_eq!(a.seen, 2345, "{}", a.account);
        assert_eq!(a.created, 2345);
        assert_eq!(a.pages, 24, "100 per page");
    }
    assert_eq!(env.count("templates"), 2 * 2345);
    // Every template got its first-seen event and nothing else.
    assert_eq!(env.count("template_events"), 2 * 2345);
}

#[tokio::test(flavor = "multi_thread")]
async fn forced_approval_gives_exactly_one_event() {
    let env = start(2, 60).await;
    env.sync().await;
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap();
    assert_eq!(events(&env.db, id).len(), 1);

    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    let report = env.sync().await;
    let changed: u32 = report.accounts.iter().map(|a| a.changed).sum();
    assert_eq!(changed, 1);
    let ev = events(&env.db, id);
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[1],
        (
            "status".into(),
            Some("PENDING".into()),
            "APPROVED".into(),
            "sync".into()
        )
    );

    // Nothing changed upstream: nothing recorded.
    let before = env.count("template_events");
    let report = env.sync().await;
    assert_eq!(report.accounts.iter().map(|a| a.changed).sum::<u32>(), 0);
    assert_eq!(env.count("template_events"), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn rejection_reason_quality_and_category_changes_are_recorded() {
    let env = start(1, 40).await;
    env.sync().await;
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap().to_string();
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "REJECTED", "reason": "PROMOTIONAL"}),
    )
    .await;
    {
        let mut w = env.sim.world();
        let i = w.by_id[&id];
        w.templates[i].category = "MARKETING".into();
        w.templates[i].quality = "YELLOW".into();
    }
    env.sync().await;
    let ev = events(&env.db, &id);
    let fields: Vec<&str> = ev.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(fields, ["status", "status", "quality", "category"]);
    assert_eq!(ev[2].2, "YELLOW");
    assert_eq!(ev[3].2, "MARKETING");

    let out = env.cli(&[
        "templates",
        "show",
        pending["name"].as_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["status"], "REJECTED");
    assert_eq!(shown["rejected_reason"], "PROMOTIONAL");
    assert_eq!(shown["events"][1]["reason"], "PROMOTIONAL");
    assert_eq!(shown["events"][1]["source"], "sync");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_status_is_stored_and_shown() {
    let env = start(1, 30).await;
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "FLAGGED"}),
    )
    .await;
    let report = env.sync().await;
    assert!(!report.failed());
    let out = env.cli(&["templates", "list", "--status", "FLAGGED", "--json"]);
    assert!(out.status.success());
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], id);
    assert_eq!(list[0]["status"], "FLAGGED");
    let table = env.cli(&["templates", "list"]);
    assert!(common::stdout(&table).contains("FLAGGED"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_record_is_skipped_and_the_rest_of_its_page_stored() {
    let env = start(1, 50).await;
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    env.post(&format!("/_sim/templates/{id}/corrupt"), json!({}))
        .await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    assert!(a.error.is_none(), "{a:?}");
    assert_eq!(a.skipped, 1);
    assert_eq!(a.created, 49);
    assert_eq!(env.count("templates"), 49);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_with_retry_after_is_waited_out() {
    let env = start(1, 30).await;
    env.post("/_sim/faults", json!({"next": ["429"]})).await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    assert!(a.error.is_none(), "{a:?}");
    assert_eq!(a.created, 30);
    assert_eq!(a.requests, 2, "one 429, then the page");
    assert!(
        a.duration_ms >= 900,
        "Retry-After: 1 was honoured ({} ms)",
        a.duration_ms
    );
    assert_eq!(env.sim_stats().await["faults_injected"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_timeouts_and_truncated_bodies_are_retried() {
    let env = start(1, 250).await;
    env.post(
        "/_sim/faults",
        json!({"next": ["500", "truncated", "timeout"]}),
    )
    .await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    assert!(a.error.is_none(), "{a:?}");
    assert_eq!(a.created, 250);
    assert_eq!(a.pages, 3);
    assert_eq!(a.requests, 6, "three faults, three pages");
}

#[tokio::test(flavor = "multi_thread")]
async fn persistent_server_errors_fail_the_account_and_keep_its_data() {
    let env = start(1, 30).await;
    env.sync().await;
    env.post("/_sim/faults", json!({"rate": 1.0, "kinds": ["500"]}))
        .await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    let err = a.error.as_deref().unwrap();
    assert!(err.contains("gave up after 5 attempts"), "{err}");
    assert_eq!(env.count("templates"), 30, "nothing lost");
    assert_eq!(env.count("template_events"), 30, "nothing marked deleted");
    assert_eq!(env.count("sync_runs"), 2, "the failed run is recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn random_faults_do_not_lose_templates() {
    let opts = SimOptions {
        accounts: 4,
        templates: 300,
        fault_rate: 0.15,
        ..SimOptions::default()
    };
    let env = App::with_sim(opts).start().await;
    // Timeouts cost the full request timeout; keep this test to the cheap fault kinds.
    env.post(
        "/_sim/faults",
        json!({"rate": 0.15, "kinds": ["429", "500", "truncated"]}),
    )
    .await;
    let report = env.sync().await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(env.count("templates"), 4 * 300);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_template_is_marked_deleted_not_forgotten() {
    let env = start(1, 30).await;
    env.sync().await;
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    env.control(
        reqwest::Method::DELETE,
        &format!("/_sim/templates/{id}"),
        json!({}),
    )
    .await;
    let report = env.sync().await;
    assert_eq!(report.accounts[0].removed, 1);
    assert_eq!(env.count("templates"), 30);
    let ev = events(&env.db, id);
    assert_eq!(
        ev.last().unwrap(),
        &(
            "status".into(),
            Some("APPROVED".into()),
            "DELETED".into(),
            "sync".into()
        )
    );

    let out = env.cli(&["templates", "list", "--status", "DELETED", "--json"]);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0]["deleted_at"].is_string());
    let live = env.cli(&["templates", "list", "--json"]);
    let live: Vec<serde_json::Value> = serde_json::from_slice(&live.stdout).unwrap();
    assert_eq!(live.len(), 29);

    // It comes back: the deletion mark is lifted, with an event.
    env.sim
        .world()
        .templates
        .iter_mut()
        .for_each(|t| t.deleted = false);
    env.sync().await;
    let ev = events(&env.db, id);
    assert_eq!(ev.last().unwrap().1.as_deref(), Some("DELETED"));
    assert_eq!(ev.last().unwrap().2, "APPROVED");
}

#[tokio::test(flavor = "multi_thread")]
async fn both_sources_authenticate_their_own_way() {
    let env = start(2, 20).await;
    let report = env.sync().await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.accounts[0].source, "meta");
    assert_eq!(report.accounts[1].source, "kapso");
    let stats = env.sim_stats().await;
    // The simulator only accepts a Bearer token on Meta paths and X-API-Key on Kapso's.
    assert_eq!(stats["unauthorized"], 0);
    assert!(stats["meta_requests"].as_u64().unwrap() >= 1);
    assert!(
        stats["kapso_requests"].as_u64().unwrap() >= 2,
        "discovery + listing"
    );
    // The Kapso account had no waba_id: it was discovered from its phone numbers.
    let state = env.sim_state().await;
    assert_eq!(
        report.accounts[1].wabas,
        vec![state["wabas"][1]["id"].as_str().unwrap().to_string()]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_credential_fails_only_its_account() {
    let env = App::new(3, 20)
        .edit(|t| {
            // The first account's token, made wrong.
            let account = &mut t["account"][0];
            let token = account["token"].as_str().unwrap().to_string();
            account["token"] = format!("WRONG-{token}").into();
        })
        .start()
        .await;
    let report = env.sync().await;
    assert!(report.failed());
    let err = report.accounts[0].error.as_deref().unwrap();
    assert!(
        err.contains("authentication failed") && err.contains("190"),
        "{err}"
    );
    assert!(
        !err.contains("sim-meta-token"),
        "no secret in errors: {err}"
    );
    assert!(report.accounts[1].error.is_none() && report.accounts[2].error.is_none());
    assert_eq!(env.count("templates"), 40);

    let out = env.cli(&["sync"]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(
        text.contains("FAILED") && text.contains("1 of 3 accounts failed"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_writes_nothing() {
    let env = start(2, 30).await;
    let report = env.sync_with(SyncMode::Full, true).await;
    assert_eq!(
        report.accounts[0].created, 30,
        "it still says what it would do"
    );
    assert_eq!(env.count("templates"), 0);
    assert_eq!(env.count("sync_runs"), 0);
    assert_eq!(env.count("accounts"), 0);

    env.sync().await;
    let t = env.template_with_status("PENDING").await;
    env.post(
        &format!("/_sim/templates/{}/status", t["id"].as_str().unwrap()),
        json!({"status": "APPROVED"}),
    )
    .await;
    let (events, runs) = (env.count("template_events"), env.count("sync_runs"));
    let out = env.cli(&["sync", "--dry-run"]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    assert!(
        text.contains("would change") && text.contains("PENDING -> APPROVED"),
        "{text}"
    );
    assert_eq!(env.count("template_events"), events);
    assert_eq!(env.count("sync_runs"), runs);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_check_only_looks_at_templates_under_review() {
    let env = start(2, 80).await;
    env.sync().await;
    let t = env.template_with_status("PENDING").await;
    let id = t["id"].as_str().unwrap();
    // A change to an approved template is not the pending check's business.
    let other = env.template_with_status("APPROVED").await;
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    env.post(
        &format!("/_sim/templates/{}/status", other["id"].as_str().unwrap()),
        json!({"status": "PAUSED"}),
    )
    .await;
    let before = env.sim_stats().await["requests"].as_u64().unwrap();
    let report = env.sync_with(SyncMode::Pending, false).await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(report.accounts.iter().map(|a| a.changed).sum::<u32>(), 1);
    assert_eq!(events(&env.db, id).last().unwrap().2, "APPROVED");
    let used = env.sim_stats().await["requests"].as_u64().unwrap() - before;
    assert!(
        used <= 6,
        "a filtered page per WABA plus look-ups by id, not a full listing ({used})"
    );
    // The full sync then catches the pause.
    let report = env.sync().await;
    assert_eq!(report.accounts.iter().map(|a| a.changed).sum::<u32>(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_check_skips_a_template_removed_upstream_on_either_source() {
    let env = start(2, 80).await;
    env.sync().await;
    let state = env.sim_state().await;
    let source_of = |waba: &serde_json::Value| {
        state["wabas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == *waba)
            .unwrap()["source"]
            .clone()
    };
    // One pending template of each source disappears upstream. The look-up by id then gets
    // Graph error 100 from both (Kapso's proxy passes Meta's error on).
    let mut removed = Vec::new();
    for source in ["meta", "kapso"] {
        let t = state["templates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["status"] == "PENDING" && source_of(&t["waba_id"]) == source)
            .unwrap_or_else(|| panic!("a pending {source} template"))
            .clone();
        let id = t["id"].as_str().unwrap().to_string();
        env.control(
            reqwest::Method::DELETE,
            &format!("/_sim/templates/{id}"),
            json!({}),
        )
        .await;
        removed.push(id);
    }
    let events_before = env.count("template_events");
    let report = env.sync_with(SyncMode::Pending, false).await;
    assert!(
        !report.failed(),
        "a missing template is not an error: {report:?}"
    );
    assert_eq!(report.accounts.iter().map(|a| a.changed).sum::<u32>(), 0);
    assert_eq!(env.count("template_events"), events_before);
    // The full sync is the one that records the removals.
    let report = env.sync().await;
    assert_eq!(report.accounts.iter().map(|a| a.removed).sum::<u32>(), 2);
    for id in &removed {
        assert_eq!(events(&env.db, id).last().unwrap().2, "DELETED");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_do_not_overlap() {
    let opts = SimOptions {
        accounts: 1,
        templates: 500,
        latency: std::time::Duration::from_millis(100),
        ..Default::default()
    };
    let env = App::with_sim(opts).start().await;
    let ctx = env.ctx();
    let o = SyncOptions {
        mode: SyncMode::Full,
        account: None,
        dry_run: false,
    };
    let (a, b) = tokio::join!(
        templar::sync::run_once(&ctx, &o, common::now()),
        templar::sync::run_once(&ctx, &o, common::now())
    );
    let busy = [&a, &b]
        .iter()
        .filter(|r| matches!(r, Err(SyncError::AlreadyRunning(_))))
        .count();
    assert_eq!(busy, 1, "exactly one run proceeds");
    assert_eq!(env.count("templates"), 500);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resync_without_changes_writes_only_its_run_rows() {
    let env = start(3, 200).await;
    env.sync().await;
    env.db.count_writes();
    let before = env.db.rows_written();
    env.sync().await;
    assert_eq!(
        env.db.rows_written() - before,
        3,
        "one sync_runs row per account"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn absurd_rate_limit_waits_fail_the_run_at_once_and_are_recorded() {
    for fault in ["429_inf", "429_huge", "429_regain"] {
        let env = start(1, 10).await;
        env.post("/_sim/faults", json!({"next": [fault]})).await;
        let report = env.sync().await;
        let a = &report.accounts[0];
        let error = a
            .error
            .as_deref()
            .unwrap_or_else(|| panic!("{fault}: {a:?}"));
        assert!(error.contains("rate limited"), "{fault}: {error}");
        // Never slept on: a day-long wait fails the account's run straight away.
        assert!(a.duration_ms < 5_000, "{fault}: {} ms", a.duration_ms);
        assert_eq!(
            env.count("sync_runs"),
            1,
            "{fault}: the failed run is recorded"
        );
        assert_eq!(env.count("templates"), 0);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_keeps_saying_retry_now_fails_the_run_after_a_bounded_number_of_waits() {
    let env = start(1, 10).await;
    env.post("/_sim/faults", json!({"next": vec!["429_zero"; 12]}))
        .await;
    let report = env.sync().await;
    let a = &report.accounts[0];
    let error = a.error.as_deref().expect("the run fails");
    assert!(error.contains("rate limited"), "{error}");
    assert_eq!(a.requests, 9, "eight waits, then it gives up");
    assert_eq!(env.count("sync_runs"), 1);
}
