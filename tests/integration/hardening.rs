//! The server against a hostile browser: DNS rebinding, cross-site requests, framing, and the
//! headers every answer carries.

use templar::sim::SimOptions;

use crate::common::{self, get, post_form, App, Env};

async fn env(public_url: &str) -> Env {
    let app = App::with_sim(SimOptions {
        accounts: 1,
        templates: 10,
        ..Default::default()
    })
    .set("public_url", public_url.to_string());
    // A public_url other machines reach needs the dashboard's login.
    let app = if public_url.contains("localhost") {
        app
    } else {
        app.dashboard_token("hardening-token")
    };
    app.start().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rebound_host_name_is_refused_on_the_open_dashboard() {
    let env = env("http://localhost:8080").await;
    env.sync().await;
    let app = common::app(&env);
    for path in ["/", "/export.csv", "/api/templates", "/metrics"] {
        let (s, _, _) = get(&app, path, &[("host", "rebind.attacker.example:8080")]).await;
        assert_eq!(s, 421, "{path}");
    }
    // A bearer header is no pass unless it verifies (a rebound page may set any).
    let (s, _, _) = get(
        &app,
        "/",
        &[
            ("host", "rebind.attacker.example:8080"),
            ("authorization", "Bearer x"),
        ],
    )
    .await;
    assert_eq!(s, 421);
    for host in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST"] {
        let (s, _, _) = get(&app, "/", &[("host", host)]).await;
        assert_eq!(s, 200, "{host}");
    }
    // A name the operator set in public_url is this server too; such a dashboard is reachable
    // through the proxy, so it needs its login.
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 5,
        ..Default::default()
    })
    .set("public_url", "https://templar.example.com")
    .dashboard_token("proxy-token")
    .start()
    .await;
    let app = common::app(&env);
    let host = [("host", "templar.example.com")];
    let (s, _, _) = get(&app, "/", &host).await;
    assert_eq!(s, 303, "the login page first");
    let auth = [
        ("host", "templar.example.com"),
        ("authorization", "Bearer proxy-token"),
    ];
    let (s, _, _) = get(&app, "/", &auth).await;
    assert_eq!(s, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_change_from_another_site_is_refused_even_with_the_csrf_token() {
    let env = env("http://localhost:8080").await;
    env.sync().await;
    let app = common::app(&env);
    let (_, _, html) = get(&app, "/", &[]).await;
    let form = format!("csrf={}", common::csrf_token(&html));
    let cross = [
        vec![("origin", "http://rebind.attacker.example:8080")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        // No Origin and no Sec-Fetch-Site: not provably from this site.
        vec![("sec-fetch-site", "none"), ("origin", "")],
    ];
    for headers in cross {
        let (s, _, _) = post_form(&app, "/sync", &form, &headers).await;
        assert_eq!(s, 403, "{headers:?}");
    }
    assert_eq!(env.count("sync_runs"), 1, "no refused request ran a sync");
    let (s, _, _) = post_form(&app, "/sync", &form, &[("sec-fetch-site", "same-origin")]).await;
    assert_eq!(s, 303);
    let (s, _, _) = post_form(&app, "/sync", &form, &[("origin", "http://127.0.0.1:8080")]).await;
    assert_eq!(s, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_webhooks_and_health_probes_do_not_depend_on_the_host_name() {
    let (env, server) = common::start_live(SimOptions {
        accounts: 1,
        templates: 5,
        ..Default::default()
    })
    .await;
    let body = r#"{"object":"whatsapp_business_account","entry":[]}"#;
    let sig = templar::signing::sign(templar::sim::META_APP_SECRET.as_bytes(), body.as_bytes());
    let r = env
        .http
        .post(format!("{}/webhooks/meta", server.url))
        .header("host", "hooks.behind-a-proxy.example")
        .header("x-hub-signature-256", format!("sha256={sig}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = env
        .http
        .get(format!("{}/healthz", server.url))
        .header("host", "10.1.2.3:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_carries_the_security_headers() {
    let env = env("http://localhost:8080").await;
    env.sync().await;
    let id = env.template_with_status("APPROVED").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let app = common::app(&env);
    let paths = [
        "/".to_string(),
        "/templates".into(),
        format!("/templates/{id}"),
        "/analytics".into(),
        "/accounts/acme".into(),
        "/api/overview".into(),
        "/export.csv".into(),
        "/login".into(),
        "/no/such/page".into(),
        "/assets/app.css".into(),
    ];
    for path in &paths {
        let (_, h, _) = get(&app, path, &[]).await;
        let header = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_string());
        let csp = header("content-security-policy").unwrap_or_default();
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        assert!(
            directives.contains(&"frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(directives.contains(&"default-src 'none'"), "{path}: {csp}");
        // Scripts only from this site's own files: nothing inline, nothing from elsewhere.
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{path}: {csp}"
        );
        assert!(directives.contains(&"script-src 'self'"), "{path}: {csp}");
        assert_eq!(header("x-frame-options").as_deref(), Some("DENY"), "{path}");
        assert_eq!(
            header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            header("referrer-policy").as_deref(),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            header("strict-transport-security"),
            None,
            "{path}: no HSTS over http"
        );
    }
    // The refusals carry them too.
    let (_, h, _) = get(&app, "/", &[("host", "evil.example")]).await;
    assert!(h.contains_key("content-security-policy"));

    // Behind https, HSTS.
    let env = self::env("https://templar.example.com").await;
    let (_, h, _) = get(&common::app(&env), "/", &[]).await;
    assert_eq!(
        h.get("strict-transport-security").unwrap(),
        "max-age=31536000"
    );
}

/// A server with short deadlines, so the test does not wait for the defaults.
async fn quick_server() -> (Env, common::Server) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 5,
        webhook_url: Some(format!("http://{}", listener.local_addr().unwrap())),
        ..Default::default()
    })
    .section("server", "header_timeout_secs", 1)
    .section("server", "request_timeout_secs", 2)
    .section("server", "shutdown_timeout_secs", 2)
    .start()
    .await;
    let server = common::serve(&env.config, listener).await;
    (env, server)
}

/// Opens a connection that sends `sent` and then nothing more.
async fn stalled(addr: &str, sent: &str) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(sent.as_bytes()).await.unwrap();
    s
}

/// Whether the server closed the connection (within `wait`).
async fn closed_by_server(s: &mut tokio::net::TcpStream, wait: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // A 408 may come first; the close follows.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_clients_are_cut_off_and_webhooks_are_still_answered() {
    use std::time::{Duration, Instant};
    let (env, server) = quick_server().await;
    let addr = server.url.trim_start_matches("http://").to_string();
    // A thousand clients that send half their headers, and some that send half a body.
    let mut slow = Vec::new();
    for _ in 0..1000 {
        slow.push(stalled(&addr, "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\n").await);
    }
    let mut bodies = Vec::new();
    for _ in 0..20 {
        bodies.push(
            stalled(
                &addr,
                "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"obj",
            )
            .await,
        );
    }
    // A well-behaved webhook is answered at once.
    let started = Instant::now();
    let status = common::post_meta(
        &env.http,
        &server.url,
        r#"{"object":"whatsapp_business_account","entry":[]}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The header deadline is 1 s and the request deadline 2 s: allow three times that.
    for s in slow.iter_mut().take(50) {
        assert!(
            closed_by_server(s, Duration::from_secs(3)).await,
            "a half-sent header"
        );
    }
    for s in bodies.iter_mut() {
        assert!(
            closed_by_server(s, Duration::from_secs(6)).await,
            "a half-sent body"
        );
    }
    // An idle keep-alive connection is closed too.
    let mut idle = stalled(&addr, "GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(
        closed_by_server(&mut idle, Duration::from_secs(3)).await,
        "idle keep-alive"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_exits_in_time_with_a_half_sent_body_open() {
    use std::time::Duration;
    let (_env, server) = quick_server().await;
    let addr = server.url.trim_start_matches("http://").to_string();
    let _held = stalled(
        &addr,
        "POST /webhooks/meta HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // shutdown_timeout_secs is 2: allow three times that.
    tokio::time::timeout(Duration::from_secs(6), server.stop())
        .await
        .expect("serve exits while a client holds a half-sent body");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_cache_stays_within_its_byte_budget() {
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 120,
        ..Default::default()
    })
    .section("server", "page_cache_mb", 1)
    .start()
    .await;
    env.sync().await;
    let app = common::app(&env);
    let gauge = |metrics: &str| -> usize {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("templar_page_cache_bytes "))
            .expect("the gauge")
            .parse()
            .unwrap()
    };
    let (mut served, mut last) = (0, String::new());
    for i in 0..120 {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 7, 1).unwrap() + chrono::Days::new(i);
        let path = format!("/templates?from={day}&to=2026-11-30");
        let (s, _, body) = get(&app, &path, &[]).await;
        assert_eq!(s, 200, "{path}");
        served += body.len();
        last = path;
    }
    assert!(
        served > 2 * 1024 * 1024,
        "the pages add up to more than the budget: {served}"
    );
    let (_, _, metrics) = get(&app, "/metrics", &[]).await;
    let kept = gauge(&metrics);
    assert!(kept > 0 && kept <= 1024 * 1024, "{kept} bytes kept");
    // The most recent page is still served from the cache.
    let (_, h, _) = get(&app, &last, &[]).await;
    assert_eq!(h.get("x-templar-cache").unwrap(), "hit");
}

#[test]
fn signed_garbage_is_refused_or_ignored_and_stores_nothing() {
    use proptest::prelude::*;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (env, server) = rt.block_on(common::start_live(SimOptions {
        accounts: 1,
        templates: 5,
        ..Default::default()
    }));
    let rows =
        |env: &Env| ["messages", "template_events", "contacts", "templates"].map(|t| env.count(t));
    // `serve` syncs and pulls usage at start: let it finish first.
    rt.block_on(common::wait_for("the catch-up runs", || {
        // The usage pull's two rows: acme's pull, then the job's.
        env.count("templates") == 5 && env.count("job_runs") == 2
    }));
    let before = rows(&env);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        "\\{\"object\":\"whatsapp_business_account\",\"entry\":\\[.{0,40}\\]\\}",
        "\\{\"message\":\\{.{0,40}\\}\\}",
    ];
    let key = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&bodies, |body| {
            let key = key.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (meta, kapso) = rt.block_on(async {
                (
                    common::post_meta(&env.http, &server.url, &body).await,
                    common::post_kapso(
                        &env.http,
                        &server.url,
                        "whatsapp.message.received",
                        &format!("k{key}"),
                        &body,
                    )
                    .await,
                )
            });
            for s in [meta, kapso] {
                prop_assert!(s == 200 || s == 400, "{s} for {body:?}");
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(rows(&env), before, "nothing stored from garbage");
    rt.block_on(server.stop());
}

#[tokio::test(flavor = "multi_thread")]
async fn retention_removes_raw_records_and_no_total_moves() {
    let env = App::with_sim(SimOptions {
        accounts: 2,
        templates: 30,
        ..Default::default()
    })
    .section("retention", "messages_days", 1)
    .section("retention", "sync_runs_days", 1)
    .section("retention", "webhook_receipts_days", 1)
    .start()
    .await;
    env.sync().await;
    let app = common::app(&env);
    common::with_traffic(&env, &app, 48).await;
    let export = |env: &Env| {
        let out = env.cli(&[
            "export",
            "--by",
            "template",
            "--format",
            "json",
            "--from",
            "2026-01-01",
            "--to",
            "2027-12-31",
        ]);
        assert!(out.status.success(), "{}", common::stderr(&out));
        common::stdout(&out)
    };
    // The numbers of the analytics page (its layout carries the time and the session).
    let numbers = |body: String| {
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        ["totals", "top", "worst", "by_category", "by_language"].map(|k| v[k].clone())
    };
    let (_, _, analytics) = get(&app, "/api/analytics?from=2026-01-01&to=2027-12-31", &[]).await;
    let before = (export(&env), numbers(analytics));
    assert!(env.count("messages") > 100 && env.count("webhook_receipts") > 0);

    let later = common::now() + chrono::Duration::days(10);
    let purged = templar::jobs::retention::purge(&env.db, &env.config, later)
        .await
        .unwrap();
    assert!(purged.messages > 100, "{purged:?}");
    assert_eq!(env.count("messages"), 0);
    assert_eq!(
        env.count("sync_runs"),
        1,
        "only the newest run stays (its id is a cursor)"
    );
    assert_eq!(env.count("webhook_receipts"), 0);
    assert!(env.count("template_events") > 0, "template history is kept");
    let app = common::app(&env);
    let (_, _, analytics) = get(&app, "/api/analytics?from=2026-01-01&to=2027-12-31", &[]).await;
    assert_eq!(
        (export(&env), numbers(analytics)),
        before,
        "every total is the same"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn quiet_pending_checks_share_one_row() {
    let env = App::new(1, 30).start().await;
    env.sync().await;
    for _ in 0..4 {
        env.sync_with(templar::sync::SyncMode::Pending, false).await;
    }
    assert_eq!(env.count("sync_runs WHERE kind = 'pending'"), 1);
    assert_eq!(
        env.count("sync_runs WHERE kind = 'pending' AND repeats = 4"),
        1
    );
    // A check that finds a change gets its own row.
    let id = env.template_with_status("PENDING").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.post(
        &format!("/_sim/templates/{id}/status"),
        serde_json::json!({"status": "APPROVED"}),
    )
    .await;
    env.sync_with(templar::sync::SyncMode::Pending, false).await;
    assert_eq!(env.count("sync_runs WHERE kind = 'pending'"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn clients_that_stop_reading_lose_their_connection() {
    use std::time::Duration;
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let env = App::with_sim(SimOptions {
        accounts: 1,
        templates: 5,
        ..Default::default()
    })
    .section("server", "request_timeout_secs", 1)
    .section("server", "max_connections", 3)
    .start()
    .await;
    let server = common::serve(&env.config, listener).await;
    let addr = server.url.trim_start_matches("http://").to_string();
    // Every slot taken by a client that pipelines requests for megabytes and reads nothing.
    let mut hogs = Vec::new();
    for _ in 0..3 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let many = "GET /assets/app.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(3000);
        let _ = tokio::time::timeout(Duration::from_secs(2), s.write_all(many.as_bytes())).await;
        hogs.push(s);
    }
    // A well-behaved client gets a slot once the stalled writes pass their deadline.
    let r = tokio::time::timeout(
        Duration::from_secs(10),
        env.http.get(format!("{}/livez", server.url)).send(),
    )
    .await
    .expect("answered once a stalled client is dropped")
    .unwrap();
    assert_eq!(r.status(), 200);
    drop(hogs);
    server.stop().await;
}
