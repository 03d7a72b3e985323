//! The simulator's seeded catalog: WABAs, phone numbers and realistic templates in several
//! languages, categories and review states. Same seed, same catalog.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

/// Which API a simulated WABA is reached through in the written config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Meta,
    Kapso,
}

/// A simulated WhatsApp Business Account.
#[derive(Debug, Clone)]
pub struct SimWaba {
    pub id: String,
    /// Account name used in the written config.
    pub name: String,
    pub via: Via,
    /// Meta access token or Kapso API key that unlocks this WABA.
    pub credential: String,
    /// (phone_number_id, display number)
    pub phone_numbers: Vec<(String, String)>,
    /// How many template groups it has (two unless a test asks for more).
    pub template_groups: usize,
}

/// A simulated template.
#[derive(Debug, Clone)]
pub struct SimTemplate {
    pub id: String,
    pub waba: usize,
    pub name: String,
    pub language: String,
    pub category: String,
    pub previous_category: Option<String>,
    pub correct_category: Option<String>,
    pub status: String,
    pub quality: String,
    pub rejected_reason: Option<String>,
    pub parameter_format: String,
    pub components: Value,
    /// `components` serialized once: listing pages embed it without re-serializing.
    pub components_raw: Box<serde_json::value::RawValue>,
    /// Simulated second at which a PENDING template gets its verdict, and the verdict.
    pub review: Option<(i64, String)>,
    /// Served as a malformed record: with its id still readable (`Some(true)`) or not.
    pub corrupt: Option<bool>,
    pub deleted: bool,
    /// Simulated second of the latest pause (for unpausing after 3 h).
    pub paused_at: Option<i64>,
    pub pauses: u32,
    /// The status before the template was archived (UNARCHIVED returns to it).
    pub archived_from: Option<String>,
    /// A surge of one error code: (code, share of this template's messages that fail with it).
    pub surge: Option<(i64, f64)>,
    /// The share of its delivered messages that are read, when not the usual 62 %.
    pub reads: Option<f64>,
}

const NAMES: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "hooli",
    "stark",
    "wayne",
    "wonka",
    "tyrell",
    "cyberdyne",
    "soylent",
    "vandelay",
    "pied_piper",
    "massive",
    "oscorp",
    "gringotts",
    "monarch",
    "duff",
    "krusty",
    "prestige",
];
const TOPICS: &[(&str, &str)] = &[
    ("order", "UTILITY"),
    ("shipping", "UTILITY"),
    ("payment", "UTILITY"),
    ("appointment", "UTILITY"),
    ("delivery", "UTILITY"),
    ("invoice", "UTILITY"),
    ("booking", "UTILITY"),
    ("account", "UTILITY"),
    ("refund", "UTILITY"),
    ("subscription", "UTILITY"),
    ("welcome", "MARKETING"),
    ("promo", "MARKETING"),
    ("cart", "MARKETING"),
    ("loyalty", "MARKETING"),
    ("event", "MARKETING"),
    ("seasonal_sale", "MARKETING"),
    ("password", "AUTHENTICATION"),
    ("verification", "AUTHENTICATION"),
    ("login", "AUTHENTICATION"),
];
const KINDS: &[&str] = &[
    "confirmation",
    "update",
    "reminder",
    "alert",
    "notice",
    "receipt",
    "follow_up",
    "survey",
    "offer",
    "code",
];
const LANGUAGES: &[&str] = &[
    "en_US", "es", "pt_BR", "de", "fr", "it", "id", "hi", "ar", "en_GB",
];
const REJECTIONS: &[&str] = &[
    "INVALID_FORMAT",
    "PROMOTIONAL",
    "TAG_CONTENT_MISMATCH",
    "ABUSIVE_CONTENT",
    "INCORRECT_CATEGORY",
];

/// Builds the catalog for `accounts` WABAs of `templates` templates each.
pub fn generate(seed: u64, accounts: usize, templates: usize) -> (Vec<SimWaba>, Vec<SimTemplate>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut wabas = Vec::with_capacity(accounts);
    let mut all = Vec::with_capacity(accounts * templates);
    for w in 0..accounts {
        let via = if w % 2 == 0 { Via::Meta } else { Via::Kapso };
        let base = NAMES[w % NAMES.len()];
        let name = if w < NAMES.len() {
            base.to_string()
        } else {
            format!("{base}{}", w / NAMES.len() + 1)
        };
        let numbers = (0..1 + w % 2)
            .map(|p| {
                (
                    format!("1065403522{:05}", w * 10 + p),
                    format!("1555{:07}", 1_000_000 + w * 10 + p),
                )
            })
            .collect();
        wabas.push(SimWaba {
            id: format!("10229012{:07}", 9_340_398 + w),
            name,
            via,
            credential: match via {
                Via::Meta => format!("sim-meta-token-{w}-{:08x}", rng.random::<u32>()),
                Via::Kapso => format!("sim-kapso-key-{w}-{:08x}", rng.random::<u32>()),
            },
            phone_numbers: numbers,
            template_groups: 2,
        });
        for k in 0..templates {
            all.push(template(&mut rng, w, k, 0));
        }
    }
    (wabas, all)
}

