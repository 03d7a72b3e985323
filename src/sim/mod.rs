//! The built-in simulator: a faithful, seeded fake of Meta's Graph API and Kapso's proxy and
//! Platform API on a local port, with a control API under `/_sim/` to move simulated time, force
//! transitions and inject faults. Tests, benchmarks and `templar demo` run against it.

mod analytics;
pub mod catalog;
mod checks;
mod components;
pub mod groups;
mod inbound;
mod library;
mod manage;
pub mod numbers;
mod routes;
pub mod traffic;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use catalog::{SimTemplate, SimWaba, Via};
pub use traffic::{user_id_of, DayStats, SimMessage, Webhook};

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    pub accounts: usize,
    pub templates: usize,
    pub seed: u64,
    pub latency: Duration,
    /// Probability that an API request gets a fault (429, 500, timeout or truncated body).
    pub fault_rate: f64,
    /// templar's base URL: signed webhooks go to `{url}/webhooks/meta` and `/webhooks/kapso`.
    pub webhook_url: Option<String>,
    /// Most messages a WABA sends per simulated hour.
    pub messages_per_hour: u32,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            accounts: 4,
            templates: 120,
            seed: 42,
            latency: Duration::ZERO,
            fault_rate: 0.0,
            webhook_url: None,
            messages_per_hour: 16,
        }
    }
}

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    /// 429 with `Retry-After: 1` and a usage header at 100 %.
    #[serde(rename = "429")]
    RateLimit,
    /// 500 with Graph's transient error envelope.
    #[serde(rename = "500")]
    ServerError,
    /// No answer for a minute.
    #[serde(rename = "timeout")]
    Timeout,
    /// 200 with the JSON body cut in half.
    #[serde(rename = "truncated")]
    Truncated,
    /// 429 with `Retry-After: 0` (only if asked for).
    #[serde(rename = "429_zero")]
    RetryAfterZero,
    /// 429 with `Retry-After: inf` (only if asked for).
    #[serde(rename = "429_inf")]
    RetryAfterInfinite,
    /// 429 with `Retry-After: 1e20` (only if asked for).
    #[serde(rename = "429_huge")]
    RetryAfterHuge,
    /// 429 with no `Retry-After` and `estimated_time_to_regain_access` of 2^62 minutes (only
    /// if asked for).
    #[serde(rename = "429_regain")]
    RegainHuge,
    /// 400 with 131056: too many messages to the same customer (only if asked for).
    #[serde(rename = "131056")]
    PairRate,
    /// 400 with 130429: the number's throughput is exhausted (only if asked for).
    #[serde(rename = "130429")]
    Throughput,
}

const ALL_FAULTS: [Fault; 4] = [
    Fault::RateLimit,
    Fault::ServerError,
    Fault::Timeout,
    Fault::Truncated,
];

/// Fault settings, changeable at run time through `POST /_sim/faults`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Faults {
    /// Random faults at this rate, of the kinds in `kinds` (all kinds when empty).
    #[serde(default)]
    pub rate: f64,
    #[serde(default)]
    pub kinds: Vec<Fault>,
    /// Deterministic faults: the next API requests get these, in order.
    #[serde(default)]
    pub next: Vec<Fault>,
    /// Template listings page with a broken cursor.
    #[serde(default)]
    pub cursor: Option<CursorFault>,
}

/// A template listing whose cursor misbehaves (both keep `paging.next`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CursorFault {
    /// Every page after the first answers with the `after` cursor it was asked for.
    Stuck,
    /// From the third page on, the cursor goes back to the second: A, B, A, B…
    Cycle,
}

