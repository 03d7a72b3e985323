//! Sending with the 24-hour window in mind, and templates as files, against the simulator
//! with a live `serve` receiving its webhooks.

use serde_json::{json, Value};
use templar::send::params;
use templar::sim::SimOptions;

use crate::common::receivers;
use crate::common::{self, wait_for, App, Channel, Env, Server};

/// Two accounts (acme on Meta, globex on Kapso), synced, with `serve` taking the simulator's
/// webhooks, and the simulated clock at the real one (so both agree on the window).
async fn live(templates: usize, setup: impl FnOnce(App) -> App) -> (Env, Server) {
    let mut opts = SimOptions {
        accounts: 2,
        templates,
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    opts.webhook_url = Some(format!("http://{}", listener.local_addr().unwrap()));
    let env = setup(App::with_sim(opts)).start().await;
    {
        let mut w = env.sim.world();
        w.clock = common::now().timestamp() - w.epoch;
    }
    env.sync().await;
    let server = common::serve(&env.config, listener).await;
    (env, server)
}

fn pnid(env: &Env, waba: usize) -> String {
    env.sim.world().wabas[waba].phone_numbers[0].0.clone()
}

fn stat(stats: &Value, key: &str) -> u64 {
    stats[key].as_u64().unwrap()
}

fn scalar(env: &Env, sql: &str) -> Option<i64> {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
        n: Option<i64>,
    }
    let mut c = env.db.conn().unwrap();
    // Whatever the column's type, read as a 64-bit number on both backends.
    diesel::sql_query(format!("SELECT CAST(n AS BIGINT) AS n FROM ({sql}) AS q"))
        .get_result::<N>(&mut c)
        .optional()
        .unwrap()
        .and_then(|r| r.n)
}

/// The simulator's templates of the `waba`-th WABA.
async fn templates_of(env: &Env, waba: usize) -> Vec<Value> {
    let waba_id = env.sim.world().wabas[waba].id.clone();
    let state = env.sim_state().await;
    state["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["waba_id"] == waba_id.as_str())
        .cloned()
        .collect()
}

/// An approved template of WABA `waba` with this parameter format and at least one parameter.
async fn approved(env: &Env, waba: usize, format: &str) -> Value {
    templates_of(env, waba)
        .await
        .into_iter()
        .find(|t| {
            t["status"] == "APPROVED"
                && t["parameter_format"] == format
                && t["category"] != "AUTHENTICATION"
        })
        .unwrap()
}

/// `--param` arguments that fit a template: names for named placeholders, values in order
/// for the rest.
fn fitting(t: &Value) -> Vec<String> {
    params::slots(&t["components"])
        .iter()
        .enumerate()
        .map(|(i, s)| match &s.name {
            Some(n) => format!("{n}=value{i}"),
            None => format!("value{i}"),
        })
        .collect()
}

fn send_args<'a>(
    account: &'a str,
    to: &'a str,
    t: &'a Value,
    params: &'a [String],
) -> Vec<&'a str> {
    let mut args = vec![
        "send",
        "--account",
        account,
        "--to",
        to,
        "--template",
        t["name"].as_str().unwrap(),
        "--language",
        t["language"].as_str().unwrap(),
    ];
    for p in params {
        args.extend(["--param", p.as_str()]);
    }
    args
}

