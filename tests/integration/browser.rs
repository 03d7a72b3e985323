//! The dashboard in a real browser: headless Chromium (Debian package `chromium`), driven over
//! the DevTools protocol, opens every page of a seeded instance, finds no console error and no
//! broken link, clicks Sync now, and saves screenshots to `target/browser-screenshots/`.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::time::Duration;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use templar::sim::SimOptions;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{self, start_live};

const CHROMIUM: &str = "/usr/bin/chromium";

struct Cdp {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    next: u64,
    session: Option<String>,
    events: Vec<Value>,
}

impl Cdp {
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect("CDP answer")
                .unwrap()
                .unwrap();
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["id"] == id {
                assert!(v.get("error").is_none(), "{method}: {v}");
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    async fn wait(&mut self, method: &str) {
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            self.events.remove(i);
            return;
        }
        loop {
            let m = tokio::time::timeout(Duration::from_secs(30), self.ws.next())
                .await
                .expect(method)
                .unwrap()
                .unwrap();
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["method"] == method {
                return;
            }
            self.events.push(v);
        }
    }

    async fn open(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait("Page.loadEventFired").await;
    }

    async fn eval(&mut self, js: &str) -> Value {
        self.call(
            "Runtime.evaluate",
            json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        )
        .await["result"]["value"]
            .clone()
    }

    /// Console errors, uncaught exceptions and failed loads since the last navigation.
    fn errors(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => {
                    Some(e["params"]["exceptionDetails"].to_string())
                }
                Some("Runtime.consoleAPICalled") if e["params"]["type"] == "error" => {
                    Some(e["params"]["args"].to_string())
                }
                Some("Log.entryAdded") if e["params"]["entry"]["level"] == "error" => {
                    Some(e["params"]["entry"]["text"].to_string())
                }
                _ => None,
            })
            .collect()
    }

    async fn screenshot(&mut self, name: &str) {
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_page_works_in_a_real_browser() {
    if !std::path::Path::new(CHROMIUM).exists() {
        if std::env::var("TEMPLAR_SKIP_BROWSER").as_deref() == Ok("1") {
            eprintln!("TEMPLAR_SKIP_BROWSER=1: browser test skipped");
            return;
        }
        panic!("this test needs headless Chromium at {CHROMIUM}: `apt-get install chromium` (`.ci/test` does it), or set TEMPLAR_SKIP_BROWSER=1");
    }
    let (env, server) = start_live(SimOptions {
        accounts: 2,
        templates: 40,
        ..Default::default()
    })
    .await;
    env.sync().await;
    env.sim.advance(48 * 3600);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    templar::usage::run(&env.ctx(), None, common::now()).await;
    env.sync().await;

    let profile = tempfile::tempdir().unwrap();
    let mut chrome = std::process::Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-port=0",
            "--window-size=1280,900",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = chrome.stderr.take().unwrap();
    let ws_url = std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split("DevTools listening on ").nth(1).map(str::to_string))
        .expect("Chromium's DevTools address");
    eprintln!("browser: devtools at {ws_url}");
    let (ws, _) = tokio_tungstenite::connect_async(ws_url.trim())
        .await
        .unwrap();
    let mut cdp = Cdp {
        ws,
        next: 0,
        session: None,
        events: vec![],
    };
    eprintln!("browser: connected");
    let target = cdp
        .call("Target.createTarget", json!({"url": "about:blank"}))
        .await["targetId"]
        .clone();
    let session = cdp
        .call(
            "Target.attachToTarget",
            json!({"targetId": target, "flatten": true}),
        )
        .await["sessionId"]
        .as_str()
        .unwrap()
        .to_string();
    cdp.session = Some(session);
    for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
        cdp.call(domain, json!({})).await;
    }

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
    let mut links = BTreeSet::new();
    for (name, path) in &pages {
        eprintln!("browser: opening {path}");
        cdp.open(&format!("{}{path}", server.url)).await;
        let title = cdp.eval("document.title").await;
        assert!(
            title.as_str().unwrap().ends_with("templar"),
            "{path}: {title}"
        );
        let found = cdp
            .eval("Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
            .await;
        links.extend(
            found
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string()),
        );
        let css = cdp
            .eval("getComputedStyle(document.querySelector('header.top')).display")
            .await;
        assert_eq!(css, "flex", "{path}: the stylesheet loaded");
        cdp.screenshot(name).await;
        assert!(cdp.errors().is_empty(), "{path}: {:?}", cdp.errors());
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
    // Sync now.
    cdp.open(&format!("{}/accounts/acme", server.url)).await;
    cdp.eval("document.querySelector('form[action=\"/sync\"] button').click()")
        .await;
    cdp.wait("Page.loadEventFired").await;
    let text = cdp.eval("document.body.innerText").await;
    let text = text.as_str().unwrap();
    assert!(
        text.contains("Back to the overview") && text.contains("acme") && text.contains("ok"),
        "{text}"
    );
    cdp.screenshot("sync-now").await;
    assert!(cdp.errors().is_empty(), "{:?}", cdp.errors());

    let _ = chrome.kill();
    let _ = chrome.wait();
    server.stop().await;
}
