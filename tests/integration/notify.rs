//! Notifications to real local receivers: a signed webhook, a Slack-compatible endpoint and an
//! SMTP server.

use std::sync::Arc;
use std::time::Duration;

use mail_parser::MimeHeaders;

use serde_json::json;
use templar::notify::worker::Notifier;
use templar::sim::SimOptions;

use crate::common::receivers::{self, Inbox};
use crate::common::{self, wait_for, App, Channel, Env};

const SECRET: &str = "receiver-secret";
const PUBLIC_URL: &str = "https://templar.example.com";

/// Reads a notification mail with a MIME parser as a mail client would: the headers relays and
/// spam filters look for, a plain-text and an HTML part, and links that work from a phone.
fn check_mail(raw: &[u8], name: &str, link: &str) {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable message");
    let subject = msg.subject().unwrap_or_default();
    assert!(
        subject.starts_with("[templar] Approved:") && subject.contains(name),
        "{subject}"
    );
    let id = msg.message_id().expect("a Message-ID");
    assert!(id.ends_with("@example.com"), "in the sender's domain: {id}");
    assert!(msg.date().is_some(), "a Date header");
    assert_eq!(
        msg.header_raw("Auto-Submitted").map(str::trim),
        Some("auto-generated")
    );
    let kinds: Vec<String> = msg
        .parts
        .iter()
        .filter_map(|p| p.content_type())
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
        .collect();
    for kind in ["multipart/alternative", "text/plain", "text/html"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} in {kinds:?}");
    }
    let text = msg.body_text(0).expect("a text part");
    assert!(text.contains(link), "{text}");
    let html = scraper::Html::parse_document(&msg.body_html(0).expect("an HTML part"));
    let links: Vec<String> = html
        .select(&scraper::Selector::parse("a[href]").unwrap())
        .filter_map(|a| a.value().attr("href").map(str::to_string))
        .collect();
    assert!(links.iter().any(|l| l == link), "{links:?}");
    assert!(
        links.iter().all(|l| l.starts_with(PUBLIC_URL)),
        "absolute links to public_url: {links:?}"
    );
}

fn notifier(env: &Env) -> Notifier {
    Notifier {
        db: env.db.clone(),
        config: Arc::new(env.config.clone()),
        client: reqwest::Client::new(),
        metrics: templar::metrics::Metrics::default(),
    }
}

/// Waits until the running notifier has read every recorded event for every channel (their
/// outbox cursors).
async fn caught_up(env: &Env) {
    let db = env.db.clone();
    let keys: Vec<String> = env
        .config
        .notify
        .iter()
        .map(|ch| format!("template_events:{}", ch.name))
        .collect();
    wait_for("the notifier to read every event", move || {
        let mut c = db.conn().unwrap();
        let newest = max_event_id(&mut c);
        keys.iter().all(|k| {
            let last = templar::db::models::notifications::cursor(&mut c, k).unwrap();
            last.is_some() && last >= newest
        })
    })
    .await;
}

fn max_event_id(c: &mut templar::db::Conn) -> Option<i32> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Max {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Integer>)]
        id: Option<i32>,
    }
    diesel::sql_query("SELECT MAX(id) AS id FROM template_events")
        .get_result::<Max>(c)
        .unwrap()
        .id
}

