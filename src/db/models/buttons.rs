//! `template_daily_buttons`: Meta's clicks per button of a template and day (summed over
//! products), for the template page's "Clicks by button".

use crate::db::Conn;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::template_daily_buttons as b;

/// Clicks on one button, of one kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ButtonClicks {
    /// Meta's click type: `url_button`, `quick_reply_button`, `unique_url_button`...
    pub kind: String,
    /// The button's text as Meta reports it (`button_content`).
    pub button: String,
    pub clicks: i64,
}

/// Replaces a template-day's per-button clicks; writes nothing when they are unchanged.
pub fn set(
    conn: &mut Conn,
    template_row: i32,
    day: &str,
    clicks: &[ButtonClicks],
) -> QueryResult<()> {
    let mut wanted = clicks.to_vec();
    wanted.sort_by(|x, y| (&x.kind, &x.button).cmp(&(&y.kind, &y.button)));
    if between(conn, template_row, day, day)? == wanted {
        return Ok(());
    }
    diesel::delete(
        b::table
            .filter(b::template_row.eq(template_row))
            .filter(b::day.eq(day)),
    )
    .execute(conn)?;
    for c in &wanted {
        diesel::insert_into(b::table)
            .values((
                b::template_row.eq(template_row),
                b::day.eq(day),
                b::kind.eq(&c.kind),
                b::button.eq(&c.button),
                b::clicks.eq(c.clicks),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A template's clicks per (kind, button) from `from` to `to` (`YYYY-MM-DD`, inclusive), by
/// kind and button.
pub fn between(
    conn: &mut Conn,
    template_row: i32,
    from: &str,
    to: &str,
) -> QueryResult<Vec<ButtonClicks>> {
    let rows: Vec<(String, String, i64)> = b::table
        .filter(b::template_row.eq(template_row))
        .filter(b::day.ge(from))
        .filter(b::day.le(to))
        .select((b::kind, b::button, b::clicks))
        .load(conn)?;
    let mut sums = std::collections::BTreeMap::<(String, String), i64>::new();
    for (kind, button, clicks) in rows {
        *sums.entry((kind, button)).or_default() += clicks;
    }
    Ok(sums
        .into_iter()
        .map(|((kind, button), clicks)| ButtonClicks {
            kind,
            button,
            clicks,
        })
        .collect())
}
