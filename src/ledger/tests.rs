//! The ledger's rules on an in-memory database: what each kind of sighting appends.

use std::collections::HashSet;

use crate::db::Conn;

use super::*;
use crate::db::models::{accounts, templates as tpl};
use crate::domain::{Category, EventSource, Quality, RemoteTemplate, TemplateStatus};

const T0: i64 = 1_700_000_000;

fn remote(id: &str, status: &str) -> RemoteTemplate {
    RemoteTemplate {
        waba_id: "w1".into(),
        id: id.into(),
        name: format!("name_{id}"),
        language: "en_US".into(),
        category: Category::parse("UTILITY"),
        previous_category: None,
        correct_category: None,
        sub_category: None,
        status: TemplateStatus::parse(status),
        quality: None,
        rejected_reason: None,
        parameter_format: None,
        components: serde_json::json!([{"type": "BODY", "text": "Hi"}]),
    }
}

fn setup() -> (Conn, i32) {
    let mut conn = crate::db::memory();
    let account = accounts::ensure(&mut conn, "acme", "meta", T0).unwrap();
    (conn, account)
}

/// Reconciles `fetched` as a full listing at `now`, as sync does.
fn sync(conn: &mut Conn, account: i32, fetched: &[RemoteTemplate], now: i64) -> usize {
    let ids: Vec<&str> = fetched.iter().map(|t| t.id.as_str()).collect();
    let rows = tpl::by_template_ids(conn, account, ids.into_iter()).unwrap();
    let mut events = apply(
        conn,
        account,
        &plan(&rows, fetched, now),
        now,
        EventSource::Sync,
    )
    .unwrap()
    .len();
    let seen: HashSet<String> = fetched.iter().map(|t| t.id.clone()).collect();
    let live = tpl::live_for_account(conn, account).unwrap();
    events += apply(
        conn,
        account,
        &deletions(&live, &seen, now),
        now,
        EventSource::Sync,
    )
    .unwrap()
    .len();
    events
}

/// (field, from, to, source) of a template's history, oldest first.
fn history(
    conn: &mut Conn,
    account: i32,
    id: &str,
) -> Vec<(String, Option<String>, String, String)> {
    let row = tpl::by_template_ids(conn, account, std::iter::once(id)).unwrap();
    tpl::events_of(conn, row[0].id)
        .unwrap()
        .into_iter()
        .map(|e| (e.field, e.old_value, e.new_value, e.source))
        .collect()
}

fn ev(
    field: &str,
    from: Option<&str>,
    to: &str,
    source: &str,
) -> (String, Option<String>, String, String) {
    (field.into(), from.map(Into::into), to.into(), source.into())
}

fn webhook(kind: TemplateChangeKind) -> TemplateChange {
    TemplateChange {
        waba_id: "w1".into(),
        template_id: "1".into(),
        name: "name_1".into(),
        language: "en-US".into(),
        at: T0 + 50,
        kind,
    }
}

fn status(s: &str) -> TemplateChangeKind {
    TemplateChangeKind::Status {
        event: s.into(),
        category: Some("UTILITY".into()),
        reason: None,
        detail: None,
    }
}

#[test]
fn a_new_template_gets_one_first_event_and_a_repeat_listing_adds_nothing() {
    let (mut conn, account) = setup();
    assert_eq!(sync(&mut conn, account, &[remote("1", "PENDING")], T0), 1);
    assert_eq!(
        sync(&mut conn, account, &[remote("1", "PENDING")], T0 + 10),
        0
    );
    assert_eq!(
        history(&mut conn, account, "1"),
        vec![ev("status", None, "PENDING", "sync")]
    );
}

#[test]
fn each_changed_field_is_one_event_and_an_edit_is_a_version() {
    let (mut conn, account) = setup();
    sync(&mut conn, account, &[remote("1", "PENDING")], T0);
    let mut t = remote("1", "APPROVED");
    t.category = Category::parse("MARKETING");
    t.quality = Some(Quality::parse("GREEN"));
    assert_eq!(sync(&mut conn, account, &[t.clone()], T0 + 10), 3);
    t.components = serde_json::json!([{"type": "BODY", "text": "Hello"}]);
    assert_eq!(sync(&mut conn, account, &[t.clone()], T0 + 20), 1);
    // The same content with its keys in another order and an extra field is no edit.
    t.components = serde_json::json!([{"text": "Hello", "type": "BODY", "id": "c1"}]);
    assert_eq!(sync(&mut conn, account, &[t], T0 + 30), 0);
    let h = history(&mut conn, account, "1");
    assert_eq!(
        h[1..],
        [
            ev("status", Some("PENDING"), "APPROVED", "sync"),
            ev("quality", None, "GREEN", "sync"),
            ev("category", Some("UTILITY"), "MARKETING", "sync"),
            ev("content", Some("v1"), "v2", "sync"),
        ]
    );
    let row = tpl::by_template_ids(&mut conn, account, std::iter::once("1")).unwrap()[0].id;
    let versions = crate::db::models::versions::of(&mut conn, row).unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(versions[0].seen_at, T0);
}

