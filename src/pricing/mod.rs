//! What a template message costs where Meta does not say: a rate card of (category, market,
//! rate, currency, valid from), the market of a recipient, and estimates from observed sends.
//! Meta charges per delivered template message since 2025-07-01, by the template's pricing
//! category and the recipient's market (reference/meta-api.md, "2026").
//!
//! The default card is compiled in (`rate_card.csv`, its header says where its figures come
//! from and what it lacks); `rate_card = "FILE.csv"` in the config replaces it. Costs Meta's
//! template analytics report are `reported`; costs from the card are `estimated`.

use std::sync::{Arc, OnceLock, RwLock};

use chrono::NaiveDate;

mod markets;
pub use markets::{country_of, market_of};

/// The card templar ships.
pub const DEFAULT_CARD: &str = include_str!("rate_card.csv");

/// Meta's pricing categories a card may price.
pub const CATEGORIES: &[&str] = &[
    "MARKETING",
    "UTILITY",
    "AUTHENTICATION",
    "AUTHENTICATION_INTERNATIONAL",
    "SERVICE",
];

/// One rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub category: String,
    pub market: String,
    pub rate: f64,
    pub valid_from: NaiveDate,
}

/// A rate card: every rate in one currency.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCard {
    pub currency: String,
    pub rates: Vec<Rate>,
    /// Where it came from: `built-in` or the file's path.
    pub origin: String,
}

impl RateCard {
    /// Parses a card; errors name the line.
    pub fn parse(text: &str, origin: &str) -> Result<RateCard, String> {
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| e.to_string())?.clone();
        let want = ["category", "market", "rate", "currency", "valid_from"];
        let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let cols: Vec<usize> = want
            .iter()
            .map(|w| col(w).ok_or_else(|| format!("no `{w}` column; expected {}", want.join(","))))
            .collect::<Result<_, _>>()?;
        let mut rates = Vec::new();
        let mut currency: Option<String> = None;
        for (i, rec) in reader.records().enumerate() {
            let rec = rec.map_err(|e| e.to_string())?;
            let line = rec.position().map_or(i as u64 + 2, |p| p.line());
            let get = |c: usize| rec.get(cols[c]).unwrap_or("").to_string();
            let at = |m: String| format!("line {line}: {m}");
            let category = get(0).to_ascii_uppercase();
            if !CATEGORIES.contains(&category.as_str()) {
                return Err(at(format!(
                    "unknown category `{category}`; expected one of {}",
                    CATEGORIES.join(", ")
                )));
            }
            let market = get(1);
            if market.is_empty() {
                return Err(at("empty market".into()));
            }
            let rate: f64 = get(2)
                .parse()
                .ok()
                .filter(|r: &f64| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| at(format!("`{}` is not a rate (a number, 0 or more)", get(2))))?;
            let cur = get(3).to_ascii_uppercase();
            if cur.len() != 3 || !cur.chars().all(|c| c.is_ascii_alphabetic()) {
                return Err(at(format!("`{cur}` is not a currency code like USD")));
            }
            match &currency {
                Some(c) if *c != cur => {
                    return Err(at(format!(
                        "currency {cur}, but the card is in {c}: one currency per card"
                    )))
                }
                _ => currency = Some(cur),
            }
            let valid_from = NaiveDate::parse_from_str(&get(4), "%Y-%m-%d")
                .map_err(|_| at(format!("`{}` is not a date like 2026-07-01", get(4))))?;
            rates.push(Rate {
                category,
                market,
                rate,
                valid_from,
            });
        }
        let currency = currency.ok_or("no rates in the card")?;
        Ok(RateCard {
            currency,
            rates,
            origin: origin.into(),
        })
    }

    /// The rate of one message of `category` to `market` sent on `day`: the newest rate valid
    /// that day for the market, else for `Other`. AUTHENTICATION_INTERNATIONAL falls back to
    /// AUTHENTICATION.
    pub fn rate(&self, category: &str, market: &str, day: NaiveDate) -> Option<f64> {
        let find = |cat: &str, m: &str| {
            self.rates
                .iter()
                .filter(|r| r.category == cat && r.market == m && r.valid_from <= day)
                .max_by_key(|r| r.valid_from)
                .map(|r| r.rate)
        };
        let cat = |c: &str| find(c, market).or_else(|| find(c, "Other"));
        cat(category).or_else(|| {
            (category == "AUTHENTICATION_INTERNATIONAL")
                .then(|| cat("AUTHENTICATION"))
                .flatten()
        })
    }
}

