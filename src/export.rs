//! Usage reports: per template and day, week, month or whole period, or per message, as CSV
//! (RFC 4180, UTF-8, header row), a JSON array or JSON lines. Rows are written as they are
//! read (a day of roll-up, or a page of messages, at a time), so memory does not grow with the
//! number of rows. The numbers come from [`crate::report`], the same layer the dashboard uses.

use crate::db::Conn;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use chrono::{Datelike, NaiveDate};

use crate::clock;
use crate::db::models::messages::{self, MessageScope};
use crate::db::models::templates::{self as tpl, ListQuery};
use crate::db::models::usage;
use crate::report::{self, DayRow, Period, Scope, Totals};

mod sink;
pub use sink::*;

/// How rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum By {
    Day,
    Week,
    Month,
    /// One row per template for the whole period.
    Template,
}

/// What to export.
#[derive(Debug, Clone)]
pub struct Query {
    pub period: Period,
    pub by: By,
    /// Which templates (account, status, name filters...).
    pub filter: ListQuery,
    /// Only the template with this Meta id.
    pub template_id: Option<String>,
    /// Only templates with exactly this name.
    pub template_name: Option<String>,
}

/// Reports progress: (rows so far, rows expected if known).
pub type Progress<'a> = &'a mut dyn FnMut(usize, Option<usize>);

struct Meta {
    account: String,
    name: String,
    id: String,
    language: String,
    category: String,
}

fn round(r: Option<f64>) -> Option<f64> {
    r.map(|x| (x * 10_000.0).round() / 10_000.0)
}

fn period_key(day: NaiveDate, by: By) -> (String, NaiveDate, NaiveDate) {
    match by {
        By::Day | By::Template => (day.format("%Y-%m-%d").to_string(), day, day),
        By::Week => {
            let w = day.iso_week();
            let start =
                NaiveDate::from_isoywd_opt(w.year(), w.week(), chrono::Weekday::Mon).unwrap_or(day);
            (
                format!("{}-W{:02}", w.year(), w.week()),
                start,
                start + chrono::Days::new(6),
            )
        }
        By::Month => {
            let start = day.with_day(1).unwrap_or(day);
            let next = start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start);
            (
                day.format("%Y-%m").to_string(),
                start,
                next.pred_opt().unwrap_or(start),
            )
        }
    }
}

/// The templates a query covers, with what rows need to say about them.
fn templates_in_scope(conn: &mut Conn, q: &Query) -> Result<BTreeMap<i32, Meta>, ExportError> {
    let mut filter = q.filter.clone();
    filter.include_deleted = true;
    let mut out = BTreeMap::new();
    for b in tpl::briefs(conn, &filter)? {
        if q.template_id.as_ref().is_some_and(|id| *id != b.id)
            || q.template_name.as_ref().is_some_and(|n| *n != b.name)
        {
            continue;
        }
        out.insert(
            b.row,
            Meta {
                account: b.account,
                name: b.name,
                id: b.id,
                language: b.language,
                category: b.category,
            },
        );
    }
    if out.is_empty() && (q.template_id.is_some() || q.template_name.is_some()) {
        let what = q
            .template_name
            .clone()
            .or(q.template_id.clone())
            .unwrap_or_default();
        return Err(ExportError::Usage(format!("no template `{what}` matches")));
    }
    Ok(out)
}

fn usage_row(
    m: &Meta,
    period: (String, NaiveDate, NaiveDate),
    t: &Totals,
    source: &str,
    currency: Option<&String>,
) -> UsageRow {
    UsageRow {
        account: m.account.clone(),
        template: m.name.clone(),
        template_id: m.id.clone(),
        language: m.language.clone(),
        category: m.category.clone(),
        period: period.0,
        period_start: period.1.format("%Y-%m-%d").to_string(),
        period_end: period.2.format("%Y-%m-%d").to_string(),
        sent: t.sent,
        delivered: t.delivered,
        read: t.read,
        clicked: t.clicked,
        failed: t.failed,
        delivery_rate: round(t.delivery_rate()),
        read_rate: round(t.read_rate()),
        cost: (t.cost * 10_000.0).round() / 10_000.0,
        currency: match (t.cost > 0.0, t.estimated > 0.0) {
            (false, _) => String::new(),
            (true, true) if t.cost - t.estimated <= 0.0 => crate::pricing::card().currency.clone(),
            (true, _) => currency.cloned().unwrap_or_default(),
        },
        source: source.into(),
        cost_source: t.cost_source().into(),
    }
}

#[derive(Default)]
struct Acc {
    totals: Totals,
    meta: bool,
    observed: bool,
}

impl Acc {
    fn add(&mut self, r: &DayRow) {
        self.totals.add(&r.combined());
        if r.meta.is_some() {
            self.meta = true;
        } else {
            self.observed = true;
        }
    }

    fn source(&self) -> &'static str {
        match (self.meta, self.observed) {
            (true, true) => "mixed",
            (true, false) => "meta",
            _ => "observed",
        }
    }
}

