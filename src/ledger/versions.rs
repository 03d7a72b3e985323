//! Content versions: whoever sees a template's content (a listing, a components webhook, an
//! edit through `templates apply`), a content that reads differently from the newest version
//! becomes the next version, and that is a `content` event (`v1 → v2`).

use crate::db::Conn;

use super::rules::FieldChange;
use crate::db::models::versions;
use crate::domain::{content, EventSource};

/// How long after a components webhook a sync may complete its version with examples.
const COMPLETES_WITHIN: i64 = 86_400;

/// Records `components` as seen for a template at `at`. Returns the `content` change when it
/// made a new version after the first: version 1 is where history starts, not a change.
pub fn observe(
    conn: &mut Conn,
    template_row: i32,
    components: &str,
    at: i64,
    source: EventSource,
) -> diesel::QueryResult<Option<FieldChange>> {
    if content::is_empty(components) {
        return Ok(None);
    }
    let Some(latest) = versions::latest(conn, template_row)? else {
        versions::insert(conn, template_row, 1, components, at, source.as_str())?;
        return Ok(None);
    };
    if content::same(&latest.components, components) {
        return Ok(None);
    }
    // A webhook's version has no examples; a listing that reads the same otherwise completes
    // it rather than adding a version nobody made.
    // Only the first syncs after the webhook (within a day) complete it; a later change of
    // examples alone is an edit of its own.
    let completes = latest.source == EventSource::Webhook.as_str()
        && source != EventSource::Webhook
        && at - latest.seen_at <= COMPLETES_WITHIN
        && content::same_texts(&latest.components, components);
    if completes {
        let both = format!("{}+{}", latest.source, source.as_str());
        versions::complete(conn, latest.id, components, &both)?;
        return Ok(None);
    }
    let next = latest.version + 1;
    versions::insert(conn, template_row, next, components, at, source.as_str())?;
    let parts: Vec<String> = content::diff(&latest.components, components)
        .into_iter()
        .map(|d| d.label)
        .collect();
    Ok(Some(FieldChange {
        field: "content",
        old: Some(format!("v{}", latest.version)),
        new: format!("v{next}"),
        reason: Some(format!("edited: {}", parts.join(", "))),
    }))
}

/// Records the content of templates seen for the first time: each one's version 1, unless it
/// has no content. What [`observe`] does for a row that has no version yet, a batch at once.
pub fn observe_new(
    conn: &mut Conn,
    firsts: &[(i32, &str)],
    at: i64,
    source: EventSource,
) -> diesel::QueryResult<()> {
    let firsts: Vec<(i32, &str)> = firsts
        .iter()
        .copied()
        .filter(|(_, components)| !content::is_empty(components))
        .collect();
    versions::insert_firsts(conn, &firsts, at, source.as_str())
}

/// Whether `new` reads differently from `old` (for a dry run's list of changes).
pub fn differs(old: &str, new: &str) -> bool {
    !content::is_empty(new) && !content::same(old, new)
}