fn slot() -> &'static RwLock<Arc<RateCard>> {
    static CARD: OnceLock<RwLock<Arc<RateCard>>> = OnceLock::new();
    CARD.get_or_init(|| {
        #[expect(clippy::expect_used, reason = "the built-in card is tested to parse")]
        let card = RateCard::parse(DEFAULT_CARD, "built-in").expect("the built-in card parses");
        RwLock::new(Arc::new(card))
    })
}

/// The card in use: the built-in one until a config names another.
pub fn card() -> Arc<RateCard> {
    slot()
        .read()
        .map(|c| c.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

/// Uses `card` from now on (config load).
pub fn install(card: RateCard) {
    let mut w = slot().write().unwrap_or_else(|e| e.into_inner());
    *w = Arc::new(card);
}

/// What a status webhook's `pricing` object says the message is charged as: Meta's
/// `pricing.category`, or [`FREE`] when Meta says it does not charge for it (`billable:
/// false`, or a `free_…` type: `free_customer_service`, `free_entry_point`). Estimates leave
/// free messages out, whatever the card. [I] Meta marks utility templates sent inside the
/// 24-hour window this way until 2026-10-01 and charges them after: the flag, not a date rule,
/// decides. Webhook parsers (Meta's and Kapso's relay) read it here, once.
pub fn charged_category(pricing: Option<&serde_json::Value>) -> Option<String> {
    let p = pricing?;
    let free = p.get("billable").and_then(serde_json::Value::as_bool) == Some(false)
        || p.get("type")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("free"));
    if free {
        return Some(FREE.into());
    }
    p.get("category")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string)
}

/// The pricing category of a message Meta does not charge for; no card prices it.
pub const FREE: &str = "FREE";

/// Observed sends to price: (day, recipient country, pricing category as Meta said it or
/// empty, the template's category, sends).
pub type Sends<'a> = (&'a str, &'a str, &'a str, &'a str, i64);

/// What `sends` cost by `card`, and how many sends it could not price.
pub fn estimate<'a>(card: &RateCard, sends: impl IntoIterator<Item = Sends<'a>>) -> (f64, i64) {
    let mut cost = 0.0;
    let mut unpriced = 0;
    for (day, country, said, category, n) in sends {
        let category = if said.is_empty() { category } else { said };
        let category = category.to_ascii_uppercase().replace('-', "_");
        let rate = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .ok()
            .and_then(|d| card.rate(&category, market_of(country), d));
        match rate {
            Some(r) => cost += r * n as f64,
            None => unpriced += n,
        }
    }
    (cost, unpriced)
}

/// What moving a template from category `from` to `to` does to its cost over 30 days, at the
/// volume of its last 30 days (`sends` by recipient country), priced on `day`: the change in
/// the card's currency, `None` without sends or rates.
pub fn monthly_change(
    card: &RateCard,
    sends: &[(String, i64)],
    from: &str,
    to: &str,
    day: NaiveDate,
) -> Option<f64> {
    let mut change = 0.0;
    let mut priced = 0;
    for (country, n) in sends {
        let market = market_of(country);
        if let (Some(a), Some(b)) = (card.rate(from, market, day), card.rate(to, market, day)) {
            change += (b - a) * *n as f64;
            priced += n;
        }
    }
    (priced > 0).then_some(change)
}

