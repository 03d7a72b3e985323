//! The server against a hostile browser: DNS rebinding, cross-site requests, framing, and the
//! headers every answer carries.

use templar::sim::SimOptions;

use crate::common::{self, get, post_form, App, Env};

async fn env(public_url: &str) -> Env {
    App::with_sim(SimOptions {
        accounts: 1,
        templates: 10,
        ..Default::default()
    })
    .set("public_url", public_url.to_string())
    .start()
    .await
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
    for host in ["127.0.0.1:8080", "localhost:8080", "LOCALHOST"] {
        let (s, _, _) = get(&app, "/", &[("host", host)]).await;
        assert_eq!(s, 200, "{host}");
    }
    // A name the operator set in public_url is this server too.
    let env = self::env("https://templar.example.com").await;
    let (s, _, _) = get(&common::app(&env), "/", &[("host", "templar.example.com")]).await;
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
    assert_eq!(s, 200);
    let (s, _, _) = post_form(&app, "/sync", &form, &[("origin", "http://127.0.0.1:8080")]).await;
    assert_eq!(s, 200);
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
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("script-src"),
            "{path}: {csp}"
        );
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
