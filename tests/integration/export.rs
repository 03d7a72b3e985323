//! Exports: formats (snapshots), CSV round-trips, totals equal to the dashboard, filters, the
//! CLI's errors, and scheduled reports.

use std::sync::Arc;

use chrono::NaiveDate;
use diesel::prelude::*;
use templar::db::Db;
use templar::export::{self, By, Format, Query, Sink};
use templar::report::Period;
use templar::sim::SimOptions;

use crate::common::{self, app, get, with_traffic, App, Channel};

/// A fixed database: two templates (one named with every character CSV must quote), three days.
fn fixed() -> (tempfile::TempDir, Db) {
    use templar::db::schema::{
        accounts as a, messages as m, template_daily_stats as s, templates as t,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("t.db")).unwrap();
    let mut c = db.conn().unwrap();
    diesel::insert_into(a::table)
        .values((
            a::name.eq("acme"),
            a::source.eq("meta"),
            a::created_at.eq(0),
        ))
        .execute(&mut c)
        .unwrap();
    for (id, name) in [
        ("101", "order_update"),
        ("102", "promo, \"spring\"\nsale — ünïcode 日本"),
    ] {
        diesel::insert_into(t::table)
            .values((
                t::account_id.eq(1),
                t::waba_id.eq("9"),
                t::template_id.eq(id),
                t::name.eq(name),
                t::language.eq("en_US"),
                t::category.eq("MARKETING"),
                t::status.eq("APPROVED"),
                t::components.eq("[]"),
                t::first_seen_at.eq(0),
                t::last_changed_at.eq(0),
            ))
            .execute(&mut c)
            .unwrap();
    }
    let rows = [
        (1, "2026-11-01", "observed", 10, 9, 5, 1, 1, 0.0),
        (1, "2026-11-02", "observed", 20, 18, 9, 0, 2, 0.0),
        (1, "2026-11-02", "meta", 21, 19, 10, 2, 0, 0.42),
        (2, "2026-11-03", "observed", 5, 5, 1, 0, 0, 0.0),
    ];
    for (tr, day, origin, sent, delivered, read, clicked, failed, cost) in rows {
        diesel::insert_into(s::table)
            .values((
                s::template_row.eq(tr),
                s::day.eq(day),
                s::origin.eq(origin),
                s::sent.eq(sent),
                s::delivered.eq(delivered),
                s::read.eq(read),
                s::clicked.eq(clicked),
                s::failed.eq(failed),
                s::cost.eq(cost),
            ))
            .execute(&mut c)
            .unwrap();
    }
    // Sends by country, as the writer keeps them: 2026-11-01 has no Meta figures, so its cost
    // is estimated from the built-in card (10 marketing sends to India at 0.0118 USD); on
    // 2026-11-02 Meta's reported cost wins.
    for (tr, day, country, n) in [(1, "2026-11-01", "IN", 10), (1, "2026-11-02", "US", 20)] {
        use templar::db::schema::template_daily_countries as dc;
        diesel::insert_into(dc::table)
            .values((
                dc::template_row.eq(tr),
                dc::day.eq(day),
                dc::country.eq(country),
                dc::category.eq(""),
                dc::delivered.eq(n),
            ))
            .execute(&mut c)
            .unwrap();
    }
    diesel::insert_into(m::table)
        .values((
            m::wamid.eq("wamid.1"),
            m::account_id.eq(Some(1)),
            m::phone_number_id.eq("p"),
            m::template_row.eq(Some(2)),
            m::recipient.eq("15551234567"),
            m::day.eq("2026-11-03"),
            m::sent_at.eq(Some(1_793_750_400i64)),
            m::failed_at.eq(Some(1_793_750_460i64)),
            m::error_code.eq(Some(131047)),
            m::error_title.eq(Some("Re-engagement message")),
            m::origin.eq("webhook"),
            m::created_at.eq(0),
        ))
        .execute(&mut c)
        .unwrap();
    (dir, db)
}

