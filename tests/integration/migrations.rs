//! The embedded migrations run up, down and up again.

use templar::db::Db;

#[test]
fn migrations_run_up_down_and_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    assert!(crate::common::count(&db, "templates") == 0);
    let reverted = db.revert_all().unwrap();
    assert!(!reverted.is_empty());
    let mut c = db.conn().unwrap();
    use diesel::RunQueryDsl;
    assert!(
        diesel::sql_query("SELECT * FROM templates")
            .execute(&mut c)
            .is_err(),
        "table dropped"
    );
    drop(c);
    let applied = db.migrate().unwrap();
    assert_eq!(applied.len(), reverted.len());
    assert_eq!(crate::common::count(&db, "templates"), 0);
    assert!(db.migrate().unwrap().is_empty(), "idempotent");
}

/// Migration 000008 rewrote the observed-side totals triggers. Two databases take the same
/// random inserts, updates and deletes of the roll-up, from both origins, on days inside and
/// outside the preset periods: one with the new triggers, one with the forms they replaced
/// (000008's `down.sql`). The totals must come out the same.
#[test]
fn rewritten_totals_triggers_keep_the_same_totals_as_the_old_ones() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use rand::{Rng, SeedableRng};
    use templar::db::models::{accounts, templates};

    #[derive(QueryableByName)]
    struct Dump {
        #[diesel(sql_type = diesel::sql_types::Text)]
        dump: String,
    }
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut dumps = Vec::new();
    for old in [false, true] {
        let db = Db::open(&dir.path().join(format!("{old}.db"))).unwrap();
        let mut c = db.conn().unwrap();
        if old {
            c.batch_execute(include_str!(
                "../../migrations/2026-11-26-000008_observed_triggers/down.sql"
            ))
            .unwrap();
        }
        let mut rows = Vec::new();
        for (i, account) in ["acme", "acme", "globex"].iter().enumerate() {
            let a = accounts::ensure(&mut c, account, "meta", 0).unwrap();
            let state = templates::TemplateState {
                waba_id: format!("w{a}"),
                template_id: format!("t{i}"),
                name: format!("n{i}"),
                language: "en_US".into(),
                category: "MARKETING".into(),
                previous_category: None,
                correct_category: None,
                sub_category: None,
                status: "APPROVED".into(),
                quality: None,
                rejected_reason: None,
                parameter_format: None,
                components: "[]".into(),
            };
            rows.push(templates::insert(&mut c, a, &state, 0).unwrap());
        }
        templar::report::refresh_windows(&mut c, today).unwrap();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for _ in 0..600 {
            let row = rows[rng.random_range(0..rows.len())];
            let back = [0, 3, 6, 20, 45, 89, 90, 120][rng.random_range(0..8)];
            let day = (today - chrono::Days::new(back)).to_string();
            let origin = if rng.random_bool(0.7) {
                "observed"
            } else {
                "meta"
            };
            let n: [i64; 5] = std::array::from_fn(|_| rng.random_range(0..20));
            let cost = rng.random_range(0..1000) as f64 / 100.0;
            let sql = match rng.random_range(0..10) {
                0..=5 => format!(
                    "INSERT INTO template_daily_stats (template_row, day, origin, sent, delivered, read, clicked, failed, cost) \
                     VALUES ({row}, '{day}', '{origin}', {}, {}, {}, {}, {}, {cost}) \
                     ON CONFLICT (template_row, day, origin) DO UPDATE SET sent = sent + excluded.sent, \
                     delivered = delivered + excluded.delivered, read = read + excluded.read, \
                     clicked = clicked + excluded.clicked, failed = failed + excluded.failed, cost = excluded.cost",
                    n[0], n[1], n[2], n[3], n[4]
                ),
                6..=7 => format!(
                    "UPDATE template_daily_stats SET sent = {}, delivered = {}, read = {}, clicked = {}, failed = {}, cost = {cost} \
                     WHERE template_row = {row} AND day = '{day}' AND origin = '{origin}'",
                    n[0], n[1], n[2], n[3], n[4]
                ),
                _ => format!(
                    "DELETE FROM template_daily_stats WHERE template_row = {row} AND day = '{day}' AND origin = '{origin}'"
                ),
            };
            c.batch_execute(&sql).unwrap();
        }
        // Every row of a totals table, its keys and all its figures, as one string.
        let dump = |table: &str, keys: [&str; 2], c: &mut diesel::SqliteConnection| -> String {
            let figures = "m_sent, m_delivered, m_read, m_clicked, round(m_cost, 6), o_sent, \
                 o_delivered, o_read, o_clicked, o_failed, c_sent, c_delivered, c_read, c_clicked";
            let row = keys
                .iter()
                .copied()
                .chain(figures.split(", "))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            let sql = format!(
                "SELECT COALESCE(group_concat(r, ';'), '') AS dump FROM \
                 (SELECT {row} AS r FROM {table} ORDER BY {}, {})",
                keys[0], keys[1]
            );
            diesel::sql_query(sql).get_result::<Dump>(c).unwrap().dump
        };
        let accounts = dump("account_daily_totals", ["account_id", "day"], &mut c);
        let windows = dump("template_window_totals", ["template_row", "days"], &mut c);
        assert!(
            accounts.matches(';').count() > 10 && windows.matches(';').count() > 5,
            "the random changes reached both tables: {accounts} / {windows}"
        );
        dumps.push((accounts, windows));
    }
    assert_eq!(dumps[0].0, dumps[1].0, "account_daily_totals");
    assert_eq!(dumps[0].1, dumps[1].1, "template_window_totals");
}