/// [`monthly_change`] in words: `+12.34 USD a month at the last 30 days' 1,200 sends
/// (estimated)`.
pub fn monthly_change_text(card: &RateCard, sends: &[(String, i64)], change: f64) -> String {
    let n: i64 = sends.iter().map(|(_, n)| n).sum();
    let sign = if change >= 0.0 { "+" } else { "−" };
    format!(
        "{sign}{:.2} {} a month at the last 30 days' {n} delivered messages (estimated from the rate card)",
        change.abs(),
        card.currency
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_meta_does_not_charge_for_are_never_priced() {
        use serde_json::json;
        let charged = |p: serde_json::Value| charged_category(Some(&p));
        let regular = json!({"billable": true, "pricing_model": "PMP", "type": "regular", "category": "utility"});
        assert_eq!(charged(regular).as_deref(), Some("utility"));
        let in_window = json!({"billable": false, "pricing_model": "PMP", "type": "free_customer_service", "category": "utility"});
        assert_eq!(charged(in_window).as_deref(), Some(FREE));
        let entry_point =
            json!({"pricing_model": "PMP", "type": "FREE_ENTRY_POINT", "category": "marketing"});
        assert_eq!(charged(entry_point).as_deref(), Some(FREE));
        assert_eq!(charged_category(None), None);
        let card = card();
        let (cost, unpriced) = estimate(&card, [("2026-09-01", "BR", FREE, "UTILITY", 10)]);
        assert_eq!((cost, unpriced), (0.0, 10));
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn the_built_in_card_parses_and_prices_every_category_in_other() {
        let card = RateCard::parse(DEFAULT_CARD, "built-in").unwrap();
        assert_eq!(card.currency, "USD");
        for c in ["MARKETING", "UTILITY", "AUTHENTICATION"] {
            assert!(card.rate(c, "Nowhere", day("2026-06-01")).is_some(), "{c}");
        }
        assert_eq!(
            card.rate("MARKETING", "India", day("2026-06-01")),
            Some(0.0118)
        );
        assert_eq!(card.rate("MARKETING", "India", day("2025-12-31")), None);
    }

    #[test]
    fn the_newest_valid_rate_wins_and_estimates_use_the_said_category() {
        let card = RateCard::parse(
            "category,market,rate,currency,valid_from\n\
             MARKETING,India,0.01,USD,2026-01-01\n\
             MARKETING,India,0.02,USD,2026-07-01\n\
             UTILITY,Other,0.001,USD,2026-01-01\n",
            "test",
        )
        .unwrap();
        assert_eq!(
            card.rate("MARKETING", "India", day("2026-06-30")),
            Some(0.01)
        );
        assert_eq!(
            card.rate("MARKETING", "India", day("2026-07-01")),
            Some(0.02)
        );
        let (cost, unpriced) = estimate(
            &card,
            [
                ("2026-07-02", "IN", "", "MARKETING", 10),
                ("2026-07-02", "IN", "utility", "MARKETING", 100),
                ("2026-07-02", "BR", "", "MARKETING", 3),
            ],
        );
        assert!((cost - (0.2 + 0.1)).abs() < 1e-9, "{cost}");
        assert_eq!(unpriced, 3);
    }

    #[test]
    fn a_category_change_is_priced_per_market_at_recent_volume() {
        let card = RateCard::parse(DEFAULT_CARD, "built-in").unwrap();
        let sends = vec![("IN".to_string(), 100), ("US".to_string(), 10)];
        let change = monthly_change(&card, &sends, "UTILITY", "MARKETING", day("2026-11-30"));
        let want = 100.0 * (0.0118 - 0.0014) + 10.0 * (0.0250 - 0.0034);
        assert!((change.unwrap() - want).abs() < 1e-9);
        assert_eq!(
            monthly_change_text(&card, &sends, want),
            "+1.26 USD a month at the last 30 days' 110 delivered messages (estimated from the rate card)"
        );
        assert_eq!(
            monthly_change(&card, &[], "UTILITY", "MARKETING", day("2026-11-30")),
            None
        );
    }

    #[test]
    fn a_bad_card_names_the_line() {
        let bad = |body: &str| {
            RateCard::parse(
                &format!("category,market,rate,currency,valid_from\n{body}"),
                "t",
            )
            .unwrap_err()
        };
        assert!(bad("PROMO,India,0.1,USD,2026-01-01").starts_with("line 2: unknown category"));
        assert!(bad("MARKETING,India,-1,USD,2026-01-01").contains("not a rate"));
        assert!(
            bad("MARKETING,India,0.1,USD,2026-01-01\nUTILITY,India,0.1,EUR,2026-01-01")
                .starts_with("line 3: currency EUR")
        );
        assert!(bad("MARKETING,India,0.1,USD,1 July").contains("not a date"));
        assert!(RateCard::parse("market,rate\n", "t")
            .unwrap_err()
            .contains("no `category`"));
    }
}
