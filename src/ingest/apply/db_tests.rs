use super::*;
use crate::db::Db;
use crate::ingest::{IngestEvent, MessageStatus, TemplateHint};

fn status(wamid: &str, d: Delivery, at: i64) -> IngestEvent {
    IngestEvent::Status(MessageStatus {
        wamid: wamid.into(),
        phone_number_id: "p".into(),
        waba_id: None,
        recipient: "r".into(),
        status: d,
        at,
        error_code: None,
        error_title: None,
        category: None,
        template: TemplateHint::Unknown,
        origin: "webhook",
    })
}

#[test]
fn a_click_that_overtakes_its_message_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("t.db")).unwrap();
    let r = Resolver::default();
    let click = IngestEvent::Inbound {
        phone_number_id: "p".into(),
        from: Some("r".into()),
        user_id: None,
        at: 100,
        replied_to: Some("w1".into()),
        is_button: true,
    };
    db.write_blocking(|c| apply(c, &r, &[click], None, 1))
        .unwrap();
    db.write_blocking(|c| apply(c, &r, &[status("w1", Delivery::Read, 90)], None, 1))
        .unwrap();
    let m = db
        .write_blocking(|c| usage::by_wamid(c, "w1"))
        .unwrap()
        .unwrap();
    assert_eq!((m.read_at, m.clicked_at), (Some(90), Some(100)));
}
