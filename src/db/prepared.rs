//! The webhook writer's hottest statements as query types of their own, so that diesel keeps
//! them prepared. Diesel never caches an `UPDATE` or an `sql_query`, and preparing the roll-up
//! upsert means compiling the triggers of `template_daily_stats` into it every time: about a
//! fifth of the server's CPU under webhook load. Each type here has one fixed SQL text and a
//! static query id (the type itself), which is the key of diesel's statement cache; two
//! statements must never share a type.

use diesel::backend::Backend;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, HasSqlType, Integer, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

use super::Conn;

/// A backend that can bind what these statements bind (both of templar's, and diesel's
/// two-backend one over them).
pub trait Binds:
    Backend + HasSqlType<Integer> + HasSqlType<BigInt> + HasSqlType<Text> + Sized
where
    i32: ToSql<Integer, Self>,
    i64: ToSql<BigInt, Self>,
    String: ToSql<Text, Self>,
{
}

impl<DB> Binds for DB
where
    DB: Backend + HasSqlType<Integer> + HasSqlType<BigInt> + HasSqlType<Text>,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
{
}

use super::models::usage::{Counts, NewMessage, Progress};

/// Writes `sql` with each `?` replaced by the next bind, in order (diesel writes the
/// placeholders itself). The text is split once per statement, not per execution: diesel
/// walks the statement again each time it collects the binds.
macro_rules! fixed_sql {
    ($out:expr, $sql:expr, $($ty:ty => $value:expr),+ $(,)?) => {{
        static PARTS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
        let mut parts = PARTS.get_or_init(|| $sql.split('?').collect()).iter();
        $out.push_sql(parts.next().unwrap_or(&""));
        $(
            $out.push_bind_param::<$ty, _>($value)?;
            $out.push_sql(parts.next().unwrap_or(&""));
        )+
        debug_assert!(parts.next().is_none(), "more placeholders than binds");
    }};
}

/// `add_observed`: adds to a template's observed counters for a day.
#[derive(QueryId)]
pub struct AddObserved {
    pub template_row: i32,
    pub day: String,
    pub counts: Counts,
}

impl<DB> QueryFragment<DB> for AddObserved
where
    DB: Binds,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        fixed_sql!(
            out,
            "INSERT INTO template_daily_stats \
             (template_row, day, origin, sent, delivered, read, clicked, failed, cost) \
             VALUES (?, ?, 'observed', ?, ?, ?, ?, ?, 0) \
             ON CONFLICT (template_row, day, origin) DO UPDATE SET \
             sent = template_daily_stats.sent + excluded.sent, \
             delivered = template_daily_stats.delivered + excluded.delivered, \
             read = template_daily_stats.read + excluded.read, \
             clicked = template_daily_stats.clicked + excluded.clicked, \
             failed = template_daily_stats.failed + excluded.failed",
            Integer => &self.template_row,
            Text => &self.day,
            BigInt => &self.counts.sent,
            BigInt => &self.counts.delivered,
            BigInt => &self.counts.read,
            BigInt => &self.counts.clicked,
            BigInt => &self.counts.failed,
        );
        Ok(())
    }
}

impl RunQueryDsl<Conn> for AddObserved {}

/// `update`: writes a message's progress.
#[derive(QueryId)]
pub struct UpdateProgress {
    pub id: i32,
    pub progress: Progress,
}

impl<DB> QueryFragment<DB> for UpdateProgress
where
    DB: Binds,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let p = &self.progress;
        fixed_sql!(
            out,
            "UPDATE messages SET template_row = ?, category = ?, sent_at = ?, delivered_at = ?, \
             read_at = ?, failed_at = ?, clicked_at = ?, error_code = ?, error_title = ? \
             WHERE id = ?",
            Nullable<Integer> => &p.template_row,
            Nullable<Text> => &p.category,
            Nullable<BigInt> => &p.sent_at,
            Nullable<BigInt> => &p.delivered_at,
            Nullable<BigInt> => &p.read_at,
            Nullable<BigInt> => &p.failed_at,
            Nullable<BigInt> => &p.clicked_at,
            Nullable<Integer> => &p.error_code,
            Nullable<Text> => &p.error_title,
            Integer => &self.id,
        );
        Ok(())
    }
}

impl RunQueryDsl<Conn> for UpdateProgress {}

/// `insert_new`: stores a message unless its wamid is already there (one row affected when
/// it was new). Only that conflict is absorbed: any other constraint still fails.
pub struct InsertMessage<'a>(pub &'a NewMessage);

impl QueryId for InsertMessage<'_> {
    type QueryId = InsertMessage<'static>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<DB> QueryFragment<DB> for InsertMessage<'_>
where
    DB: Binds,
    i32: ToSql<Integer, DB>,
    i64: ToSql<BigInt, DB>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        let m = self.0;
        fixed_sql!(
            out,
            "INSERT INTO messages (wamid, account_id, phone_number_id, template_row, recipient, \
             category, day, sent_at, delivered_at, read_at, failed_at, clicked_at, error_code, \
             error_title, origin, created_at, template_ref) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (wamid) DO NOTHING",
            Text => &m.wamid,
            Nullable<Integer> => &m.account_id,
            Text => &m.phone_number_id,
            Nullable<Integer> => &m.template_row,
            Text => &m.recipient,
            Nullable<Text> => &m.category,
            Text => &m.day,
            Nullable<BigInt> => &m.sent_at,
            Nullable<BigInt> => &m.delivered_at,
            Nullable<BigInt> => &m.read_at,
            Nullable<BigInt> => &m.failed_at,
            Nullable<BigInt> => &m.clicked_at,
            Nullable<Integer> => &m.error_code,
            Nullable<Text> => &m.error_title,
            Text => &m.origin,
            BigInt => &m.created_at,
            Nullable<Text> => &m.template_ref,
        );
        Ok(())
    }
}

impl RunQueryDsl<Conn> for InsertMessage<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn the_prepared_statements_run_and_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("t.db")).unwrap();
        let mut c = db.conn().unwrap();
        diesel::sql_query(
            "INSERT INTO accounts (id, name, source, created_at) VALUES (1, 'a', 'meta', 0)",
        )
        .execute(&mut c)
        .unwrap();
        diesel::sql_query("INSERT INTO templates (id, account_id, waba_id, template_id, name, language, category, status, components, first_seen_at, last_changed_at) VALUES (1, 1, 'w', 't', 'n', 'en', 'UTILITY', 'APPROVED', '[]', 0, 0)")
            .execute(&mut c)
            .unwrap();
        for _ in 0..2 {
            AddObserved {
                template_row: 1,
                day: "2026-01-01".into(),
                counts: Counts {
                    sent: 1,
                    delivered: 1,
                    ..Default::default()
                },
            }
            .execute(&mut c)
            .unwrap();
        }
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = BigInt)]
            sent: i64,
            #[diesel(sql_type = BigInt)]
            c_sent: i64,
        }
        let r: Row = diesel::sql_query(
            "SELECT s.sent, t.c_sent FROM template_daily_stats s, account_daily_totals t",
        )
        .get_result(&mut c)
        .unwrap();
        assert_eq!((r.sent, r.c_sent), (2, 2), "added, and the triggers ran");
    }
}
