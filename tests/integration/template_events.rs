//! Meta's `message_template_status_update` events are not all statuses: each value moves the
//! template to the status Meta's listing shows next, the event itself stays in the history, and
//! a sync that follows adds nothing. Pause titles say which strike a pause is.

use serde_json::{json, Value};
use templar::db::models::templates as tpl;
use templar::sim::SimOptions;

use crate::common::{self, receivers, start_live, wait_for, App, Channel, Env, Server};

/// The template's status in templar, and its events (field, to, detail) in the order recorded.
fn record(env: &Env, id: &str) -> (String, Vec<(String, String, Option<String>)>) {
    let mut c = env.db.conn().unwrap();
    let found = tpl::with_account(&mut c, id)
        .unwrap()
        .expect("known template");
    let mut events = tpl::events_of(&mut c, found.row.id).unwrap();
    events.sort_by_key(|e| e.id);
    let events = events
        .into_iter()
        .map(|e| (e.field, e.new_value, e.detail))
        .collect();
    (found.row.status, events)
}

async fn live() -> (Env, Server, String) {
    let (env, server) = start_live(SimOptions {
        accounts: 1,
        templates: 20,
        ..Default::default()
    })
    .await;
    // `serve` syncs at start on a fresh database.
    wait_for("the first sync", || env.count("templates") == 20).await;
    let t = env.template_with_status("APPROVED").await;
    (env, server, t["id"].as_str().unwrap().to_string())
}

/// Sends `event` (after moving the template through `before`, each by a status webhook) and
/// checks templar's status, history, and that a sync then adds nothing.
async fn check(before: &[&str], event: &str, title: Option<&str>, status: &str) -> Vec<Value> {
    let (env, server, id) = live().await;
    for s in before {
        env.post(
            &format!("/_sim/templates/{id}/status"),
            json!({"status": s}),
        )
        .await;
        wait_for("the status webhook", || record(&env, &id).0 == *s).await;
    }
    let n = record(&env, &id).1.len();
    env.post(
        &format!("/_sim/templates/{id}/event"),
        json!({"event": event, "title": title}),
    )
    .await;
    wait_for("the event webhook", || record(&env, &id).1.len() > n).await;
    let (now, events) = record(&env, &id);
    assert_eq!(now, status, "after {event}");
    assert_eq!(events.len(), n + 1, "one history entry for {event}");
    let (field, to, detail) = events.last().unwrap().clone();
    let detail: Value = detail
        .map(|d| serde_json::from_str(&d).unwrap())
        .unwrap_or_default();
    if field == "status" {
        assert_eq!(to, status);
        if event != status {
            assert_eq!(detail["event"], event, "the event is kept with the status");
        }
    } else {
        assert_eq!((field.as_str(), to.as_str()), ("event", event));
    }
    // The listing agrees: the sync that follows records nothing.
    let report = env.sync().await;
    assert!(!report.failed(), "{report:?}");
    assert_eq!(
        record(&env, &id).1.len(),
        n + 1,
        "a sync after {event} adds nothing"
    );
    server.stop().await;
    vec![detail]
}

