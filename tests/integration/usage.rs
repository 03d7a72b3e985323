//! Usage pulls: Meta's template analytics and Kapso's message history.

use templar::sim::SimOptions;

use crate::common::{self, post_hook, start_live, stats_and_recount, App};

#[tokio::test(flavor = "multi_thread")]
async fn analytics_are_pulled_ten_ids_at_a_time_and_insights_off_is_a_state() {
    // Five WABAs: the fifth (a Meta one) has not enabled insights.
    let env = App::with_sim(SimOptions {
        accounts: 5,
        templates: 60,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    env.sim.world().advance(48 * 3600);
    env.sync().await;
    let reports = templar::usage::run(&env.ctx(), None, common::now()).await;
    let by = |name: &str| reports.iter().find(|r| r.account == name).unwrap().clone();
    assert_eq!(by("acme").analytics.as_deref(), Some("ok"));
    assert!(by("acme").days_updated > 0);
    assert_eq!(by("hooli").analytics.as_deref(), Some("not_enabled"));
    assert!(
        by("hooli").error.is_none(),
        "insights off is a state, not a failure"
    );
    assert_eq!(
        env.sim_stats().await["max_template_ids"],
        10,
        "never more than ten ids per call"
    );

    // What was stored equals what Meta (the simulator) reports.
    use diesel::prelude::*;
    use templar::db::schema::template_daily_stats as s;
    let stored: i64 = s::table
        .filter(s::origin.eq("meta"))
        .select(s::sent)
        .load::<i64>(&mut env.db.conn().unwrap())
        .unwrap()
        .iter()
        .sum();
    let truth: i64 = {
        let w = env.sim.world();
        w.analytics
            .iter()
            .filter(|((i, _), _)| w.templates[*i].waba % 2 == 0 && w.templates[*i].waba != 4)
            .map(|(_, d)| d.sent)
            .sum()
    };
    assert_eq!(stored, truth);
    // A second pull with nothing new writes nothing but when it succeeded (for `/metrics`).
    env.db.count_writes();
    let before = env.db.rows_written();
    templar::usage::run(&env.ctx(), Some("acme"), common::now()).await;
    assert_eq!(env.db.rows_written(), before + 1);

    let out = env.cli(&["sync", "--usage", "--account", "hooli"]);
    assert!(out.status.success());
    assert!(common::stdout(&out).contains("analytics not_enabled"));
}

#[tokio::test(flavor = "multi_thread")]
async fn kapso_history_merges_with_webhooks_without_double_counting() {
    let (env, server) = start_live(SimOptions {
        accounts: 2,
        templates: 40,
        ..Default::default()
    })
    .await;
    env.sync().await;
    env.sim.world().advance(12 * 3600);
    // Only half the webhooks arrive; the history pull fills in the rest.
    let hooks = env.sim.take_webhooks();
    for h in hooks.iter().step_by(2) {
        assert_eq!(post_hook(&env.http, &server.url, h).await, 200);
    }
    let reports = templar::usage::run(&env.ctx(), Some("globex"), common::now()).await;
    assert!(reports[0].error.is_none(), "{reports:?}");
    assert!(reports[0].messages > 0);
    for h in hooks.iter().skip(1).step_by(2) {
        assert_eq!(post_hook(&env.http, &server.url, h).await, 200);
    }
    // Pull again: resumes, and still counts nothing twice.
    templar::usage::run(&env.ctx(), Some("globex"), common::now()).await;
    let (stored, recount) = stats_and_recount(&env.db);
    assert_eq!(stored, recount);
    let kapso_total = {
        let w = env.sim.world();
        w.messages.iter().filter(|m| m.waba == 1).count() as i64
    };
    use diesel::prelude::*;
    use templar::db::schema::{accounts as a, messages as m};
    let stored_kapso: i64 = m::table
        .inner_join(a::table)
        .filter(a::name.eq("globex"))
        .filter(m::sent_at.is_not_null())
        .count()
        .get_result(&mut env.db.conn().unwrap())
        .unwrap();
    assert_eq!(
        stored_kapso, kapso_total,
        "every Kapso message is there, once"
    );
    server.stop().await;
}

/// The per-account daily totals the dashboard reads, against the reference rule applied to
/// every template-day: Meta's figures where Meta reported the day, else observed.
fn assert_account_totals_match(env: &common::Env) {
    use std::collections::BTreeMap;
    use templar::report::{self, Period, Scope, Totals};
    let mut c = env.db.conn().unwrap();
    let period = Period::last(common::now().date_naive(), 90);
    for account in [None, Some("acme"), Some("globex"), Some("initech")] {
        let scope = Scope {
            account: account.map(str::to_string),
            ..Default::default()
        };
        let mut expected: BTreeMap<String, Totals> = BTreeMap::new();
        for row in report::rows(&mut c, &scope, &period).unwrap() {
            expected
                .entry(row.day.clone())
                .or_default()
                .add(&row.combined());
        }
        let got: BTreeMap<String, Totals> = report::daily(&mut c, &scope, &period)
            .unwrap()
            .into_iter()
            .filter(|(_, t)| *t != Totals::default())
            .collect();
        assert_eq!(got.len(), expected.len(), "{account:?}: days");
        for (day, e) in &expected {
            let g = got[day];
            assert_eq!(
                (g.sent, g.delivered, g.read, g.clicked, g.failed),
                (e.sent, e.delivered, e.read, e.clicked, e.failed),
                "{account:?} {day}"
            );
            // One account's totals carry its estimates, as its rows do; every account at
            // once only Meta's reported cost.
            let want = match account {
                Some(_) => e.cost,
                None => e.cost - e.estimated,
            };
            assert!((g.cost - want).abs() < 1e-6, "{account:?} {day} cost");
            assert_eq!(
                g.cost_source() == "estimated",
                account.is_some() && e.estimated > 0.0
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn account_totals_follow_every_change_to_the_roll_up() {
    let env = App::with_sim(SimOptions {
        accounts: 3,
        templates: 40,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = common::app(&env);
    // Observed first, then Meta's figures replace them, then more of both.
    common::with_traffic(&env, &app, 30).await;
    assert_account_totals_match(&env);
    // The preset periods' per-template totals are rebuilt, then follow changes by trigger.
    {
        let mut c = env.db.conn().unwrap();
        let today = common::now().date_naive();
        assert!(!templar::report::windows_current(&mut c, today).unwrap());
        templar::report::refresh_windows(&mut c, today).unwrap();
        assert!(templar::report::windows_current(&mut c, today).unwrap());
    }
    assert_window_totals_match(&env);
    common::with_traffic(&env, &app, 20).await;
    assert_account_totals_match(&env);
    assert_window_totals_match(&env);
    // A Meta figure revised downwards, and one removed, still keep them in step.
    {
        use diesel::prelude::*;
        let mut c = env.db.conn().unwrap();
        diesel::sql_query("UPDATE template_daily_stats SET sent = sent / 2, cost = cost / 2 WHERE origin = 'meta' AND (template_row + CAST(substr(day, 9, 2) AS INTEGER)) % 3 = 0")
            .execute(&mut c)
            .unwrap();
        diesel::sql_query(
            "DELETE FROM template_daily_stats WHERE origin = 'meta' AND (template_row + CAST(substr(day, 9, 2) AS INTEGER)) % 5 = 0",
        )
        .execute(&mut c)
        .unwrap();
        diesel::sql_query(
            "DELETE FROM template_daily_stats WHERE origin = 'observed' AND (template_row + CAST(substr(day, 9, 2) AS INTEGER)) % 7 = 0",
        )
        .execute(&mut c)
        .unwrap();
    }
    assert_account_totals_match(&env);
    assert_window_totals_match(&env);
}

/// Each template's totals over the preset periods, as analytics reads them, against the
/// reference rule over the same days.
fn assert_window_totals_match(env: &common::Env) {
    use std::collections::BTreeMap;
    use templar::report::{self, Period, Scope, Totals};
    let mut c = env.db.conn().unwrap();
    let today = common::now().date_naive();
    for days in templar::report::WINDOWS {
        let period = Period::last(today, days);
        for account in [None, Some("globex")] {
            let scope = Scope {
                account: account.map(str::to_string),
                ..Default::default()
            };
            let mut expected: BTreeMap<i32, Totals> = BTreeMap::new();
            for row in report::rows(&mut c, &scope, &period).unwrap() {
                expected
                    .entry(row.template_row)
                    .or_default()
                    .add(&row.combined());
            }
            let got = report::per_template(&mut c, &scope, &period).unwrap();
            let nonzero = |t: &Totals| *t != Totals::default();
            let got: BTreeMap<i32, Totals> = got.into_iter().filter(|(_, t)| nonzero(t)).collect();
            expected.retain(|_, t| nonzero(t));
            assert_eq!(
                got.len(),
                expected.len(),
                "{days} days {account:?}: templates"
            );
            for (t, e) in &expected {
                let g = got[t];
                assert_eq!(
                    (g.sent, g.delivered, g.read, g.clicked, g.failed),
                    (e.sent, e.delivered, e.read, e.clicked, e.failed),
                    "{days} days {account:?} template {t}"
                );
                // One account carries its estimates, as rows do; every account at once
                // only Meta's reported cost.
                let want = match account {
                    Some(_) => e.cost,
                    None => e.cost - e.estimated,
                };
                assert!((g.cost - want).abs() < 1e-6, "{days} days {account:?} {t}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn analytics_count_clicks_once_follow_every_page_and_pull_both_products() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 60,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    env.sim.world().advance(72 * 3600);
    env.sync().await;
    let requests_before = env.sim_stats().await["meta_requests"].as_u64().unwrap_or(0);
    let reports = templar::usage::run(&env.ctx(), None, common::now()).await;
    assert!(reports[0].error.is_none(), "{reports:?}");

    use diesel::prelude::*;
    use templar::db::schema::template_daily_products as p;
    use templar::db::schema::template_daily_stats as s;
    let mut c = env.db.conn().unwrap();
    let stored: Vec<(i64, i64)> = s::table
        .filter(s::origin.eq("meta"))
        .select((s::sent, s::clicked))
        .load(&mut c)
        .unwrap();
    let (sent, clicked) = stored.iter().fold((0, 0), |(a, b), (x, y)| (a + x, b + y));
    let (true_sent, true_clicked) = {
        let w = env.sim.world();
        w.analytics
            .values()
            .fold((0, 0), |(a, b), d| (a + d.sent, b + d.clicked))
    };
    // Every page of both products, and clicks counted once (unique clickers not added).
    assert_eq!((sent, clicked), (true_sent, true_clicked));
    assert!(clicked > 0, "the simulated days had clicks");
    let unique: i64 = p::table
        .select(p::unique_clicked)
        .load::<i64>(&mut c)
        .unwrap()
        .iter()
        .sum();
    assert!(
        unique > 0 && unique < clicked,
        "unique {unique}, total {clicked}"
    );
    let pages = env.sim_stats().await["meta_requests"].as_u64().unwrap_or(0) - requests_before;
    assert!(
        pages > 12,
        "six chunks of ten ids, two products, and more than one page: {pages}"
    );

    // The template page shows the split for a marketing template sent through both.
    let id: String = {
        use templar::db::schema::templates as t;
        let rows: Vec<i32> = p::table
            .filter(p::product.eq("MARKETING_MESSAGES_API_FOR_WHATSAPP"))
            .filter(p::sent.gt(0))
            .select(p::template_row)
            .load(&mut c)
            .unwrap();
        let row = rows[0];
        t::table
            .find(row)
            .select(t::template_id)
            .first(&mut c)
            .unwrap()
    };
    let app = common::app(&env);
    let (status, _, html) = common::get(&app, &format!("/templates/{id}?days=90"), &[]).await;
    assert_eq!(status, 200);
    let page = common::Page::parse(&html);
    let rows = page.texts("table tr");
    let via = |product: &str| {
        rows.iter()
            .find(|r| r.starts_with(&format!("via the {product}")))
            .unwrap_or_else(|| panic!("no {product} row in {rows:?}"))
            .clone()
    };
    assert!(via("Cloud API").contains("unique"), "{rows:?}");
    assert!(via("Marketing Messages API").contains("unique"), "{rows:?}");
    // Meta's figures, each product's too, say where their cost comes from.
    for product in ["Cloud API", "Marketing Messages API"] {
        let row = via(product);
        assert_eq!(row.split_whitespace().last(), Some("reported"), "{row}");
    }
}