/// Shared simulator state.
pub struct World {
    pub wabas: Vec<SimWaba>,
    pub templates: Vec<SimTemplate>,
    pub by_id: HashMap<String, usize>,
    /// Template indices per WABA, in listing order.
    pub by_waba: Vec<Vec<usize>>,
    /// Simulated seconds since start.
    pub clock: i64,
    /// Wall-clock unix second the simulation started at.
    pub epoch: i64,
    pub rng: ChaCha8Rng,
    pub faults: Faults,
    pub latency: Duration,
    pub stats: Stats,
    /// Every message sent so far.
    pub messages: Vec<SimMessage>,
    /// Meta-style analytics per (template index, day midnight).
    pub analytics: HashMap<(usize, i64), DayStats>,
    /// Webhooks not yet posted (or, without a webhook URL, not yet taken by a test).
    pub outbox: Vec<Webhook>,
    /// Upper bound of messages per WABA per simulated hour.
    pub messages_per_hour: u32,
    /// Last inbound message per (phone_number_id, wa_id): the 24-hour window.
    pub inbound: HashMap<(String, String), i64>,
    /// Phone number health that moved from its start (GREEN, APPROVED, STANDARD, TIER_2K).
    pub numbers: HashMap<String, numbers::SimNumber>,
}

/// What the simulator has been asked, for tests and benchmarks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub meta_requests: u64,
    pub kapso_requests: u64,
    pub unauthorized: u64,
    pub faults_injected: u64,
    /// Largest `limit` seen on a template listing.
    pub max_limit: u64,
    /// Most template ids asked for in one `template_analytics` call.
    pub max_template_ids: u64,
    /// Messages accepted by `POST /{phone_number_id}/messages`.
    pub sends: u64,
    /// Sends refused (closed window, template not approved, parameters wrong).
    pub refused_sends: u64,
    pub templates_created: u64,
    pub templates_edited: u64,
    pub templates_deleted: u64,
}

/// A running simulator.
#[derive(Clone)]
pub struct Sim {
    pub world: Arc<Mutex<World>>,
    pub addr: SocketAddr,
    /// Posts queued webhooks in order, when a webhook URL is set.
    sender: Option<tokio::sync::mpsc::UnboundedSender<Vec<Webhook>>>,
}