#[tokio::test(flavor = "multi_thread")]
async fn approved() {
    check(&["PENDING"], "APPROVED", None, "APPROVED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn archived() {
    check(&[], "ARCHIVED", None, "ARCHIVED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unarchived_returns_to_the_status_before_archiving() {
    check(&["PAUSED", "ARCHIVED"], "UNARCHIVED", None, "PAUSED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleted() {
    check(&[], "DELETED", None, "DELETED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disabled() {
    check(&[], "DISABLED", None, "DISABLED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn flagged_leaves_the_status() {
    check(&[], "FLAGGED", None, "APPROVED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn in_appeal() {
    check(&["REJECTED"], "IN_APPEAL", None, "IN_APPEAL").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn limit_exceeded() {
    check(&[], "LIMIT_EXCEEDED", None, "LIMIT_EXCEEDED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn locked_leaves_the_status() {
    check(&[], "LOCKED", None, "APPROVED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn paused() {
    check(&[], "PAUSED", Some("FIRST_PAUSE"), "PAUSED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pending() {
    check(&["REJECTED"], "PENDING", None, "PENDING").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reinstated_is_approved_again() {
    // APPROVED is what `send` checks, so a reinstated template can be sent again.
    check(&["PAUSED"], "REINSTATED", None, "APPROVED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pending_deletion() {
    check(&[], "PENDING_DELETION", None, "PENDING_DELETION").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rejected() {
    check(&["PENDING"], "REJECTED", None, "REJECTED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_event_is_kept_and_leaves_the_status() {
    check(&[], "SOMETHING_META_ADDS", None, "APPROVED").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn meta_s_pause_title_decides_the_strike_everywhere() {
    const SECRET: &str = "pause-secret";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (hook, inbox) = receivers::http(Some(SECRET)).await;
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 20,
        webhook_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        ..Default::default()
    })
    .notify(Channel::webhook("hook", &hook, SECRET))
    .start()
    .await;
    let server = common::serve(&env.config, listener).await;
    wait_for("the first sync", || env.count("templates") == 20).await;
    let ids: Vec<String> = env.sim_state().await["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "APPROVED")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .take(2)
        .collect();
    // templar never saw the first pause of ids[0]; Meta says this is the second.
    env.post(
        &format!("/_sim/templates/{}/event", ids[0]),
        json!({"event": "PAUSED", "title": "SECOND_PAUSE"}),
    )
    .await;
    env.post(
        &format!("/_sim/templates/{}/event", ids[1]),
        json!({"event": "PAUSED", "title": "RATE_LIMITING_PAUSE"}),
    )
    .await;
    let paused = |inbox: &std::sync::Mutex<receivers::Inbox>| {
        inbox
            .lock()
            .unwrap()
            .accepted
            .iter()
            .filter(|p| p["event"] == "paused")
            .cloned()
            .collect::<Vec<Value>>()
    };
    wait_for("both notifications", || paused(&inbox).len() == 2).await;
    let by_id = |id: &str| {
        paused(&inbox)
            .into_iter()
            .find(|p| p["template"]["id"] == id)
            .unwrap()
    };
    let second = by_id(&ids[0]);
    assert_eq!(second["strike"], 2);
    assert!(second["title"]
        .as_str()
        .unwrap()
        .starts_with("Paused (strike 2 of 3)"));
    let rate = by_id(&ids[1]);
    assert!(rate["strike"].is_null(), "{rate}");
    assert!(rate["title"]
        .as_str()
        .unwrap()
        .starts_with("Paused for rate limiting"));

    // The template page's API and the overview say the same.
    let api = |path: String| {
        let http = env.http.clone();
        let url = format!("{}{path}", server.url);
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let page = api(format!("/api/templates/{}", ids[0])).await;
    assert!(
        page["paused"]
            .as_str()
            .unwrap()
            .starts_with("strike 2 of 3"),
        "{page}"
    );
    let page = api(format!("/api/templates/{}", ids[1])).await;
    assert_eq!(page["paused"], "paused for rate limiting (not a strike)");
    let overview = api("/api/overview".into()).await;
    let why: Vec<&str> = overview["paused"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ids.iter().any(|id| p["id"] == id.as_str()))
        .map(|p| p["why"].as_str().unwrap())
        .collect();
    assert_eq!(why.len(), 2);
    assert!(
        why.iter().any(|w| w.starts_with("strike 2 of 3")),
        "{why:?}"
    );
    assert!(
        why.contains(&"paused for rate limiting (not a strike)"),
        "{why:?}"
    );
    server.stop().await;
}

/// Posts the simulator's queued webhooks into templar (no server), `times` over.
async fn deliver_queued(env: &Env, times: usize) {
    let hooks = env.sim.take_webhooks();
    let app = common::app(env);
    for _ in 0..times {
        common::deliver(&app, &hooks).await;
    }
}

async fn paused_line(env: &Env, id: &str) -> String {
    let (_, _, body) = common::get(&common::app(env), &format!("/api/templates/{id}"), &[]).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    v["paused"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pause_title_that_arrives_after_the_sync_still_counts() {
    let env = App::new(1, 20).start().await;
    env.sync().await;
    let id = env.template_with_status("APPROVED").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // The first pause's webhook is lost; a sync sees the pause (unnamed: strike 1).
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "PAUSED"}),
    )
    .await;
    env.sim.take_webhooks();
    env.sync().await;
    assert!(paused_line(&env, &id).await.starts_with("strike 1 of 3"));
    // Meta's webhook (retried twice) names it the second pause.
    env.post(
        &format!("/_sim/templates/{id}/event"),
        json!({"event": "PAUSED", "title": "SECOND_PAUSE"}),
    )
    .await;
    deliver_queued(&env, 2).await;
    let line = paused_line(&env, &id).await;
    assert!(line.starts_with("strike 2 of 3"), "{line}");
    let (_, events) = record(&env, &id);
    let named = events
        .iter()
        .filter(|(f, to, _)| f == "event" && to == "PAUSED")
        .count();
    assert_eq!(named, 1, "a retried webhook is kept once: {events:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unarchiving_back_to_paused_is_not_a_new_strike() {
    let env = App::new(1, 20).start().await;
    env.sync().await;
    let id = env.template_with_status("APPROVED").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (event, title) in [
        ("PAUSED", Some("FIRST_PAUSE")),
        ("ARCHIVED", None),
        ("UNARCHIVED", None),
    ] {
        env.post(
            &format!("/_sim/templates/{id}/event"),
            json!({"event": event, "title": title}),
        )
        .await;
        deliver_queued(&env, 1).await;
    }
    assert_eq!(record(&env, &id).0, "PAUSED");
    let line = paused_line(&env, &id).await;
    assert!(line.starts_with("strike 1 of 3"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_webhook_then_the_sync_that_no_longer_lists_it_is_one_deletion() {
    let env = App::new(1, 20).start().await;
    env.sync().await;
    let id = env.template_with_status("APPROVED").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.post(
        &format!("/_sim/templates/{id}/event"),
        json!({"event": "DELETED"}),
    )
    .await;
    deliver_queued(&env, 1).await;
    env.control(
        reqwest::Method::DELETE,
        &format!("/_sim/templates/{id}"),
        json!({}),
    )
    .await;
    let report = env.sync().await;
    assert_eq!(report.accounts[0].removed, 0, "{report:?}");
    let (status, events) = record(&env, &id);
    assert_eq!(status, "DELETED");
    let deletions = events.iter().filter(|(_, to, _)| to == "DELETED").count();
    assert_eq!(deletions, 1, "{events:?}");
}
