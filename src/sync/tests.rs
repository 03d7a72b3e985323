use std::path::Path;

use super::*;
use crate::db::models::sync_runs;

#[tokio::test]
async fn a_panicking_account_run_is_recorded_as_that_accounts_failure() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "database = {:?}\n\
         [[account]]\nname = \"calm\"\nsource = \"meta\"\nwaba_id = \"1\"\ntoken = \"t\"\n\
         [[account]]\nname = \"broken\"\nsource = \"meta\"\nwaba_id = \"2\"\ntoken = \"t\"\n",
        dir.path().join("t.db")
    );
    let config = Config::parse(&text, Path::new("/"), &|_| None).unwrap();
    let ctx = SyncContext {
        db: Db::open(&config.database).unwrap(),
        config: Arc::new(config),
        client: reqwest::Client::new(),
        metrics: Default::default(),
    };
    let opts = SyncOptions {
        mode: SyncMode::Full,
        account: None,
        dry_run: false,
    };
    let selected = ctx.config.accounts.clone();
    let reports = each_account(
        &ctx,
        &selected,
        &opts,
        crate::clock::now(),
        |_, account, _| async move {
            if account.name == "broken" {
                panic!("an upstream header nobody expected");
            }
            AccountReport {
                account: account.name,
                outcome: "ok".into(),
                ..Default::default()
            }
        },
    )
    .await;

    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].outcome, "ok");
    let broken = &reports[1];
    assert_eq!(
        (broken.account.as_str(), broken.outcome.as_str()),
        ("broken", "failed")
    );
    let err = broken.error.as_deref().unwrap();
    assert!(
        err.contains("internal error: an upstream header nobody expected"),
        "{err}"
    );
    // Recorded, so the account's health and `sync_failing` see it.
    let runs = ctx
        .db
        .run(|c| {
            let id = accounts::find_id(c, "broken")?.unwrap();
            sync_runs::recent(c, id, 5)
        })
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].error.as_deref(), Some(err));
}
