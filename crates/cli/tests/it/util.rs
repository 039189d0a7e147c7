use std::path::{Path, PathBuf};

use assert_cmd::Command;
use tempfile::TempDir;

pub const OWNER_PASSWORD: &str = "owner password for tests";

/// A data dir sealed by a key file, with helpers to run commands on it.
pub struct Workspace {
    pub temp: TempDir,
    pub data: PathBuf,
    pub key: PathBuf,
}

pub fn confidant() -> Command {
    let mut cmd = Command::cargo_bin("confidant").expect("the confidant binary is built");
    cmd.env_remove("CONFIDANT_DATA")
        .env_remove("CONFIDANT_KEY_FILE")
        .env_remove("CONFIDANT_PASSPHRASE")
        .env_remove("CONFIDANT_DATABASE")
        .env("CONFIDANT_OWNER_PASSWORD", OWNER_PASSWORD);
    cmd
}

impl Workspace {
    /// A fresh workspace on SQLite (or on `database` when given).
    pub fn new_with(database: Option<&str>) -> Workspace {
        let temp = TempDir::new().expect("tempdir");
        let data = temp.path().join("data");
        let key = temp.path().join("owner.key");
        let mut cmd = confidant();
        cmd.arg("init")
            .arg("--data")
            .arg(&data)
            .arg("--key-file")
            .arg(&key)
            .args([
                "--owner-email",
                "owner@example.com",
                "--owner-name",
                "Olivia Owner",
            ]);
        if let Some(url) = database {
            cmd.args(["--database", url]);
        }
        cmd.assert().success();
        Workspace { temp, data, key }
    }

    pub fn new() -> Workspace {
        Self::new_with(None)
    }

    /// `confidant` with this workspace's data dir and key file.
    pub fn cmd(&self) -> Command {
        let mut cmd = confidant();
        cmd.env("CONFIDANT_DATA", &self.data)
            .env("CONFIDANT_KEY_FILE", &self.key);
        cmd
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.temp.path().join(name)
    }

    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write input");
        path
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("runs");
        assert!(
            out.status.success(),
            "confidant {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs a command that must fail and returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("runs");
        assert!(
            !out.status.success(),
            "confidant {args:?} succeeded but should have failed"
        );
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "one-line reason expected, got {stderr:?}"
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
        stderr
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.ok(args)).expect("valid JSON output")
    }
}

/// Bytes that compress badly and differ per seed.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub const CUSTOMERS_CSV: &str = "\
name,email,phone,card,notes
Ann Lee,Ann.Lee@example.com,+1 555 0100 1000,4000001234567899,\"likes mornings, not Mondays\"
Ben Martin,ben@example.com,+1 555 0100 2000,4000009876543217,\"two
lines\"
Chloe Novak,chloe@example.com,,4000005555555553,
";

pub const CUSTOMERS_COLUMNS: &str =
    "name=name,email=email,phone=phone,card=card_number,notes=free_text";

/// Flips one byte of the first row's stored cells, straight in the SQLite
/// file, as someone with the disk could.
pub fn tamper_first_row(db: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let (id, mut cells): (String, Vec<u8>) =
            sqlx::query_as("SELECT id, cells FROM record_rows ORDER BY ordinal LIMIT 1")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        let n = cells.len();
        cells[n - 5] ^= 1;
        sqlx::query("UPDATE record_rows SET cells = $1 WHERE id = $2")
            .bind(cells)
            .bind(id)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    });
}