#[test]
fn a_webhook_version_is_completed_by_the_sync_that_sees_its_examples() {
    let (mut conn, account) = setup();
    sync(&mut conn, account, &[remote("1", "APPROVED")], T0);
    let edit = TemplateChange {
        waba_id: "w1".into(),
        template_id: "1".into(),
        name: "name_1".into(),
        language: "en-US".into(),
        at: T0 + 5,
        kind: TemplateChangeKind::Components(crate::domain::content::ComponentsUpdate {
            body: Some("Hi {{1}}".into()),
            ..Default::default()
        }),
    };
    assert!(record_webhook(&mut conn, account, &edit, T0 + 10).unwrap());
    // A repeat of the webhook is nothing.
    assert!(!record_webhook(&mut conn, account, &edit, T0 + 11).unwrap());
    let mut t = remote("1", "APPROVED");
    t.components = serde_json::json!([{"type": "BODY", "text": "Hi {{1}}",
                                       "example": {"body_text": [["Ada"]]}}]);
    assert_eq!(sync(&mut conn, account, &[t.clone()], T0 + 20), 0);
    let row = tpl::by_template_ids(&mut conn, account, std::iter::once("1")).unwrap()[0].id;
    let versions = crate::db::models::versions::of(&mut conn, row).unwrap();
    assert_eq!(versions.len(), 2);
    assert!(versions[1].components.contains("Ada"), "completed in place");
    // A later change of the examples alone is a version of its own.
    t.components = serde_json::json!([{"type": "BODY", "text": "Hi {{1}}",
                                       "example": {"body_text": [["Bob"]]}}]);
    assert_eq!(sync(&mut conn, account, &[t], T0 + 30), 1);
}

#[test]
fn an_unrated_template_reported_unknown_is_no_quality_change() {
    let (mut conn, account) = setup();
    let mut t = remote("1", "APPROVED");
    sync(&mut conn, account, &[t.clone()], T0);
    t.quality = Some(Quality::parse("UNKNOWN"));
    assert_eq!(sync(&mut conn, account, &[t], T0 + 10), 0);
    let quality = TemplateChangeKind::Quality {
        new: "UNKNOWN".into(),
    };
    assert!(!record_webhook(&mut conn, account, &webhook(quality), T0 + 20).unwrap());
}

#[test]
fn a_missing_template_is_marked_deleted_once_and_comes_back_with_a_reason() {
    let (mut conn, account) = setup();
    sync(
        &mut conn,
        account,
        &[remote("1", "APPROVED"), remote("2", "APPROVED")],
        T0,
    );
    assert_eq!(
        sync(&mut conn, account, &[remote("1", "APPROVED")], T0 + 10),
        1
    );
    assert_eq!(
        sync(&mut conn, account, &[remote("1", "APPROVED")], T0 + 20),
        0
    );
    assert_eq!(
        sync(
            &mut conn,
            account,
            &[remote("1", "APPROVED"), remote("2", "APPROVED")],
            T0 + 30
        ),
        1
    );
    let h = history(&mut conn, account, "2");
    assert_eq!(h[1], ev("status", Some("APPROVED"), "DELETED", "sync"));
    assert_eq!(h[2], ev("status", Some("DELETED"), "APPROVED", "sync"));
    let row = tpl::by_template_ids(&mut conn, account, std::iter::once("2")).unwrap()[0].id;
    let events = tpl::events_of(&mut conn, row).unwrap();
    assert_eq!(
        events[1].reason.as_deref(),
        Some("no longer returned by the source")
    );
    assert_eq!(
        events[2].reason.as_deref(),
        Some("returned by the source again")
    );
}

#[test]
fn a_rejection_carries_its_reason_and_other_statuses_do_not() {
    let (mut conn, account) = setup();
    let mut t = remote("1", "REJECTED");
    t.rejected_reason = Some("INVALID_FORMAT".into());
    sync(&mut conn, account, &[t.clone()], T0);
    t.status = TemplateStatus::parse("PENDING");
    sync(&mut conn, account, &[t], T0 + 10);
    let row = tpl::by_template_ids(&mut conn, account, std::iter::once("1")).unwrap();
    let events = tpl::events_of(&mut conn, row[0].id).unwrap();
    assert_eq!(events[0].reason.as_deref(), Some("INVALID_FORMAT"));
    assert_eq!(events[1].reason, None);
}

