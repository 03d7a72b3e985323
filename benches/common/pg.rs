//! The PostgreSQL server the benchmarks measure on, and a fresh database on it per case.

use std::process::Command;

/// The URL of a PostgreSQL server to measure on: `BENCH_POSTGRES`, else the private server
/// `.ci/postgres` starts (installing PostgreSQL if missing).
pub fn server() -> Result<String, String> {
    if let Ok(url) = std::env::var("BENCH_POSTGRES") {
        return Ok(url);
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/postgres");
    let out = Command::new("bash")
        .arg(script)
        .arg("start")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A new, empty database called `name` on `server` (dropped first if a run left it); its URL.
pub fn fresh_database(server: &str, name: &str) -> String {
    use diesel::{Connection, RunQueryDsl};
    let mut admin = diesel::PgConnection::establish(server).expect("the PostgreSQL server");
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        diesel::sql_query(sql).execute(&mut admin).expect(name);
    }
    let (base, _) = server.rsplit_once('/').expect("a URL ending in /database");
    format!("{base}/{name}")
}
