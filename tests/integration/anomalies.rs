//! Delivery anomalies: one template's failures with 131049 surge against its own week before;
//! the check finds that template and no other, keeps it once a day, tells the subscribed
//! channel what the code means and what to do, and the overview lists it.

use serde_json::{json, Value};
use templar::sim::SimOptions;

use crate::common::{self, app, with_traffic, App, Channel, Env, Page};

/// One account of six templates with steady traffic, synced, and a channel for anomalies.
async fn watched() -> (Env, axum::Router) {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 6,
        messages_per_hour: 150,
        ..Default::default()
    })
    .notify(
        Channel::webhook("ops", "http://127.0.0.1:9/", "s3cret-s3cret")
            .with("events", vec!["delivery_anomaly"]),
    )
    .start()
    .await;
    let app = app(&env);
    env.sync().await;
    (env, app)
}

/// Six hours of traffic after the simulator's `/failures` control gets `change` for template
/// `id`; the one anomaly the check then finds, and the time it looked.
async fn six_hours_of(
    env: &Env,
    app: &axum::Router,
    id: &str,
    change: Value,
) -> (templar::db::models::anomalies::NewAnomaly, i64) {
    env.post(&format!("/_sim/templates/{id}/failures"), change)
        .await;
    with_traffic(env, app, 6).await;
    let now = env.sim.world().now();
    let mut found = templar::jobs::anomalies::check(&env.db, now).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    (found.remove(0), now)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_surge_of_one_error_code_is_found_once_and_explained() {
    let (env, app) = watched().await;
    let expand = || env.notify_pass();
    expand();
    // Nearly three days as usual: the baseline.
    with_traffic(&env, &app, 66).await;
    let now = env.sim.world().now();
    let calm = templar::jobs::anomalies::check(&env.db, now).await.unwrap();
    assert!(calm.is_empty(), "usual traffic is no anomaly: {calm:?}");

    // Then Meta starts holding back a third of one template's messages.
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    let (a, now) = six_hours_of(&env, &app, id, json!({"code": 131049, "share": 0.35})).await;
    assert_eq!(
        (a.kind.as_str(), a.error_code),
        ("error_code", Some(131049))
    );
    assert!(a.recent_rate > 0.25 && a.baseline_rate < 0.05, "{a:?}");
    let row = {
        let mut c = env.db.conn().unwrap();
        templar::db::models::templates::with_account(&mut c, id)
            .unwrap()
            .unwrap()
            .row
    };
    assert_eq!(a.template_row, row.id);
    // Still surging ten minutes later (on the same UTC day, whatever the time the test runs
    // at): the same day's finding is not repeated.
    let later = (now + 600).min(now - now.rem_euclid(86_400) + 86_399);
    let again = templar::jobs::anomalies::check(&env.db, later)
        .await
        .unwrap();
    assert!(again.is_empty(), "{again:?}");

    // The channel hears of it once, with the code's meaning and what to do.
    assert_eq!(expand(), 1);
    assert_eq!(expand(), 0);
    let payload: String = {
        use diesel::prelude::*;
        use templar::db::schema::notifications as n;
        let mut c = env.db.conn().unwrap();
        n::table.select(n::payload).first(&mut c).unwrap()
    };
    let p: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(p["event"], "delivery_anomaly");
    assert!(p["title"].as_str().unwrap().contains(&row.name));
    let text = p["text"].as_str().unwrap();
    assert!(text.contains("per-user marketing limit"), "{text}");
    assert!(
        p["recommendation"]
            .as_str()
            .unwrap()
            .contains("do not retry within 24 hours"),
        "{p}"
    );

    // The overview lists it under its own heading.
    let (_, _, html) = common::get(&app, "/", &[]).await;
    let page = Page::parse(&html);
    let items = page.texts("li");
    assert!(
        items
            .iter()
            .any(|i| i.contains(&row.name) && i.contains("error 131049")),
        "{items:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_that_fall_are_found_and_explained() {
    let (env, app) = watched().await;
    env.notify_pass();
    with_traffic(&env, &app, 66).await;
    // Then readers stop opening one template's messages: a tenth are read, not 62 %.
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    let (a, _) = six_hours_of(&env, &app, id, json!({"reads": 0.1})).await;
    assert_eq!((a.kind.as_str(), a.error_code), ("read_rate", None));
    assert!(a.recent_rate < 0.25 && a.baseline_rate > 0.5, "{a:?}");

    assert_eq!(env.notify_pass(), 1);
    let payload: String = {
        use diesel::prelude::*;
        use templar::db::schema::notifications as n;
        let mut c = env.db.conn().unwrap();
        n::table.select(n::payload).first(&mut c).unwrap()
    };
    let p: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(p["change"]["field"], "read_rate");
    assert!(
        p["title"].as_str().unwrap().contains("reads fell"),
        "{}",
        p["title"]
    );
    assert!(
        p["recommendation"]
            .as_str()
            .unwrap()
            .contains("content versions"),
        "{p}"
    );
    let (_, _, html) = common::get(&app, "/", &[]).await;
    let items = Page::parse(&html).texts("li");
    assert!(
        items
            .iter()
            .any(|i| i.contains(t["name"].as_str().unwrap()) && i.contains("reads fell")),
        "{items:?}"
    );
}