impl World {
    fn new(opts: &SimOptions, epoch: i64) -> World {
        let (wabas, templates) = catalog::generate(opts.seed, opts.accounts, opts.templates);
        let mut by_waba = vec![Vec::new(); wabas.len()];
        let mut by_id = HashMap::with_capacity(templates.len());
        for (i, t) in templates.iter().enumerate() {
            by_waba[t.waba].push(i);
            by_id.insert(t.id.clone(), i);
        }
        World {
            wabas,
            templates,
            by_id,
            by_waba,
            clock: 0,
            epoch,
            rng: ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5eed),
            faults: Faults {
                rate: opts.fault_rate,
                ..Default::default()
            },
            latency: opts.latency,
            stats: Stats::default(),
            messages: Vec::new(),
            analytics: HashMap::new(),
            outbox: Vec::new(),
            messages_per_hour: opts.messages_per_hour.max(2),
            inbound: HashMap::new(),
            numbers: HashMap::new(),
        }
    }

    /// The simulated unix time.
    pub fn now(&self) -> i64 {
        self.epoch + self.clock
    }

    /// Picks the fault for the next API request, if any.
    fn next_fault(&mut self) -> Option<Fault> {
        if !self.faults.next.is_empty() {
            self.stats.faults_injected += 1;
            return Some(self.faults.next.remove(0));
        }
        if self.faults.rate > 0.0 && self.rng.random_bool(self.faults.rate.min(1.0)) {
            let kinds: &[Fault] = if self.faults.kinds.is_empty() {
                &ALL_FAULTS
            } else {
                &self.faults.kinds
            };
            self.stats.faults_injected += 1;
            return Some(kinds[self.rng.random_range(0..kinds.len())]);
        }
        None
    }

    /// Sets a template's status as Meta would, returning whether anything changed.
    pub fn set_status(&mut self, idx: usize, status: &str, reason: Option<String>) -> bool {
        let now = self.clock;
        let t = &mut self.templates[idx];
        if t.status == status {
            return false;
        }
        if status == "ARCHIVED" {
            t.archived_from = Some(t.status.clone());
        }
        t.status = status.to_string();
        t.review = None;
        match status {
            "REJECTED" => {
                t.rejected_reason = Some(reason.unwrap_or_else(|| "INVALID_FORMAT".into()));
            }
            "PAUSED" => {
                t.paused_at = Some(now);
                t.pauses += 1;
                t.rejected_reason = None;
            }
            _ => t.rejected_reason = None,
        }
        if status == "APPROVED" && t.quality.is_empty() {
            t.quality = "UNKNOWN".into();
        }
        self.announce_template(idx, "message_template_status_update", None);
        true
    }

    /// Moves simulated time forward: reviews conclude, paused templates resume, quality drifts,
    /// and now and then a WABA submits a new template.
    pub fn advance(&mut self, seconds: i64) -> Vec<usize> {
        let target = self.clock + seconds.max(0);
        let mut changed = Vec::new();
        // Step an hour at a time so that time-dependent effects interleave like real ones.
        while self.clock < target {
            let hour_start = self.now();
            self.clock = (self.clock + 3600).min(target);
            let now = self.clock;
            if self.clock - (hour_start - self.epoch) == 3600 {
                self.traffic(hour_start);
            }
            for i in 0..self.templates.len() {
                let t = &self.templates[i];
                if t.deleted {
                    continue;
                }
                if let Some((at, verdict)) = t.review.clone() {
                    if at <= now {
                        let reason = (verdict == "REJECTED").then(|| "PROMOTIONAL".to_string());
                        if self.set_status(i, &verdict, reason) {
                            changed.push(i);
                        }
                    }
                } else if t.status == "PAUSED" {
                    let hours = if t.pauses <= 1 { 3 } else { 6 };
                    if t.paused_at.is_some_and(|p| now - p >= hours * 3600) {
                        self.templates[i].quality = "YELLOW".into();
                        if self.set_status(i, "APPROVED", None) {
                            changed.push(i);
                        }
                    }
                } else if t.status == "APPROVED" && self.rng.random_bool(0.0004) {
                    let t = &mut self.templates[i];
                    let next = match t.quality.as_str() {
                        "GREEN" | "UNKNOWN" => Some("YELLOW"),
                        "YELLOW" => Some("RED"),
                        _ => None,
                    };
                    match next {
                        Some(q) => {
                            let previous = std::mem::replace(&mut t.quality, q.into());
                            self.announce_template(
                                i,
                                "message_template_quality_update",
                                Some(&previous),
                            );
                        }
                        None => {
                            let status = if t.pauses >= 2 { "DISABLED" } else { "PAUSED" };
                            self.set_status(i, status, None);
                        }
                    }
                    changed.push(i);
                }
            }
            for w in 0..self.wabas.len() {
                if self.rng.random_bool(0.02) {
                    let k = self.by_waba[w].len();
                    let mut t = catalog::template(&mut self.rng, w, k, now);
                    t.status = "PENDING".into();
                    t.quality = "UNKNOWN".into();
                    t.rejected_reason = None;
                    let at = now + self.rng.random_range(2 * 3600..30 * 3600);
                    t.review = Some((
                        at,
                        if self.rng.random_bool(0.85) {
                            "APPROVED"
                        } else {
                            "REJECTED"
                        }
                        .into(),
                    ));
                    let idx = self.templates.len();
                    self.by_id.insert(t.id.clone(), idx);
                    self.by_waba[w].push(idx);
                    self.templates.push(t);
                    changed.push(idx);
                }
            }
        }
        changed
    }
}

