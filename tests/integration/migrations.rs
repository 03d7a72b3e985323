//! The embedded migrations run up, down and up again.

use templar::db::Db;

#[test]
fn migrations_run_up_down_and_up_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("t.db")).unwrap();
    assert!(crate::common::count(&db, "templates") == 0);
    let reverted = db.revert_all().unwrap();
    assert!(!reverted.is_empty());
    let mut c = db.conn().unwrap();
    use diesel::RunQueryDsl;
    assert!(
        diesel::sql_query("SELECT * FROM templates")
            .execute(&mut c)
            .is_err(),
        "table dropped"
    );
    drop(c);
    let applied = db.migrate().unwrap();
    assert_eq!(applied.len(), reverted.len());
    assert_eq!(crate::common::count(&db, "templates"), 0);
    assert!(db.migrate().unwrap().is_empty(), "idempotent");
}
