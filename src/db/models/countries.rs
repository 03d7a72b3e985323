//! Observed deliveries per template, day, recipient country and pricing category
//! (`template_daily_countries`): kept by the webhook writer, read to estimate costs from the
//! rate card where Meta reports none.

use crate::db::Conn;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use std::collections::HashMap;

use crate::db::schema::template_daily_countries as c;
use crate::report::{Period, Scope};

/// Adds `n` deliveries to a template's day in one country and pricing category.
pub fn add(
    conn: &mut Conn,
    template_row: i32,
    day: &str,
    country: &str,
    category: &str,
    n: i64,
) -> QueryResult<()> {
    crate::on_backend!(conn, bc => diesel::insert_into(c::table)
        .values((
            c::template_row.eq(template_row),
            c::day.eq(day),
            c::country.eq(country),
            c::category.eq(category),
            c::delivered.eq(n),
        ))
        .on_conflict((c::template_row, c::day, c::country, c::category))
        .do_update()
        .set(c::delivered.eq(c::delivered + n))
        .execute(bc))
    .map(drop)
}

/// Sends to price, grouped by `key` (an SQL expression over `c` and `t`: `'all'`, `c.day`,
/// `c.template_row`), only on template-days Meta did not report.
#[derive(QueryableByName, Debug, Clone)]
pub struct Unreported {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = Text)]
    pub day: String,
    #[diesel(sql_type = Text)]
    pub country: String,
    /// Meta's pricing category as a status said it, or empty.
    #[diesel(sql_type = Text)]
    pub said: String,
    /// The template's category now.
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = BigInt)]
    pub delivered: i64,
}

/// The unreported deliveries of the period, for the templates `filter` (an SQL condition over
/// `t` and `a`, with `?` binds given in `binds`) selects. Accounts whose WABA reports costs in
/// another currency than the card's (`currency`) are left out: their estimate could not be
/// added to what Meta reports.
pub fn unreported(
    conn: &mut Conn,
    key: &str,
    (from, to): (&str, &str),
    filter: &str,
    binds: &[String],
    currency: &str,
) -> QueryResult<Vec<Unreported>> {
    let sql = format!(
        "SELECT CAST({key} AS TEXT) AS key, c.day, c.country, c.category AS said, \
                t.category AS category, CAST(SUM(c.delivered) AS BIGINT) AS delivered \
         FROM template_daily_countries c JOIN templates t ON t.id = c.template_row \
         JOIN accounts a ON a.id = t.account_id \
         WHERE c.day BETWEEN ? AND ? AND ({filter}) \
           AND NOT EXISTS (SELECT 1 FROM template_daily_stats s WHERE s.template_row = c.template_row \
                           AND s.day = c.day AND s.origin = 'meta') \
           AND EXISTS (SELECT 1 FROM template_daily_stats s WHERE s.template_row = c.template_row \
                       AND s.day = c.day AND s.origin = 'observed') \
           AND NOT EXISTS (SELECT 1 FROM analytics_state st WHERE st.account_id = t.account_id \
                           AND st.currency IS NOT NULL AND st.currency <> ?) \
         GROUP BY 1, c.day, c.country, c.category, t.category"
    );
    let mut q = crate::db::sql(conn, sql)
        .into_boxed()
        .bind::<Text, _>(from.to_string())
        .bind::<Text, _>(to.to_string());
    for b in binds {
        q = q.bind::<Text, _>(b.clone());
    }
    q.bind::<Text, _>(currency.to_string()).load(conn)
}

/// The grouping [`crate::report::rows`] asks for: every template-day, for exports.
pub const ROWS: &str = "c.template_row || ' ' || c.day";

/// Estimated costs of the scope's template-days Meta did not report, by `group` (an SQL
/// expression over `c`, the sends by country): the rate card in use times observed sends.
pub fn estimates(
    conn: &mut Conn,
    scope: &Scope,
    period: &Period,
    group: &str,
) -> QueryResult<HashMap<String, f64>> {
    // Every account at once is left to Meta's reported figures: pricing every delivery of
    // every account at each page build took 2.9 s for the overview at 10k templates and 1M
    // messages (dashboard benchmark). One account, templates (one, or a page of them) and
    // exports are estimated.
    let whole = scope.account.is_none() && scope.template_row.is_none();
    if whole && scope.template_rows.is_none() && group != ROWS {
        return Ok(HashMap::new());
    }
    let mut filter = vec!["1 = 1".to_string()];
    let mut binds = Vec::new();
    if let Some(a) = &scope.account {
        filter.push("a.name = ?".into());
        binds.push(a.clone());
    }
    if let Some(t) = scope.template_row {
        filter.push(format!("c.template_row = {t}"));
    }
    if let Some(ts) = &scope.template_rows {
        let list: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
        filter.push(format!("c.template_row IN ({})", list.join(",")));
        if ts.is_empty() {
            return Ok(HashMap::new());
        }
    }
    let card = crate::pricing::card();
    let rows = unreported(
        conn,
        group,
        (&period.from_s(), &period.to_s()),
        &filter.join(" AND "),
        &binds,
        &card.currency,
    )?;
    let mut out: HashMap<String, f64> = HashMap::new();
    for r in &rows {
        let (cost, _) = crate::pricing::estimate(
            &card,
            [(
                r.day.as_str(),
                r.country.as_str(),
                r.said.as_str(),
                r.category.as_str(),
                r.delivered,
            )],
        );
        *out.entry(r.key.clone()).or_default() += cost;
    }
    Ok(out)
}

/// A template's sends by (country, category said, template category) since `from`: what a
/// category change would cost at its recent volume.
pub fn recent(conn: &mut Conn, template_row: i32, from: &str) -> QueryResult<Vec<(String, i64)>> {
    let rows: Vec<(String, i64)> = c::table
        .filter(c::template_row.eq(template_row))
        .filter(c::day.ge(from))
        .select((c::country, c::delivered))
        .load(conn)?;
    let mut by: std::collections::BTreeMap<String, i64> = Default::default();
    for (country, n) in rows {
        *by.entry(country).or_default() += n;
    }
    Ok(by.into_iter().collect())
}

/// What moving template `template_row` from `from` to `to` does to its monthly cost, in words,
/// at its last 30 days' sends; `None` without sends to price.
pub fn category_impact(
    conn: &mut Conn,
    template_row: i32,
    from: &str,
    to: &str,
    today: chrono::NaiveDate,
) -> QueryResult<Option<String>> {
    let since = today - chrono::Days::new(29);
    let sends = recent(conn, template_row, &since.format("%Y-%m-%d").to_string())?;
    let card = crate::pricing::card();
    Ok(
        crate::pricing::monthly_change(&card, &sends, from, to, today)
            .map(|c| crate::pricing::monthly_change_text(&card, &sends, c)),
    )
}
