//! Loading and validating configs: every error names its key.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/cfg"), &no_env)
}

const META: &str = r#"
[[account]]
name = "acme"
source = "meta"
waba_id = "1"
token = "t"
"#;

#[test]
fn defaults_apply() {
    let c = parse(META).unwrap();
    assert_eq!(
        c.database,
        crate::db::Location::Sqlite(PathBuf::from("/cfg/templar.db"))
    );
    assert_eq!(c.sync.concurrency, 4);
    assert_eq!(c.accounts[0].base_url, "https://graph.facebook.com");
    assert_eq!(c.accounts[0].graph_version, "v26.0");
}

#[test]
fn bad_cron_names_the_key() {
    let e = parse(&format!("[sync]\nschedule = \"every day\"\n{META}")).unwrap_err();
    assert_eq!(e.key, "sync.schedule");
    assert!(e.message.contains("not a valid cron expression"), "{e}");
}

#[test]
fn five_and_six_field_cron() {
    let five = CronSchedule::parse("*/15 * * * *").unwrap();
    let six = CronSchedule::parse("30 */15 * * * *").unwrap();
    let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:01:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        five.next_after(t).unwrap().to_rfc3339(),
        "2026-01-01T00:15:00+00:00"
    );
    assert_eq!(
        six.next_after(t).unwrap().to_rfc3339(),
        "2026-01-01T00:15:30+00:00"
    );
}

#[test]
fn crontab_weekday_numbers() {
    // 2026-01-01 is a Thursday; "1" in crontab is Monday.
    let monday = CronSchedule::parse("0 8 * * 1").unwrap();
    let t = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        monday.next_after(t).unwrap().to_rfc3339(),
        "2026-01-05T08:00:00+00:00"
    );
    assert!(CronSchedule::parse("0 8 * * MON-FRI").is_ok());
}

#[test]
fn unknown_source_names_the_key() {
    let e = parse("[[account]]\nname = \"x\"\nsource = \"twilio\"\ntoken = \"t\"\n").unwrap_err();
    assert_eq!(e.key, "account[0].source");
    assert!(e.message.contains("twilio"));
}

#[test]
fn missing_secret_names_the_variable() {
    let e = parse("[[account]]\nname = \"x\"\nsource = \"meta\"\nwaba_id = \"1\"\ntoken_env = \"NOPE_TOKEN\"\n")
        .unwrap_err();
    assert_eq!(e.key, "account[0].token_env");
    assert!(e.message.contains("NOPE_TOKEN"));
}

#[test]
fn unknown_key_is_rejected() {
    let e = parse("[sync]\nschedul = \"* * * * *\"\n").unwrap_err();
    assert!(e.message.contains("schedul"), "{e}");
    assert_eq!(e.key, "sync.schedul");
}

#[test]
fn secrets_do_not_debug_print() {
    let c = parse(META).unwrap();
    assert!(!format!("{c:?}").contains("\"t\""));
}

#[test]
fn public_listen_needs_a_token() {
    let e = parse(&format!("listen = \"0.0.0.0:8080\"\n{META}")).unwrap_err();
    assert_eq!(e.key, "dashboard.token_env");
}

#[test]
fn a_secret_of_the_wrong_type_is_named_but_never_echoed() {
    for (text, key) in [
        ("[dashboard]\ntoken = 12345\n", "dashboard.token"),
        (
            "[webhooks.meta]\napp_secret = 987654321\nverify_token = \"v\"\n",
            "webhooks.meta.app_secret",
        ),
        (
            "[[account]]\nname = \"a\"\nsource = \"meta\"\ntoken = 55555\n",
            "account.token",
        ),
    ] {
        let e = parse(text).unwrap_err();
        assert_eq!(e.key, key, "{text}");
        let shown = e.to_string();
        for digits in ["12345", "987654321", "55555"] {
            assert!(!shown.contains(digits), "{shown}");
        }
        assert!(shown.contains("the value is not shown"), "{shown}");
    }
    // Other keys still say what they met.
    let e = parse("[sync]\nconcurrency = \"four\"\n").unwrap_err();
    assert!(
        e.to_string().contains("four") || e.to_string().contains("string"),
        "{e}"
    );
}

#[test]
fn an_unknown_key_named_like_a_secret_still_says_it_is_unknown() {
    let e = parse("[dashboard]\ntoken = \"t\"\n[[notify]]\nname = \"n\"\nkind = \"slack\"\nurl = \"http://x\"\ntoken = \"t\"\n")
        .unwrap_err();
    assert!(e.message.contains("unknown field `token`"), "{e}");
}

#[test]
fn a_public_url_other_machines_reach_needs_a_dashboard_token() {
    let e = parse(&format!(
        "public_url = \"https://templar.example.com\"\n{META}"
    ))
    .unwrap_err();
    assert_eq!(e.key, "dashboard.token_env");
    assert!(e.message.contains("public_url"), "{}", e.message);
    for local in [
        "http://localhost:9000",
        "http://127.0.0.1:8080",
        "http://[::1]:8080",
    ] {
        parse(&format!("public_url = \"{local}\"\n{META}")).unwrap();
    }
    parse(&format!(
        "public_url = \"https://templar.example.com\"\n[dashboard]\ntoken = \"t\"\n{META}"
    ))
    .unwrap();
}

#[test]
fn a_bad_log_format_names_where_it_came_from() {
    let e = parse(&format!("log_format = \"yaml\"\n{META}")).unwrap_err();
    assert_eq!(e.key, "log_format");
    let env = |k: &str| (k == "TEMPLAR_LOG_FORMAT").then(|| "xml".to_string());
    let e = Config::parse(META, Path::new("/cfg"), &env).unwrap_err();
    assert_eq!(e.key, "TEMPLAR_LOG_FORMAT");
    let json = |k: &str| (k == "TEMPLAR_LOG_FORMAT").then(|| "json".to_string());
    let c = Config::parse(META, Path::new("/cfg"), &json).unwrap();
    assert_eq!(c.log_format, LogFormat::Json);
}
