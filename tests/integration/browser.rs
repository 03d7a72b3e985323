//! The dashboard in a real browser: headless Chromium driven over WebDriver (`fantoccini`, with
//! Debian's `chromium` and `chromium-driver`) opens every page of a seeded instance, finds no
//! console error and no broken link, clicks Sync now, and saves screenshots to
//! `target/browser-screenshots/`.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};
use templar::sim::SimOptions;

use crate::common::{self, start_live};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// ChromeDriver's log endpoint: the browser's console messages since the last read.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// A ChromeDriver on a free local port, stopped on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start chromedriver");
        let out = child.stdout.take().unwrap();
        let started = std::io::BufReader::new(out)
            .lines()
            .map_while(Result::ok)
            .any(|l| l.contains("started successfully"));
        assert!(started, "chromedriver did not start");
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,900", format!("--user-data-dir={}", profile.display()),
            ],
        },
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    let Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a WebDriver session")
}

/// Console errors and failed loads since the last call.
async fn errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("the browser log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].to_string())
        .collect()
}

/// Where `.ci/test` installs axe-core.
const AXE: &str = "target/axe/node_modules/axe-core/axe.min.js";

/// The serious and critical accessibility violations axe-core finds in the page: rule, what it
/// says, and the first element it points at.
async fn accessibility(c: &Client, axe: &str) -> Vec<String> {
    let script = format!(
        "{axe}\nconst done = arguments[arguments.length - 1];\n\
         axe.run(document, {{resultTypes: ['violations']}}).then(r => done(r.violations\n\
           .filter(v => v.impact === 'serious' || v.impact === 'critical')\n\
           .map(v => v.id + ': ' + v.help + ' at ' + (v.nodes[0] ? v.nodes[0].target.join(' ') : ''))));"
    );
    let found = c.execute_async(&script, vec![]).await.expect("axe ran");
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

async fn screenshot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_works_in_a_real_browser() {
    let present = [CHROMIUM, CHROMEDRIVER]
        .iter()
        .all(|p| std::path::Path::new(p).exists());
    if !present {
        if std::env::var("TEMPLAR_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("TEMPLAR_SKIP_BROWSER=1: browser test skipped");
            return;
        }
        panic!("this test needs {CHROMIUM} and {CHROMEDRIVER}: `apt-get install chromium chromium-driver` (`.ci/test` does it), or set TEMPLAR_SKIP_BROWSER=1");
    }
    let (env, server) = start_live(SimOptions {
        accounts: 2,
        templates: 40,
        ..Default::default()
    })
    .await;
    env.sync().await;
    env.sim.advance(48 * 3600);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    templar::usage::run(&env.ctx(), None, common::now()).await;
    env.sync().await;

    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;

    let busiest: Value = env
        .http
        .get(format!("{}/api/templates?sort=sent&dir=desc", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = busiest["lines"][0]["id"].as_str().unwrap().to_string();
    let pages = [
        ("overview", "/".to_string()),
        ("templates", "/templates".into()),
        (
            "templates-sorted",
            "/templates?sort=sent&dir=desc&days=7".into(),
        ),
        ("template", format!("/templates/{id}")),
        ("analytics", "/analytics?days=90".into()),
        ("account", "/accounts/acme".into()),
    ];
    let axe = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(AXE))
        .unwrap_or_else(|e| panic!("{AXE}: {e}; `bash .ci/test` installs axe-core"));
    let mut links = BTreeSet::new();
    for ((name, path), width) in pages.iter().flat_map(|p| [(p, 1440), (p, 390)]) {
        c.set_window_size(width, 900).await.unwrap();
        c.goto(&format!("{}{path}", server.url)).await.unwrap();
        let title = c.title().await.unwrap();
        assert!(title.ends_with("templar"), "{path}: {title}");
        for a in c.find_all(Locator::Css("a[href]")).await.unwrap() {
            if let Some(href) = a.prop("href").await.unwrap() {
                links.insert(href);
            }
        }
        let display = c
            .execute(
                "return getComputedStyle(document.querySelector('header.top')).display",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(display, "flex", "{path}: the stylesheet loaded");
        // Nothing wider than the window: wide tables scroll inside their card.
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap() <= 0,
            "{path} at {width} px scrolls sideways by {overflow} px"
        );
        let serious = accessibility(&c, &axe).await;
        assert!(serious.is_empty(), "{path} at {width} px: {serious:#?}");
        screenshot(&c, &format!("{name}-{width}")).await;
        let found = errors(&c).await;
        assert!(found.is_empty(), "{path}: {found:?}");
    }
    // No broken link anywhere on those pages.
    let local: Vec<&String> = links
        .iter()
        .filter(|l| l.starts_with(&server.url))
        .collect();
    assert!(local.len() > 20, "{} links", local.len());
    for link in local {
        let s = env.http.get(link).send().await.unwrap().status();
        assert!(s.is_success(), "{link}: {s}");
    }
    // Sync now, from the account page.
    c.goto(&format!("{}/accounts/acme", server.url))
        .await
        .unwrap();
    c.find(Locator::Css("form[action=\"/sync\"] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // Back on the account page, which says what the run did.
    // The click navigates: wait for the page it lands on.
    let said = c
        .wait()
        .for_element(Locator::Css("main .flash h2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(said.starts_with("Synced acme"), "{said}");
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/accounts/acme");
    screenshot(&c, "sync-now").await;
    let found = errors(&c).await;
    assert!(found.is_empty(), "{found:?}");

    // The filter form works and keeps the period: choose a status, press Filter.
    c.goto(&format!("{}/templates?days=7", server.url))
        .await
        .unwrap();
    c.execute(
        "document.querySelector('form.filters select[name=status]').value = 'APPROVED'",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("form.filters button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The click navigates: wait for the filtered page (its status option is selected).
    c.wait()
        .for_element(Locator::Css(
            "form.filters select[name=status] option[selected]",
        ))
        .await
        .unwrap();
    let url = c.current_url().await.unwrap();
    let query = url.query().unwrap_or_default().to_string();
    assert!(
        query.contains("status=APPROVED") && query.contains("days=7"),
        "{query}"
    );
    let statuses = c
        .find_all(Locator::Css("main table tbody tr td:nth-child(5) .badge"))
        .await
        .unwrap();
    assert!(!statuses.is_empty());
    for s in statuses {
        assert_eq!(s.text().await.unwrap(), "APPROVED");
    }

    // An open overview learns of a change recorded after it was built (the script's check,
    // run now instead of in 30 seconds).
    c.set_window_size(1440, 900).await.unwrap();
    c.goto(&format!("{}/", server.url)).await.unwrap();
    let banner = c.find(Locator::Css("#live")).await.unwrap();
    assert!(!banner.is_displayed().await.unwrap());
    let approved = env.template_with_status("APPROVED").await;
    let pid = approved["id"].as_str().unwrap();
    env.post(
        &format!("/_sim/templates/{pid}/status"),
        json!({"status": "PAUSED"}),
    )
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    c.execute_async(
        "window.templarLiveCheck().then(arguments[arguments.length - 1])",
        vec![],
    )
    .await
    .unwrap();
    let said = banner.text().await.unwrap();
    assert!(banner.is_displayed().await.unwrap(), "{said}");
    assert!(
        said.ends_with("new change — reload") || said.ends_with("new changes — reload"),
        "{said}"
    );
    let found = errors(&c).await;
    assert!(found.is_empty(), "{found:?}");

    // The console check has teeth: a page that 404s is reported.
    c.goto(&format!("{}/no/such/page", server.url))
        .await
        .unwrap();
    let found = errors(&c).await;
    assert!(
        found.iter().any(|e| e.contains("404")),
        "a 404 shows in the browser log: {found:?}"
    );

    c.close().await.unwrap();
    server.stop().await;
}
