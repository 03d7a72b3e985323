//! `template_daily_products`: Meta's analytics per product (Cloud API, Marketing Messages API)
//! with unique URL clicks, the split behind the origin `meta` row of `template_daily_stats`.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::upsert::excluded;
use serde::Serialize;

use crate::db::schema::template_daily_products as p;

/// One product's figures for a template and day, or summed over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ProductFigures {
    pub product: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    /// Every click on the template's buttons.
    pub clicked: i64,
    /// Distinct people who clicked a URL button.
    pub unique_clicked: i64,
    pub cost: f64,
}

/// Replaces a template-day's per-product figures; writes nothing when they are unchanged.
pub fn set(
    conn: &mut Conn,
    template_row: i32,
    day: &str,
    figures: &[ProductFigures],
) -> QueryResult<()> {
    let mut wanted = figures.to_vec();
    wanted.sort_by(|a, b| a.product.cmp(&b.product));
    if between(conn, template_row, day, day)? == wanted {
        return Ok(());
    }
    let products: Vec<&str> = figures.iter().map(|f| f.product.as_str()).collect();
    diesel::delete(
        p::table
            .filter(p::template_row.eq(template_row))
            .filter(p::day.eq(day))
            .filter(p::product.ne_all(&products)),
    )
    .execute(conn)?;
    for f in figures {
        crate::on_backend!(conn, bc => diesel::insert_into(p::table)
            .values((
                p::template_row.eq(template_row),
                p::day.eq(day),
                p::product.eq(&f.product),
                p::sent.eq(f.sent),
                p::delivered.eq(f.delivered),
                p::read.eq(f.read),
                p::clicked.eq(f.clicked),
                p::unique_clicked.eq(f.unique_clicked),
                p::cost.eq(f.cost),
            ))
            .on_conflict((p::template_row, p::day, p::product))
            .do_update()
            .set((
                p::sent.eq(excluded(p::sent)),
                p::delivered.eq(excluded(p::delivered)),
                p::read.eq(excluded(p::read)),
                p::clicked.eq(excluded(p::clicked)),
                p::unique_clicked.eq(excluded(p::unique_clicked)),
                p::cost.eq(excluded(p::cost)),
            ))
            .execute(bc))?;
    }
    Ok(())
}

/// A template's figures per product between two days (inclusive, `YYYY-MM-DD`).
pub fn between(
    conn: &mut Conn,
    template_row: i32,
    from: &str,
    to: &str,
) -> QueryResult<Vec<ProductFigures>> {
    let rows: Vec<(String, i64, i64, i64, i64, i64, f64)> = p::table
        .filter(p::template_row.eq(template_row))
        .filter(p::day.between(from, to))
        .select((
            p::product,
            p::sent,
            p::delivered,
            p::read,
            p::clicked,
            p::unique_clicked,
            p::cost,
        ))
        .order(p::product)
        .load(conn)?;
    let mut out: Vec<ProductFigures> = Vec::new();
    for (product, sent, delivered, read, clicked, unique_clicked, cost) in rows {
        if out.last().is_none_or(|f| f.product != product) {
            out.push(ProductFigures {
                product,
                ..Default::default()
            });
        }
        if let Some(f) = out.last_mut() {
            f.sent += sent;
            f.delivered += delivered;
            f.read += read;
            f.clicked += clicked;
            f.unique_clicked += unique_clicked;
            f.cost += cost;
        }
    }
    Ok(out)
}