impl Sim {
    /// Starts the simulator on `listener`; it runs until the process ends.
    pub async fn start(
        opts: SimOptions,
        listener: tokio::net::TcpListener,
        epoch: i64,
    ) -> std::io::Result<Sim> {
        let addr = listener.local_addr()?;
        let world = Arc::new(Mutex::new(World::new(&opts, epoch)));
        let sender = opts.webhook_url.clone().map(|url| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(post_webhooks(url.trim_end_matches('/').to_string(), rx));
            tx
        });
        let sim = Sim {
            world,
            addr,
            sender,
        };
        let app = routes::router(sim.clone());
        // Without TCP_NODELAY, Nagle holds back the tail of each large page until the client
        // ACKs, adding milliseconds to every request.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!("simulator stopped: {e}");
            }
        });
        Ok(sim)
    }

    /// Moves simulated time forward and sends what it produced; returns the templates changed.
    pub fn advance(&self, seconds: i64) -> usize {
        let changed = self.world().advance(seconds).len();
        self.flush();
        changed
    }

    /// Hands queued webhooks to the sender (kept queued when there is no webhook URL).
    pub fn flush(&self) {
        if let Some(tx) = &self.sender {
            let batch = std::mem::take(&mut self.world().outbox);
            if !batch.is_empty() {
                let _ = tx.send(batch);
            }
        }
    }

    /// Takes the queued webhooks (for tests that post them themselves).
    pub fn take_webhooks(&self) -> Vec<Webhook> {
        std::mem::take(&mut self.world().outbox)
    }

    /// The base URL, e.g. `http://127.0.0.1:4010`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Locks the world (a poisoned lock is still usable: the state is plain data).
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A complete templar config pointing at this simulator, database beside the config.
    pub fn config_toml(&self) -> String {
        let w = self.world();
        let mut out = String::from(
            "# Written by `templar simulate`: every account points at the built-in simulator.\n\
             database = \"templar.db\"\nlisten = \"127.0.0.1:8080\"\n\n\
             [sync]\nschedule = \"*/15 * * * *\"\npending_schedule = \"*/2 * * * *\"\n\
             usage_schedule = \"5 * * * *\"\nconcurrency = 4\npage_size = 100\n",
        );
        for waba in &w.wabas {
            let numbers: Vec<String> = waba
                .phone_numbers
                .iter()
                .map(|(id, _)| format!("\"{id}\""))
                .collect();
            out.push_str(&format!(
                "\n[[account]]\nname = \"{}\"\nphone_number_ids = [{}]\nbase_url = \"{}\"\n",
                waba.name,
                numbers.join(", "),
                self.url()
            ));
            match waba.via {
                Via::Meta => out.push_str(&format!(
                    "source = \"meta\"\nwaba_id = \"{}\"\ntoken = \"{}\"\n",
                    waba.id, waba.credential
                )),
                // Kapso accounts leave out waba_id: templar discovers it from the phone numbers.
                Via::Kapso => out.push_str(&format!(
                    "source = \"kapso\"\napi_key = \"{}\"\n",
                    waba.credential
                )),
            }
        }
        out.push_str(&format!(
            "\n[webhooks.meta]\napp_secret = \"{META_APP_SECRET}\"\nverify_token = \"{META_VERIFY_TOKEN}\"\n\n\
             [webhooks.kapso]\nsecret = \"{KAPSO_WEBHOOK_SECRET}\"\n"
        ));
        out
    }

    /// Writes [`Sim::config_toml`] to `path`.
    pub fn write_config(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.config_toml())
    }
}

/// Posts webhooks in order; a refused one is retried a few times, like Meta and Kapso do.
async fn post_webhooks(base: String, mut rx: tokio::sync::mpsc::UnboundedReceiver<Vec<Webhook>>) {
    let client = reqwest::Client::new();
    while let Some(batch) = rx.recv().await {
        for hook in batch {
            for attempt in 0..5u64 {
                let mut req = client
                    .post(format!("{base}{}", hook.path()))
                    .header("content-type", "application/json");
                for (k, v) in hook.headers() {
                    req = req.header(k, v);
                }
                match req.body(hook.body.clone()).send().await {
                    Ok(r) if r.status().is_success() => break,
                    Ok(r) => tracing::debug!("webhook refused with {}; retrying", r.status()),
                    Err(e) => tracing::debug!("webhook not delivered ({e}); retrying"),
                }
                tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
            }
        }
    }
}

/// The app secret the simulator signs Meta webhooks with.
pub const META_APP_SECRET: &str = "sim-meta-app-secret";
/// The verify token in the simulator's config.
pub const META_VERIFY_TOKEN: &str = "sim-verify-token";
/// The secret the simulator signs Kapso webhooks with.
pub const KAPSO_WEBHOOK_SECRET: &str = "sim-kapso-webhook-secret";
