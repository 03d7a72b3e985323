//! Slack-compatible incoming webhook (`{"text": ...}`), which Mattermost also accepts.

use serde_json::json;

use super::http_result;
use crate::config::Secret;
use crate::notify::Payload;

/// Slack's mrkdwn treats `&`, `<` and `>` as markup: upstream text must not inject links.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message text: a bold title, what to do, and the link (on its own line, so both Slack and
/// Mattermost turn it into a link).
pub fn text(p: &Payload) -> String {
    format!("*{}*\n{}\n{}", escape(&p.title), escape(&p.text), p.url)
}

pub async fn send(client: &reqwest::Client, url: &Secret, p: &Payload) -> Result<(), String> {
    let resp = client
        .post(url.expose())
        .json(&json!({"text": text(p)}))
        .send()
        .await;
    http_result(resp).await
}
