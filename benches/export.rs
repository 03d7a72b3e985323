//! Export benchmark: 1,000,000 message rows and 100,000 aggregate rows to CSV by `templar export`
//! (a child process, so its peak RSS is measured alone). Prints rows/s and peak RSS.
//!
//! Run: `cargo bench --bench export`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark that cannot set up should stop"
)]

#[path = "common/child.rs"]
mod child;
#[path = "common/seed.rs"]
mod seed;

/// Runs `templar ARGS`: (seconds, peak RSS in MB).
fn run(config: &std::path::Path, args: &[&str]) -> (f64, f64) {
    let m = child::templar(config, args);
    assert!(
        m.output.stdout.is_empty(),
        "the export went to --out, not stdout"
    );
    (m.seconds, m.peak_rss_mb)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let config = seed::config(dir.path(), "127.0.0.1:8080");
    let db = templar::db::Db::open(dir.path().join("templar.db")).unwrap();
    let now = templar::clock::now();
    // 5,000 templates x 30 days with traffic on most days: about 100,000 roll-up rows.
    seed::seed(&db, 5_000, 1_000_000, now.timestamp());
    let stat_rows = seed::stat_rows(&db);
    drop(db);
    let from = (now.date_naive() - chrono::Days::new(31))
        .format("%Y-%m-%d")
        .to_string();
    let out = dir.path().join("out.csv");
    println!(
        "export benchmark: `templar export` to CSV, database {:.0} MB",
        std::fs::metadata(dir.path().join("templar.db"))
            .unwrap()
            .len() as f64
            / 1e6
    );
    let (secs, mb) = run(
        &config,
        &[
            "export",
            "--messages",
            "--from",
            &from,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let rows = std::fs::read_to_string(&out).unwrap().lines().count() - 1;
    println!("  messages    {rows:>9} rows  {secs:>6.2} s  {:>9.0} rows/s  peak RSS {mb:>5.1} MB  (targets: >= 300000 rows/s, < 64 MB)", rows as f64 / secs);
    let (secs, mb) = run(
        &config,
        &[
            "export",
            "--by",
            "day",
            "--from",
            &from,
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let rows = std::fs::read_to_string(&out).unwrap().lines().count() - 1;
    println!("  aggregates  {rows:>9} rows  {secs:>6.2} s  {:>9.0} rows/s  peak RSS {mb:>5.1} MB  ({stat_rows} roll-up rows read)", rows as f64 / secs);
}
