//! Test helpers shared by confidant's crates (a dev-dependency only):
//! fresh PostgreSQL databases for the store's conformance suite and the
//! tests above it, `pg_dump` for tests that look at what reached disk, and
//! a small SMTP server that records what it receives ([`smtp`]).
//!
//! PostgreSQL comes from `CONFIDANT_TEST_DATABASE_URL`, a superuser URL of a
//! throwaway cluster (`cargo xtask test` starts one). Every call of
//! [`postgres_url`] creates a new database in it, so tests never share
//! state; the databases are left for the cluster's removal.

pub mod office;
pub mod posture;
pub mod smtp;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use sqlx::Connection;

/// The variable naming the throwaway cluster.
pub const DATABASE_URL_VAR: &str = "CONFIDANT_TEST_DATABASE_URL";
/// Set to `1` to skip PostgreSQL tests on a machine without PostgreSQL
/// (ignored, and PostgreSQL required, when `CI=true`).
pub const SKIP_VAR: &str = "CONFIDANT_SKIP_POSTGRES";

/// What to do when there is no cluster to test against.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    Use(String),
    Skip,
    Fail,
}

fn plan(url: Option<String>, skip: Option<String>, ci: Option<String>) -> Plan {
    match url.filter(|u| !u.trim().is_empty()) {
        Some(url) => Plan::Use(url),
        None if ci.as_deref() == Some("true") => Plan::Fail,
        None if skip.as_deref() == Some("1") => Plan::Skip,
        None => Plan::Fail,
    }
}

/// A URL of a new, empty database of the test cluster, or `Ok(None)` when
/// PostgreSQL tests are skipped (`CONFIDANT_SKIP_POSTGRES=1` outside CI; the
/// caller must say loudly that it skipped). Fails when no cluster is
/// configured and skipping was not asked for.
pub async fn postgres_url() -> anyhow::Result<Option<String>> {
    let env = |name| std::env::var(name).ok();
    let admin_url = match plan(env(DATABASE_URL_VAR), env(SKIP_VAR), env("CI")) {
        Plan::Use(url) => url,
        Plan::Skip => return Ok(None),
        Plan::Fail => bail!(
            "PostgreSQL tests need a throwaway cluster: set {DATABASE_URL_VAR} or run \
             `cargo xtask test`, which starts a throwaway PostgreSQL (or set {SKIP_VAR}=1 to \
             skip them outside CI)"
        ),
    };
    let name = unique_database_name();
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .with_context(|| format!("connecting to the test cluster named by {DATABASE_URL_VAR}"))?;
    // The name is ours (letters, digits and '_'), so it is safe to splice.
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .with_context(|| format!("creating test database {name}"))?;
    admin.close().await.ok();
    Ok(Some(with_database(&admin_url, &name)))
}

/// `confidant_test_<pid>_<time>_<n>`: unique across the tests of one
/// process and across processes sharing the cluster.
fn unique_database_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "confidant_test_{}_{}_{n}",
        std::process::id(),
        nanos % 1_000_000_000_000
    )
}

/// `url` with its database (the path) replaced by `database`; the query
/// string is kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The bytes of `pg_dump` of the database at `url` (schema and data, plain
/// SQL), for tests asserting that no plaintext reached the database.
pub fn pg_dump(url: &str) -> anyhow::Result<Vec<u8>> {
    let program = find_pg_dump().context(
        "pg_dump was not found on PATH or in /usr/lib/postgresql/*/bin: install PostgreSQL's \
         client tools",
    )?;
    let output = Command::new(&program)
        .arg("--no-owner")
        .arg("--dbname")
        .arg(url)
        .output()
        .with_context(|| format!("running {}", program.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}): {}",
            program.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output.stdout)
}

fn find_pg_dump() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join("pg_dump"));
    // Debian's versioned installs, newest first: a pg_dump must be at least
    // as new as the server.
    let mut versioned: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin/pg_dump"))
        .collect();
    versioned.sort_by_key(|p| std::cmp::Reverse(major_version(p)));
    on_path.chain(versioned).find(|p| p.is_file())
}

fn major_version(pg_dump: &Path) -> u32 {
    pg_dump
        .ancestors()
        .nth(2)
        .and_then(Path::file_name)
        .and_then(|v| v.to_str())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipping_is_asked_for_and_never_in_ci() {
        let s = |v: &str| Some(v.to_owned());
        assert_eq!(
            plan(s("postgres://h/db"), None, None),
            Plan::Use("postgres://h/db".into())
        );
        assert_eq!(plan(None, None, None), Plan::Fail);
        assert_eq!(plan(s(" "), None, None), Plan::Fail);
        assert_eq!(plan(None, s("1"), None), Plan::Skip);
        assert_eq!(plan(None, s("1"), s("true")), Plan::Fail);
        assert_eq!(plan(None, s("0"), None), Plan::Fail);
    }

    #[test]
    fn database_urls() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:55432/postgres",
                "postgres://postgres@127.0.0.1:55432/d",
            ),
            (
                "postgres://u:p@h/postgres?sslmode=disable",
                "postgres://u:p@h/d?sslmode=disable",
            ),
            ("postgres://h", "postgres://h/d"),
            ("postgres://h?host=/tmp", "postgres://h/d?host=/tmp"),
        ];
        for (url, want) in cases {
            assert_eq!(with_database(url, "d"), want, "{url}");
        }
    }

    #[test]
    fn database_names_are_plain_and_unique() {
        let (a, b) = (unique_database_name(), unique_database_name());
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
        );
        assert!(a.len() < 63, "PostgreSQL truncates longer names");
    }

    #[test]
    fn versioned_pg_dumps_sort_by_major_version() {
        assert_eq!(
            major_version(Path::new("/usr/lib/postgresql/15/bin/pg_dump")),
            15
        );
        assert_eq!(major_version(Path::new("/usr/bin/pg_dump")), 0);
    }
}
