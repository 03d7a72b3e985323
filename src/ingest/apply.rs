//! Applies ingested events inside one transaction: template changes become events (the same
//! rules as sync), message statuses move forward and update the daily roll-up by exactly what
//! changed, inbound messages open the 24-hour window.

use crate::db::Conn;
use std::collections::HashMap;

use diesel::prelude::*;

use super::{day_of, normalize_language, Delivery, IngestEvent, MessageStatus, TemplateHint};
use crate::config::Config;
use crate::db::models::accounts;
use crate::db::models::templates as tpl;
use crate::db::models::usage::{self, Counts, NewMessage, Progress};
use crate::ledger;

/// Maps phone numbers and WABAs to configured accounts.
#[derive(Debug, Default, Clone)]
pub struct Resolver {
    by_phone: HashMap<String, (String, &'static str)>,
    by_waba: HashMap<String, (String, &'static str)>,
}

impl Resolver {
    /// Adds a phone number of an account (one discovered rather than configured).
    pub fn with_phone(mut self, pnid: &str, account: &str, source: &'static str) -> Self {
        self.by_phone
            .insert(pnid.to_string(), (account.to_string(), source));
        self
    }

    /// From the configured accounts' `phone_number_ids` and `waba_id`s.
    pub fn from_config(config: &Config) -> Self {
        let mut r = Resolver::default();
        for a in &config.accounts {
            for p in &a.phone_number_ids {
                r.by_phone
                    .insert(p.clone(), (a.name.clone(), a.source.as_str()));
            }
            if let Some(w) = &a.waba_id {
                r.by_waba
                    .insert(w.clone(), (a.name.clone(), a.source.as_str()));
            }
        }
        r
    }
}

/// What a batch did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub template_events: u32,
    pub statuses: u32,
    pub inbound: u32,
    /// Events whose account or template could not be found (logged).
    pub unmatched: u32,
    /// The whole delivery was a duplicate (same idempotency key).
    pub duplicate: bool,
}

impl Outcome {
    /// Adds `o` to this.
    pub fn add(&mut self, o: Outcome) {
        self.template_events += o.template_events;
        self.statuses += o.statuses;
        self.inbound += o.inbound;
        self.unmatched += o.unmatched;
    }
}

/// Look-up caches for one transaction: a group of 500 statuses from one number resolves its
/// account and template once.
#[derive(Default)]
pub struct Cache {
    accounts: HashMap<(String, String), Option<i32>>,
    templates: HashMap<(i32, TemplateHint), Option<i32>>,
    /// Roll-up changes not yet written: one upsert per template and day per transaction
    /// instead of one per status.
    counts: HashMap<(i32, String), Counts>,
    errors: HashMap<(i32, String, i32), i64>,
    /// Deliveries by (template, day, recipient country, pricing category), for cost estimates.
    countries: HashMap<(i32, String, String, String), i64>,
}

impl Cache {
    fn count(&mut self, template: i32, day: &str, c: Counts) {
        if c.is_zero() {
            return;
        }
        let slot = self.counts.entry((template, day.to_string())).or_default();
        slot.sent += c.sent;
        slot.delivered += c.delivered;
        slot.read += c.read;
        slot.clicked += c.clicked;
        slot.failed += c.failed;
    }

    /// Counts `n` deliveries of a template's day (what Meta charges for) by the recipient's
    /// country and the pricing category the status named.
    fn deliveries(
        &mut self,
        template: i32,
        day: &str,
        recipient: &str,
        category: Option<&str>,
        n: i64,
    ) {
        if n == 0 {
            return;
        }
        let category = category
            .unwrap_or("")
            .to_ascii_uppercase()
            .replace('-', "_");
        let key = (
            template,
            day.to_string(),
            crate::pricing::country_of(recipient),
            category,
        );
        *self.countries.entry(key).or_default() += n;
    }

    fn error(&mut self, template: i32, day: &str, code: Option<i32>) {
        *self
            .errors
            .entry((template, day.to_string(), code.unwrap_or(0)))
            .or_default() += 1;
    }

