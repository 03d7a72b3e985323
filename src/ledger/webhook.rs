//! A single-field change a webhook reports (status, quality, category), recorded with the same
//! rules as a listing: one event per real change, nothing for a repeat.

use crate::db::Conn;

use super::rules;
use crate::db::models::templates::{self as tpl, NewEvent, TemplateRow, TemplateState};
use crate::domain::content::{self, ComponentsUpdate as ContentUpdate};
use crate::domain::status_event::{is_a_status, status_after, StatusAfter};
use crate::domain::{normalize_language, EventSource};

/// A template change reported by a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateChange {
    pub waba_id: String,
    pub template_id: String,
    pub name: String,
    /// As the webhook wrote it (`en-US` or `en_US`).
    pub language: String,
    /// When it happened upstream (unix seconds; 0 when not said).
    pub at: i64,
    pub kind: TemplateChangeKind,
}

/// What changed.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateChangeKind {
    /// `message_template_status_update`: an event, which moves the status as
    /// [`crate::domain::status_event`] says.
    Status {
        event: String,
        category: Option<String>,
        reason: Option<String>,
        detail: Option<serde_json::Value>,
    },
    /// `message_template_quality_update`.
    Quality { new: String },
    /// `template_category_update`: done (`effective_at` is `None`) or announced.
    Category {
        new: String,
        correct: Option<String>,
        effective_at: Option<i64>,
    },
    /// `message_template_components_update`: the texts after an edit.
    Components(ContentUpdate),
}

/// Applies one webhook change to a template of `account_id` and appends its event. Returns
/// whether anything changed.
pub fn record_webhook(
    conn: &mut Conn,
    account_id: i32,
    change: &TemplateChange,
    now: i64,
) -> diesel::QueryResult<bool> {
    let language = normalize_language(&change.language);
    let row = tpl::find_by_id_or_name(
        conn,
        account_id,
        &change.template_id,
        &change.name,
        &language,
    )?;
    // Upstream's time, but never in the future of this receipt.
    let at = if change.at > 0 {
        change.at.min(now)
    } else {
        now
    };
    let event = match row {
        Some(row) => changed(conn, &row, &change.kind, now)?,
        None => first_sight(conn, account_id, change, language, now)?,
    };
    let Some(mut event) = event else {
        return Ok(false);
    };
    event.at = at;
    tpl::insert_events(conn, std::slice::from_ref(&event))?;
    Ok(true)
}

/// The webhook's detail as JSON text, with the event itself when it is not the status it
/// leaves (REINSTATED, UNARCHIVED, FLAGGED...), so the history keeps what Meta said.
fn with_event(detail: Option<&serde_json::Value>, what: &str) -> Option<String> {
    let mut d = detail.cloned();
    if !is_a_status(what) {
        let map = d.get_or_insert_with(|| serde_json::json!({}));
        if let Some(m) = map.as_object_mut() {
            m.insert("event".into(), what.into());
        }
    }
    d.map(|d| d.to_string())
}

fn event(
    row: i32,
    field: &str,
    old: Option<String>,
    new: &str,
    reason: Option<String>,
    detail: Option<String>,
) -> NewEvent {
    NewEvent {
        template_id: row,
        at: 0,
        field: field.into(),
        old_value: old,
        new_value: new.into(),
        reason,
        detail,
        source: EventSource::Webhook.as_str().into(),
    }
}

/// A template not synced yet: a status update starts its row from what the webhook says (sync
/// fills in the rest); a quality or category update waits for the next sync.
fn first_sight(
    conn: &mut Conn,
    account_id: i32,
    change: &TemplateChange,
    language: String,
    now: i64,
) -> diesel::QueryResult<Option<NewEvent>> {
    let TemplateChangeKind::Status {
        event: what,
        category,
        reason,
        detail,
    } = &change.kind
    else {
        tracing::info!(template = %change.template_id, "quality, category or content update for a template not synced yet; the next sync records it");
        return Ok(None);
    };
    let status = match status_after(what) {
        StatusAfter::Becomes(s) => s,
        StatusAfter::BeforeArchiving => "APPROVED",
        StatusAfter::Unchanged => {
            tracing::info!(template = %change.template_id, event = %what, "status event for a template not synced yet; the next sync records its status");
            return Ok(None);
        }
    };
    let status = &status.to_string();
    let detail = with_event(detail.as_ref(), what);
    let state = TemplateState {
        waba_id: change.waba_id.clone(),
        template_id: change.template_id.clone(),
        name: change.name.clone(),
        language,
        category: category
            .clone()
            .unwrap_or_else(|| "UNKNOWN".into())
            .to_ascii_uppercase(),
        previous_category: None,
        correct_category: None,
        sub_category: None,
        status: status.clone(),
        quality: None,
        rejected_reason: rules::status_reason(status, reason.as_deref()),
        parameter_format: None,
        components: "[]".into(),
    };
    let id = tpl::insert(conn, account_id, &state, now)?;
    super::listing::attribute(conn, account_id, id, &state)?;
    Ok(Some(event(
        id,
        "status",
        None,
        status,
        reason.clone(),
        detail,
    )))
}

