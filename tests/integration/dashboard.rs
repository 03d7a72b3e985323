//! The dashboard through `Router::oneshot`: what each page shows, escaping, login, CSRF.

use serde_json::json;
use templar::sim::SimOptions;

use crate::common::{self, app, get, post_form, with_traffic, App, Page};

#[tokio::test(flavor = "multi_thread")]
async fn every_page_shows_what_a_user_expects() {
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
    env.sync().await;

    let (s, _, html) = get(&app, "/", &[]).await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    let headings = page.texts("section.card h2, div.card h2");
    // What needs attention comes first, then the period's figures.
    assert_eq!(headings[0], "Needs attention", "{headings:?}");
    assert!(
        headings[1].contains("change against the 30 days before"),
        "{headings:?}"
    );
    for want in ["Accounts", "Latest changes"] {
        assert!(
            headings.iter().any(|h| h == want),
            "overview lacks {want}: {headings:?}"
        );
    }
    // The attention lists give true counts (the lists are capped) and lead to the full list.
    let api: serde_json::Value =
        serde_json::from_str(&get(&app, "/api/templates?status=REJECTED", &[]).await.2).unwrap();
    let rejected_total = api["total"].as_i64().unwrap();
    let titles = page.texts("section.card h3");
    let rejected = titles
        .iter()
        .find(|t| t.starts_with("Rejected"))
        .expect("a Rejected list");
    assert!(
        rejected.starts_with(&format!("Rejected {rejected_total}")),
        "{rejected} vs {rejected_total}"
    );
    if rejected_total > 0 {
        assert!(page
            .attrs("section.card h3 a", "href")
            .iter()
            .any(|h| h.starts_with("/templates?status=REJECTED")));
    }
    // Every "see all" list holds as many templates as its title counts.
    let doc = scraper::Html::parse_document(&html);
    let h3 = scraper::Selector::parse("section.card h3").unwrap();
    let a = scraper::Selector::parse("a").unwrap();
    for heading in doc.select(&h3) {
        let title: String = heading.text().collect();
        let Some(link) = heading
            .select(&a)
            .next()
            .and_then(|l| l.value().attr("href"))
        else {
            continue;
        };
        if title.starts_with("Category") {
            continue;
        }
        let count: i64 = title
            .split_whitespace()
            .find_map(|w| w.parse().ok())
            .unwrap();
        let api = link.replacen("/templates?", "/api/templates?", 1);
        let listed: serde_json::Value =
            serde_json::from_str(&get(&app, &api, &[]).await.2).unwrap();
        assert_eq!(listed["total"].as_i64().unwrap(), count, "{title} → {link}");
    }
    // DELETED lists deleted templates only.
    let deleted: serde_json::Value =
        serde_json::from_str(&get(&app, "/api/templates?status=DELETED", &[]).await.2).unwrap();
    assert!(deleted["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| !l["deleted_at"].is_null()));
    // One KPI strip: each figure with its change against the previous period.
    let kpis = page.texts(".kpis > div span");
    assert_eq!(
        kpis,
        [
            "Sent",
            "Delivered",
            "Read",
            "Failed",
            "Delivery rate",
            "Read rate",
            "Cost"
        ]
    );
    // Money says its currency, and whether Meta reported it or templar estimated it.
    let cost = page.texts(".kpis > div b").last().cloned().unwrap();
    assert!(
        ["USD", "USD, estimated", "USD, reported"]
            .iter()
            .any(|x| cost.ends_with(x)),
        "{cost}"
    );
    // Badges in one order on every account row.
    let order = [
        "APPROVED",
        "PENDING",
        "IN_APPEAL",
        "REJECTED",
        "PAUSED",
        "DISABLED",
        "LIMIT_EXCEEDED",
        "PENDING_DELETION",
        "ARCHIVED",
    ];
    let rows = scraper::Html::parse_document(&html);
    let tr = scraper::Selector::parse("section.card table tbody tr").unwrap();
    let badge = scraper::Selector::parse("a.badge").unwrap();
    for row in rows.select(&tr) {
        let ranks: Vec<usize> = row
            .select(&badge)
            .map(|b| {
                let s: String = b.text().collect();
                let status = s.split_whitespace().next().unwrap_or("").to_string();
                order
                    .iter()
                    .position(|o| *o == status)
                    .unwrap_or(order.len())
            })
            .collect();
        let mut sorted = ranks.clone();
        sorted.sort();
        assert_eq!(ranks, sorted);
    }
    // One row per account, each linking to its page, with its own Sync now button.
    let accounts = page.texts("section.card table tbody tr td:first-child a");
    assert_eq!(accounts, ["acme", "globex"]);
    let buttons = page.texts("form[action=\"/sync\"] button");
    assert_eq!(buttons.iter().filter(|b| *b == "Sync now").count(), 2);
    assert!(page
        .texts("h3")
        .iter()
        .any(|h| h.starts_with("Pending longest")));
    assert!(
        !page.attrs("svg", "viewBox").is_empty(),
        "the chart is drawn"
    );
    let (s, _, api) = get(&app, "/api/overview?days=7", &[]).await;
    assert_eq!(s, 200);
    let api: serde_json::Value = serde_json::from_str(&api).unwrap();
    let sent7 = api["last7"]["sent"].as_i64().unwrap();
    assert!(sent7 > 0, "traffic shows in the totals");
    assert_eq!(api["accounts"].as_array().unwrap().len(), 2);

    let (s, _, html) = get(
        &app,
        "/templates?status=APPROVED&account=acme&sort=sent&dir=desc",
        &[],
    )
    .await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    // The status column of every row says what the filter asked for.
    let statuses = page.texts("table tbody tr td:nth-child(5)");
    assert!(!statuses.is_empty(), "the filtered list has rows");
    assert!(statuses.iter().all(|s| s == "APPROVED"), "{statuses:?}");
    let accounts = page.texts("table tbody tr td:nth-child(2)");
    assert!(accounts.iter().all(|a| a == "acme"), "{accounts:?}");
    let (_, _, list) = get(
        &app,
        "/api/templates?status=APPROVED&account=acme&sort=sent&dir=desc",
        &[],
    )
    .await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let lines = list["lines"].as_array().unwrap();
    assert!(lines
        .iter()
        .all(|l| l["account"] == "acme" && l["status"] == "APPROVED"));
    let sents: Vec<i64> = lines
        .iter()
        .map(|l| l["usage"]["sent"].as_i64().unwrap())
        .collect();
    assert!(
        sents.windows(2).all(|w| w[0] >= w[1]),
        "sorted by sent, descending: {sents:?}"
    );

    let busiest = lines[0]["id"].as_str().unwrap();
    let (s, _, html) = get(&app, &format!("/templates/{busiest}"), &[]).await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    let headings = [page.texts("h2"), page.texts("h3")].concat();
    for want in [
        "Status timeline",
        "Funnel",
        "Meta-reported and observed",
        "Failures by error code",
    ] {
        assert!(
            headings.iter().any(|h| h.starts_with(want)),
            "template page lacks {want}: {headings:?}"
        );
    }
    assert_eq!(page.texts("div.bubble").len(), 1, "the template's preview");
    let (_, _, detail) = get(&app, &format!("/api/templates/{busiest}"), &[]).await;
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert!(detail["usage"]["combined"]["sent"].as_i64().unwrap() > 0);
    assert!(!detail["events"].as_array().unwrap().is_empty());

    let (s, _, html) = get(&app, "/analytics?days=7", &[]).await;
    assert_eq!(s, 200);
    let headings = Page::parse(&html).texts("div.card h2");
    for want in [
        "Top templates by volume",
        "Time to approval by category (all time)",
    ] {
        assert!(
            headings.iter().any(|h| h == want),
            "analytics lacks {want}: {headings:?}"
        );
    }
    let (s, _, html) = get(&app, "/accounts/acme", &[]).await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    assert_eq!(page.texts("h1")[0], "acme meta");
    let headings = page.texts("h2");
    assert!(headings.iter().any(|h| h == "Sync runs"), "{headings:?}");
    assert!(page.texts("dt").iter().any(|t| t == "Template analytics"));

    assert_eq!(get(&app, "/templates/999999", &[]).await.0, 404);
    assert_eq!(get(&app, "/accounts/nobody", &[]).await.0, 404);
    let (s, _, html) = get(&app, "/templates?days=abc", &[]).await;
    assert_eq!(s, 400);
    let page = Page::parse(&html);
    assert_eq!(page.texts("h1"), ["400 · Bad request"]);
    assert!(page.texts("main p")[0].contains("not a number of days"));
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_text_is_escaped() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 10,
        ..Default::default()
    })
    .start()
    .await;
    let id = {
        let mut w = env.sim.world();
        let t = &mut w.templates[0];
        t.name = "<script>alert('name')</script>".into();
        t.status = "REJECTED".into();
        t.rejected_reason = Some("<img src=x onerror=alert(1)>".into());
        t.components = json!([{"type": "BODY", "text": "Hi <script>alert('body')</script> {{1}}"}]);
        t.components_raw = serde_json::value::to_raw_value(&t.components).unwrap();
        t.id.clone()
    };
    env.sync().await;
    let app = app(&env);
    for path in [format!("/templates/{id}"), "/templates".into(), "/".into()] {
        let (s, _, html) = get(&app, &path, &[]).await;
        assert_eq!(s, 200, "{path}");
        assert!(
            !html.contains("<script>alert"),
            "{path} renders upstream script"
        );
        assert!(
            !html.contains("<img src=x"),
            "{path} renders upstream markup"
        );
    }
    let (_, _, html) = get(&app, &format!("/templates/{id}"), &[]).await;
    let shown = html
        .split("class=\"bb\">")
        .nth(1)
        .unwrap_or("")
        .split("</div>")
        .next()
        .unwrap_or("");
    assert!(
        shown.starts_with("Hi &#60;script&#62;alert("),
        "shown as text: {shown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn login_is_required_off_loopback_and_no_secret_shows() {
    let env = App::new(1, 10)
        .set("listen", "0.0.0.0:8080")
        .dashboard_token("dash-secret-token")
        .start()
        .await;
    env.sync().await;
    let app = app(&env);
    let (s, h, _) = get(&app, "/templates", &[]).await;
    assert_eq!(s, 303);
    assert_eq!(h["location"], "/login?next=%2Ftemplates");
    assert_eq!(get(&app, "/api/overview", &[]).await.0, 401);
    assert_eq!(get(&app, "/healthz", &[]).await.0, 200, "health stays open");

    let (s, _, html) = post_form(&app, "/login", "token=wrong&next=/templates", &[]).await;
    assert_eq!(s, 401);
    assert_eq!(
        Page::parse(&html).texts("p.badge.bad"),
        ["That token is not right."]
    );
    let (s, h, _) = post_form(
        &app,
        "/login",
        "token=dash-secret-token&next=/templates",
        &[],
    )
    .await;
    assert_eq!(s, 303);
    let cookie = h["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(
        !cookie.contains("dash-secret-token"),
        "the cookie is not the token"
    );
    assert!(h["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    let (s, _, html) = get(&app, "/templates", &[("cookie", &cookie)]).await;
    assert_eq!(s, 200);
    assert_eq!(
        get(
            &app,
            "/api/overview",
            &[("authorization", "Bearer dash-secret-token")]
        )
        .await
        .0,
        200
    );
    // A login never redirects off-site.
    let (_, h, _) = post_form(
        &app,
        "/login",
        "token=dash-secret-token&next=//evil.example",
        &[],
    )
    .await;
    assert_eq!(h["location"], "/");

    for path in [
        "/",
        "/templates",
        "/analytics",
        "/accounts/acme",
        "/api/overview",
    ] {
        let (_, _, body) = get(&app, path, &[("cookie", &cookie)]).await;
        assert!(
            !body.contains("dash-secret-token") && !body.contains("sim-meta-token"),
            "{path} shows a secret"
        );
    }
    drop(html);
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_now_needs_the_csrf_token() {
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 10,
        ..Default::default()
    })
    .start()
    .await;
    let app = app(&env);
    let (s, _, _) = post_form(&app, "/sync", "account=acme", &[]).await;
    assert_eq!(s, 400);
    assert_eq!(env.count("sync_runs"), 0, "nothing ran");
    let (_, _, html) = get(&app, "/", &[]).await;
    let csrf = common::csrf_token(&html);
    // Pressed on acme's page: back there, with what the run did.
    let form = format!("account=acme&csrf={csrf}&back=%2Faccounts%2Facme%3Fdays%3D7");
    let (s, h, _) = post_form(&app, "/sync", &form, &[]).await;
    assert_eq!(s, 303);
    let to = h.get("location").unwrap().to_str().unwrap().to_string();
    assert!(to.starts_with("/accounts/acme?days=7&flash="), "{to}");
    let (s, _, html) = get(&app, &to, &[]).await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    assert_eq!(page.texts(".flash h2"), ["Synced acme: nothing changed"]);
    let lines = page.texts(".flash li");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("acme: ok, 10 seen, 10 new"),
        "{lines:?}"
    );
    assert_eq!(env.count("sync_runs"), 1, "one account synced");
    // Shown once: the same address again has no message.
    let (_, _, html) = get(&app, &to, &[]).await;
    assert!(Page::parse(&html).texts(".flash").is_empty());

    // A change made upstream is listed, linked to its template; a foreign `back` goes home.
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap();
    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    let form = format!("csrf={csrf}&back=%2F%2Fevil.example%2F");
    let (s, h, _) = post_form(&app, "/sync", &form, &[]).await;
    assert_eq!(s, 303);
    let to = h.get("location").unwrap().to_str().unwrap().to_string();
    assert!(to.starts_with("/?flash="), "{to}");
    let (_, _, html) = get(&app, &to, &[]).await;
    let page = Page::parse(&html);
    assert_eq!(page.texts(".flash h2"), ["Synced 2 accounts: 1 change"]);
    assert!(page
        .attrs(".flash li a", "href")
        .contains(&format!("/templates/{id}")));
    assert_eq!(env.count("sync_runs"), 3, "then all of them");
    // The old result address leads somewhere.
    let (s, h, _) = get(&app, "/sync?days=7", &[]).await;
    assert_eq!(
        (s, h.get("location").unwrap().to_str().unwrap()),
        (303, "/")
    );

    let (_, _, metrics) = get(&app, "/metrics", &[]).await;
    assert!(
        metrics.contains(r#"templar_sync_runs_total{account="acme",outcome="ok"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"templar_http_requests_total{route="/sync",status="3xx"} 3"#),
        "{metrics}"
    );
    assert!(metrics.contains("templar_http_request_seconds_sum{route=\"/\"}"));
    let _ = common::now();
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_are_built_once_per_data_change_and_never_show_older_data() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 20,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = app(&env);
    let (s, h, first) = get(&app, "/templates?status=PENDING", &[]).await;
    assert_eq!((s, h["x-templar-cache"].to_str().unwrap()), (200, "miss"));
    let (_, h, again) = get(&app, "/templates?status=PENDING", &[]).await;
    assert_eq!(h["x-templar-cache"], "hit");
    assert_eq!(first, again);
    // Another query is another page.
    let (_, h, _) = get(&app, "/templates?status=APPROVED", &[]).await;
    assert_eq!(h["x-templar-cache"], "miss");

    // A change committed by anyone (here the syncer, through its own connection) is seen at once.
    let pending = env.template_with_status("PENDING").await;
    let name = pending["name"].as_str().unwrap();
    let count = |html: &str| html.matches(&format!(">{name}<")).count();
    assert!(count(&first) >= 1, "{name} listed as pending");
    env.post(
        &format!("/_sim/templates/{}/status", pending["id"].as_str().unwrap()),
        json!({"status": "APPROVED"}),
    )
    .await;
    env.sync().await;
    let (_, h, after) = get(&app, "/templates?status=PENDING", &[]).await;
    assert_eq!(h["x-templar-cache"], "miss");
    assert_eq!(count(&after), count(&first) - 1, "no longer pending");
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_paths_and_methods_answer_in_the_layout_or_as_json() {
    let env = common::start(1, 5).await;
    let app = app(&env);
    let (s, h, html) = get(&app, "/no/such/page", &[]).await;
    assert_eq!(s, 404);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let page = Page::parse(&html);
    assert_eq!(page.texts("h1"), ["404 · Not found"]);
    assert_eq!(
        page.texts("main p")[0],
        "There is no page at /no/such/page."
    );
    // The dashboard's navigation is there, so the user is not stranded.
    assert_eq!(
        page.texts("header nav a"),
        ["Overview", "Templates", "Analytics", "Notifications"]
    );

    // A form target opened as a link (GET /logout) is a 405 page, not an empty answer.
    let (s, _, html) = get(&app, "/logout", &[]).await;
    assert_eq!(s, 405);
    assert_eq!(Page::parse(&html).texts("h1"), ["405 · Method not allowed"]);

    let (s, h, body) = get(&app, "/api/nothing", &[]).await;
    assert_eq!(s, 404);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"], "Not found");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_control_keeps_the_rest_of_the_page_state() {
    let env = common::start(2, 60).await;
    env.sync().await;
    let app = app(&env);
    let selected = |page: &Page, name: &str| {
        page.texts(&format!(
            "form.filters select[name={name}] option[selected]"
        ))
    };
    // Apply a custom period on a filtered, sorted list: the filters and the sort stay.
    let (s, _, html) = get(
        &app,
        "/templates?status=APPROVED&account=acme&sort=status&dir=desc&days=7",
        &[],
    )
    .await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    let applied = page.form_query(
        "header form.period",
        &[("from", "2026-11-01"), ("to", "2026-11-10")],
    );
    let (s, _, html) = get(&app, &format!("/templates?{applied}"), &[]).await;
    assert_eq!(s, 200, "{applied}");
    let page = Page::parse(&html);
    assert_eq!(selected(&page, "status"), ["APPROVED"], "{applied}");
    assert_eq!(selected(&page, "account"), ["acme"]);
    assert_eq!(
        page.attrs("header form.period input[name=to]", "value"),
        ["2026-11-10"]
    );
    // A preset chip keeps them too.
    let chip = page.attrs("header form.period a.chip", "href")[0].clone();
    assert!(
        chip.contains("status=APPROVED")
            && chip.contains("account=acme")
            && chip.contains("sort=status"),
        "{chip}"
    );
    // Filtering keeps the custom period (both ends) and the sort.
    let filtered = page.form_query("form.filters", &[("category", "UTILITY")]);
    let (_, _, html) = get(&app, &format!("/templates?{filtered}"), &[]).await;
    let page = Page::parse(&html);
    assert_eq!(
        page.attrs("header form.period input[name=from]", "value"),
        ["2026-11-01"]
    );
    assert_eq!(
        page.attrs("header form.period input[name=to]", "value"),
        ["2026-11-10"],
        "{filtered}"
    );
    assert_eq!(selected(&page, "category"), ["UTILITY"]);
    assert!(
        filtered.contains("sort=status") && filtered.contains("dir=desc"),
        "{filtered}"
    );

    // Analytics: choosing an account for a custom period keeps its end.
    let (_, _, html) = get(&app, "/analytics?from=2026-11-01&to=2026-11-10", &[]).await;
    let chosen = Page::parse(&html).form_query("form.filters", &[("account", "acme")]);
    let (_, _, html) = get(&app, &format!("/analytics?{chosen}"), &[]).await;
    let page = Page::parse(&html);
    assert_eq!(
        page.attrs("header form.period input[name=to]", "value"),
        ["2026-11-10"],
        "{chosen}"
    );
    assert_eq!(selected(&page, "account"), ["acme"]);

    // A page past the end shows the last page, and says so truthfully.
    let (s, _, html) = get(&app, "/templates?page=999", &[]).await;
    assert_eq!(s, 200);
    let said = Page::parse(&html).texts(".pager span");
    let last = said
        .iter()
        .find_map(|t| t.strip_prefix("Page "))
        .expect("a pager");
    let (n, of) = last.split_once(" of ").unwrap();
    assert_eq!(n, of, "{said:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn charts_have_legends_true_gaps_readable_ticks_and_an_empty_state() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 30,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = app(&env);
    with_traffic(&env, &app, 30).await;
    // Ten days, most of them before any message was sent.
    let to = common::now().date_naive();
    let from = to - chrono::Duration::days(9);
    let (s, _, html) = get(&app, &format!("/analytics?from={from}&to={to}"), &[]).await;
    assert_eq!(s, 200);
    let page = Page::parse(&html);
    let legends = page.texts("figure.linechart ul.legend");
    assert_eq!(
        legends,
        ["delivery rate read rate", "sent delivered read failed"],
        "every multi-series chart names its series"
    );
    // Each series has its own marker and dash, not only a colour.
    let keys = page.attrs("figure.linechart ul.legend li svg line", "class");
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 4, "{keys:?}");
    // Y ticks never repeat.
    let svg = scraper::Html::parse_document(&html);
    let charts: Vec<_> = svg
        .select(&scraper::Selector::parse("svg.chart").unwrap())
        .collect();
    let ticks = scraper::Selector::parse("text.axis[text-anchor=end][dominant-baseline]").unwrap();
    for chart in &charts {
        let labels: Vec<String> = chart.select(&ticks).map(|t| t.text().collect()).collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert!(labels.len() >= 2 && labels == unique, "{labels:?}");
    }
    // A rate is drawn only where messages were sent: days without are gaps, not 0 %.
    let readouts = scraper::Selector::parse("g.col title").unwrap();
    let days: Vec<String> = charts[0]
        .select(&readouts)
        .map(|t| t.text().collect())
        .collect();
    assert_eq!(days.len(), 10, "a readout per day");
    let undefined = days
        .iter()
        .filter(|d| d.contains("delivery rate —"))
        .count();
    assert!(undefined >= 5, "{days:?}");
    let line = scraper::Selector::parse("path.line.s2").unwrap();
    let d = charts[0]
        .select(&line)
        .next()
        .unwrap()
        .value()
        .attr("d")
        .unwrap();
    let points = d.matches(['M', 'L']).count();
    assert_eq!(points, 10 - undefined, "{d}");
    // The readout of a day names every series.
    assert!(days
        .iter()
        .all(|d| ["delivery rate", "read rate"].iter().all(|s| d.contains(s))));

    // A period with no messages says so instead of drawing empty axes.
    let (_, _, html) = get(&app, "/analytics?from=2020-01-01&to=2020-01-31", &[]).await;
    let page = Page::parse(&html);
    assert!(page.attrs("svg.chart", "viewBox").is_empty());
    let empty = page.texts("p.empty");
    assert_eq!(empty.len(), 2, "{empty:?}");
    assert!(empty[1].starts_with("No messages in this period"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_template_page_says_what_the_overview_knows_in_one_language() {
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 40,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = app(&env);
    with_traffic(&env, &app, 30).await;
    let dd = |page: &Page, term: &str| -> Option<String> {
        let terms = page.texts("dl dt");
        let values = page.texts("dl dd");
        terms
            .iter()
            .position(|t| t == term)
            .map(|i| values[i].clone())
    };
    // Rejected: Meta's reason and recommendation, as on the overview.
    let (_, _, html) = get(&app, "/", &[]).await;
    let overview = Page::parse(&html);
    let rejected = env.template_with_status("REJECTED").await;
    let (_, _, html) = get(
        &app,
        &format!("/templates/{}", rejected["id"].as_str().unwrap()),
        &[],
    )
    .await;
    let page = Page::parse(&html);
    let why = dd(&page, "Rejected because").expect("a reason");
    assert!(
        overview.texts("ul.plain li span.small").contains(&why),
        "{why} not as on the overview"
    );
    // One time format.
    let first_seen = dd(&page, "First seen").unwrap();
    assert!(
        first_seen.ends_with(" UTC") && first_seen.len() == "2026-12-01 17:10 UTC".len(),
        "{first_seen}"
    );
    // Pending: how long it has waited.
    let pending = env.template_with_status("PENDING").await;
    let (_, _, html) = get(
        &app,
        &format!("/templates/{}", pending["id"].as_str().unwrap()),
        &[],
    )
    .await;
    let waiting = dd(&Page::parse(&html), "Waiting for review").expect("how long");
    assert!(waiting.contains("(since "), "{waiting}");

    // The busiest Meta template: the read rate of the figures is the funnel's read step.
    let busiest: serde_json::Value = serde_json::from_str(
        &get(&app, "/api/templates?sort=sent&dir=desc&account=acme", &[])
            .await
            .2,
    )
    .unwrap();
    let id = busiest["lines"][0]["id"].as_str().unwrap();
    let (_, _, html) = get(&app, &format!("/templates/{id}"), &[]).await;
    let page = Page::parse(&html);
    let labels = page.texts(".kpis > div span");
    let values = page.texts(".kpis > div b");
    let read_rate = &values[labels.iter().position(|l| l == "Read rate").unwrap()];
    let funnel = page.texts("svg.funnel rect title");
    let read = funnel.iter().find(|t| t.starts_with("read:")).unwrap();
    assert!(
        read.ends_with(&format!("{read_rate} of delivered")),
        "{read} vs {read_rate}"
    );
    assert!(page
        .texts("table tbody td")
        .iter()
        .any(|t| t.starts_with("Meta (")));
    // Clicks per button, as Meta names them, add up to Meta's clicks.
    let detail: serde_json::Value =
        serde_json::from_str(&get(&app, &format!("/api/templates/{id}"), &[]).await.2).unwrap();
    let meta_clicks = detail["usage"]["meta"]["clicked"].as_i64().unwrap();
    let buttons = detail["buttons"].as_array().unwrap();
    let summed: i64 = buttons
        .iter()
        .filter(|b| !b["kind"].as_str().unwrap().starts_with("unique_"))
        .map(|b| b["clicks"].as_i64().unwrap())
        .sum();
    assert!(meta_clicks > 0, "the busiest template was clicked");
    assert_eq!(summed, meta_clicks);
    // Named as the template's first button reads.
    let first = detail["template"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["buttons"].as_array())
        .flatten()
        .next()
        .map_or("Open", |b| b["text"].as_str().unwrap());
    let rows = page.texts("section.card table tbody tr");
    assert!(
        rows.iter().any(|r| r.starts_with(&format!("{first} "))),
        "{first}: {rows:?}"
    );
    // The refused-send page's period chips lead back to the template, not to a 405.
    let (s, h, _) = get(&app, &format!("/templates/{id}/send?days=7"), &[]).await;
    assert_eq!(s, 303);
    assert_eq!(
        h.get("location").unwrap().to_str().unwrap(),
        format!("/templates/{id}?days=7")
    );
    // A Kapso template has no Meta analytics row of zeros.
    let kapso: serde_json::Value =
        serde_json::from_str(&get(&app, "/api/templates?account=globex", &[]).await.2).unwrap();
    let id = kapso["lines"][0]["id"].as_str().unwrap();
    let (_, _, html) = get(&app, &format!("/templates/{id}"), &[]).await;
    assert!(!Page::parse(&html)
        .texts("table tbody td")
        .iter()
        .any(|t| t.starts_with("Meta (")));
}

#[tokio::test(flavor = "multi_thread")]
async fn account_health_says_what_is_true_in_words() {
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 10,
        ..Default::default()
    })
    .start()
    .await;
    let app = app(&env);
    let health = |page: &Page| page.texts("section.card table tbody tr td:nth-child(5) .badge");
    // Never synced is not "ok".
    let (_, _, html) = get(&app, "/", &[]).await;
    assert_eq!(
        health(&Page::parse(&html)),
        ["never synced", "never synced"]
    );
    let (_, _, html) = get(&app, "/accounts/acme", &[]).await;
    let page = Page::parse(&html);
    assert!(page
        .texts("dl dd .badge")
        .contains(&"never synced".to_string()));

    env.sync().await;
    for _ in 0..3 {
        env.sync_with(templar::sync::SyncMode::Pending, false).await;
    }
    let (_, _, html) = get(&app, "/", &[]).await;
    let overview = Page::parse(&html);
    assert_eq!(health(&overview), ["ok", "ok"]);
    // The analytics state reads the same, in words, on the overview and the account page.
    let words = overview.texts("section.card table tbody tr td.small");
    for (i, name) in ["acme", "globex"].iter().enumerate() {
        let (_, _, html) = get(&app, &format!("/accounts/{name}"), &[]).await;
        let page = Page::parse(&html);
        let terms = page.texts("dl dt");
        let values = page.texts("dl dd");
        let at = terms
            .iter()
            .position(|t| t == "Template analytics")
            .unwrap();
        assert!(
            values[at].starts_with(&words[i]),
            "{name}: {} vs {}",
            values[at],
            words[i]
        );
        assert!(!values[at].contains("not_enabled"));
    }
    // Runs: full syncs by default, with how long each took; pending checks on request.
    let (_, _, html) = get(&app, "/accounts/acme", &[]).await;
    let page = Page::parse(&html);
    let kinds = page.texts("section.card table tbody tr td:nth-child(2)");
    assert_eq!(kinds, ["full"]);
    assert!(page
        .texts("section.card table thead th")
        .contains(&"Took".to_string()));
    let (_, _, html) = get(&app, "/accounts/acme?runs=pending", &[]).await;
    let kinds = Page::parse(&html).texts("section.card table tbody tr td:nth-child(2)");
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| k.starts_with("pending")),
        "{kinds:?}"
    );
    let (s, _, _) = get(&app, "/accounts/acme?runs=sometimes", &[]).await;
    assert_eq!(s, 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn open_pages_say_how_fresh_they_are_and_learn_of_new_changes() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 20,
        ..Default::default()
    })
    .start()
    .await;
    env.sync().await;
    let app = app(&env);
    let (_, _, html) = get(&app, "/", &[]).await;
    let page = Page::parse(&html);
    assert!(page.texts("main p.asof")[0].starts_with("Data as of "));
    let url = page.attrs("body", "data-changes")[0].clone();
    let pending = env.template_with_status("PENDING").await;
    let id = pending["id"].as_str().unwrap();
    let (_, _, html) = get(&app, &format!("/templates/{id}"), &[]).await;
    let one = Page::parse(&html).attrs("body", "data-changes")[0].clone();
    let other = env.template_with_status("APPROVED").await;
    let (_, _, html) = get(
        &app,
        &format!("/templates/{}", other["id"].as_str().unwrap()),
        &[],
    )
    .await;
    let unrelated = Page::parse(&html).attrs("body", "data-changes")[0].clone();
    let new = |body: String| {
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["new"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(new(get(&app, &url, &[]).await.2), 0);

    env.post(
        &format!("/_sim/templates/{id}/status"),
        json!({"status": "APPROVED"}),
    )
    .await;
    common::deliver(&app, &env.sim.take_webhooks()).await;
    assert_eq!(new(get(&app, &url, &[]).await.2), 1);
    assert_eq!(new(get(&app, &one, &[]).await.2), 1);
    assert_eq!(
        new(get(&app, &unrelated, &[]).await.2),
        0,
        "another template's page"
    );
    // Pages without live data carry no script.
    let (_, _, html) = get(&app, "/analytics", &[]).await;
    assert!(Page::parse(&html).attrs("script", "src").is_empty());
}
