//! Phone number health: the usage pull reads each number's quality rating, name review,
//! throughput and the portfolio's messaging limit (Meta and Kapso alike) and keeps their
//! history; Meta's `phone_number_quality_update` webhook moves the limit; a fall in quality
//! and a new limit notify; the account page and its API show them as Meta names them.

use serde_json::{json, Value};

use crate::common::{self, app, deliver, App, Channel, Page};

#[tokio::test(flavor = "multi_thread")]
async fn number_health_is_read_kept_and_told() {
    let env = App::new(2, 10)
        .notify(
            Channel::webhook("numbers", "http://127.0.0.1:9/", "s3cret-s3cret").with(
                "events",
                vec!["number_quality_down", "messaging_limit_changed"],
            ),
        )
        .start()
        .await;
    let app = app(&env);
    env.sync().await;
    let expand = || env.notify_pass();
    expand();
    let reports = templar::usage::run(&env.ctx(), None, common::now()).await;
    for r in &reports {
        assert!(r.numbers >= 1 && r.numbers_error.is_none(), "{r:?}");
    }
    // Both accounts, the Kapso one through its proxy, as Meta names the fields.
    let account = |name: &str| {
        let app = app.clone();
        let name = name.to_string();
        async move {
            let (status, _, body) = common::get(&app, &format!("/api/accounts/{name}"), &[]).await;
            assert_eq!(status, 200);
            serde_json::from_str::<Value>(&body).unwrap()
        }
    };
    for name in ["acme", "globex"] {
        let a = account(name).await;
        let n = &a["phone_numbers"][0];
        assert_eq!(n["quality_rating"], "GREEN", "{a}");
        assert_eq!(n["throughput"]["level"], "STANDARD");
        assert_eq!(n["name_status"], "APPROVED");
        // Times as every API answer writes them.
        let at = n["updated_at"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(at).is_ok(), "{at}");
        assert_eq!(a["max_daily_conversations_per_business"], "TIER_2K");
    }
    // First sight is history, not news.
    assert_eq!(expand(), 0);

    // acme's first number falls to YELLOW (seen by the next pull), then Meta flags it and
    // raises the portfolio's limit (its webhook).
    let pnid = env.config.accounts[0].phone_number_ids[0].clone();
    env.post(
        &format!("/_sim/numbers/{pnid}"),
        json!({"quality_rating": "YELLOW"}),
    )
    .await;
    templar::usage::run(&env.ctx(), Some("acme"), common::now()).await;
    env.post(
        &format!("/_sim/numbers/{pnid}"),
        json!({"event": "FLAGGED", "messaging_limit": "TIER_10K"}),
    )
    .await;
    deliver(&app, &env.sim.take_webhooks()).await;
    // A repeat of the same webhook changes nothing.
    env.post(
        &format!("/_sim/numbers/{pnid}"),
        json!({"event": "FLAGGED"}),
    )
    .await;
    deliver(&app, &env.sim.take_webhooks()).await;

    let a = account("acme").await;
    assert_eq!(a["phone_numbers"][0]["quality_rating"], "YELLOW");
    assert_eq!(a["max_daily_conversations_per_business"], "TIER_10K");
    let history: Vec<(String, String)> = a["number_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        history[..3],
        [
            ("messaging_limit".to_string(), "TIER_10K".to_string()),
            ("event".into(), "FLAGGED".into()),
            ("quality_rating".into(), "YELLOW".into()),
        ]
    );
    // Three notifications: the fall, the flag, the new limit; globex's numbers said nothing.
    assert_eq!(expand(), 3);
    let kinds: Vec<String> = {
        use diesel::prelude::*;
        use templar::db::schema::notifications as n;
        let mut c = env.db.conn().unwrap();
        n::table.order(n::id).select(n::kind).load(&mut c).unwrap()
    };
    assert_eq!(
        kinds,
        [
            "number_quality_down",
            "number_quality_down",
            "messaging_limit_changed"
        ]
    );

    // The page.
    let (_, _, html) = common::get(&app, "/accounts/acme", &[]).await;
    let page = Page::parse(&html);
    assert!(page
        .texts(".numbers p")
        .iter()
        .any(|t| t.contains("10,000 customers a day")));
    assert_eq!(page.texts(".numbers tbody .badge"), ["YELLOW"]);
}
