//! What a `message_template_status_update` webhook's `event` does to the status Meta's API
//! lists. Events are not statuses: REINSTATED means "can be sent again", FLAGGED warns of a
//! pause to come. The whole mapping is this one table; the `[I]` rows are inferences from
//! Meta's reference (see `reference/meta-api.md`, "Template status events ≠ statuses") and
//! are the ones to change if Meta's API is seen to list something else next.

/// The status an event leaves a template in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusAfter {
    /// The listing shows this status next.
    Becomes(&'static str),
    /// The status the template had before it was archived (usually APPROVED).
    BeforeArchiving,
    /// The status does not move; the event is kept in the history only.
    Unchanged,
}

/// Every event value in Meta's reference, and what it does to the status.
const TABLE: &[(&str, StatusAfter)] = &[
    ("APPROVED", StatusAfter::Becomes("APPROVED")),
    ("ARCHIVED", StatusAfter::Becomes("ARCHIVED")),
    ("UNARCHIVED", StatusAfter::BeforeArchiving),
    ("DELETED", StatusAfter::Becomes("DELETED")),
    ("DISABLED", StatusAfter::Becomes("DISABLED")),
    // [I] A quality warning: the template stays sendable until Meta pauses it.
    ("FLAGGED", StatusAfter::Unchanged),
    ("IN_APPEAL", StatusAfter::Becomes("IN_APPEAL")),
    ("LIMIT_EXCEEDED", StatusAfter::Becomes("LIMIT_EXCEEDED")),
    // [I] Locked against edits; the listing keeps its status.
    ("LOCKED", StatusAfter::Unchanged),
    ("PAUSED", StatusAfter::Becomes("PAUSED")),
    ("PENDING", StatusAfter::Becomes("PENDING")),
    ("REINSTATED", StatusAfter::Becomes("APPROVED")),
    ("PENDING_DELETION", StatusAfter::Becomes("PENDING_DELETION")),
    ("REJECTED", StatusAfter::Becomes("REJECTED")),
];

/// What `event` (upper case) does to the status. An event templar does not know is kept in
/// the history and leaves the status to the next sync.
pub fn status_after(event: &str) -> StatusAfter {
    TABLE
        .iter()
        .find(|(e, _)| *e == event)
        .map_or(StatusAfter::Unchanged, |(_, after)| *after)
}

/// Whether the event is itself a status, so recording the status records the event too.
pub fn is_a_status(event: &str) -> bool {
    matches!(status_after(event), StatusAfter::Becomes(s) if s == event)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_that_are_not_statuses_map_to_what_the_listing_shows() {
        assert_eq!(status_after("REINSTATED"), StatusAfter::Becomes("APPROVED"));
        assert_eq!(status_after("UNARCHIVED"), StatusAfter::BeforeArchiving);
        assert_eq!(status_after("FLAGGED"), StatusAfter::Unchanged);
        assert_eq!(status_after("LOCKED"), StatusAfter::Unchanged);
        assert_eq!(status_after("SOMETHING_NEW"), StatusAfter::Unchanged);
        assert!(is_a_status("PAUSED"));
        assert!(!is_a_status("REINSTATED"));
        assert!(!is_a_status("FLAGGED"));
    }
}
