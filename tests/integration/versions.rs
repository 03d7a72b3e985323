//! Content versions: an edit seen by a components webhook, by a sync, or made by `templates
//! apply` adds exactly one version each, whoever sees it again later; the template page, its
//! API and `templates show --versions` show the words that changed, and a channel subscribed
//! to `content_changed` hears of each edit.

use serde_json::{json, Value};
use templar::db::models::{templates as tpl, versions};

use crate::common::{self, app, deliver, App, Channel, Env, Page};

fn versions_of(env: &Env, id: &str) -> Vec<versions::Version> {
    let mut c = env.db.conn().unwrap();
    let row = tpl::with_account(&mut c, id).unwrap().unwrap().row;
    versions::of(&mut c, row.id).unwrap()
}

fn body_of(v: &versions::Version) -> String {
    let comps: Value = serde_json::from_str(&v.components).unwrap();
    comps
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "BODY")
        .map(|c| c["text"].as_str().unwrap().to_string())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_way_an_edit_is_seen_adds_exactly_one_version() {
    let env = App::new(1, 20)
        .notify(
            Channel::webhook("edits", "http://127.0.0.1:9/", "s3cret-s3cret")
                .with("events", vec!["content_changed"]),
        )
        .start()
        .await;
    let app = app(&env);
    env.sync().await;
    // The notifier has read the first sync (templates seen for the first time never notify).
    let expand = || env.notify_pass();
    assert_eq!(expand(), 0);
    // Every template starts at version 1, with what it reads like.
    assert_eq!(env.count("template_versions"), env.count("templates"));
    let t = env.template_with_status("APPROVED").await;
    let id = t["id"].as_str().unwrap().to_string();
    let name = t["name"].as_str().unwrap().to_string();
    assert_eq!(versions_of(&env, &id).len(), 1);
    // Edits keep the body's parameters, so they stay valid definitions.
    let base = body_of(&versions_of(&env, &id)[0]);
    let today = format!("{base} Ships today");
    let tomorrow = format!("{base} Ships tomorrow");

    // 1. Edited in WhatsApp Manager: Meta's components webhook says so.
    env.post(
        &format!("/_sim/templates/{id}/body"),
        json!({"text": today}),
    )
    .await;
    deliver(&app, &env.sim.take_webhooks()).await;
    let vs = versions_of(&env, &id);
    assert_eq!(vs.len(), 2, "the webhook added one version");
    assert_eq!(body_of(&vs[1]), today);
    assert_eq!(vs[1].source, "webhook");
    // The sync that follows sees the same content: no new version. (The examples the
    // webhook cannot carry were kept from the version before.)
    env.sync().await;
    let vs = versions_of(&env, &id);
    assert_eq!(vs.len(), 2, "a sync after the webhook adds nothing");
    assert!(vs[1].components.contains("example"), "{}", vs[1].components);

    // 2. Edited with no webhook: only the next sync sees it.
    env.post(
        &format!("/_sim/templates/{id}/body"),
        json!({"text": tomorrow, "webhook": false}),
    )
    .await;
    env.sim.take_webhooks();
    env.sync().await;
    env.sync().await;
    let vs = versions_of(&env, &id);
    assert_eq!(
        vs.len(),
        3,
        "the sync added one version, the next sync none"
    );
    assert_eq!(vs[2].source, "sync");

    // 3. Edited through `templates apply`.
    let dir = env.dir.path().join("defs");
    std::fs::create_dir_all(&dir).unwrap();
    let current = env.sim_state().await["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id.as_str())
        .cloned()
        .unwrap();
    let mut comps = current["components"].clone();
    for c in comps.as_array_mut().unwrap() {
        if c["type"] == "BODY" {
            c["text"] = json!(format!("Good news: {tomorrow}"));
        }
    }
    let def = json!({"name": name, "language": current["language"], "category": current["category"],
                     "parameter_format": current["parameter_format"], "components": comps});
    std::fs::write(dir.join("edit.json"), def.to_string()).unwrap();
    let out = env.cli(&[
        "templates",
        "apply",
        dir.to_str().unwrap(),
        "--account",
        "acme",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    // Meta's components webhook for the same edit, and a sync, add nothing more.
    deliver(&app, &env.sim.take_webhooks()).await;
    env.sync().await;
    let vs = versions_of(&env, &id);
    assert_eq!(
        vs.len(),
        4,
        "apply added one version, its webhook and a sync none"
    );
    assert_eq!(vs[3].source, "manual");

    // Each edit after the first is one `content` event, and one notification.
    let events: Vec<(String, String)> = common::events(&env.db, &id)
        .into_iter()
        .filter(|e| e.0 == "content")
        .map(|e| (e.1.unwrap_or_default(), e.2))
        .collect();
    assert_eq!(
        events,
        [("v1", "v2"), ("v2", "v3"), ("v3", "v4")].map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert_eq!(
        expand(),
        3,
        "one content_changed per edit for the subscribed channel"
    );

    // The API: newest first, with the words that changed.
    let (status, _, body) = common::get(&app, &format!("/api/templates/{id}/versions"), &[]).await;
    assert_eq!(status, 200);
    let api: Value = serde_json::from_str(&body).unwrap();
    let numbers: Vec<i64> = api
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [4, 3, 2, 1]);
    let words = |v: &Value, kind: &str| -> Vec<String> {
        v["changes"][0]["words"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["kind"] == kind)
            .map(|w| w["text"].as_str().unwrap().trim().to_string())
            .collect()
    };
    assert_eq!(words(&api[1], "removed"), ["today"]);
    assert_eq!(words(&api[1], "added"), ["tomorrow"]);
    let (status, _, _) = common::get(&app, "/api/templates/999999999/versions", &[]).await;
    assert_eq!(status, 404);

    // The page shows every version, the edit's words marked.
    let (_, _, html) = common::get(&app, &format!("/templates/{id}"), &[]).await;
    let page = Page::parse(&html);
    assert_eq!(page.texts(".versions .version h3").len(), 4);
    assert_eq!(page.texts("#v3 ins"), ["tomorrow"]);
    assert_eq!(page.texts("#v3 del"), ["today"]);

    // The CLI.
    let out = env.cli(&["templates", "show", &name, "--versions", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let shown: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(shown["versions"].as_array().unwrap().len(), 4);
    let out = env.cli(&["templates", "show", &name, "--versions"]);
    let text = common::stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.trim_start().starts_with("Body") && l.contains("[-today-]{+tomorrow+}")),
        "{text}"
    );
    // Every part's text starts after its label, however long (`Button 1 (URL) example`).
    for l in text.lines().filter(|l| l.starts_with("    ")) {
        assert!(l.trim_start().contains("  "), "{l}");
    }
}
