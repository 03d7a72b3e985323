//! What templates cost: Meta's reported cost where its template analytics say it, else an
//! estimate from the rate card by recipient market; every cost says which. A rate card from
//! the config replaces the built-in one, a broken one is refused with its line, and a category
//! change says what it does to the template's monthly cost.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::common::{self, app, with_traffic, App, Channel, Env, Page};

/// Rates of the built-in card for the simulator's markets, written out here (not read from
/// templar) so a wrong market or rate in templar shows: (prefix, marketing, utility and
/// authentication).
const RATES: &[(&str, f64, f64)] = &[
    ("1555", 0.0250, 0.0034),
    ("9198", 0.0118, 0.0014),
    ("5511", 0.0625, 0.0068),
    ("49151", 0.1365, 0.0550),
    ("447700", 0.0529, 0.0220),
];

/// Delivered messages of the account's templates (Meta charges on delivery): (template id,
/// template category, message category, recipient).
fn sends(env: &Env, account: &str) -> Vec<(String, String, Option<String>, String)> {
    use diesel::prelude::*;
    use templar::db::schema::{accounts as a, messages as m, templates as t};
    let mut c = env.db.conn().unwrap();
    m::table
        .inner_join(t::table.inner_join(a::table))
        .filter(a::name.eq(account))
        .filter(m::delivered_at.is_not_null())
        .select((t::template_id, t::category, m::category, m::recipient))
        .load(&mut c)
        .unwrap()
}

