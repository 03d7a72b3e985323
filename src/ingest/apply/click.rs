//! A button reply to one of our messages: a click on it, counted once.

use crate::db::Conn;
use diesel::prelude::*;

use super::*;

/// A button reply to one of our messages: a click, counted once per message. A reply that
/// overtakes its message's first status leaves a stub the status completes.
#[expect(
    clippy::too_many_arguments,
    reason = "each is a distinct fact about the reply"
)]
pub(super) fn click(
    conn: &mut Conn,
    cache: &mut Cache,
    account: Option<i32>,
    pnid: &str,
    from: &str,
    wamid: &str,
    at: i64,
    now: i64,
) -> QueryResult<()> {
    let Some(m) = usage::by_wamid(conn, wamid)? else {
        return usage::insert(
            conn,
            &NewMessage {
                wamid: wamid.to_string(),
                account_id: account,
                phone_number_id: pnid.to_string(),
                template_row: None,
                recipient: from.to_string(),
                category: None,
                day: day_of(at),
                sent_at: None,
                delivered_at: None,
                read_at: None,
                failed_at: None,
                clicked_at: Some(at),
                error_code: None,
                error_title: None,
                origin: "webhook".into(),
                created_at: now,
                template_ref: None,
            },
        );
    };
    if m.clicked_at.is_some() {
        return Ok(());
    }
    let old = m.progress();
    let new = Progress {
        clicked_at: Some(at),
        ..old.clone()
    };
    usage::update(conn, m.id, &new)?;
    if let Some(t) = m.template_row {
        cache.count(t, &m.day, Counts::between(&old, &new));
    }
    Ok(())
}