/// One template: `k` is its index in the WABA, `now` the simulated second (for reviews).
pub fn template(rng: &mut ChaCha8Rng, waba: usize, k: usize, now: i64) -> SimTemplate {
    let (topic, category) = TOPICS[k % TOPICS.len()];
    let kind = KINDS[(k / TOPICS.len()) % KINDS.len()];
    let round = k / (TOPICS.len() * KINDS.len());
    let name = if round == 0 {
        format!("{topic}_{kind}")
    } else {
        format!("{topic}_{kind}_v{}", round + 1)
    };
    let language = (*LANGUAGES.choose(rng).unwrap_or(&"en_US")).to_string();
    let roll: f64 = rng.random();
    let status = match roll {
        r if r < 0.70 => "APPROVED",
        r if r < 0.80 => "PENDING",
        r if r < 0.88 => "REJECTED",
        r if r < 0.92 => "PAUSED",
        r if r < 0.95 => "DISABLED",
        r if r < 0.97 => "IN_APPEAL",
        _ => "ARCHIVED",
    };
    let quality = match status {
        "PENDING" | "IN_APPEAL" | "REJECTED" => "UNKNOWN",
        "PAUSED" | "DISABLED" => "RED",
        _ => match rng.random::<f64>() {
            r if r < 0.78 => "GREEN",
            r if r < 0.92 => "YELLOW",
            r if r < 0.96 => "RED",
            _ => "UNKNOWN",
        },
    };
    // Authentication bodies are Meta's fixed `{{1}} is your verification code`: never named.
    // (The draw stays, so every other template of a seed is what it was.)
    let named = rng.random_bool(0.4) && category != "AUTHENTICATION";
    let review = (status == "PENDING" || status == "IN_APPEAL").then(|| {
        let at = now + rng.random_range(2 * 3600..48 * 3600);
        let verdict = if rng.random_bool(0.8) {
            "APPROVED"
        } else {
            "REJECTED"
        };
        (at, verdict.to_string())
    });
    let comps = components(rng, topic, kind, category, named);
    let recategorised = category == "UTILITY" && status == "APPROVED" && rng.random_bool(0.03);
    SimTemplate {
        id: format!(
            "{}",
            1_100_000_000_000_000u64 + (waba as u64) * 1_000_000 + k as u64
        ),
        waba,
        name: name.clone(),
        language,
        category: if recategorised {
            "MARKETING".into()
        } else {
            category.into()
        },
        previous_category: recategorised.then(|| "UTILITY".into()),
        correct_category: None,
        status: status.into(),
        quality: quality.into(),
        rejected_reason: (status == "REJECTED")
            .then(|| (*REJECTIONS.choose(rng).unwrap_or(&"INVALID_FORMAT")).to_string()),
        parameter_format: if named { "NAMED" } else { "POSITIONAL" }.into(),
        components_raw: serde_json::value::to_raw_value(&comps)
            .unwrap_or_else(|_| serde_json::value::RawValue::NULL.to_owned()),
        components: comps,
        review,
        corrupt: None,
        archived_from: None,
        surge: None,
        reads: None,
        deleted: false,
        paused_at: None,
        pauses: u32::from(status == "PAUSED"),
    }
}

fn components(rng: &mut ChaCha8Rng, topic: &str, kind: &str, category: &str, named: bool) -> Value {
    let topic_words = topic.replace('_', " ");
    if category == "AUTHENTICATION" {
        return json!([
            {"type": "BODY", "text": "{{1}} is your verification code. For your security, do not share this code.",
             "example": {"body_text": [["482913"]]}},
            {"type": "FOOTER", "text": "This code expires in 10 minutes."},
            {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Copy code", "url": "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}", "example": ["https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp482913"]}]}
        ]);
    }
    let (body, example) = if named {
        (
            format!("Hi {{{{first_name}}}}, your {topic_words} {kind} is ready: {{{{reference}}}}. Reply if you have any questions."),
            json!({"body_text_named_params": [
                {"param_name": "first_name", "example": "Maria"},
                {"param_name": "reference", "example": "ORD-12345"}]}),
        )
    } else {
        (
            format!("Hi {{{{1}}}}, your {topic_words} {kind} is ready: {{{{2}}}}. Reply if you have any questions."),
            json!({"body_text": [["Maria", "ORD-12345"]]}),
        )
    };
    let mut out = vec![];
    if rng.random_bool(0.5) {
        out.push(json!({"type": "HEADER", "format": "TEXT", "text": format!("Your {topic_words} {kind}")}));
    }
    out.push(json!({"type": "BODY", "text": body, "example": example}));
    if rng.random_bool(0.6) {
        out.push(json!({"type": "FOOTER", "text": "Reply STOP to opt out"}));
    }
    match rng.random_range(0..3) {
        0 => out.push(json!({"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "View details", "url": "https://shop.example.com/orders/{{1}}", "example": ["https://shop.example.com/orders/12345"]},
            {"type": "QUICK_REPLY", "text": "Talk to us"}]})),
        1 => out.push(json!({"type": "BUTTONS", "buttons": [
            {"type": "QUICK_REPLY", "text": "Yes"}, {"type": "QUICK_REPLY", "text": "No"}]})),
        _ => {}
    }
    Value::Array(out)
}
