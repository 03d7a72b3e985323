//! The shared test-app builder: a simulator, and templar's config built from the simulator's
//! field by field (never TOML glued from strings), with test defaults: fast retries, schedules
//! that never fire (tests sync when they mean to).

use toml::{Table, Value};

use super::{start_env, Env};
use templar::sim::SimOptions;

type Edit = Box<dyn FnOnce(&mut Table) + Send>;

/// A test instance to start.
pub struct App {
    opts: SimOptions,
    edits: Vec<Edit>,
}

impl App {
    /// `accounts` simulated WABAs with `templates` templates each.
    pub fn new(accounts: usize, templates: usize) -> App {
        App::with_sim(SimOptions {
            accounts,
            templates,
            ..SimOptions::default()
        })
    }

    /// A simulator with these options.
    pub fn with_sim(opts: SimOptions) -> App {
        App {
            opts,
            edits: Vec::new(),
        }
    }

    /// Changes the config table directly.
    pub fn edit(mut self, f: impl FnOnce(&mut Table) + Send + 'static) -> App {
        self.edits.push(Box::new(f));
        self
    }

    /// Sets a top-level key (`listen`, `public_url`, ...).
    pub fn set(self, key: &'static str, value: impl Into<Value>) -> App {
        let value = value.into();
        self.edit(move |t| {
            t.insert(key.into(), value);
        })
    }

    /// Sets `key` in the table `[section]`.
    pub fn section(self, section: &'static str, key: &'static str, value: impl Into<Value>) -> App {
        let value = value.into();
        self.edit(move |t| {
            table(t, section).insert(key.into(), value);
        })
    }

    /// Sets `key` of the `index`-th `[[account]]`.
    pub fn account(self, index: usize, key: &'static str, value: impl Into<Value>) -> App {
        let value = value.into();
        self.edit(move |t| {
            let accounts = t.get_mut("account").and_then(Value::as_array_mut);
            let account = accounts
                .and_then(|a| a.get_mut(index))
                .and_then(Value::as_table_mut)
                .expect("the simulator's config has that account");
            account.insert(key.into(), value);
        })
    }

    /// The dashboard's login token.
    pub fn dashboard_token(self, token: &str) -> App {
        self.section("dashboard", "token", token.to_string())
    }

    /// Adds a `[[notify]]` channel.
    pub fn notify(self, channel: Channel) -> App {
        self.push("notify", channel.0)
    }

    /// Adds a `[[report]]`.
    pub fn report(self, report: Table) -> App {
        self.push("report", report)
    }

    fn push(self, key: &'static str, entry: Table) -> App {
        self.edit(move |t| {
            let list = t
                .entry(key)
                .or_insert_with(|| Value::Array(vec![]))
                .as_array_mut()
                .expect("an array of tables");
            list.push(Value::Table(entry));
        })
    }

    /// Starts the simulator and opens the database.
    pub async fn start(self) -> Env {
        let edits = self.edits;
        start_env(self.opts, move |mut t| {
            // Fast retries and short timeouts so fault tests do not crawl; schedules that never
            // fire during a test.
            let sync = table(&mut t, "sync");
            sync.insert("retry_base_ms".into(), 20.into());
            sync.insert("request_timeout_secs".into(), 1.5.into());
            for key in ["schedule", "pending_schedule", "usage_schedule"] {
                sync.insert(key.into(), "0 0 1 1 *".into());
            }
            for edit in edits {
                edit(&mut t);
            }
            t
        })
        .await
    }
}

fn table<'a>(t: &'a mut Table, key: &str) -> &'a mut Table {
    t.entry(key)
        .or_insert_with(|| Value::Table(Table::new()))
        .as_table_mut()
        .expect("a table")
}

/// A `[[notify]]` channel.
pub struct Channel(Table);

impl Channel {
    fn new(name: &str, kind: &str) -> Channel {
        let mut t = Table::new();
        t.insert("name".into(), name.into());
        t.insert("kind".into(), kind.into());
        // A second between retries, so retry tests finish quickly.
        t.insert("retry_base_ms".into(), 1000.into());
        Channel(t)
    }

    /// A signed JSON webhook.
    pub fn webhook(name: &str, url: &str, secret: &str) -> Channel {
        Channel::new(name, "webhook")
            .with("url", url)
            .with("secret", secret)
    }

    /// A Slack-compatible incoming webhook.
    pub fn slack(name: &str, url: &str) -> Channel {
        Channel::new(name, "slack").with("url", url)
    }

    /// Email through the plain SMTP server on `port` of 127.0.0.1.
    pub fn email(name: &str, port: u16) -> Channel {
        Channel::new(name, "email")
            .with("smtp_host", "127.0.0.1")
            .with("smtp_port", i64::from(port))
            .with("smtp_tls", "none")
            .with("from", "templar@example.com")
            .with("to", vec!["team@example.com"])
    }

    /// Sets any other key (`events`, `accounts`, `templates`, `digest`, `max_attempts`, ...).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Channel {
        self.0.insert(key.into(), value.into());
        self
    }
}