    /// Writes the accumulated roll-up changes; call before the transaction commits.
    pub fn flush(&mut self, conn: &mut Conn) -> QueryResult<()> {
        for ((template, day), c) in self.counts.drain() {
            usage::add_observed(conn, template, &day, c)?;
        }
        for ((template, day, code), n) in self.errors.drain() {
            usage::add_error(conn, template, &day, code, n)?;
        }
        for ((template, day, country, category), n) in self.countries.drain() {
            crate::db::models::countries::add(conn, template, &day, &country, &category, n)?;
        }
        Ok(())
    }
}

/// Applies one delivery's events; with `key`, a delivery already applied changes nothing.
pub fn apply(
    conn: &mut Conn,
    resolver: &Resolver,
    events: &[IngestEvent],
    key: Option<&str>,
    now: i64,
) -> QueryResult<Outcome> {
    let mut cache = Cache::default();
    let out = apply_cached(conn, resolver, &mut cache, events, key, now)?;
    cache.flush(conn)?;
    Ok(out)
}

/// [`apply`] with caches shared by every delivery in the same transaction; the caller calls
/// [`Cache::flush`] before committing.
pub fn apply_cached(
    conn: &mut Conn,
    resolver: &Resolver,
    cache: &mut Cache,
    events: &[IngestEvent],
    key: Option<&str>,
    now: i64,
) -> QueryResult<Outcome> {
    let mut out = Outcome::default();
    if let Some(k) = key {
        if !usage::first_receipt(conn, k, now)? {
            out.duplicate = true;
            return Ok(out);
        }
    }
    for ev in events {
        match ev {
            IngestEvent::Template(t) => {
                match account_for(conn, cache, resolver, None, Some(&t.waba_id), now)? {
                    Some(account) => {
                        if ledger::record_webhook(conn, account, t, now)? {
                            // It may have created the template a cached miss was about.
                            cache.templates.clear();
                            out.template_events += 1;
                        }
                    }
                    None => {
                        tracing::warn!(waba = %t.waba_id, "template webhook for a WABA no account covers; ignored");
                        out.unmatched += 1;
                    }
                }
            }
            IngestEvent::Number {
                waba_id,
                display_phone_number,
                event,
                limit,
            } => match account_for(conn, cache, resolver, None, Some(waba_id), now)? {
                Some(account) => {
                    use crate::db::models::numbers;
                    numbers::webhook_event(conn, account, display_phone_number, event, now)?;
                    if let Some(l) = limit {
                        numbers::set_limit(conn, account, l, now, "webhook")?;
                    }
                }
                None => out.unmatched += 1,
            },
            IngestEvent::Status(s) => {
                if !status(conn, cache, resolver, s, now)? {
                    out.unmatched += 1;
                }
                out.statuses += 1;
            }
            IngestEvent::Inbound {
                phone_number_id,
                from,
                user_id,
                at,
                replied_to,
                is_button,
            } => {
                let (from, user_id) = (from.as_deref(), user_id.as_deref());
                usage::touch_customer(conn, phone_number_id, from, user_id, *at)?;
                if let (Some(wamid), true) = (replied_to, is_button) {
                    let account =
                        account_for(conn, cache, resolver, Some(phone_number_id), None, now)?;
                    let who = from.or(user_id).unwrap_or_default();
                    click(conn, cache, account, phone_number_id, who, wamid, *at, now)?;
                }
                out.inbound += 1;
            }
        }
    }
    Ok(out)
}

fn account_for(
    conn: &mut Conn,
    cache: &mut Cache,
    resolver: &Resolver,
    pnid: Option<&str>,
    waba: Option<&str>,
    now: i64,
) -> QueryResult<Option<i32>> {
    let key = (
        pnid.unwrap_or("").to_string(),
        waba.unwrap_or("").to_string(),
    );
    if let Some(hit) = cache.accounts.get(&key) {
        return Ok(*hit);
    }
    let configured = pnid
        .and_then(|p| resolver.by_phone.get(p))
        .or_else(|| waba.and_then(|w| resolver.by_waba.get(w)));
    let found = match configured {
        Some((name, source)) => Some(accounts::ensure(conn, name, source, now)?),
        // Kapso accounts discover their WABAs: a template seen by sync names its account.
        None => match waba {
            Some(w) => tpl::account_of_waba(conn, w)?,
            None => None,
        },
    };
    cache.accounts.insert(key, found);
    Ok(found)
}

/// The progress after a status: the status's time where it was unset, plus what it implies
/// (read implies delivered implies sent). Nothing moves back. Each status is a fact recorded
/// once, whatever order the facts arrive in, so the counts do not depend on delivery order; a
/// failure is terminal in what the message shows, not in which facts are kept.
pub fn advance(old: &Progress, status: Delivery, at: i64) -> Progress {
    let mut p = old.clone();
    let set = |slot: &mut Option<i64>| {
        if slot.is_none() {
            *slot = Some(at);
        }
    };
    match status {
        Delivery::Sent => set(&mut p.sent_at),
        Delivery::Delivered => {
            set(&mut p.delivered_at);
            set(&mut p.sent_at);
        }
        Delivery::Read => {
            set(&mut p.read_at);
            set(&mut p.delivered_at);
            set(&mut p.sent_at);
        }
        Delivery::Failed => set(&mut p.failed_at),
    }
    p
}

fn resolve_template(
    conn: &mut Conn,
    cache: &mut Cache,
    account: Option<i32>,
    hint: &TemplateHint,
) -> QueryResult<Option<i32>> {
    let Some(account) = account else {
        return Ok(None);
    };
    if *hint == TemplateHint::Unknown {
        return Ok(None);
    }
    let key = (account, hint.clone());
    if let Some(hit) = cache.templates.get(&key) {
        return Ok(*hit);
    }
    let found = match hint {
        TemplateHint::Id(id) => tpl::find_by_id_or_name(conn, account, id, "", "")?,
        TemplateHint::NameLanguage(name, lang) => {
            tpl::find_by_id_or_name(conn, account, "", name, &normalize_language(lang))?
        }
        TemplateHint::Unknown => None,
    }
    .map(|r| r.id);
    cache.templates.insert(key, found);
    Ok(found)
}

/// Applies a status; `false` when the message's template is unknown (it is stored all the same).
fn status(
    conn: &mut Conn,
    cache: &mut Cache,
    resolver: &Resolver,
    s: &MessageStatus,
    now: i64,
) -> QueryResult<bool> {
    let error_code = s.error_code.and_then(|c| i32::try_from(c).ok());
    // `sent` is nearly always a message's first status: storing it as new straight away finds
    // out whether the wamid is known with the index lookup a SELECT would have made.
    if s.status == Delivery::Sent {
        if let Some(named) = new_message(conn, cache, resolver, s, error_code, now)? {
            return Ok(named);
        }
    }
    let existing = usage::by_wamid(conn, &s.wamid)?;
    match existing {
        // Unknown a moment ago, and this transaction holds the only write lock: it goes in.
        None => Ok(new_message(conn, cache, resolver, s, error_code, now)?.unwrap_or(false)),
        Some(m) => {
            let old = m.progress();
            let mut new = advance(&old, s.status, s.at);
            if s.status == Delivery::Failed && old.failed_at.is_none() {
                new.error_code = error_code;
                new.error_title = s.error_title.clone();
            }
            if new.category.is_none() {
                new.category = s.category.clone();
            }
            // A later payload may name the template the first one did not: count everything
            // the message had reached so far for it, once.
            let mut counted_from = old.clone();
            if new.template_row.is_none() {
                let template = resolve_template(conn, cache, m.account_id, &s.template)?;
                if template.is_some() {
                    new.template_row = template;
                    counted_from = Progress::default();
                } else if m.template_ref.is_none() {
                    if let Some(r) = s.template.reference() {
                        usage::set_template_ref(conn, m.id, &r)?;
                    }
                }
            }
            if new == old {
                return Ok(m.template_row.is_some());
            }
            // A stub left by an early click takes its day from its first status.
            let stub = old.sent_at.is_none()
                && old.delivered_at.is_none()
                && old.read_at.is_none()
                && old.failed_at.is_none();
            let day = if stub && old.template_row.is_none() {
                day_of(s.at)
            } else {
                m.day.clone()
            };
            if day != m.day {
                usage::set_day(conn, m.id, &day)?;
            }
            usage::update(conn, m.id, &new)?;
            if let Some(t) = new.template_row {
                let delta = Counts::between(&counted_from, &new);
                if delta.failed > 0 {
                    cache.error(t, &day, new.error_code);
                }
                cache.deliveries(
                    t,
                    &day,
                    &m.recipient,
                    new.category.as_deref(),
                    delta.delivered,
                );
                cache.count(t, &day, delta);
            }
            Ok(new.template_row.is_some())
        }
    }
}

/// Stores the first status of a message and counts it; `None` when the wamid is already
/// known (nothing changed), else whether the message's template is known.
fn new_message(
    conn: &mut Conn,
    cache: &mut Cache,
    resolver: &Resolver,
    s: &MessageStatus,
    error_code: Option<i32>,
    now: i64,
) -> QueryResult<Option<bool>> {
    let account = account_for(
        conn,
        cache,
        resolver,
        Some(&s.phone_number_id),
        s.waba_id.as_deref(),
        now,
    )?;
    let template = resolve_template(conn, cache, account, &s.template)?;
    let mut p = advance(&Progress::default(), s.status, s.at);
    if s.status == Delivery::Failed {
        p.error_code = error_code;
        p.error_title = s.error_title.clone();
    }
    let day = day_of(s.at);
    let stored = usage::insert_new(
        conn,
        &NewMessage {
            wamid: s.wamid.clone(),
            account_id: account,
            phone_number_id: s.phone_number_id.clone(),
            template_row: template,
            recipient: s.recipient.clone(),
            category: s.category.clone(),
            day: day.clone(),
            sent_at: p.sent_at,
            delivered_at: p.delivered_at,
            read_at: p.read_at,
            failed_at: p.failed_at,
            clicked_at: None,
            error_code: p.error_code,
            error_title: p.error_title.clone(),
            origin: s.origin.into(),
            created_at: now,
            template_ref: template.is_none().then(|| s.template.reference()).flatten(),
        },
    )?;
    if !stored {
        return Ok(None);
    }
    if let Some(t) = template {
        let delta = Counts::between(&Progress::default(), &p);
        if delta.failed > 0 {
            cache.error(t, &day, p.error_code);
        }
        cache.deliveries(
            t,
            &day,
            &s.recipient,
            s.category.as_deref(),
            delta.delivered,
        );
        cache.count(t, &day, delta);
    }
    Ok(Some(template.is_some()))
}

mod click;
use click::click;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod db_tests;