/// Each template's cost by the rates above.
fn expected(rows: &[(String, String, Option<String>, String)]) -> HashMap<String, f64> {
    let mut out: HashMap<String, f64> = HashMap::new();
    for (id, category, said, recipient) in rows {
        let category = said.clone().unwrap_or_else(|| category.clone());
        let (_, marketing, other) = RATES
            .iter()
            .find(|(p, _, _)| recipient.starts_with(p))
            .unwrap_or_else(|| panic!("a recipient outside the simulator's markets: {recipient}"));
        let rate = if category.eq_ignore_ascii_case("MARKETING") {
            *marketing
        } else {
            *other
        };
        *out.entry(id.clone()).or_default() += rate;
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn kapso_costs_are_estimated_by_market_and_meta_costs_are_reported() {
    let env = App::new(2, 30).start().await;
    let app = app(&env);
    env.sync().await;
    with_traffic(&env, &app, 30).await;
    let period = "from=2020-01-01";

    // globex is a Kapso account: no template analytics, so every cost is estimated.
    let want = expected(&sends(&env, "globex"));
    assert!(want.len() >= 3, "traffic reached several Kapso templates");
    for (id, cost) in &want {
        let (status, _, body) =
            common::get(&app, &format!("/api/templates/{id}?{period}"), &[]).await;
        assert_eq!(status, 200);
        let d: Value = serde_json::from_str(&body).unwrap();
        let got = d["usage"]["combined"]["cost"].as_f64().unwrap();
        assert!((got - cost).abs() < 1e-6, "{id}: {got} != {cost}");
        assert_eq!(d["usage"]["combined"]["estimated"].as_f64().unwrap(), got);
        assert_eq!(d["usage"]["combined"]["cost_source"], "estimated");
    }
    let (id, _) = want.iter().next().unwrap();
    let (_, _, html) = common::get(&app, &format!("/templates/{id}?{period}"), &[]).await;
    assert_eq!(
        Page::parse(&html).texts(".kpis .cost-source"),
        ["USD, estimated"]
    );

    // acme is a Meta account: the days its analytics cover are reported, not estimated.
    let out = env.cli(&[
        "export",
        "--by",
        "template",
        "--format",
        "json",
        "--from",
        "2020-01-01",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&common::stdout(&out)).unwrap();
    let source = |account: &str| -> Vec<String> {
        let mut v: Vec<String> = rows
            .iter()
            .filter(|r| r["account"] == account && r["cost"].as_f64().unwrap() > 0.0)
            .map(|r| r["cost_source"].as_str().unwrap().to_string())
            .collect();
        v.dedup();
        v
    };
    assert_eq!(source("globex"), ["estimated"]);
    assert!(source("acme").contains(&"reported".to_string()), "{rows:?}");
    for r in rows.iter().filter(|r| r["account"] == "globex") {
        let id = r["template_id"].as_str().unwrap();
        let cost = r["cost"].as_f64().unwrap();
        assert!(
            (cost - want.get(id).copied().unwrap_or(0.0)).abs() < 1e-3,
            "{r}"
        );
        if cost > 0.0 {
            assert_eq!(r["currency"], "USD");
        }
    }

    // An account whose WABA reports costs in another currency than the card's gets no
    // estimate: it could not be added to what Meta reports.
    {
        use diesel::prelude::*;
        let mut c = env.db.conn().unwrap();
        diesel::sql_query(
            "INSERT INTO analytics_state (account_id, state, currency, checked_at) \
             SELECT id, 'ok', 'BRL', 0 FROM accounts WHERE name = 'globex' \
             ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, \
             currency = excluded.currency, checked_at = excluded.checked_at",
        )
        .execute(&mut c)
        .unwrap();
    }
    let (_, _, body) = common::get(&app, &format!("/api/templates/{id}?{period}"), &[]).await;
    let d: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(d["usage"]["combined"]["estimated"].as_f64(), Some(0.0));
    assert_ne!(d["usage"]["combined"]["cost_source"], "estimated");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_card_in_the_config_replaces_the_built_in_one_and_a_bad_one_is_refused() {
    let card = "category,market,rate,currency,valid_from\n\
                MARKETING,Other,1.0,EUR,2020-01-01\n\
                UTILITY,Other,0.5,EUR,2020-01-01\n\
                AUTHENTICATION,Other,0.25,EUR,2020-01-01\n";
    let cards = tempfile::tempdir().unwrap();
    let path = cards.path().join("card.csv");
    std::fs::write(&path, card).unwrap();
    let env = App::new(2, 30)
        .set("rate_card", path.to_str().unwrap())
        .start()
        .await;
    let app = app(&env);
    env.sync().await;
    with_traffic(&env, &app, 12).await;
    let out = env.cli(&[
        "export",
        "--by",
        "template",
        "--format",
        "json",
        "--account",
        "globex",
        "--from",
        "2020-01-01",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&common::stdout(&out)).unwrap();
    let mut want: HashMap<String, f64> = HashMap::new();
    for (id, category, said, _) in sends(&env, "globex") {
        let category = said.unwrap_or(category).to_ascii_uppercase();
        *want.entry(id).or_default() += match category.as_str() {
            "MARKETING" => 1.0,
            "UTILITY" => 0.5,
            _ => 0.25,
        };
    }
    assert!(!want.is_empty());
    for r in &rows {
        let id = r["template_id"].as_str().unwrap();
        let cost = want.get(id).copied().unwrap_or(0.0);
        assert!((r["cost"].as_f64().unwrap() - cost).abs() < 1e-6, "{r}");
        if cost > 0.0 {
            assert_eq!(
                (r["currency"].as_str(), r["cost_source"].as_str()),
                (Some("EUR"), Some("estimated"))
            );
        }
    }

    // A card that mixes currencies: the command refuses to start and names key and line.
    std::fs::write(&path, format!("{card}MARKETING,India,0.1,USD,2026-01-01\n")).unwrap();
    let out = env.cli(&["templates", "list"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let err = common::stderr(&out);
    assert!(
        err.contains("rate_card") && err.contains("line 5: currency USD"),
        "{err}"
    );
}

/// Two accounts with 30 hours of traffic, and a channel for category changes.
async fn with_sends() -> (Env, axum::Router) {
    let env = App::new(2, 30)
        .notify(
            Channel::webhook("cost", "http://127.0.0.1:9/", "s3cret-s3cret")
                .with("events", vec!["category_changed"]),
        )
        .start()
        .await;
    let app = app(&env);
    env.sync().await;
    with_traffic(&env, &app, 30).await;
    (env, app)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_category_change_says_what_it_does_to_the_monthly_cost() {
    let (env, app) = with_sends().await;
    let expand = || env.notify_pass();
    expand();
    // The Kapso template with the most utility sends moves to MARKETING.
    let (id, shown) = busiest_utility(&env, "globex");
    let (name, waba) = {
        let mut c = env.db.conn().unwrap();
        let t = templar::db::models::templates::with_account(&mut c, &id)
            .unwrap()
            .unwrap();
        (t.row.name, t.row.waba_id)
    };
    let hook = json!({"object": "whatsapp_business_account", "entry": [{"id": waba, "time": common::now().timestamp(),
        "changes": [{"field": "template_category_update", "value": {
            "message_template_id": id.parse::<u64>().unwrap(), "message_template_name": name,
            "message_template_language": "en_US", "previous_category": "UTILITY", "new_category": "MARKETING"}}]}]});
    post_meta(&app, &hook).await;
    assert_eq!(expand(), 1);
    let payload: String = {
        use diesel::prelude::*;
        use templar::db::schema::notifications as n;
        let mut c = env.db.conn().unwrap();
        n::table.select(n::payload).first(&mut c).unwrap()
    };
    let p: Value = serde_json::from_str(&payload).unwrap();
    let text = p["cost_change"].as_str().expect("the cost of the change");
    assert!(text.starts_with(&shown), "{text} / {shown}");
    assert!(p["text"].as_str().unwrap().contains(&shown));
    // The template page and the overview say the same.
    let (_, _, html) = common::get(&app, &format!("/templates/{id}"), &[]).await;
    let page = Page::parse(&html);
    assert!(
        page.texts("dd").iter().any(|d| d.contains(&shown)),
        "{html}"
    );
    let (_, _, html) = common::get(&app, "/", &[]).await;
    let texts = Page::parse(&html).texts("li");
    assert!(texts.iter().any(|t| t.contains(&shown)), "{texts:?}");
}

/// The account's utility template with the most deliveries, and what moving it to MARKETING
/// does to its monthly cost, as templar should say it (by the rates written out above).
fn busiest_utility(env: &Env, account: &str) -> (String, String) {
    let mut by: HashMap<String, Vec<String>> = HashMap::new();
    for (id, category, _, recipient) in sends(env, account) {
        if category == "UTILITY" {
            by.entry(id).or_default().push(recipient);
        }
    }
    let (id, recipients) = by
        .into_iter()
        .max_by_key(|(_, r)| r.len())
        .expect("utility sends");
    let want: f64 = recipients
        .iter()
        .map(|r| {
            let (_, m, u) = RATES.iter().find(|(p, _, _)| r.starts_with(p)).unwrap();
            m - u
        })
        .sum();
    let shown = format!(
        "+{want:.2} USD a month at the last 30 days' {} delivered messages",
        recipients.len()
    );
    (id, shown)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_announced_category_change_says_what_it_will_cost_then_happens_once() {
    let (env, app) = with_sends().await;
    env.notify_pass();
    let (id, shown) = busiest_utility(&env, "globex");
    let payloads = || -> Vec<Value> {
        use diesel::prelude::*;
        use templar::db::schema::notifications as n;
        let mut c = env.db.conn().unwrap();
        let rows: Vec<String> = n::table
            .order(n::id)
            .select(n::payload)
            .load(&mut c)
            .unwrap();
        rows.iter()
            .map(|p| serde_json::from_str(p).unwrap())
            .collect()
    };

    // Meta announces the move a day ahead (the simulator's template_category_update).
    let change = |announce: bool| json!({"category": "MARKETING", "announce": announce});
    env.post(&format!("/_sim/templates/{id}/category"), change(true))
        .await;
    common::deliver(&app, &env.sim.take_webhooks()).await;
    assert_eq!(env.notify_pass(), 1);
    let p = &payloads()[0];
    assert!(
        p["title"]
            .as_str()
            .unwrap()
            .starts_with("Category change announced UTILITY → MARKETING"),
        "{p}"
    );
    let text = p["cost_change"].as_str().expect("the cost of the change");
    assert!(text.starts_with(&shown), "{text} / {shown}");
    let (_, _, html) = common::get(&app, "/", &[]).await;
    let texts = Page::parse(&html).texts("li");
    assert!(texts.iter().any(|t| t.contains(&shown)), "{texts:?}");
    let (_, _, html) = common::get(&app, &format!("/templates/{id}"), &[]).await;
    assert!(
        Page::parse(&html)
            .texts("dd")
            .iter()
            .any(|d| d.contains(&shown)),
        "{html}"
    );
    // The same announcement again is no news.
    env.post(&format!("/_sim/templates/{id}/category"), change(true))
        .await;
    common::deliver(&app, &env.sim.take_webhooks()).await;
    assert_eq!(env.notify_pass(), 0);

    // A day later it happens: one more notification, and the listing agrees after a sync.
    env.post(&format!("/_sim/templates/{id}/category"), change(false))
        .await;
    common::deliver(&app, &env.sim.take_webhooks()).await;
    env.sync().await;
    assert_eq!(env.notify_pass(), 1);
    let done = &payloads()[1];
    assert_eq!(done["change"]["from"], "UTILITY", "{done}");
    assert_eq!(done["change"]["to"], "MARKETING", "{done}");
    assert_eq!(env.notify_pass(), 0);
}

/// Posts a Meta webhook, signed as Meta signs, through the app.
async fn post_meta(app: &axum::Router, body: &Value) {
    use tower::ServiceExt;
    let body = body.to_string();
    let sig = templar::signing::sign(templar::sim::META_APP_SECRET.as_bytes(), body.as_bytes());
    let req = axum::http::Request::post("/webhooks/meta")
        .header("content-type", "application/json")
        .header("x-hub-signature-256", format!("sha256={sig}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
}