/// A known template: the event of what this change moves, or `None` for a repeat.
fn changed(
    conn: &mut Conn,
    row: &TemplateRow,
    kind: &TemplateChangeKind,
    now: i64,
) -> diesel::QueryResult<Option<NewEvent>> {
    match kind {
        TemplateChangeKind::Status {
            event: what,
            reason,
            detail,
            ..
        } => {
            let detail = with_event(detail.as_ref(), what);
            let status = match status_after(what) {
                StatusAfter::Becomes(s) => s.to_string(),
                StatusAfter::BeforeArchiving => {
                    tpl::status_before_archiving(conn, row.id)?.unwrap_or_else(|| "APPROVED".into())
                }
                // Kept in the history; the status waits for a sync to say otherwise.
                StatusAfter::Unchanged => {
                    return Ok(Some(event(
                        row.id,
                        "event",
                        None,
                        what,
                        reason.clone(),
                        detail,
                    )))
                }
            };
            let deleted = row.deleted_at.is_some();
            if row.status == status && !deleted {
                // The status is already there (a sync saw it first, or Meta repeats itself).
                // An event that is not the status, or one that says more (a pause's title),
                // is kept, once.
                if is_a_status(what) && detail.is_none() {
                    return Ok(None);
                }
                let latest = tpl::latest_event(conn, row.id)?;
                let repeat = latest.is_some_and(|e| {
                    e.field == "event" && e.new_value == *what && e.detail == detail
                });
                return Ok(
                    (!repeat).then(|| event(row.id, "event", None, what, reason.clone(), detail))
                );
            }
            let old = if deleted { "DELETED" } else { &row.status };
            let rejected = rules::status_reason(&status, reason.as_deref());
            tpl::set_status(conn, row.id, &status, rejected.as_deref(), now)?;
            Ok(Some(event(
                row.id,
                "status",
                Some(old.to_string()),
                &status,
                reason.clone(),
                detail,
            )))
        }
        TemplateChangeKind::Quality { new } => {
            if !rules::quality_changed(row.quality.as_deref(), new) {
                return Ok(None);
            }
            tpl::set_quality(conn, row.id, new, now)?;
            Ok(Some(event(
                row.id,
                "quality",
                row.quality.clone(),
                new,
                None,
                None,
            )))
        }
        TemplateChangeKind::Category {
            new,
            correct: Some(correct),
            effective_at: Some(when),
        } => {
            if row.correct_category.as_deref() == Some(correct.as_str()) || row.category == *correct
            {
                return Ok(None);
            }
            tpl::set_correct_category(conn, row.id, correct, now)?;
            let detail = serde_json::json!({"announced": true, "effective_at": when}).to_string();
            let reason = format!("announced; takes effect {}", crate::clock::human(*when));
            Ok(Some(event(
                row.id,
                "category",
                Some(row.category.clone()),
                new,
                Some(reason),
                Some(detail),
            )))
        }
        TemplateChangeKind::Components(update) => {
            let stored: serde_json::Value =
                serde_json::from_str(&row.components).unwrap_or_default();
            let after = content::apply_update(&stored, update).to_string();
            if content::same(&row.components, &after) {
                return Ok(None);
            }
            // Meta retries a webhook for days: one that reads like an earlier version is a
            // late copy, not an edit back (a sync would see a real one).
            let earlier = crate::db::models::versions::of(conn, row.id)?;
            if earlier.iter().any(|v| content::same(&v.components, &after)) {
                tracing::info!(template = %row.template_id, "components webhook that reads like an earlier version; ignored as a late retry");
                return Ok(None);
            }
            tpl::set_components(conn, row.id, &after, now)?;
            let change = super::versions::observe(conn, row.id, &after, now, EventSource::Webhook)?;
            Ok(change.map(|c| event(row.id, c.field, c.old, &c.new, c.reason, None)))
        }
        TemplateChangeKind::Category { new, .. } => {
            if row.category == *new {
                return Ok(None);
            }
            tpl::set_category(conn, row.id, &row.category, new, now)?;
            Ok(Some(event(
                row.id,
                "category",
                Some(row.category.clone()),
                new,
                None,
                None,
            )))
        }
    }
}