#[test]
fn a_row_changed_after_the_run_started_is_left_to_the_newer_state() {
    let (mut conn, account) = setup();
    sync(&mut conn, account, &[remote("1", "PENDING")], T0);
    // A webhook approves it while a run that started at T0 + 10 is still fetching.
    assert!(record_webhook(&mut conn, account, &webhook(status("APPROVED")), T0 + 20).unwrap());
    assert_eq!(
        sync(&mut conn, account, &[remote("1", "PENDING")], T0 + 10),
        0
    );
    let row = &tpl::by_template_ids(&mut conn, account, std::iter::once("1")).unwrap()[0];
    assert_eq!(row.status, "APPROVED");
}

#[test]
fn a_webhook_repeat_adds_nothing_and_a_following_sync_agrees() {
    let (mut conn, account) = setup();
    sync(&mut conn, account, &[remote("1", "PENDING")], T0);
    assert!(record_webhook(&mut conn, account, &webhook(status("APPROVED")), T0 + 60).unwrap());
    assert!(!record_webhook(&mut conn, account, &webhook(status("APPROVED")), T0 + 70).unwrap());
    assert_eq!(
        sync(&mut conn, account, &[remote("1", "APPROVED")], T0 + 80),
        0
    );
    let h = history(&mut conn, account, "1");
    assert_eq!(
        h,
        vec![
            ev("status", None, "PENDING", "sync"),
            ev("status", Some("PENDING"), "APPROVED", "webhook")
        ]
    );
    // The event is dated when it happened upstream, not when it arrived.
    let row = &tpl::by_template_ids(&mut conn, account, std::iter::once("1")).unwrap()[0];
    assert_eq!(tpl::events_of(&mut conn, row.id).unwrap()[1].at, T0 + 50);
}

#[test]
fn a_webhook_for_an_unsynced_template_starts_its_row_only_for_a_status() {
    let (mut conn, account) = setup();
    let quality = TemplateChangeKind::Quality { new: "RED".into() };
    assert!(!record_webhook(&mut conn, account, &webhook(quality), T0).unwrap());
    assert!(tpl::for_account(&mut conn, account).unwrap().is_empty());
    assert!(record_webhook(&mut conn, account, &webhook(status("APPROVED")), T0).unwrap());
    let rows = tpl::for_account(&mut conn, account).unwrap();
    assert_eq!(
        (rows[0].language.as_str(), rows[0].status.as_str()),
        ("en_US", "APPROVED")
    );
    // The sync that brings the whole template records no second "first" event.
    assert_eq!(
        sync(&mut conn, account, &[remote("1", "APPROVED")], T0 + 10),
        0
    );
}

#[test]
fn an_announced_category_is_recorded_once_then_the_move_itself() {
    let (mut conn, account) = setup();
    sync(&mut conn, account, &[remote("1", "APPROVED")], T0);
    let announce = TemplateChangeKind::Category {
        new: "MARKETING".into(),
        correct: Some("MARKETING".into()),
        effective_at: Some(T0 + 86_400),
    };
    assert!(record_webhook(&mut conn, account, &webhook(announce.clone()), T0 + 60).unwrap());
    assert!(!record_webhook(&mut conn, account, &webhook(announce), T0 + 70).unwrap());
    let done = TemplateChangeKind::Category {
        new: "MARKETING".into(),
        correct: None,
        effective_at: None,
    };
    assert!(record_webhook(&mut conn, account, &webhook(done), T0 + 90_000).unwrap());
    let row = &tpl::by_template_ids(&mut conn, account, std::iter::once("1")).unwrap()[0];
    assert_eq!(row.category, "MARKETING");
    assert_eq!(row.previous_category.as_deref(), Some("UTILITY"));
    assert_eq!(row.correct_category, None);
    assert_eq!(history(&mut conn, account, "1").len(), 3);
}

#[test]
fn record_one_inserts_updates_and_deletes_one_template_as_manual() {
    let (mut conn, account) = setup();
    let state = |status: &str| tpl::TemplateState::from(&remote("1", status));
    assert_eq!(
        record_one(
            &mut conn,
            account,
            "1",
            Some(state("PENDING")),
            T0,
            EventSource::Manual
        )
        .unwrap()
        .len(),
        1
    );
    assert_eq!(
        record_one(
            &mut conn,
            account,
            "1",
            Some(state("PENDING")),
            T0 + 1,
            EventSource::Manual
        )
        .unwrap()
        .len(),
        0
    );
    assert_eq!(
        record_one(&mut conn, account, "1", None, T0 + 2, EventSource::Manual)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        record_one(&mut conn, account, "1", None, T0 + 3, EventSource::Manual)
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        history(&mut conn, account, "1"),
        vec![
            ev("status", None, "PENDING", "manual"),
            ev("status", Some("PENDING"), "DELETED", "manual")
        ]
    );
}
