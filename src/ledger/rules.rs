//! What counts as a change: the comparison of a stored template with a newly seen state, and
//! the reason each change carries.

use crate::db::models::templates::{TemplateRow, TemplateState};

/// A change to one field of a template, before it becomes an event.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: String,
    pub reason: Option<String>,
}

/// The reason a status change carries: Meta's rejection reason, only for a rejection.
pub fn status_reason(status: &str, reason: Option<&str>) -> Option<String> {
    reason.filter(|_| status == "REJECTED").map(str::to_string)
}

/// The first event of a template templar has not seen before: `(new) → status`.
pub fn first_seen(state: &TemplateState) -> FieldChange {
    FieldChange {
        field: "status",
        old: None,
        new: state.status.clone(),
        reason: status_reason(&state.status, state.rejected_reason.as_deref()),
    }
}

/// The event of a template a complete listing no longer returned.
pub fn gone(last_status: &str) -> FieldChange {
    FieldChange {
        field: "status",
        old: Some(last_status.to_string()),
        new: "DELETED".into(),
        reason: Some("no longer returned by the source".into()),
    }
}

/// The status, quality and category changes between what is stored and what a source reports.
pub fn field_changes(old: &TemplateRow, new: &TemplateState) -> Vec<FieldChange> {
    let mut out = Vec::new();
    if old.deleted_at.is_some() {
        out.push(FieldChange {
            field: "status",
            old: Some("DELETED".into()),
            new: new.status.clone(),
            reason: Some("returned by the source again".into()),
        });
    } else if old.status != new.status {
        out.push(FieldChange {
            field: "status",
            old: Some(old.status.clone()),
            new: new.status.clone(),
            reason: status_reason(&new.status, new.rejected_reason.as_deref()),
        });
    }
    if let Some(q) = &new.quality {
        if quality_changed(old.quality.as_deref(), q) {
            out.push(FieldChange {
                field: "quality",
                old: old.quality.clone(),
                new: q.clone(),
                reason: None,
            });
        }
    }
    if old.category != new.category {
        out.push(FieldChange {
            field: "category",
            old: Some(old.category.clone()),
            new: new.category.clone(),
            reason: None,
        });
    }
    out
}

/// Whether a quality rating differs from the stored one. No rating and UNKNOWN mean the same:
/// a new template has no rating yet.
pub fn quality_changed(old: Option<&str>, new: &str) -> bool {
    let unrated = old.is_none() && new == "UNKNOWN";
    old != Some(new) && !unrated
}
