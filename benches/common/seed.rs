//! Seeds a database directly: accounts, templates, messages over the last 30 days (skewed: a
//! few templates carry most traffic, as in real accounts), and the matching daily roll-up.

use std::collections::HashMap;
use std::path::Path;

use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use templar::db::schema::{
    accounts as a, messages as m, template_daily_countries as dc, template_daily_stats as s,
    templates as t,
};
use templar::db::Db;

pub const ACCOUNTS: [&str; 4] = ["acme", "globex", "initech", "umbrella"];

/// A config whose accounts match the seeded ones (never contacted).
pub fn config(dir: &Path, listen: &str) -> std::path::PathBuf {
    let mut text = format!("database = \"templar.db\"\nlisten = \"{listen}\"\n");
    for (i, name) in ACCOUNTS.iter().enumerate() {
        text.push_str(&format!(
            "\n[[account]]\nname = \"{name}\"\nsource = \"meta\"\nwaba_id = \"{}\"\ntoken = \"t\"\nbase_url = \"http://127.0.0.1:9\"\n",
            1000 + i
        ));
    }
    let path = dir.join("templar.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Seeds `templates` templates and `messages` messages; returns the busiest template's id.
pub fn seed(db: &Db, templates: usize, messages: usize, now: i64) -> String {
    let mut c = db.conn().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    templar::db::write_transaction(&mut c, |c| {
        for (i, name) in ACCOUNTS.iter().enumerate() {
            diesel::insert_into(a::table)
                .values((
                    a::id.eq(i as i32 + 1),
                    a::name.eq(name),
                    a::source.eq("meta"),
                    a::created_at.eq(0),
                ))
                .execute(c)?;
        }
        let statuses = [
            "APPROVED", "APPROVED", "APPROVED", "APPROVED", "PENDING", "REJECTED", "PAUSED",
        ];
        let components = r#"[{"type":"BODY","text":"Hi {{1}}, your order {{2}} is ready."}]"#;
        let rows: Vec<_> = (0..templates)
            .map(|k| {
                (
                    t::id.eq(k as i32 + 1),
                    t::account_id.eq((k % ACCOUNTS.len()) as i32 + 1),
                    t::waba_id.eq("1000"),
                    t::template_id.eq(format!("{}", 5_000_000 + k)),
                    t::name.eq(format!("template_{k:05}")),
                    t::language.eq(["en_US", "es", "pt_BR", "de"][k % 4]),
                    t::category.eq(["UTILITY", "MARKETING", "AUTHENTICATION"][k % 3]),
                    t::status.eq(statuses[k % statuses.len()]),
                    t::quality.eq(Some(["GREEN", "GREEN", "YELLOW", "RED"][k % 4])),
                    t::components.eq(components),
                    t::first_seen_at.eq(now - 40 * 86_400),
                    t::last_changed_at.eq(now - (k as i64 % 1000) * 60),
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            templar::on_backend!(&mut *c, bc => diesel::insert_into(t::table).values(chunk).execute(bc))?;
        }
        let mut stats: HashMap<(i32, String), [i64; 5]> = HashMap::new();
        // Deliveries by recipient country, as the webhook writer keeps them for cost estimates.
        let mut countries: HashMap<(i32, String, &str), i64> = HashMap::new();
        let mut batch = Vec::with_capacity(1000);
        for i in 0..messages {
            let x: f64 = rng.random();
            let tr = (x * x * x * templates as f64) as i32 + 1;
            let at = now - rng.random_range(0..30 * 86_400);
            let day = templar::ingest::day_of(at);
            let failed = rng.random_bool(0.04);
            let delivered = !failed && rng.random_bool(0.95);
            let read = delivered && rng.random_bool(0.6);
            let e = stats.entry((tr, day.clone())).or_default();
            e[0] += 1;
            e[1] += i64::from(delivered);
            e[2] += i64::from(read);
            e[4] += i64::from(failed);
            let (prefix, country) = [
                ("1555", "US"),
                ("9198", "IN"),
                ("5511", "BR"),
                ("49151", "DE"),
            ][i % 4];
            if delivered {
                *countries.entry((tr, day.clone(), country)).or_default() += 1;
            }
            batch.push((
                m::wamid.eq(format!("wamid.SEED{i:09}")),
                m::account_id.eq(Some((tr - 1) % ACCOUNTS.len() as i32 + 1)),
                m::phone_number_id.eq("106540352242922"),
                m::template_row.eq(Some(tr)),
                m::recipient.eq(format!("{prefix}{:07}", i % 10_000_000)),
                m::day.eq(day),
                m::sent_at.eq(Some(at)),
                m::delivered_at.eq(delivered.then_some(at + 5)),
                m::read_at.eq(read.then_some(at + 60)),
                m::failed_at.eq(failed.then_some(at + 2)),
                m::error_code.eq(failed.then_some(131_047)),
                m::origin.eq("webhook"),
                m::created_at.eq(at),
            ));
            if batch.len() == 1000 {
                templar::on_backend!(&mut *c, bc => diesel::insert_into(m::table).values(&batch).execute(bc))?;
                batch.clear();
            }
        }
        if !batch.is_empty() {
            templar::on_backend!(&mut *c, bc => diesel::insert_into(m::table).values(&batch).execute(bc))?;
        }
        let rows: Vec<_> = stats
            .into_iter()
            .map(|((tr, day), v)| {
                (
                    s::template_row.eq(tr),
                    s::day.eq(day),
                    s::origin.eq("observed"),
                    s::sent.eq(v[0]),
                    s::delivered.eq(v[1]),
                    s::read.eq(v[2]),
                    s::clicked.eq(v[3]),
                    s::failed.eq(v[4]),
                    s::cost.eq(0.0),
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            templar::on_backend!(&mut *c, bc => diesel::insert_into(s::table).values(chunk).execute(bc))?;
        }
        let rows: Vec<_> = countries
            .into_iter()
            .map(|((tr, day, country), n)| {
                (
                    dc::template_row.eq(tr),
                    dc::day.eq(day),
                    dc::country.eq(country),
                    dc::category.eq(""),
                    dc::delivered.eq(n),
                )
            })
            .collect();
        for chunk in rows.chunks(1000) {
            templar::on_backend!(&mut *c, bc => diesel::insert_into(dc::table).values(chunk).execute(bc))?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();
    "5000000".to_string()
}

/// Rows of the roll-up.
pub fn stat_rows(db: &Db) -> i64 {
    s::table
        .count()
        .get_result(&mut db.conn().unwrap())
        .unwrap()
}
