//! Several `templar serve` processes on one PostgreSQL database: webhooks accepted by any of
//! them, one leader for the scheduled jobs, hand-over when it dies or stops, and every
//! notification delivered once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use templar::sim::SimOptions;

use crate::common::{self, receivers, App, Channel, Env, Served};

/// Ends a test in the SQLite run, which has no second process to share the database with.
macro_rules! postgres_only {
    () => {
        if !common::on_postgres() {
            eprintln!("PostgreSQL only: replicas share a PostgreSQL database");
            return;
        }
    };
}

async fn health(env: &Env, s: &Served) -> Option<Value> {
    let r = env
        .http
        .get(format!("{}/healthz", s.url))
        .send()
        .await
        .ok()?;
    r.json().await.ok()
}

async fn leads(env: &Env, s: &Served) -> bool {
    health(env, s)
        .await
        .is_some_and(|h| h["leader"] == json!(true))
}

/// Waits up to `limit` for exactly one of `replicas` to lead; its index and how long it took.
async fn one_leader(env: &Env, replicas: &[&Served], limit: Duration) -> (usize, Duration) {
    let started = Instant::now();
    loop {
        let mut leading = vec![];
        for (i, r) in replicas.iter().enumerate() {
            if leads(env, r).await {
                leading.push(i);
            }
        }
        assert!(leading.len() <= 1, "two leaders at once: {leading:?}");
        if let [i] = leading[..] {
            return (i, started.elapsed());
        }
        assert!(
            started.elapsed() < limit,
            "no replica took the lead within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn kill9(s: &mut Served) {
    s.child.kill().unwrap();
    s.child.wait().unwrap();
}

fn sync_runs(env: &Env) -> i64 {
    env.count("sync_runs")
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_share_webhooks_elect_one_leader_and_hand_over() {
    postgres_only!();
    let (hook_url, hook) = receivers::http(Some("s3cret")).await;
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 30,
        ..Default::default()
    })
    // Full syncs every minute, so that a new leader has one to run soon.
    .section("sync", "schedule", "* * * * *")
    .notify(Channel::webhook("hook", &hook_url, "s3cret").with("events", vec!["approved"]))
    .start()
    .await;
    let mut a = common::serve_process(&env, &[]).await;
    let (first, _) = one_leader(&env, &[&a], Duration::from_secs(30)).await;
    assert_eq!(first, 0);
    // The leader syncs at once (no sync has run yet).
    common::wait_for("the leader's first sync", || sync_runs(&env) > 0).await;
    let b = common::serve_process(&env, &[]).await;
    let (leader, _) = one_leader(&env, &[&a, &b], Duration::from_secs(5)).await;
    assert_eq!(leader, 0, "the first replica keeps the lead");
    let health_b = health(&env, &b).await.unwrap();
    assert_eq!(health_b["leader"], false, "{health_b}");
    let metrics = env
        .http
        .get(format!("{}/metrics", b.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.lines().any(|l| l == "templar_leader 0"),
        "the follower says so on /metrics"
    );

    // "Sync now" pressed on a page one replica rendered, posted to the other.
    let html = env
        .http
        .get(format!("{}/", a.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = common::csrf_token(&html);
    let runs = sync_runs(&env);
    let pressed = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/sync", b.url))
        .header("content-type", "application/x-www-form-urlencoded")
        // What a browser adds to a form posted from the site's own page.
        .header("sec-fetch-site", "same-origin")
        .body(format!("account=acme&csrf={csrf}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        pressed.status(),
        303,
        "the other replica's form is accepted"
    );
    assert_eq!(sync_runs(&env), runs + 1, "and its sync ran");

    // A simulated half day of traffic, its webhooks split between the two replicas.
    env.sim.world().advance(12 * 3600);
    let hooks = env.sim.take_webhooks();
    assert!(hooks.len() > 50, "{} webhooks", hooks.len());
    for (i, h) in hooks.iter().enumerate() {
        let target = if i % 2 == 0 { &a.url } else { &b.url };
        let mut req = env
            .http
            .post(format!("{target}{}", h.path()))
            .header("content-type", "application/json");
        for (k, v) in h.headers() {
            req = req.header(k, v);
        }
        let status = req.body(h.body.clone()).send().await.unwrap().status();
        assert_eq!(status, 200, "webhook {i} to {target}");
    }
    let (stored, recount) = common::stats_and_recount(&env.db);
    assert!(!stored.is_empty());
    assert_eq!(stored, recount, "each daily count equals a recount");

    // kill -9 the leader: the other takes over within 30 s and runs the next sync.
    let runs_before = sync_runs(&env);
    kill9(&mut a);
    let (leader, took) = one_leader(&env, &[&b], Duration::from_secs(30)).await;
    assert_eq!(leader, 0);
    assert!(took < Duration::from_secs(30), "took over in {took:?}");
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap().to_string();
    let name = pending["name"].as_str().unwrap().to_string();
    let about_it = |n: &Value| n["template"]["name"] == json!(name) && n["event"] == "approved";
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    // The next minute's sync finds the approval; the notification goes out once.
    let deadline = Instant::now() + Duration::from_secs(90);
    while !hook.lock().unwrap().accepted.iter().any(about_it) {
        assert!(
            Instant::now() < deadline,
            "no notification after the hand-over"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(sync_runs(&env) > runs_before, "the new leader synced");

    // A third replica; SIGTERM the leader, which hands over.
    let c = common::serve_process(&env, &[]).await;
    let log = b.stop();
    assert!(log.contains("templar stopped"), "{log}");
    let (leader, took) = one_leader(&env, &[&c], Duration::from_secs(30)).await;
    assert_eq!(leader, 0);
    assert!(took < Duration::from_secs(30));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for n in &hook.lock().unwrap().accepted {
        *ids.entry(n["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(ids.values().all(|&n| n == 1), "delivered twice: {ids:?}");
    let approvals: Vec<Value> = hook
        .lock()
        .unwrap()
        .accepted
        .iter()
        .filter(|n| about_it(n))
        .cloned()
        .collect();
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    c.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_claimed_by_a_replica_that_died_is_left_to_another_after_its_lease() {
    use diesel::prelude::*;
    use templar::db::models::notifications as out;
    let env = App::new(1, 5).start().await;
    let now = common::now().timestamp();
    // Queued, then claimed by a replica that died before it could send it.
    env.db
        .write(move |c| {
            out::enqueue(c, "test:1", "hook", "test", &test_payload(), now)?;
            out::claim(c, Some("hook"), now, 10).map(|rows| assert_eq!(rows.len(), 1))
        })
        .await
        .unwrap();
    // Another replica does not take it while the lease lasts...
    let mut other = env.db.conn().unwrap();
    let again = out::claim(&mut other, Some("hook"), now + 1, 10).unwrap();
    assert!(again.is_empty(), "claimed twice");
    // ...and does once it has run out, with the same delivery id.
    let later = out::claim(&mut other, Some("hook"), now + out::LEASE + 1, 10).unwrap();
    assert_eq!(later.len(), 1);
    let row_id = later[0].id;
    drop(other);
    let stored: i32 = templar::db::schema::notifications::table
        .select(templar::db::schema::notifications::id)
        .first(&mut env.db.conn().unwrap())
        .unwrap();
    assert_eq!(stored, row_id, "the same row, so the same delivery id");
}

fn test_payload() -> String {
    json!({"id": "test:1", "event": "test", "account": "acme"}).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sqlite_installation_moves_to_postgres_with_every_count_checked() {
    postgres_only!();
    let env = App::new(2, 30).start().await;
    // The installation to move: SQLite, synced, with a day of webhooks and a usage pull.
    let mut config = env.config.clone();
    let file = env.dir.path().join("old.db");
    config.database = templar::db::Location::Sqlite(file.clone());
    let old = templar::db::Db::open(&config.database).unwrap();
    let ctx = templar::sync::SyncContext {
        db: old.clone(),
        config: std::sync::Arc::new(config.clone()),
        client: templar::sources::http_client(),
        metrics: Default::default(),
    };
    let full = templar::sync::SyncOptions {
        mode: templar::sync::SyncMode::Full,
        account: None,
        dry_run: false,
    };
    templar::sync::run_once(&ctx, &full, common::now())
        .await
        .unwrap();
    env.sim.world().advance(24 * 3600);
    common::deliver(&common::app_on(&old, &config), &env.sim.take_webhooks()).await;
    templar::usage::run(&ctx, None, common::now()).await;
    let mut toml: toml::Table =
        toml::from_str(&std::fs::read_to_string(env.config_path()).unwrap()).unwrap();
    toml.insert("database".into(), file.display().to_string().into());
    let old_config = env.dir.path().join("old.toml");
    std::fs::write(&old_config, toml::to_string(&toml).unwrap()).unwrap();

    let url = common::scratch_postgres().unwrap();
    let out = common::cli(&old_config, &["db", "copy", "--to", &url]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let new = templar::db::Db::open(templar::db::Location::Postgres(url.clone())).unwrap();
    for table in [
        "accounts",
        "templates",
        "template_events",
        "messages",
        "notifications",
    ] {
        assert_eq!(
            common::count(&new, table),
            common::count(&old, table),
            "{table}"
        );
    }
    assert!(common::count(&new, "messages") > 0);
    // Every table is on the report, with equal counts.
    let report = common::stdout(&out);
    let rows: Vec<Vec<&str>> = report
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .filter(|w: &Vec<&str>| w.len() == 3)
        .collect();
    assert!(rows.len() >= 25, "{report}");
    assert!(rows.iter().all(|w| w[1] == w[2]), "{report}");
    // The roll-ups came over as they were, and still equal a recount on the new side.
    assert_eq!(
        common::stats_and_recount(&new),
        common::stats_and_recount(&old)
    );
    let (stored, recount) = common::stats_and_recount(&new);
    assert_eq!(stored, recount);
    // The roll-up triggers, off while the copy went in, are on again.
    assert_eq!(
        common::count(
            &new,
            "pg_trigger WHERE NOT tgisinternal AND tgenabled = 'D'"
        ),
        0
    );
    // New rows get new ids after the copied ones.
    let id = new
        .write(|c| templar::db::models::accounts::ensure(c, "newcomer", "meta", 0))
        .await
        .unwrap();
    assert!(i64::from(id) > common::count(&old, "accounts"));

    // A second copy into the same database is refused: nothing is doubled. (The URL comes
    // from the environment this time, out of sight of `ps`.)
    let with_env = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_templar"))
            .arg("--config")
            .arg(&old_config)
            .args(args)
            .env("TEMPLAR_COPY_TO", &url)
            .output()
            .unwrap()
    };
    let again = with_env(&["db", "copy"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        common::stderr(&again).contains("already holds templar data"),
        "{}",
        common::stderr(&again)
    );
    let help = common::stdout(&with_env(&["db", "copy", "--help"]));
    assert!(
        help.contains("TEMPLAR_COPY_TO") && !help.contains(&url),
        "{help}"
    );
    // A password in the URL never shows.
    let bad = common::cli(
        &old_config,
        &[
            "db",
            "copy",
            "--to",
            "postgres://app:hunter2@127.0.0.1:1/nowhere",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let said = format!("{}{}", common::stdout(&bad), common::stderr(&bad));
    assert!(!said.contains("hunter2"), "{said}");
}

#[test]
fn postgres_migrations_apply_revert_and_apply_again() {
    postgres_only!();
    let url = common::scratch_postgres().unwrap();
    let db = templar::db::Db::open(templar::db::Location::Postgres(url)).unwrap();
    assert_eq!(common::count(&db, "templates"), 0);
    let reverted = db.revert_all().unwrap();
    assert!(!reverted.is_empty());
    let applied = db.migrate().unwrap();
    assert_eq!(applied.len(), reverted.len());
    assert!(db.migrate().unwrap().is_empty(), "nothing left to apply");
    assert_eq!(common::count(&db, "data_version"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replica_carries_on_after_the_database_drops_its_connections() {
    postgres_only!();
    use diesel::prelude::*;
    let env = App::new(1, 10).start().await;
    env.sync().await;
    let s = common::serve_process(&env, &[]).await;
    one_leader(&env, &[&s], Duration::from_secs(30)).await;
    let hook = |n: usize| {
        let pnid = env.sim.world().wabas[0].phone_numbers[0].0.clone();
        json!({"object": "whatsapp_business_account", "entry": [{"id": "w", "changes": [{"field": "messages",
            "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "1", "phone_number_id": pnid},
                      "statuses": [{"id": format!("wamid.DROP{n}"), "status": "sent", "timestamp": "1790000000",
                                    "recipient_id": "15551234567"}]}}]}]})
        .to_string()
    };
    assert_eq!(common::post_meta(&env.http, &s.url, &hook(1)).await, 200);
    // What a database restart or failover does to every session of the replica.
    let mut admin = env.db.conn().unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .unwrap();
    drop(admin);
    // Webhooks are still accepted and stored, pages still answer, and a leader comes back.
    assert_eq!(common::post_meta(&env.http, &s.url, &hook(2)).await, 200);
    let page = env.http.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    one_leader(&env, &[&s], Duration::from_secs(30)).await;
    let stored: i64 = templar::db::schema::messages::table
        .filter(templar::db::schema::messages::wamid.like("wamid.DROP%"))
        .count()
        .get_result(&mut env.db.conn().unwrap())
        .unwrap();
    assert_eq!(stored, 2);
    s.stop();
}
