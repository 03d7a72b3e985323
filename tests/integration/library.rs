//! Meta's Template Library: `templates library` searches it (Meta and Kapso accounts alike),
//! and `templates create --from-library` checks the request locally (name, language, the button
//! inputs the library template needs) before creating it, approved, in the account.

use serde_json::Value;

use crate::common::{self, App};

#[tokio::test(flavor = "multi_thread")]
async fn library_templates_are_found_and_created_after_local_checks() {
    let env = App::new(2, 10).start().await;
    env.sync().await;

    // Search, as JSON and for people.
    let out = env.cli(&["templates", "library", "--search", "balance", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let found: Vec<Value> = serde_json::from_str(&common::stdout(&out)).unwrap();
    let names: Vec<&str> = found.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["low_balance_warning_1"]);
    assert_eq!(found[0]["buttons"][0]["type"], "URL");
    let out = env.cli(&[
        "templates",
        "library",
        "--topic",
        "ORDER_MANAGEMENT",
        "--account",
        "globex",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(
        text.lines()
            .any(|l| l.starts_with("delivery_update_1  en_US  UTILITY")),
        "{text}"
    );
    assert!(text.contains("2 library templates"), "{text}");

    // Refused locally, nothing sent: a missing button input, a bad name, a bad URL.
    let created_before = env.sim_stats().await["templates_created"].as_u64().unwrap();
    let create = |extra: &[&str]| {
        let mut args = vec![
            "templates",
            "create",
            "--account",
            "acme",
            "--from-library",
            "low_balance_warning_1",
        ];
        args.extend_from_slice(extra);
        env.cli(&args)
    };
    let out = create(&["--name", "Low-Balance"]);
    assert_eq!(out.status.code(), Some(2));
    let err = common::stderr(&out);
    assert!(err.contains("--name `Low-Balance`"), "{err}");
    assert!(
        err.contains("has a URL button: give its address with --button-url"),
        "{err}"
    );
    assert!(err.contains("has a call button"), "{err}");
    let out = create(&[
        "--button-url",
        "http://example.com/x",
        "--button-phone",
        "+15551234567",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("is not an https address"));
    let out = env.cli(&[
        "templates",
        "create",
        "--account",
        "acme",
        "--from-library",
        "low_balance_warnin",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(common::stderr(&out).contains("did you mean `low_balance_warning_1`?"));
    assert_eq!(
        env.sim_stats().await["templates_created"].as_u64().unwrap(),
        created_before,
        "nothing was sent"
    );

    // Created, approved as library templates are, and recorded at once.
    let out = create(&[
        "--name",
        "balance_low",
        "--button-url",
        "https://bank.example.com/deposit",
        "--button-phone",
        "+15551234567",
    ]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let said = common::stdout(&out);
    assert!(
        said.contains("created balance_low (en_US) in acme"),
        "{said}"
    );
    assert!(said.contains("APPROVED"), "{said}");
    let out = env.cli(&["templates", "show", "balance_low", "--json"]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    let shown: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    assert_eq!(
        (shown["status"].as_str(), shown["category"].as_str()),
        (Some("APPROVED"), Some("UTILITY"))
    );
    // The next sync reads its content from Meta: the button address given, version 1.
    env.sync().await;
    let out = env.cli(&["templates", "show", "balance_low", "--versions", "--json"]);
    let shown: Value = serde_json::from_str(&common::stdout(&out)).unwrap();
    let versions = shown["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 1);
    let parts = versions[0]["parts"].to_string();
    assert!(
        parts.contains("https://bank.example.com/deposit"),
        "{parts}"
    );
}
