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
    for want in [
        "acme",
        "globex",
        "Needs attention",
        "Pending longest",
        "Last 7 days",
        "Sync now",
        "<svg",
    ] {
        assert!(html.contains(want), "overview lacks {want}");
    }
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
    assert!(html.contains("templates · usage") && html.contains("APPROVED"));
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
    for want in [
        "Status timeline",
        "Funnel",
        "Meta-reported and observed",
        "class=\"bubble\"",
        "Failures by error code",
    ] {
        assert!(html.contains(want), "template page lacks {want}");
    }
    let (_, _, detail) = get(&app, &format!("/api/templates/{busiest}"), &[]).await;
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert!(detail["usage"]["combined"]["sent"].as_i64().unwrap() > 0);
    assert!(!detail["events"].as_array().unwrap().is_empty());

    let (s, _, html) = get(&app, "/analytics?days=7", &[]).await;
    assert_eq!(s, 200);
    assert!(
        html.contains("Top templates by volume") && html.contains("Time to approval by category")
    );
    let (s, _, html) = get(&app, "/accounts/acme", &[]).await;
    assert_eq!(s, 200);
    assert!(html.contains("Sync runs") && html.contains("Template analytics"));

    assert_eq!(get(&app, "/templates/999999", &[]).await.0, 404);
    assert_eq!(get(&app, "/accounts/nobody", &[]).await.0, 404);
    let (s, _, html) = get(&app, "/templates?days=abc", &[]).await;
    assert_eq!(s, 400);
    assert!(html.contains("not a number of days"));
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
    assert!(html.contains("not right"));
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
    let (s, _, html) = post_form(&app, "/sync", &format!("account=acme&csrf={csrf}"), &[]).await;
    assert_eq!(s, 200);
    assert!(html.contains("acme") && html.contains("ok"));
    assert_eq!(env.count("sync_runs"), 1, "one account synced");
    let (s, _, _) = post_form(&app, "/sync", &format!("csrf={csrf}"), &[]).await;
    assert_eq!(s, 200);
    assert_eq!(env.count("sync_runs"), 3, "then all of them");

    let (_, _, metrics) = get(&app, "/metrics", &[]).await;
    assert!(
        metrics.contains(r#"templar_sync_runs_total{account="acme",outcome="ok"} 2"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"templar_http_requests_total{route="/sync",status="2xx"} 2"#),
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
        ["Overview", "Templates", "Analytics"]
    );

    // A form target opened as a link (GET /sync) is a 405 page, not an empty answer.
    let (s, _, html) = get(&app, "/sync", &[]).await;
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
