//! Webhooks into a running `templar serve`: signatures, the handshake, idempotent and
//! out-of-order statuses, and the roll-up equal to a recount.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use templar::sim::SimOptions;

use crate::common::{self, post_hook, post_kapso, post_meta, start_live, stats_and_recount};

fn meta_status(
    waba: &str,
    pnid: &str,
    wamid: &str,
    status: &str,
    ts: i64,
    template: Option<&str>,
    error: Option<i64>,
) -> String {
    let mut s = json!({"id": wamid, "status": status, "timestamp": ts.to_string(), "recipient_id": "15551234567"});
    if let Some(t) = template {
        s["biz_opaque_callback_data"] = json!(format!("templar:{t}"));
    }
    if let Some(code) = error {
        s["errors"] = json!([{"code": code, "title": "Re-engagement message"}]);
    }
    json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
                  "statuses": [s]}}]}]})
    .to_string()
}

/// (waba id, first phone number id, an approved template id) of the first (Meta) WABA.
async fn first_meta(env: &common::Env) -> (String, String, String) {
    let state = env.sim_state().await;
    let waba = state["wabas"][0]["id"].as_str().unwrap().to_string();
    let pnid = state["wabas"][0]["phone_number_ids"][0]
        .as_str()
        .unwrap()
        .to_string();
    let t = state["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["waba_id"] == waba.as_str() && t["status"] == "APPROVED")
        .unwrap();
    (waba, pnid, t["id"].as_str().unwrap().to_string())
}

type Row = (
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i32>,
    Option<i32>,
);

/// (sent, delivered, read, failed, error code, template row) of a stored message.
fn message(env: &common::Env, wamid: &str) -> Option<Row> {
    use diesel::prelude::*;
    use templar::db::schema::messages as m;
    m::table
        .filter(m::wamid.eq(wamid))
        .select((
            m::sent_at,
            m::delivered_at,
            m::read_at,
            m::failed_at,
            m::error_code,
            m::template_row,
        ))
        .first(&mut env.db.conn().unwrap())
        .optional()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn meta_verification_handshake() {
    let (env, server) = start_live(SimOptions {
        accounts: 1,
        templates: 5,
        ..Default::default()
    })
    .await;
    let url = |token: &str| {
        format!(
            "{}/webhooks/meta?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            server.url
        )
    };
    let ok = env
        .http
        .get(url(templar::sim::META_VERIFY_TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    assert_eq!(
        env.http.get(url("wrong")).send().await.unwrap().status(),
        403
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_or_missing_signatures_are_refused_and_store_nothing() {
    let (env, server) = start_live(SimOptions {
        accounts: 2,
        templates: 5,
        ..Default::default()
    })
    .await;
    env.sync().await;
    let body = meta_status("1", "2", "wamid.A", "sent", 1_790_000_000, None, None);
    let http = &env.http;
    let post = |sig: Option<&str>, path: &str, b: &str| {
        let mut r = http
            .post(format!("{}{path}", server.url))
            .body(b.to_string());
        if let Some(s) = sig {
            r = r.header(
                if path.ends_with("meta") {
                    "x-hub-signature-256"
                } else {
                    "x-webhook-signature"
                },
                s,
            );
        }
        r.send()
    };
    assert_eq!(
        post(None, "/webhooks/meta", &body).await.unwrap().status(),
        401
    );
    assert_eq!(
        post(Some("sha256=00ff"), "/webhooks/meta", &body)
            .await
            .unwrap()
            .status(),
        401
    );
    // Signed with the right secret, but over different bytes.
    let other = templar::signing::sign(templar::sim::META_APP_SECRET.as_bytes(), b"{}");
    assert_eq!(
        post(Some(&format!("sha256={other}")), "/webhooks/meta", &body)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(None, "/webhooks/kapso", &body).await.unwrap().status(),
        401
    );
    assert_eq!(
        post(Some("deadbeef"), "/webhooks/kapso", &body)
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(env.count("messages"), 0);

    // Correctly signed but not JSON: 400, nothing stored.
    assert_eq!(post_meta(http, &server.url, "{\"entry\": [").await, 400);
    assert_eq!(
        post_kapso(http, &server.url, "whatsapp.message.sent", "k1", "not json").await,
        400
    );
    // Correctly signed, valid, but nothing we use: acknowledged and ignored.
    let unknown = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "account_alerts", "value": {}}]}]});
    assert_eq!(
        post_meta(http, &server.url, &unknown.to_string()).await,
        200
    );
    assert_eq!(
        post_kapso(
            http,
            &server.url,
            "whatsapp.conversation.created",
            "k2",
            "{}"
        )
        .await,
        200
    );
    assert_eq!(env.count("messages") + env.count("contacts"), 0);
    // And the good one is stored.
    assert_eq!(post_meta(http, &server.url, &body).await, 200);
    assert_eq!(env.count("messages"), 1);
    // Bodies over the cap are refused before anything is read into memory.
    let huge = "x".repeat(templar::web::MAX_BODY + 1);
    assert_eq!(post_meta(http, &server.url, &huge).await, 413);
    let metrics = http
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains(r#"templar_webhook_requests_total{source="meta",outcome="bad_signature"} 3"#),
        "{metrics}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicates_and_out_of_order_statuses_count_once() {
    let (env, server) = start_live(SimOptions {
        accounts: 1,
        templates: 20,
        ..Default::default()
    })
    .await;
    env.sync().await;
    let (waba, pnid, tid) = first_meta(&env).await;
    let t0 = common::now().timestamp() - 3600;
    let send = |wamid: &'static str, status: &'static str, ts: i64, err: Option<i64>| {
        let body = meta_status(&waba, &pnid, wamid, status, ts, Some(&tid), err);
        let (http, url) = (env.http.clone(), server.url.clone());
        async move { assert_eq!(post_meta(&http, &url, &body).await, 200) }
    };
    // The same status three times.
    for _ in 0..3 {
        send("wamid.DUP", "delivered", t0 + 5, None).await;
    }
    // Read before delivered, then a late sent.
    send("wamid.OOO", "read", t0 + 60, None).await;
    send("wamid.OOO", "delivered", t0 + 30, None).await;
    send("wamid.OOO", "sent", t0, None).await;
    // A failure keeps Meta's code, whichever order its facts arrive in.
    send("wamid.FAIL", "failed", t0 + 2, Some(131047)).await;
    send("wamid.FAIL", "sent", t0, None).await;

    let dup = message(&env, "wamid.DUP").unwrap();
    assert_eq!((dup.0, dup.1, dup.2), (Some(t0 + 5), Some(t0 + 5), None));
    let ooo = message(&env, "wamid.OOO").unwrap();
    assert_eq!(
        (ooo.0, ooo.1, ooo.2),
        (Some(t0 + 60), Some(t0 + 60), Some(t0 + 60)),
        "read implies delivered and sent"
    );
    let fail = message(&env, "wamid.FAIL").unwrap();
    assert_eq!(
        (fail.0, fail.3, fail.4, fail.1),
        (Some(t0), Some(t0 + 2), Some(131047), None)
    );
    assert!(
        fail.5.is_some(),
        "attributed to its template through biz_opaque_callback_data"
    );

    let (stored, recount) = stats_and_recount(&env.db);
    assert_eq!(stored, recount);
    let totals = stored.values().fold([0; 5], |mut a, v| {
        for (x, y) in a.iter_mut().zip(v) {
            *x += y;
        }
        a
    });
    assert_eq!(
        totals,
        [3, 2, 1, 0, 1],
        "sent, delivered, read, clicked, failed"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kapso_batches_and_idempotency_keys() {
    let (env, server) = start_live(SimOptions {
        accounts: 2,
        templates: 20,
        ..Default::default()
    })
    .await;
    env.sync().await;
    let state = env.sim_state().await;
    let pnid = state["wabas"][1]["phone_number_ids"][0].as_str().unwrap();
    let t = state["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["waba_id"] == state["wabas"][1]["id"] && t["status"] == "APPROVED")
        .unwrap();
    let msg = |wamid: &str| {
        json!({"message": {"id": wamid, "timestamp": "1790000000", "type": "template", "to": "15550001111",
        "template": {"name": t["name"], "language": {"code": t["language"]}},
        "kapso": {"direction": "outbound", "status": "delivered"}}, "phone_number_id": pnid})
    };
    let batch = json!({"type": "whatsapp.message.delivered", "batch": true, "data": [msg("wamid.K1"), msg("wamid.K2"), msg("wamid.K3")]});
    let url = &server.url;
    assert_eq!(
        post_kapso(
            &env.http,
            url,
            "whatsapp.message.delivered",
            "idem-1",
            &batch.to_string()
        )
        .await,
        200
    );
    assert_eq!(env.count("messages"), 3);
    // Kapso retries with the same key: nothing changes.
    assert_eq!(
        post_kapso(
            &env.http,
            url,
            "whatsapp.message.delivered",
            "idem-1",
            &batch.to_string()
        )
        .await,
        200
    );
    let (stored, recount) = stats_and_recount(&env.db);
    assert_eq!(stored, recount);
    assert_eq!(
        stored.values().map(|v| v[1]).sum::<i64>(),
        3,
        "three delivered, once each"
    );
    let inbound = json!({"message": {"id": "wamid.IN", "from": "15550001111", "timestamp": "1790000100", "type": "text"}, "phone_number_id": pnid});
    assert_eq!(
        post_kapso(
            &env.http,
            url,
            "whatsapp.message.received",
            "idem-2",
            &inbound.to_string()
        )
        .await,
        200
    );
    assert_eq!(env.count("contacts"), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_of_traffic_replayed_shuffled_with_duplicates_equals_the_recount() {
    let (env, server) = start_live(SimOptions {
        accounts: 4,
        templates: 40,
        messages_per_hour: 10,
        ..Default::default()
    })
    .await;
    env.sync().await;
    // Advance the world directly so nothing is posted: take the payloads and deliver them
    // badly ourselves.
    env.sim.world().advance(24 * 3600);
    let mut hooks = env.sim.take_webhooks();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let extra: Vec<_> = hooks.iter().step_by(3).cloned().collect();
    hooks.extend(extra);
    hooks.shuffle(&mut rng);
    let http = env.http.clone();
    let url = server.url.clone();
    // Eight concurrent senders, as upstream retries would arrive.
    let chunks: Vec<Vec<_>> = hooks
        .chunks(hooks.len().div_ceil(8))
        .map(|c| c.to_vec())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            for h in chunk {
                assert_eq!(post_hook(&http, &url, &h).await, 200);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let (stored, recount) = stats_and_recount(&env.db);
    assert!(!stored.is_empty());
    assert_eq!(stored, recount, "incremental roll-up equals a recount");
    // And equals the truth the simulator knows.
    let (truth, reads, clicks, failed) = {
        let w = env.sim.world();
        let count = |f: &dyn Fn(&templar::sim::SimMessage) -> bool| {
            w.messages.iter().filter(|m| f(m)).count() as i64
        };
        (
            w.messages.len() as i64,
            count(&|m| m.read_at.is_some()),
            count(&|m| m.clicked_at.is_some()),
            count(&|m| m.failed_at.is_some()),
        )
    };
    let sum = |i: usize| stored.values().map(|v| v[i]).sum::<i64>();
    // Every message, failed ones included, was reported sent.
    assert_eq!(
        (sum(0), sum(2), sum(3), sum(4)),
        (truth, reads, clicks, failed)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approval_by_webhook_then_sync_records_one_event() {
    let (env, server) = start_live(SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    })
    .await;
    env.sync().await;
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap();
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    // The simulator posts the webhook; wait until it is committed.
    for _ in 0..100 {
        if common::events(&env.db, id).len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ev = common::events(&env.db, id);
    assert_eq!(ev.len(), 2, "{ev:?}");
    assert_eq!(
        ev[1],
        (
            "status".into(),
            Some("PENDING".into()),
            "APPROVED".into(),
            "webhook".into()
        )
    );
    env.sync().await;
    assert_eq!(
        common::events(&env.db, id).len(),
        2,
        "the sync saw the same state: no second event"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_acknowledged_webhook_survives_a_crash() {
    let env = common::start(1, 20).await;
    env.sync().await;
    let (waba, pnid, tid) = first_meta(&env).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let config = std::fs::read_to_string(env.config_path())
        .unwrap()
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    std::fs::write(env.config_path(), config).unwrap();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
            .arg("--config")
            .arg(env.config_path())
            .arg("serve")
            .env("RUST_LOG", "error")
            .spawn()
            .unwrap()
    };
    let url = format!("http://127.0.0.1:{port}");
    let wait_up = || async {
        for _ in 0..200 {
            if env.http.get(format!("{url}/livez")).send().await.is_ok() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("server did not start");
    };
    let mut child = spawn();
    wait_up().await;
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut senders = Vec::new();
    for s in 0..4 {
        let (http, url, acked) = (env.http.clone(), url.clone(), acked.clone());
        let (waba, pnid, tid) = (waba.clone(), pnid.clone(), tid.clone());
        senders.push(tokio::spawn(async move {
            for i in 0..2000 {
                let wamid = format!("wamid.CRASH{s}x{i}");
                let body = meta_status(
                    &waba,
                    &pnid,
                    &wamid,
                    "sent",
                    1_790_000_000 + i,
                    Some(&tid),
                    None,
                );
                let sig = templar::signing::sign(
                    templar::sim::META_APP_SECRET.as_bytes(),
                    body.as_bytes(),
                );
                let r = http
                    .post(format!("{url}/webhooks/meta"))
                    .header("x-hub-signature-256", format!("sha256={sig}"))
                    .body(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => acked.lock().unwrap().push(wamid),
                    _ => break,
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        !acked.is_empty(),
        "some webhooks were acknowledged before the crash"
    );
    let mut child = spawn();
    wait_up().await;
    for wamid in &acked {
        assert!(
            message(&env, wamid).is_some(),
            "{wamid} was acknowledged but is missing"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
