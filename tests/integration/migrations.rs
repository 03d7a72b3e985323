//! The embedded migrations run up, down and up again.

use templar::db::Db;

#[test]
fn migrations_run_up_down_and_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("t.db")).unwrap();
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
        let db = Db::open(dir.path().join(format!("{old}.db"))).unwrap();
        let mut c = db.conn().unwrap();
        if old {
            c.batch_execute(include_str!(
                "../../migrations/sqlite/2026-11-26-000008_observed_triggers/down.sql"
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
        let dump = |table: &str, keys: [&str; 2], c: &mut templar::db::Conn| -> String {
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

/// Migration 000016 fills `template_daily_countries` from the messages already stored, with
/// calling codes in SQL; the webhook writer keeps it with `pricing::country_of`. Both must put
/// every recipient in the same country.
#[test]
fn the_sends_by_country_backfill_agrees_with_the_writer() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use templar::db::models::{accounts, templates};
    use templar::db::schema::{messages as m, template_daily_countries as dc};

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("t.db")).unwrap();
    let mut c = db.conn().unwrap();
    let a = accounts::ensure(&mut c, "acme", "meta", 0).unwrap();
    let state = templates::TemplateState {
        waba_id: "w".into(),
        template_id: "t1".into(),
        name: "n".into(),
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
    let row = templates::insert(&mut c, a, &state, 0).unwrap();
    let recipients = [
        "15551234567",
        "+919876543210",
        "5511987654321",
        "4915112345678",
        "447700900123",
        "966501234567",
        "971501234567",
        "35312345678",
        "3531",
        "8613800000000",
        "IN.123456",
        "us.98765",
        "",
        "+",
        "4312345",
        "30123",
    ];
    for (i, r) in recipients.iter().enumerate() {
        diesel::insert_into(m::table)
            .values((
                m::wamid.eq(format!("wamid.{i}")),
                m::account_id.eq(Some(a)),
                m::phone_number_id.eq("p"),
                m::template_row.eq(Some(row)),
                m::recipient.eq(*r),
                m::category.eq(Some("utility")),
                m::day.eq("2026-11-03"),
                m::sent_at.eq(Some(1_793_750_400i64)),
                m::delivered_at.eq(Some(1_793_750_401i64)),
                m::origin.eq("webhook"),
                m::created_at.eq(0),
            ))
            .execute(&mut c)
            .unwrap();
    }
    // Inserted directly, so only the migration counts them.
    c.batch_execute(include_str!(
        "../../migrations/sqlite/2026-12-01-000016_template_daily_countries/down.sql"
    ))
    .unwrap();
    c.batch_execute(include_str!(
        "../../migrations/sqlite/2026-12-01-000016_template_daily_countries/up.sql"
    ))
    .unwrap();
    let mut stored: Vec<(String, String, i64)> = dc::table
        .select((dc::country, dc::category, dc::delivered))
        .load(&mut c)
        .unwrap();
    stored.sort();
    let mut want: std::collections::BTreeMap<String, i64> = Default::default();
    for r in recipients {
        *want.entry(templar::pricing::country_of(r)).or_default() += 1;
    }
    let want: Vec<(String, String, i64)> = want
        .into_iter()
        .map(|(country, n)| (country, "UTILITY".to_string(), n))
        .collect();
    assert_eq!(stored, want);
}
