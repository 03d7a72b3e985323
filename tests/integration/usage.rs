//! Usage pulls: Meta's template analytics and Kapso's message history.

use templar::sim::SimOptions;

use crate::common::{self, post_hook, start_live, stats_and_recount};

#[tokio::test(flavor = "multi_thread")]
async fn analytics_are_pulled_ten_ids_at_a_time_and_insights_off_is_a_state() {
    // Five WABAs: the fifth (a Meta one) has not enabled insights.
    let env = common::start_with(
        SimOptions {
            accounts: 5,
            templates: 60,
            ..Default::default()
        },
        |t| t,
    )
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
    // A second pull with nothing new writes nothing.
    let before = env.db.rows_written();
    templar::usage::run(&env.ctx(), Some("acme"), common::now()).await;
    assert_eq!(env.db.rows_written(), before);

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
