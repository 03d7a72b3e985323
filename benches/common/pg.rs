//! The PostgreSQL server the benchmarks measure on, and a fresh database on it per case.

use std::process::Command;

/// The URL of a PostgreSQL server to measure on: `BENCH_POSTGRES`, else the private server
/// `.ci/postgres` starts (installing PostgreSQL if missing), reached through its Unix socket
/// as a database on the same machine is (over TCP on 127.0.0.1 one replica's ingest was 1,979
/// events/s, through the socket 2,567 in the same hour).
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
    let tcp = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // postgres://templar@127.0.0.1:PORT/postgres -> postgres://templar@/postgres?host=/tmp&port=PORT
    let port = tcp
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(port, _)| port.to_string())
        .ok_or_else(|| format!("an unexpected URL from .ci/postgres: {tcp}"))?;
    Ok(format!(
        "postgres://templar@/postgres?host=/tmp&port={port}"
    ))
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
    // `postgres://user@host/db`, or `postgres://user@/db?host=/run/postgresql` (a socket).
    let (url, query) = server.split_once('?').unwrap_or((server, ""));
    let (base, _) = url.rsplit_once('/').expect("a URL ending in /database");
    match query {
        "" => format!("{base}/{name}"),
        q => format!("{base}/{name}?{q}"),
    }
}
