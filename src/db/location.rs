//! Where the database is: an SQLite file (the default) or a PostgreSQL URL.

use std::fmt;
use std::path::{Path, PathBuf};

/// The configured `database`: a `postgres://` or `postgresql://` URL is PostgreSQL, anything else
/// is the path of an SQLite file.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads a `database` setting; a relative SQLite path is taken from `base_dir`.
    pub fn parse(value: &str, base_dir: &Path) -> Location {
        // Stored as libpq will read it: with spaces before the scheme it would not be a URL,
        // and libpq's error would quote the whole string, password included.
        let value = value.trim();
        if is_postgres_url(value) {
            return Location::Postgres(value.to_string());
        }
        let p = PathBuf::from(value);
        Location::Sqlite(if p.is_relative() { base_dir.join(p) } else { p })
    }

    /// The SQLite file, if this is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }
}

/// Whether `value` names a PostgreSQL database rather than a file.
pub fn is_postgres_url(value: &str) -> bool {
    let lower = value.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::Sqlite(p.to_path_buf())
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::Sqlite(p.clone())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::Sqlite(p)
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

/// Shown in messages and logs: a URL's password is replaced by `***`, so that it never reaches
/// a terminal, a log line or a page.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

/// `postgres://user:secret@host/db?password=x` → `postgres://user:***@host/db?password=***`.
pub fn redact(url: &str) -> String {
    let mut out = url.to_string();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        // libpq ends the host part at the first `/` only: a `?` may be in the password.
        let authority_end = out[rest_start..]
            .find('/')
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (head, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{head}{}", query.join("&"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_postgres_and_the_rest_are_files() {
        let base = Path::new("/etc/templar");
        assert_eq!(
            Location::parse("postgres://u@h/db", base),
            Location::Postgres("postgres://u@h/db".into())
        );
        assert!(Location::parse("PostgreSQL://h/db", base).is_postgres());
        assert_eq!(
            Location::parse("data/t.db", base),
            Location::Sqlite(PathBuf::from("/etc/templar/data/t.db"))
        );
    }

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://app:s3cr%40t@db.internal:5432/templar?sslmode=require"),
            "postgres://app:***@db.internal:5432/templar?sslmode=require"
        );
        assert_eq!(
            redact("postgres://db/templar?user=app&password=hunter2"),
            "postgres://db/templar?user=app&password=***"
        );
        assert_eq!(redact("postgres://app@db/t"), "postgres://app@db/t");
        assert_eq!(redact("postgres://app:a?b@db/t"), "postgres://app:***@db/t");
        assert_eq!(
            Location::parse("  postgres://a:pw@h/d", Path::new("/")),
            Location::Postgres("postgres://a:pw@h/d".into())
        );
        let shown = Location::Postgres("postgres://a:pw@h/d".into()).to_string();
        assert!(!shown.contains("pw"), "{shown}");
    }
}