fn query(by: By) -> Query {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Query {
        period: Period {
            from: d("2026-11-01"),
            to: d("2026-11-07"),
        },
        by,
        filter: Default::default(),
        template_id: None,
        template_name: None,
    }
}

fn usage(db: &Db, format: Format, by: By) -> String {
    let mut out = Vec::new();
    let mut sink = Sink::new(format, export::USAGE_HEADER, &mut out).unwrap();
    export::usage_rows(
        &mut db.conn().unwrap(),
        &query(by),
        &mut sink,
        &mut |_, _| {},
    )
    .unwrap();
    sink.finish().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn formats_match_their_snapshots() {
    let (_dir, db) = fixed();
    insta::assert_snapshot!("usage_by_day_csv", usage(&db, Format::Csv, By::Day));
    insta::assert_snapshot!("usage_by_week_json", usage(&db, Format::Json, By::Week));
    insta::assert_snapshot!(
        "usage_by_template_jsonl",
        usage(&db, Format::Jsonl, By::Template)
    );
    let mut out = Vec::new();
    let mut sink = Sink::new(Format::Csv, export::MESSAGE_HEADER, &mut out).unwrap();
    export::message_rows(
        &mut db.conn().unwrap(),
        &query(By::Day),
        None,
        &mut sink,
        &mut |_, _| {},
    )
    .unwrap();
    sink.finish().unwrap();
    insta::assert_snapshot!("messages_csv", String::from_utf8(out).unwrap());
}

#[test]
fn csv_round_trips_commas_quotes_newlines_and_unicode() {
    let (_dir, db) = fixed();
    let text = usage(&db, Format::Csv, By::Template);
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let names: Vec<String> = r.records().map(|rec| rec.unwrap()[1].to_string()).collect();
    assert_eq!(
        names,
        ["order_update", "promo, \"spring\"\nsale — ünïcode 日本"]
    );
    // Meta's figures win for the day it reported; failures stay observed. The day Meta did
    // not report adds its estimate (10 sends to India at 0.0118), so the cost is estimated.
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let first = r.records().next().unwrap().unwrap();
    assert_eq!(
        (&first[8], &first[12], &first[15], &first[17], &first[18]),
        ("31", "3", "0.538", "mixed", "estimated")
    );
}

#[test]
fn an_empty_period_is_a_valid_empty_file() {
    let (_dir, db) = fixed();
    let d = NaiveDate::parse_from_str("2026-10-01", "%Y-%m-%d").unwrap();
    for (format, want) in [
        (Format::Csv, export::USAGE_HEADER.join(",") + "\n"),
        (Format::Json, "[]\n".to_string()),
        (Format::Jsonl, String::new()),
    ] {
        let mut out = Vec::new();
        let mut sink = Sink::new(format, export::USAGE_HEADER, &mut out).unwrap();
        let q = Query {
            period: Period { from: d, to: d },
            ..query(By::Day)
        };
        export::usage_rows(&mut db.conn().unwrap(), &q, &mut sink, &mut |_, _| {}).unwrap();
        sink.finish().unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exported_totals_equal_the_dashboard_and_follow_page_filters() {
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 40,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = app(&env);
    with_traffic(&env, &app, 48).await;

    let (_, _, overview) = get(&app, "/api/overview?days=7", &[]).await;
    let overview: serde_json::Value = serde_json::from_str(&overview).unwrap();
    let (s, h, body) = get(&app, "/export.json?days=7", &[]).await;
    assert_eq!(s, 200);
    assert!(h["content-disposition"]
        .to_str()
        .unwrap()
        .contains("attachment"));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let sum = |k: &str| rows.iter().map(|r| r[k].as_i64().unwrap()).sum::<i64>();
    for k in ["sent", "delivered", "read", "failed"] {
        assert_eq!(
            sum(k),
            overview["period_totals"][k].as_i64().unwrap(),
            "{k}"
        );
    }

    // The templates page's filters: the export has exactly its rows, with its numbers.
    let filters = "account=acme&status=APPROVED&days=7";
    let (_, _, list) = get(
        &app,
        &format!("/api/templates?{filters}&sort=sent&dir=desc"),
        &[],
    )
    .await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let (_, _, csv_body) = get(&app, &format!("/export.csv?{filters}"), &[]).await;
    let mut r = csv::Reader::from_reader(csv_body.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len() as i64, list["total"].as_i64().unwrap());
    assert!(rows.iter().all(|r| &r[0] == "acme"));
    let top = &list["lines"][0];
    let exported = rows
        .iter()
        .find(|r| r[2] == *top["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        exported[8].parse::<i64>().unwrap(),
        top["usage"]["sent"].as_i64().unwrap()
    );

    assert_eq!(get(&app, "/export.csv?by=fortnight", &[]).await.0, 400);
    assert_eq!(get(&app, "/export.csv?account=nobody", &[]).await.0, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_exports_and_refuses_bad_input() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 20,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = app(&env);
    with_traffic(&env, &app, 24).await;
    let out_file = env.dir.path().join("out.csv");
    let out = env.cli(&["export", "--by", "day", "--out", out_file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    assert!(text.starts_with("account,template,template_id"));
    assert!(text.lines().count() > 1);

    let out = env.cli(&[
        "export",
        "--messages",
        "--hash-recipients",
        "--format",
        "jsonl",
    ]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["recipient"].as_str().unwrap().len(), 64, "hashed");
    let raw_numbers: Vec<String> = env
        .sim
        .world()
        .messages
        .iter()
        .map(|m| m.recipient.clone())
        .collect();
    assert!(
        raw_numbers.iter().all(|n| !text.contains(n.as_str())),
        "no recipient number leaks"
    );

    for (args, msg) in [
        (vec!["export", "--from", "2026-13-01"], "not a date"),
        (
            vec!["export", "--from", "2026-11-05", "--to", "2026-11-01"],
            "before it starts",
        ),
        (vec!["export", "--account", "nobody"], "no account named"),
        (
            vec!["export", "--template", "no_such_template"],
            "no template",
        ),
        (vec!["export", "--format", "xml"], "invalid value"),
    ] {
        let out = env.cli(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            common::stderr(&out).contains(msg),
            "{args:?}: {}",
            common::stderr(&out)
        );
    }
    let out = env.cli(&["export", "--from", "2020-01-01", "--to", "2020-01-02"]);
    assert!(out.status.success());
    assert_eq!(common::stdout(&out).lines().count(), 1, "header only");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_report_arrives_at_its_channel() {
    let (url, inbox) = common::receivers::http(Some("s")).await;
    let report: toml::Table = toml::toml! {
        schedule = "0 8 * * MON"
        format = "csv"
        by = "day"
        notify = "hook"
    };
    let env = App::new(1, 20)
        .notify(Channel::webhook("hook", &url, "s"))
        .report(report)
        .start()
        .await;
    env.sync().await;
    let app = app(&env);
    with_traffic(&env, &app, 24).await;
    let config = env.config.clone();
    let r = config.reports[0].clone();
    let now = common::now();
    let path = env
        .db
        .write(move |c| {
            Ok(templar::jobs::reports::write(
                c,
                &config,
                &r,
                now.date_naive() + chrono::Days::new(1),
                now.timestamp(),
            ))
        })
        .await
        .unwrap()
        .unwrap();
    assert!(path.starts_with(env.dir.path().join("reports")));
    let n = templar::notify::worker::Notifier {
        db: env.db.clone(),
        config: Arc::new(env.config.clone()),
        client: reqwest::Client::new(),
        metrics: Default::default(),
    };
    n.pass(now.timestamp()).await.unwrap();
    let got = inbox.lock().unwrap().accepted.clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["event"], "report");
    assert!(got[0]["text"].as_str().unwrap().contains("sent"));
    assert_eq!(got[0]["file"].as_str().unwrap(), path.display().to_string());
    assert!(std::fs::read_to_string(&path).unwrap().lines().count() > 1);
}