#[tokio::test(flavor = "multi_thread")]
async fn free_form_text_waits_for_the_window() {
    let (env, server) = live(20, |a| a).await;
    let from = pnid(&env, 0);
    let out = env.cli(&["window", "--account", "acme", "--to", "+1 555 000 1234"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).starts_with("closed: no message from 15550001234"),
        "{}",
        common::stdout(&out)
    );

    // Closed: refused before anything is sent, with the templates to use instead.
    let out = env.cli(&[
        "send",
        "--account",
        "acme",
        "--to",
        "+15550001234",
        "--text",
        "Your order shipped",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains("not sent, the 24-hour window is closed: no message from 15550001234"),
        "{err}"
    );
    assert!(
        err.contains("131047") && err.contains("approved templates you can send instead:"),
        "{err}"
    );
    assert_eq!(stat(&env.sim_stats().await, "sends"), 0);

    // The customer writes: the webhook opens the window.
    env.post(
        "/_sim/inbound",
        json!({"phone_number_id": from, "from": "15550001234", "hours_ago": 1}),
    )
    .await;
    wait_for("the inbound webhook", || {
        scalar(
            &env,
            "SELECT last_inbound_at AS n FROM contacts WHERE wa_id = '15550001234'",
        )
        .is_some()
    })
    .await;
    let out = env.cli(&[
        "window",
        "--account",
        "acme",
        "--to",
        "15550001234",
        "--json",
    ]);
    let w: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(w["open"], true);
    assert_eq!(w["seen_by"], "webhooks");
    let closes = w["closes_at"].as_i64().unwrap() - common::now().timestamp();
    assert!(
        (22 * 3600..=23 * 3600 + 60).contains(&closes),
        "closes in {closes}s"
    );
    let out = env.cli(&[
        "send",
        "--account",
        "acme",
        "--to",
        "+15550001234",
        "--text",
        "Your order shipped",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(common::stdout(&out).contains("message id  wamid."));
    assert_eq!(stat(&env.sim_stats().await, "sends"), 1);

    // Another customer wrote 30 hours ago: closed; forcing it gets upstream's 131047, explained.
    env.post(
        "/_sim/inbound",
        json!({"phone_number_id": from, "from": "15550009999", "hours_ago": 30}),
    )
    .await;
    wait_for("the second inbound webhook", || {
        scalar(
            &env,
            "SELECT last_inbound_at AS n FROM contacts WHERE wa_id = '15550009999'",
        )
        .is_some()
    })
    .await;
    let out = env.cli(&["window", "--account", "acme", "--to", "15550009999"]);
    assert!(
        common::stdout(&out).starts_with("closed: last message from 15550009999"),
        "{}",
        common::stdout(&out)
    );
    let out = env.cli(&[
        "send",
        "--account",
        "acme",
        "--to",
        "15550009999",
        "--text",
        "hello",
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = common::stderr(&out);
    assert!(
        err.contains("more than 24 hours have passed") && err.contains("131047"),
        "{err}"
    );
    assert!(
        err.contains("approved templates you can send instead:"),
        "{err}"
    );
    let stats = env.sim_stats().await;
    assert_eq!(
        (stat(&stats, "sends"), stat(&stats, "refused_sends")),
        (1, 1)
    );

    let out = env.cli(&[
        "send",
        "--account",
        "acme",
        "--to",
        "call me",
        "--text",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("is not a phone number"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kapso_conversations_count_for_the_window() {
    let (env, server) = live(10, |a| a).await;
    let from = pnid(&env, 1);
    // Known to Kapso's conversation record only (no webhook reached templar).
    let at = common::now().timestamp() - 2 * 3600;
    env.sim
        .world()
        .inbound
        .insert((from.clone(), "15550004444".into()), at);
    let out = env.cli(&[
        "window",
        "--account",
        "globex",
        "--to",
        "+15550004444",
        "--json",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let w: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(
        (w["open"].clone(), w["seen_by"].clone()),
        (json!(true), json!("kapso"))
    );
    assert_eq!(w["last_inbound_at"], at);
    let out = env.cli(&[
        "send",
        "--account",
        "globex",
        "--to",
        "+15550004444",
        "--text",
        "On its way",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_templates_send_with_their_code() {
    // Found in the demo: a third of the simulator's authentication templates were NAMED
    // around a numbered `{{1}}`, and every send of one failed upstream with 132000.
    let (env, server) = live(60, |a| a).await;
    for (account, waba) in [("acme", 0), ("globex", 1)] {
        let auth: Vec<Value> = templates_of(&env, waba)
            .await
            .into_iter()
            .filter(|t| t["status"] == "APPROVED" && t["category"] == "AUTHENTICATION")
            .collect();
        assert!(auth.len() >= 2, "{account} has authentication templates");
        for t in &auth {
            let code = vec!["482913".to_string()];
            let out = env.cli(&send_args(account, "+15550001111", t, &code));
            assert!(
                out.status.success(),
                "{account} {} ({}): {}",
                t["name"],
                t["parameter_format"],
                common::stderr(&out)
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn templates_are_checked_locally_then_sent_and_recorded() {
    let (env, server) = live(40, |a| a).await;
    let positional = approved(&env, 0, "POSITIONAL").await;
    let named = approved(&env, 0, "NAMED").await;

    let p = fitting(&positional);
    let out = env.cli(&send_args("acme", "+15550001111", &positional, &p));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let stdout = common::stdout(&out);
    assert!(stdout.contains("status      accepted"), "{stdout}");
    let wamid = stdout
        .lines()
        .find_map(|l| l.strip_prefix("message id  "))
        .unwrap()
        .to_string();
    // Recorded at once, then the status webhooks fill it in and roll it up for its template.
    let row = format!("SELECT template_row AS n FROM messages WHERE wamid = '{wamid}'");
    assert!(scalar(&env, &row).is_some(), "recorded with its template");
    wait_for("the delivered webhook", || {
        scalar(
            &env,
            &format!("SELECT delivered_at AS n FROM messages WHERE wamid = '{wamid}'"),
        )
        .is_some()
    })
    .await;
    let id = positional["id"].as_str().unwrap();
    let delivered = scalar(
        &env,
        &format!(
            "SELECT CAST(SUM(s.delivered) AS BIGINT) AS n FROM template_daily_stats s JOIN templates t ON t.id = s.template_row \
             WHERE t.template_id = '{id}' AND s.origin = 'observed'"
        ),
    );
    assert!(delivered.unwrap_or(0) >= 1, "counted for the template");

    // Named parameters by name.
    let n = fitting(&named);
    assert!(n.iter().any(|x| x.contains('=')));
    let out = env.cli(&send_args("acme", "+15550001111", &named, &n));
    assert!(out.status.success(), "{}", common::stderr(&out));
    // ... and refused when given in order instead.
    let plain: Vec<String> = (0..n.len()).map(|i| format!("v{i}")).collect();
    let out = env.cli(&send_args("acme", "+15550001111", &named, &plain));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("NAMED"),
        "{}",
        common::stderr(&out)
    );

    // One parameter short: refused locally, naming what is missing.
    let short = &p[..p.len() - 1];
    let out = env.cli(&send_args("acme", "+15550001111", &positional, short));
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("missing 1 of") && err.contains("132000"),
        "{err}"
    );
    assert_eq!(stat(&env.sim_stats().await, "sends"), 2);

    // Paused (the webhook reaches serve): refused locally.
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "PAUSED"}),
    )
    .await;
    wait_for("the paused webhook", || {
        scalar(&env, &format!("SELECT COUNT(*) AS n FROM templates WHERE template_id = '{id}' AND status = 'PAUSED'")) == Some(1)
    })
    .await;
    let out = env.cli(&send_args("acme", "+15550001111", &positional, &p));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("is PAUSED for low quality"),
        "{}",
        common::stderr(&out)
    );
    let stats = env.sim_stats().await;
    assert_eq!(
        (stat(&stats, "sends"), stat(&stats, "refused_sends")),
        (2, 0),
        "nothing reached upstream"
    );

    // 131056 (pair rate) is waited out and retried; a 500 is not retried.
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    wait_for("the approval webhook", || {
        scalar(&env, &format!("SELECT COUNT(*) AS n FROM templates WHERE template_id = '{id}' AND status = 'APPROVED'")) == Some(1)
    })
    .await;
    env.post("/_sim/faults", json!({"next": ["131056"]})).await;
    let before = env.sim_stats().await;
    let out = env.cli(&send_args("acme", "+15550001111", &positional, &p));
    assert!(out.status.success(), "{}", common::stderr(&out));
    let after = env.sim_stats().await;
    assert_eq!(
        stat(&after, "meta_requests") - stat(&before, "meta_requests"),
        2
    );
    assert_eq!(stat(&after, "sends"), 3);

    env.post("/_sim/faults", json!({"next": ["500"]})).await;
    let before = env.sim_stats().await;
    let out = env.cli(&send_args("acme", "+15550001111", &positional, &p));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("HTTP 500"),
        "{}",
        common::stderr(&out)
    );
    let after = env.sim_stats().await;
    assert_eq!(
        stat(&after, "meta_requests") - stat(&before, "meta_requests"),
        1,
        "sent once, not retried"
    );
    assert_eq!(stat(&after, "sends"), 3);

    let out = env.cli(&[
        "send",
        "--account",
        "acme",
        "--to",
        "+15550001111",
        "--template",
        "no_such_thing",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("no template named `no_such_thing`"));
    server.stop().await;
}

const GOOD: &str = r#"{
  "name": "delivery_window_notice",
  "language": "en_US",
  "category": "UTILITY",
  "components": [
    {"type": "BODY", "text": "Hi {{1}}, your delivery arrives between {{2}} today.",
     "example": {"body_text": [["Ana", "2 and 4 pm"]]}},
    {"type": "FOOTER", "text": "Reply STOP to opt out"}
  ]
}
"#;

#[tokio::test(flavor = "multi_thread")]
async fn create_checks_the_file_then_submits_and_approval_notifies() {
    let (hook_url, hook) = receivers::http(Some("s")).await;
    let (env, server) = live(10, |a| a.notify(Channel::webhook("hook", &hook_url, "s"))).await;
    let dir = env.dir.path();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"name\": \"delivery_window_notice\",\n  \"language\": \"en_US\",\n  \"category\": \"UTILITY\",\n  \"components\": [\n    {\"type\": \"BODY\", \"text\": \"Hi {{1}}, arriving {{3}} today.\"}\n  ]\n}\n",
    )
    .unwrap();
    let out = env.cli(&[
        "templates",
        "create",
        "--account",
        "acme",
        "--file",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(
        err.contains("bad.json:6:30: components[0].text: placeholders must be numbered"),
        "{err}"
    );
    assert!(
        err.contains("example.body_text is missing") && err.contains("nothing was sent"),
        "{err}"
    );
    assert_eq!(stat(&env.sim_stats().await, "templates_created"), 0);

    let good = dir.join("good.json");
    std::fs::write(&good, GOOD).unwrap();
    let out = env.cli(&[
        "templates",
        "create",
        "--account",
        "acme",
        "--file",
        good.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(
        common::stdout(&out).contains("created delivery_window_notice (en_US) in acme"),
        "{}",
        common::stdout(&out)
    );
    // PENDING in templar at once, before any sync.
    let id: String = {
        use diesel::prelude::*;
        use templar::db::schema::templates as t;
        let mut c = env.db.conn().unwrap();
        let (id, status): (String, String) = t::table
            .filter(t::name.eq("delivery_window_notice"))
            .select((t::template_id, t::status))
            .first(&mut c)
            .unwrap();
        assert_eq!(status, "PENDING");
        id
    };
    // Submitting it again is refused upstream, and said so.
    let out = env.cli(&[
        "templates",
        "create",
        "--account",
        "acme",
        "--file",
        good.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        common::stderr(&out).contains("already exists"),
        "{}",
        common::stderr(&out)
    );

    // Meta approves it: the webhook becomes an event, the event a notification.
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    wait_for("the approval notification", || {
        !hook.lock().unwrap().accepted.is_empty()
    })
    .await;
    let n = hook.lock().unwrap().accepted[0].clone();
    assert_eq!(
        (n["event"].as_str(), n["template"]["name"].as_str()),
        (Some("approved"), Some("delivery_window_notice"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_reports_drift_and_prunes_only_when_asked() {
    let (env, server) = live(6, |a| a).await;
    let mine = templates_of(&env, 0).await;
    let dir = env.dir.path().join("defs");
    std::fs::create_dir_all(&dir).unwrap();
    // One kept as it is, one approved one with a new body, the rest left out, one new.
    let kept = &mine[0];
    std::fs::write(dir.join("kept.json"), def(kept).to_string()).unwrap();
    let edited = mine
        .iter()
        .skip(1)
        .find(|t| t["status"] == "APPROVED")
        .unwrap();
    let changed = with_body_suffix(edited, " Thank you!");
    std::fs::write(
        dir.join("edited.json"),
        serde_json::to_string_pretty(&changed).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("new.json"), GOOD).unwrap();
    let extra = mine.len() - 2;

    let out = apply(&env, &dir, "acme", &["--dry-run"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let plan = common::stdout(&out);
    assert!(
        plan.contains("+ create   delivery_window_notice (en_US)"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("~ edit     {} ", edited["name"].as_str().unwrap()))
            && plan.contains("BODY text differs"),
        "{plan}"
    );
    assert!(plan.contains("= 1 unchanged"), "{plan}");
    assert!(
        plan.contains(&format!(
            "{extra} not in the folder (kept; --prune deletes them)"
        )),
        "{plan}"
    );
    assert!(plan.contains("dry run: nothing was changed"));
    let stats = env.sim_stats().await;
    assert_eq!(
        (
            stat(&stats, "templates_created"),
            stat(&stats, "templates_edited")
        ),
        (0, 0)
    );

    let out = apply(&env, &dir, "acme", &[]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert_applied(&out, edited);
    let stats = env.sim_stats().await;
    assert_eq!(
        (
            stat(&stats, "templates_created"),
            stat(&stats, "templates_edited"),
            stat(&stats, "templates_deleted")
        ),
        (1, 1, 0),
        "nothing deleted without --prune"
    );
    let eid = edited["id"].as_str().unwrap();
    let events = common::events(&env.db, eid);
    // The edit is a new content version and a status move, both by hand.
    let last: Vec<&str> = events[events.len() - 2..]
        .iter()
        .map(|e| e.0.as_str())
        .collect();
    assert_eq!(last, ["status", "content"]);
    assert_eq!(
        events.iter().rev().find(|e| e.0 == "status").unwrap(),
        &(
            "status".to_string(),
            Some("APPROVED".into()),
            "PENDING".to_string(),
            "manual".to_string()
        )
    );

    // Now the edited one is PENDING upstream and in review: a further change is reported, not sent.
    let mut again = changed.clone();
    again["components"][0]["text"] = json!("Different again");
    std::fs::write(dir.join("edited.json"), again.to_string()).unwrap();
    let out = apply(&env, &dir, "acme", &["--prune"]);
    let stdout = common::stdout(&out);
    assert!(
        stdout.contains("! differs") && stdout.contains("PENDING templates cannot be edited"),
        "{stdout}"
    );
    assert!(stdout.contains("- delete"), "{stdout}");
    let stats = env.sim_stats().await;
    assert_eq!(stat(&stats, "templates_edited"), 1);
    let deletable = mine
        .iter()
        .skip(1)
        .filter(|t| t["id"] != edited["id"] && t["status"] != "DISABLED")
        .count();
    assert_eq!(stat(&stats, "templates_deleted") as usize, deletable);
    assert_eq!(
        out.status.code(),
        Some(if deletable == extra { 0 } else { 1 }),
        "a refused delete fails the run"
    );
    let gone = scalar(
        &env,
        "SELECT COUNT(*) AS n FROM templates WHERE deleted_at IS NOT NULL",
    )
    .unwrap();
    assert_eq!(gone as usize, deletable, "deletions recorded at once");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn send_over_http_takes_the_token_and_the_page_has_a_send_test_form() {
    let (env, server) = live(30, |a| a.dashboard_token("dash-token")).await;
    let t = approved(&env, 0, "POSITIONAL").await;
    let values: Vec<String> = params::slots(&t["components"])
        .iter()
        .map(|_| "v".to_string())
        .collect();
    let body = json!({"account": "acme", "to": "+15550002222", "template": t["name"],
                      "language": t["language"], "params": values});
    let url = format!("{}/api/send", server.url);
    let r = env.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401, "no token, no send");
    let r = env
        .http
        .post(&url)
        .bearer_auth("wrong")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(stat(&env.sim_stats().await, "sends"), 0);

    let r = env
        .http
        .post(&url)
        .bearer_auth("dash-token")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sent: Value = r.json().await.unwrap();
    assert!(sent["message_id"].as_str().unwrap().starts_with("wamid."));
    assert_eq!(sent["message_status"], "accepted");

    let text = json!({"account": "acme", "to": "+15550002222", "text": "hi"});
    let r = env
        .http
        .post(&url)
        .bearer_auth("dash-token")
        .json(&text)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["kind"], "window_closed");
    assert!(
        !e["templates"].as_array().unwrap().is_empty(),
        "suggests approved templates"
    );

    let r = env
        .http
        .post(&url)
        .bearer_auth("dash-token")
        .body("{\"account\": ")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("bad JSON body"));
    let r = env.http.post(&url).bearer_auth("dash-token").json(&json!({"account": "acme", "to": "+15550002222", "template": t["name"], "language": t["language"], "params": ["only one", "two", "three", "four", "five", "six"]})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(stat(&env.sim_stats().await, "sends"), 1);
    server.stop().await;

    // Without a dashboard token, HTTP sends are off; the page's form works (loopback, CSRF).
    let open = crate::common::start(1, 30).await;
    open.sync().await;
    let app = common::app(&open);
    let r = common::post_form(&app, "/api/send", "", &[]).await;
    assert_eq!(r.0, 403, "{}", r.2);
    let t = approved(&open, 0, "POSITIONAL").await;
    let id = t["id"].as_str().unwrap();
    let (s, _, html) = common::get(&app, &format!("/templates/{id}"), &[]).await;
    assert_eq!(s, 200);
    let form = common::Page::parse(&html).attrs("form[method=post]", "action");
    assert!(form.contains(&format!("/templates/{id}/send")), "{form:?}");
    let csrf = common::csrf_token(&html);
    let n = params::slots(&t["components"]).len();
    let mut form = format!("csrf={csrf}&to=%2B15550003333");
    for i in 0..n {
        form.push_str(&format!("&p{i}=x{i}"));
    }
    // A bad number: the form comes back filled in, with the reason, and nothing is sent.
    let bad = form.replace("%2B15550003333", "12");
    let (s, _, page) = common::post_form(&app, &format!("/templates/{id}/send"), &bad, &[]).await;
    assert_eq!(s, 400, "{page}");
    let parsed = common::Page::parse(&page);
    assert_eq!(parsed.texts("span.badge.bad"), ["not sent"]);
    assert_eq!(
        parsed.attrs("form.sendform input[name=to]", "value"),
        ["12"]
    );
    for i in 0..n {
        let typed = parsed.attrs(&format!("form.sendform input[name=p{i}]"), "value");
        assert_eq!(typed, [format!("x{i}")]);
    }
    assert_eq!(stat(&open.sim_stats().await, "sends"), 0);
    // Sent: back on the template's page, which says so once.
    let (s, h, _) = common::post_form(&app, &format!("/templates/{id}/send"), &form, &[]).await;
    assert_eq!(s, 303);
    let to = h.get("location").unwrap().to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("/templates/{id}?flash=")), "{to}");
    let (_, _, page) = common::get(&app, &to, &[]).await;
    let parsed = common::Page::parse(&page);
    let title = parsed.texts(".flash h2");
    assert!(
        title.len() == 1 && title[0].starts_with("Sent to "),
        "{title:?}"
    );
    let lines = parsed.texts(".flash li");
    assert!(
        lines[0].starts_with("Message id wamid."),
        "the message id: {lines:?}"
    );
    let (s, _, _) = common::post_form(
        &app,
        &format!("/templates/{id}/send"),
        "csrf=forged&to=1",
        &[],
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(stat(&open.sim_stats().await, "sends"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_edits_and_prunes_through_kapsos_proxy() {
    let (env, server) = live(4, |a| a).await;
    let mine = templates_of(&env, 1).await;
    let edited = mine
        .iter()
        .find(|t| t["status"] == "APPROVED")
        .expect("the seeded catalogue gives globex an approved template");
    let def = with_body_suffix(edited, " See you soon!");
    let dir = env.dir.path().join("kapso-defs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("edited.json"), def.to_string()).unwrap();
    std::fs::write(dir.join("new.json"), GOOD).unwrap();
    let out = apply(&env, &dir, "globex", &["--prune"]);
    assert_applied(&out, edited);
    // Meta refuses to delete a disabled template: that one is reported and the run fails.
    let disabled = mine
        .iter()
        .filter(|t| t["id"] != edited["id"] && t["status"] == "DISABLED")
        .count();
    assert_eq!(
        out.status.success(),
        disabled == 0,
        "{}",
        common::stdout(&out)
    );
    assert_eq!(
        common::stdout(&out).matches("FAILED to delete").count(),
        disabled
    );
    let stats = env.sim_stats().await;
    assert_eq!(
        (
            stat(&stats, "templates_created"),
            stat(&stats, "templates_edited")
        ),
        (1, 1)
    );
    let deletable = mine
        .iter()
        .filter(|t| t["id"] != edited["id"] && t["status"] != "DISABLED")
        .count();
    assert_eq!(stat(&stats, "templates_deleted") as usize, deletable);
    assert_eq!(
        stat(&stats, "unauthorized"),
        0,
        "every call carried the Kapso key"
    );
    server.stop().await;
}

/// A definition file's content for template `t`, its body text ending in `suffix`.
fn with_body_suffix(t: &Value, suffix: &str) -> Value {
    let mut def = def(t);
    let body = def["components"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["type"] == "BODY")
        .unwrap();
    body["text"] = json!(format!("{}{suffix}", body["text"].as_str().unwrap()));
    def
}

/// A definition file's content for template `t` as it stands.
fn def(t: &Value) -> Value {
    json!({"name": t["name"], "language": t["language"], "category": t["category"],
           "parameter_format": t["parameter_format"], "components": t["components"]})
}

/// Runs `templates apply` on `dir` for `account`, with `flags`.
fn apply(env: &Env, dir: &std::path::Path, account: &str, flags: &[&str]) -> std::process::Output {
    let mut args = vec![
        "templates",
        "apply",
        dir.to_str().unwrap(),
        "--account",
        account,
    ];
    args.extend_from_slice(flags);
    env.cli(&args)
}

/// `templates apply` created the new definition and edited `edited`.
fn assert_applied(out: &std::process::Output, edited: &Value) {
    let stdout = common::stdout(out);
    assert!(
        stdout.contains("created delivery_window_notice (en_US): now PENDING"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("edited {} ", edited["name"].as_str().unwrap())),
        "{stdout}"
    );
}

fn window(env: &Env, account: &str, to: &str) -> Value {
    let out = env.cli(&["window", "--account", account, "--to", to, "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    serde_json::from_str(&common::stdout(&out)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_known_only_by_user_id_opens_a_window_and_can_be_written_to() {
    let (env, server) = live(20, |a| a).await;
    // acme is a Meta account, globex a Kapso one.
    for (account, waba, phone) in [("acme", 0, "15550002001"), ("globex", 1, "15550002002")] {
        let from = pnid(&env, waba);
        // A customer who shows a username: the webhook has their user id and no number.
        let sent = env
            .post(
                "/_sim/inbound",
                json!({"phone_number_id": from, "from": phone, "hours_ago": 1, "hide_phone": true}),
            )
            .await;
        let user = sent["user_id"].as_str().unwrap().to_string();
        wait_for("the inbound webhook", || {
            scalar(
                &env,
                &format!("SELECT last_inbound_at AS n FROM contacts WHERE wa_id = '{user}'"),
            )
            .is_some()
        })
        .await;
        assert_eq!(window(&env, account, &user)["open"], true, "{account}");
        if account == "acme" {
            // Meta keeps no conversation record, and templar never saw the number.
            assert_eq!(window(&env, account, phone)["open"], false);
        }
        let out = env.cli(&[
            "send",
            "--account",
            account,
            "--to",
            &user,
            "--text",
            "Thanks!",
            "--json",
        ]);
        assert!(out.status.success(), "{account}: {}", common::stderr(&out));
        let sent: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
        assert_eq!(sent["to"], user.as_str());
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_seen_with_both_ids_is_one_customer() {
    let (env, server) = live(20, |a| a).await;
    let from = pnid(&env, 0);
    let phone = "15550003003";
    // 30 hours ago with both ids (linked), then now with the user id only.
    env.post(
        "/_sim/inbound",
        json!({"phone_number_id": from, "from": phone, "hours_ago": 30}),
    )
    .await;
    env.post(
        "/_sim/inbound",
        json!({"phone_number_id": from, "from": phone, "hours_ago": 0.5, "hide_phone": true}),
    )
    .await;
    let user = templar::sim::user_id_of(phone);
    wait_for("both webhooks", || {
        scalar(
            &env,
            &format!(
                "SELECT COUNT(*) AS n FROM contacts WHERE wa_id IN ('{phone}', '{user}') \
                 AND last_inbound_at > {}",
                common::now().timestamp() - 7200
            ),
        ) == Some(2)
    })
    .await;
    // The phone number's window opened with the message that had only the user id.
    let w = window(&env, "acme", phone);
    assert_eq!(w["open"], true, "{w}");
    assert_eq!(window(&env, "acme", &user)["open"], true);
    server.stop().await;
}