fn accepted(inbox: &std::sync::Mutex<Inbox>) -> Vec<serde_json::Value> {
    inbox.lock().unwrap().accepted.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_by_webhook_reaches_every_channel_once() {
    let (hook_url, hook) = receivers::http(Some(SECRET)).await;
    let (slack_url, slack) = receivers::http(None).await;
    let (smtp_port, mails) = receivers::smtp().await;
    let mut opts = SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    opts.webhook_url = Some(format!("http://{}", listener.local_addr().unwrap()));
    let env = App::with_sim(opts)
        .notify(Channel::webhook("hook", &hook_url, SECRET))
        .notify(Channel::slack("chat", &slack_url))
        .notify(Channel::email("mail", smtp_port))
        .set("public_url", PUBLIC_URL)
        .dashboard_token("notify-test-token")
        .start()
        .await;
    // The first sync sees 30 templates for the first time: nobody hears about that.
    env.sync().await;
    let server = common::serve(&env.config, listener).await;
    // The notifier has read every event the sync recorded and queued nothing.
    caught_up(&env).await;
    assert_eq!(env.count("notifications"), 0);
    assert!(
        accepted(&hook).is_empty()
            && accepted(&slack).is_empty()
            && mails.lock().unwrap().is_empty()
    );

    let pending = env.template_with_status("PENDING").await;
    let (id, name) = (
        pending["id"].as_str().unwrap(),
        pending["name"].as_str().unwrap(),
    );
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    wait_for("all three channels", || {
        accepted(&hook).len() == 1
            && accepted(&slack).len() == 1
            && mails.lock().unwrap().len() == 1
    })
    .await;
    // The same approval seen again by sync changes nothing, so nothing more is sent.
    let (events, queued) = (env.count("template_events"), env.count("notifications"));
    env.sync().await;
    assert_eq!(env.count("template_events"), events, "no new event to tell");
    caught_up(&env).await;
    assert_eq!(env.count("notifications"), queued);
    assert_eq!(
        (
            accepted(&hook).len(),
            accepted(&slack).len(),
            mails.lock().unwrap().len()
        ),
        (1, 1, 1)
    );

    let p = &accepted(&hook)[0];
    assert_eq!(p["event"], "approved");
    assert_eq!(p["template"]["name"], name);
    assert_eq!(p["account"], "acme");
    assert!(
        p["id"].as_str().unwrap().starts_with("event:"),
        "a stable id receivers can dedupe on"
    );
    assert!(p["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/templates/{id}")));
    assert_eq!(
        hook.lock().unwrap().bad_signatures,
        0,
        "signed with the channel's secret"
    );
    let text = accepted(&slack)[0]["text"].as_str().unwrap().to_string();
    assert!(
        text.contains(name) && text.contains("ready to send"),
        "{text}"
    );
    let mail = mails.lock().unwrap()[0].clone();
    assert_eq!(mail.to, ["team@example.com"]);
    check_mail(&mail.data, name, &format!("{PUBLIC_URL}/templates/{id}"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_channel_that_fails_three_times_then_recovers_gets_exactly_one_delivery() {
    let (url, inbox) = receivers::http(Some(SECRET)).await;
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    })
    .notify(Channel::webhook("hook", &url, SECRET))
    .start()
    .await;
    env.sync().await;
    let n = notifier(&env);
    let t0 = common::now().timestamp();
    assert_eq!(n.pass(t0).await.unwrap().queued, 0, "first sync: no storm");
    let t = env.template_with_status("PENDING").await;
    env.post(
        &format!("/_sim/templates/{}/status", t["id"].as_str().unwrap()),
        json!({"status": "APPROVED"}),
    )
    .await;
    env.sync().await;
    inbox.lock().unwrap().fail_next = 3;
    // Backoff 1 s, 2 s, 4 s: each pass runs when the retry is due.
    let mut now = t0;
    for step in [0, 1, 2, 4, 8, 16] {
        now += step;
        n.pass(now).await.unwrap();
    }
    let i = inbox.lock().unwrap();
    assert_eq!((i.refused, i.accepted.len()), (3, 1));
    drop(i);
    let out = env.cli(&["notify", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (status["delivered"].as_i64(), status["pending"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(status["recent"][0]["attempts"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_channel_does_not_block_another_and_restart_delivers_what_was_pending() {
    let (good_url, good) = receivers::http(Some(SECRET)).await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    })
    .notify(Channel::webhook("good", &good_url, SECRET))
    .notify(
        Channel::slack("gone", &format!("http://127.0.0.1:{dead_port}/x")).with("max_attempts", 2),
    )
    .start()
    .await;
    env.sync().await;
    let t = env.template_with_status("PENDING").await;
    env.post(
        &format!("/_sim/templates/{}/status", t["id"].as_str().unwrap()),
        json!({"status": "REJECTED", "reason": "PROMOTIONAL"}),
    )
    .await;
    env.sync().await;
    good.lock().unwrap().fail_next = 1;
    let now = common::now().timestamp();
    let first = notifier(&env).pass(now).await.unwrap();
    assert_eq!((first.queued, first.delivered, first.retried), (2, 0, 2));
    // "Restart": a new worker over the same database finds the pending deliveries.
    let second = notifier(&env).pass(now + 5).await.unwrap();
    assert_eq!((second.delivered, second.dead), (1, 1), "{second:?}");
    assert_eq!(accepted(&good).len(), 1);
    assert_eq!(accepted(&good)[0]["event"], "rejected");
    let out = env.cli(&["notify", "status"]);
    let text = common::stdout(&out);
    assert!(
        text.contains("1 delivered, 1 dead") && text.contains("DEAD"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn channels_get_only_their_accounts_and_templates() {
    let (all_url, all) = receivers::http(Some(SECRET)).await;
    let (some_url, some) = receivers::http(Some(SECRET)).await;
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 60,
        ..Default::default()
    })
    .notify(Channel::webhook("all", &all_url, SECRET))
    .notify(
        Channel::webhook("some", &some_url, SECRET)
            .with("accounts", vec!["acme"])
            .with("templates", "order_*")
            .with("events", vec!["approved"]),
    )
    .start()
    .await;
    env.sync().await;
    let state = env.sim_state().await;
    let pending: Vec<&serde_json::Value> = state["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "PENDING")
        .collect();
    for t in &pending {
        env.post(
            &format!("/_sim/templates/{}/status", t["id"].as_str().unwrap()),
            json!({"status": "APPROVED"}),
        )
        .await;
    }
    env.sync().await;
    notifier(&env)
        .pass(common::now().timestamp())
        .await
        .unwrap();
    let acme_waba = state["wabas"][0]["id"].as_str().unwrap();
    let expected = pending
        .iter()
        .filter(|t| t["waba_id"] == acme_waba && t["name"].as_str().unwrap().starts_with("order_"))
        .count();
    assert_eq!(accepted(&all).len(), pending.len());
    assert_eq!(accepted(&some).len(), expected);
    assert!(accepted(&some).iter().all(|p| p["account"] == "acme"
        && p["template"]["name"]
            .as_str()
            .unwrap()
            .starts_with("order_")));
}

#[tokio::test(flavor = "multi_thread")]
async fn paused_carries_the_strike_and_sync_failing_is_told_once() {
    let (url, inbox) = receivers::http(Some(SECRET)).await;
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    })
    .notify(Channel::webhook("hook", &url, SECRET))
    .start()
    .await;
    env.sync().await;
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap();
    for status in ["PAUSED", "APPROVED", "PAUSED"] {
        env.post(
            &format!("/_sim/templates/{id}/status"),
            json!({"status": status}),
        )
        .await;
        env.sync().await;
    }
    // Four failed syncs in a row: one "failing" message, then one "recovered".
    env.post("/_sim/faults", json!({"rate": 1.0, "kinds": ["500"]}))
        .await;
    for _ in 0..4 {
        env.sync().await;
    }
    env.post("/_sim/faults", json!({"rate": 0.0})).await;
    env.sync().await;
    notifier(&env)
        .pass(common::now().timestamp())
        .await
        .unwrap();
    let got = accepted(&inbox);
    let kinds: Vec<&str> = got.iter().map(|p| p["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "paused",
            "approved",
            "paused",
            "sync_failing",
            "sync_recovered"
        ]
    );
    assert_eq!(
        (got[0]["strike"].as_u64(), got[2]["strike"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(got[2]["resumes_at"].is_string());
    assert!(got[2]["text"]
        .as_str()
        .unwrap()
        .contains("third pause disables"));
    assert_eq!(got[3]["failures"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_test_reports_each_channel() {
    let (url, inbox) = receivers::http(Some(SECRET)).await;
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 5,
        ..Default::default()
    })
    .notify(Channel::webhook("hook", &url, SECRET))
    .notify(Channel::slack(
        "gone",
        &format!("http://127.0.0.1:{dead_port}/x"),
    ))
    .start()
    .await;
    let out = env.cli(&["notify", "test", "--channel", "hook"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_eq!(accepted(&inbox).len(), 1);
    let out = env.cli(&["notify", "test"]);
    assert_eq!(out.status.code(), Some(1));
    let text = common::stdout(&out);
    assert!(
        text.contains("hook")
            && text.contains("delivered")
            && text.contains("gone")
            && text.contains("FAILED"),
        "{text}"
    );
    let out = env.cli(&["notify", "test", "--channel", "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daily_digest_lists_changes_and_what_is_still_pending() {
    let (url, inbox) = receivers::http(Some(SECRET)).await;
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 40,
        ..Default::default()
    })
    .notify(
        Channel::webhook("hook", &url, SECRET)
            .with("events", vec!["digest"])
            .with("digest", "0 8 * * *"),
    )
    .start()
    .await;
    env.sync().await;
    let t = env.template_with_status("PENDING").await;
    env.post(
        &format!("/_sim/templates/{}/status", t["id"].as_str().unwrap()),
        json!({"status": "APPROVED"}),
    )
    .await;
    env.sync().await;
    let n = notifier(&env);
    // Tomorrow morning's digest covers today.
    let tomorrow = common::now() + chrono::Days::new(1);
    let ch = env.config.notify[0].clone();
    assert!(n.queue_digest(&ch, tomorrow).await.unwrap());
    assert!(
        !n.queue_digest(&ch, tomorrow).await.unwrap(),
        "one digest per channel and day"
    );
    n.pass(tomorrow.timestamp()).await.unwrap();
    let got = accepted(&inbox);
    assert_eq!(
        got.len(),
        1,
        "only the digest: this channel did not subscribe to approvals"
    );
    assert_eq!(got[0]["event"], "digest");
    let text = got[0]["text"].as_str().unwrap();
    assert!(
        text.contains("1 approved") && text.contains(t["name"].as_str().unwrap()),
        "{text}"
    );
    assert!(text.contains("Still under review:"), "{text}");
}

/// A receiver that accepts connections and never answers.
async fn hanging() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_receiver_does_not_delay_another_channel() {
    let (good_url, good) = receivers::http(Some(SECRET)).await;
    let stuck = hanging().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        webhook_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        ..Default::default()
    })
    .notify(
        Channel::webhook("good", &good_url, SECRET)
            .with("events", vec!["disabled", "status_changed"]),
    )
    .notify(
        Channel::webhook("stuck", &stuck, SECRET)
            .with("events", vec!["disabled", "status_changed"]),
    )
    .start()
    .await;
    let server = common::serve(&env.config, listener).await;
    wait_for("the first sync", || env.count("templates") == 30).await;
    let ids: Vec<String> = env.sim_state().await["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .take(6)
        .collect();
    let mut late = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let status = if i % 2 == 0 { "DISABLED" } else { "ARCHIVED" };
        env.post(
            &format!("/_sim/templates/{id}/status"),
            json!({"status": status}),
        )
        .await;
        let started = std::time::Instant::now();
        // Half a second of polling and one delivery: allow three times the promised second.
        while accepted(&good).len() < i + 1 && started.elapsed() < Duration::from_secs(3) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        late.push(started.elapsed());
    }
    assert_eq!(
        accepted(&good).len(),
        6,
        "every change reached the healthy channel: {late:?}"
    );
    assert!(
        late.iter().all(|d| *d < Duration::from_secs(3)),
        "each within seconds of its change, not after the stuck channel's timeout: {late:?}"
    );
    tokio::time::timeout(Duration::from_secs(10), server.stop())
        .await
        .expect("serve stops while a delivery hangs");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_notifications_page_shows_every_delivery_and_its_state() {
    let (hook_url, hook) = receivers::http(None).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        webhook_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        ..Default::default()
    })
    .notify(Channel::webhook("team", &hook_url, "s").with("events", vec!["approved"]))
    .notify(
        Channel::webhook("broken", "http://127.0.0.1:9/hook", "s")
            .with("events", vec!["approved"])
            .with("max_attempts", 1),
    )
    .start()
    .await;
    env.sync().await;
    let server = common::serve(&env.config, listener).await;
    caught_up(&env).await;
    let pending = env.template_with_status("PENDING").await;
    let (id, name) = (
        pending["id"].as_str().unwrap(),
        pending["name"].as_str().unwrap(),
    );
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    // Recorded as delivered, not only accepted by the receiver (the notifier records it a
    // moment after the receiver's answer).
    wait_for("one delivered, one dead", || {
        accepted(&hook).len() == 1 && env.count("notifications") == 2 && {
            let (_, delivered, dead) =
                templar::db::models::notifications::counts(&mut env.db.conn().unwrap()).unwrap();
            delivered == 1 && dead == 1
        }
    })
    .await;
    let page = |q: &'static str| {
        let (http, url) = (env.http.clone(), server.url.clone());
        async move {
            let r = http
                .get(format!("{url}/notifications{q}"))
                .send()
                .await
                .unwrap();
            (
                r.status().as_u16(),
                common::Page::parse(&r.text().await.unwrap()),
            )
        }
    };
    let (s, all) = page("").await;
    assert_eq!(s, 200);
    assert_eq!(all.texts("header nav a[aria-current]"), ["Notifications"]);
    let rows = all.texts("section.card table tbody tr");
    // Two channels configured, two deliveries.
    assert_eq!(rows.len(), 4, "{rows:?}");
    let states = all.texts("td .badge");
    assert_eq!(
        states.iter().filter(|s| *s == "delivered").count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| *s == "dead").count(),
        1,
        "{states:?}"
    );
    assert!(
        all.texts("td a").iter().any(|t| t.contains(name)),
        "the approval links to its template"
    );
    assert!(all
        .attrs("td a", "href")
        .contains(&format!("/templates/{id}")));
    let (_, dead) = page("?state=dead").await;
    let dead_rows = dead.texts("section.card:nth-of-type(2) table tbody tr");
    assert_eq!(dead_rows.len(), 1, "{dead_rows:?}");
    assert!(dead_rows[0].contains("broken"), "{dead_rows:?}");
    assert!(
        dead.texts("section.card table tbody tr td.small")
            .iter()
            .any(|e| e.contains("request failed")),
        "the last error is shown"
    );
    let (s, _) = page("?state=lost").await;
    assert_eq!(s, 400);
    server.stop().await;
}

/// Replicas in the middle of a rolling deploy that adds a channel: one still runs the old
/// config, one the new. Whichever fills the outbox first, the new channel gets every change once,
/// and the old replica does not give its deliveries up while the deploy runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_channel_added_in_a_rolling_deploy_gets_every_change_whichever_replica_fills_first() {
    use diesel::prelude::*;
    use templar::db::schema::notifications as n;
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    })
    .notify(Channel::webhook("ops", "http://127.0.0.1:9/", SECRET))
    .notify(Channel::webhook("added", "http://127.0.0.1:9/", SECRET))
    .start()
    .await;
    let new = notifier(&env);
    let old = Notifier {
        config: Arc::new({
            let mut c = env.config.clone();
            c.notify.retain(|ch| ch.name != "added");
            c
        }),
        ..notifier(&env)
    };
    env.sync().await;
    let now = common::now().timestamp();
    // The new replica starts: its channels' cursors are where the log ends.
    assert_eq!(new.fill(now).await.unwrap(), 0);
    assert_eq!(old.fill(now).await.unwrap(), 0);

    let pending = env.template_with_status("PENDING").await;
    env.post(
        &format!("/_sim/templates/{}/status", pending["id"].as_str().unwrap()),
        json!({"status": "APPROVED"}),
    )
    .await;
    env.sync().await;
    // The old replica fills first: only its own channel.
    assert_eq!(old.fill(now).await.unwrap(), 1);
    // The new one still queues the change for the added channel, once.
    assert_eq!(new.fill(now).await.unwrap(), 1);
    assert_eq!(new.fill(now).await.unwrap(), 0);
    let rows = |env: &Env| -> Vec<(String, Option<i64>)> {
        let mut c = env.db.conn().unwrap();
        n::table
            .order(n::channel)
            .select((n::channel, n::dead_at))
            .load(&mut c)
            .unwrap()
    };
    // The old replica's next passes leave the added channel's delivery alone...
    old.fill(now + 60).await.unwrap();
    assert_eq!(
        rows(&env),
        [("added".to_string(), None), ("ops".to_string(), None)]
    );
    // ... unless the channel stays out of its config for good.
    let later = now + templar::db::models::notifications::BURY_AFTER + 1;
    old.fill(later).await.unwrap();
    let r = rows(&env);
    assert!(r[0].0 == "added" && r[0].1.is_some(), "{r:?}");
    assert_eq!(r[1], ("ops".to_string(), None));
}