/// Writes usage rows for `q` into `sink`; returns the rows written.
pub fn usage_rows<W: Write>(
    conn: &mut Conn,
    q: &Query,
    sink: &mut Sink<W>,
    progress: Progress<'_>,
) -> Result<usize, ExportError> {
    let meta = templates_in_scope(conn, q)?;
    let currencies = usage::currencies(conn)?;
    let rows_filter: Option<Vec<i32>> = (!is_unfiltered(q)).then(|| meta.keys().copied().collect());
    let mut written = 0;
    let mut pending: BTreeMap<i32, Acc> = BTreeMap::new();
    let mut current: Option<(String, NaiveDate, NaiveDate)> = None;
    let flush = |pending: &mut BTreeMap<i32, Acc>,
                 key: &(String, NaiveDate, NaiveDate),
                 sink: &mut Sink<W>|
     -> Result<usize, ExportError> {
        let mut n = 0;
        for (row, acc) in std::mem::take(pending) {
            if let Some(m) = meta.get(&row) {
                sink.row(&usage_row(
                    m,
                    key.clone(),
                    &acc.totals,
                    acc.source(),
                    currencies.get(&m.account),
                ))?;
                n += 1;
            }
        }
        Ok(n)
    };
    for day in q.period.days() {
        let scope = Scope {
            template_rows: rows_filter.clone(),
            ..Default::default()
        };
        let rows = report::rows(conn, &scope, &Period { from: day, to: day })?;
        let key = period_key(day, q.by);
        if q.by != By::Template && current.as_ref().is_some_and(|c| c.0 != key.0) {
            if let Some(c) = current.take() {
                written += flush(&mut pending, &c, sink)?;
            }
        }
        if q.by != By::Template {
            current = Some(key);
        }
        for r in rows.iter().filter(|r| meta.contains_key(&r.template_row)) {
            pending.entry(r.template_row).or_default().add(r);
        }
        progress(written, None);
    }
    match q.by {
        By::Template => {
            // Every template in scope, with or without traffic, ordered like the dashboard.
            let key = (
                format!("{}..{}", q.period.from_s(), q.period.to_s()),
                q.period.from,
                q.period.to,
            );
            let mut order: Vec<(&i32, &Meta)> = meta.iter().collect();
            order.sort_by(|a, b| {
                (&a.1.account, &a.1.name, &a.1.language).cmp(&(
                    &b.1.account,
                    &b.1.name,
                    &b.1.language,
                ))
            });
            for (row, m) in order {
                let acc = pending.remove(row).unwrap_or_default();
                sink.row(&usage_row(
                    m,
                    key.clone(),
                    &acc.totals,
                    acc.source(),
                    currencies.get(&m.account),
                ))?;
                written += 1;
            }
        }
        _ => {
            if let Some(c) = current.take() {
                written += flush(&mut pending, &c, sink)?;
            }
        }
    }
    progress(written, Some(written));
    Ok(written)
}

fn is_unfiltered(q: &Query) -> bool {
    let f = &q.filter;
    q.template_id.is_none()
        && q.template_name.is_none()
        && f.account.is_none()
        && f.status.is_none()
        && f.category.is_none()
        && f.language.is_none()
        && f.quality.is_none()
        && f.name_contains.is_none()
}

/// Writes one row per message for `q` (filtered by account and template, by the message's
/// day); `hash` replaces recipients with their HMAC-SHA256 under that key.
pub fn message_rows<W: Write>(
    conn: &mut Conn,
    q: &Query,
    hash: Option<&[u8]>,
    sink: &mut Sink<W>,
    progress: Progress<'_>,
) -> Result<usize, ExportError> {
    let template_rows: Option<Vec<i32>> = if q.template_id.is_some() || q.template_name.is_some() {
        Some(templates_in_scope(conn, q)?.keys().copied().collect())
    } else {
        None
    };
    let scope = MessageScope {
        from: q.period.from_s(),
        to: q.period.to_s(),
        account: q.filter.account.clone(),
        template_rows,
    };
    let count = messages::count(conn, &scope)? as usize;
    let time = |t: Option<i64>| t.map(clock::rfc3339).unwrap_or_default();
    let mut last = 0;
    let mut written = 0;
    loop {
        let rows = messages::page(conn, &scope, last, 5000)?;
        let Some(end) = rows.last().map(|r| r.id) else {
            break;
        };
        for r in rows {
            let recipient = match hash {
                Some(key) => crate::signing::sign(key, r.recipient.as_bytes()),
                None => r.recipient,
            };
            sink.row(&MessageRow {
                wamid: r.wamid,
                account: r.account.unwrap_or_default(),
                template: r.template.unwrap_or_default(),
                template_id: r.template_id.unwrap_or_default(),
                language: r.language.unwrap_or_default(),
                category: r.template_category.or(r.category).unwrap_or_default(),
                recipient,
                day: r.day,
                sent_at: time(r.sent_at),
                delivered_at: time(r.delivered_at),
                read_at: time(r.read_at),
                failed_at: time(r.failed_at),
                clicked_at: time(r.clicked_at),
                error_code: r.error_code,
                error_title: r.error_title.unwrap_or_default(),
            })?;
            written += 1;
        }
        last = end;
        progress(written, Some(count));
    }
    Ok(written)
}

/// The totals of a usage export (what the report message says).
pub fn summary(conn: &mut Conn, q: &Query) -> Result<Totals, ExportError> {
    let scope = Scope {
        account: q.filter.account.clone(),
        ..Default::default()
    };
    Ok(report::totals(conn, &scope, &q.period)?.combined)
}

/// Per-account currency, for callers that label totals.
pub fn currencies(conn: &mut Conn) -> Result<HashMap<String, String>, ExportError> {
    Ok(usage::currencies(conn)?)
}
