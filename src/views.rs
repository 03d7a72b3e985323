//! JSON views of stored data, shared by the CLI's `--json` output and the web API so the two
//! cannot disagree.

pub mod versions;

use serde::Serialize;

use crate::clock;
use crate::db::models::templates::{Event, TemplateRow};

/// A template as `templates list --json` and `/api/templates` show it.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateView {
    /// Meta's template id.
    pub id: String,
    pub account: String,
    pub source: String,
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub previous_category: Option<String>,
    pub correct_category: Option<String>,
    pub sub_category: Option<String>,
    pub status: String,
    pub quality: Option<String>,
    pub rejected_reason: Option<String>,
    pub parameter_format: Option<String>,
    pub components: serde_json::Value,
    pub first_seen_at: String,
    pub last_changed_at: String,
    /// Set when the template stopped being returned by its source.
    pub deleted_at: Option<String>,
}

impl TemplateView {
    /// Builds the view of a stored row.
    pub fn new(row: TemplateRow, account: String, source: String) -> Self {
        TemplateView {
            id: row.template_id,
            account,
            source,
            waba_id: row.waba_id,
            name: row.name,
            language: row.language,
            category: row.category,
            previous_category: row.previous_category,
            correct_category: row.correct_category,
            sub_category: row.sub_category,
            status: row.status,
            quality: row.quality,
            rejected_reason: row.rejected_reason,
            parameter_format: row.parameter_format,
            components: serde_json::from_str(&row.components).unwrap_or(serde_json::Value::Null),
            first_seen_at: clock::rfc3339(row.first_seen_at),
            last_changed_at: clock::rfc3339(row.last_changed_at),
            deleted_at: row.deleted_at.map(clock::rfc3339),
        }
    }
}

/// One history entry as `templates show --json` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at: String,
    /// `status`, `quality` or `category`.
    pub field: String,
    pub from: Option<String>,
    pub to: String,
    pub reason: Option<String>,
    pub detail: Option<serde_json::Value>,
    /// `sync`, `webhook` or `manual`.
    pub source: String,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        EventView {
            at: clock::rfc3339(e.at),
            field: e.field,
            from: e.old_value,
            to: e.new_value,
            reason: e.reason,
            detail: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
            source: e.source,
        }
    }
}

/// A template with its full history.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateDetail {
    #[serde(flatten)]
    pub template: TemplateView,
    pub events: Vec<EventView>,
    /// Content versions, newest first (`templates show --versions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<versions::VersionView>>,
}
