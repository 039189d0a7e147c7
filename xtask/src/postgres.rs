//! A throwaway PostgreSQL cluster for the tests: created in a temporary
//! folder, listening on a free port on 127.0.0.1 only, with fsync off, and
//! stopped and deleted when the [`Cluster`] is dropped (on success, failure
//! and interruption alike).

use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

use crate::process;

/// Where Debian's packages put each major version: `<here>/<ver>/bin`.
const PG_LIB: &str = "/usr/lib/postgresql";
/// Temporary folders of our clusters are named `<prefix><pid>-<nanos>`.
const DIR_PREFIX: &str = "confidant-pg-";
/// The system user that owns the cluster when xtask runs as root (initdb
/// refuses to run as root). The postgresql package creates it.
const PG_USER: &str = "postgres";
const START_ATTEMPTS: u32 = 3;
const LOG_TAIL_LINES: usize = 40;

/// How to run the PostgreSQL programs of one installed version.
#[derive(Debug, Clone)]
struct Tools {
    bin: PathBuf,
    version: String,
    /// Run them as [`PG_USER`] through `runuser` (xtask is root).
    as_pg_user: bool,
}

impl Tools {
    fn find() -> Result<Self> {
        let bin = newest_bin_dir()?;
        let version = bin
            .parent()
            .and_then(Path::file_name)
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Self {
            bin,
            version,
            as_pg_user: process::is_root(),
        })
    }

    /// A command for PostgreSQL program `tool`, run in `dir` (the cluster's
    /// folder: the postgres user may not be able to enter ours), with its
    /// output appended to `dir/xtask-<tool>.log`.
    fn command(&self, tool: &str, dir: &Path) -> Result<(Command, PathBuf)> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_pg_user {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", PG_USER, "--"]).arg(exe);
            cmd
        } else {
            Command::new(exe)
        };
        let log_path = dir.join(format!("xtask-{tool}.log"));
        let log = File::options()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("could not open {}", log_path.display()))?;
        let log_err = log
            .try_clone()
            .with_context(|| format!("could not open {}", log_path.display()))?;
        cmd.current_dir(dir)
            .env("LC_ALL", "C")
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        Ok((cmd, log_path))
    }

    /// Stops the server of `data` if one runs (best effort, for cleanup:
    /// never interrupted, reports problems as warnings).
    fn stop_server(&self, dir: &Path, data: &Path, mode: &str) {
        let pid_file = data.join("postmaster.pid");
        if !pid_file.exists() {
            return;
        }
        let stopped = match self.command("pg_ctl", dir) {
            Ok((mut cmd, _)) => process::detach(
                cmd.arg("stop")
                    .arg("-D")
                    .arg(data)
                    .args(["-m", mode, "-w", "-t", "30"]),
            )
            .status()
            .is_ok_and(|status| status.success()),
            Err(_) => false,
        };
        if stopped || !pid_file.exists() {
            return;
        }
        // pg_ctl could not stop it: kill the postmaster (its backends exit
        // when it is gone).
        let pid = fs::read_to_string(&pid_file)
            .ok()
            .and_then(|text| text.lines().next().map(|line| line.trim().to_owned()))
            .filter(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
        match pid {
            Some(pid) => {
                eprintln!("xtask: warning: pg_ctl stop failed; killing postmaster {pid}");
                let _ = process::detach(Command::new("kill").args(["-s", "KILL", &pid])).status();
            }
            None => eprintln!(
                "xtask: warning: could not stop the PostgreSQL server of {}",
                data.display()
            ),
        }
    }
}

/// The newest `/usr/lib/postgresql/<ver>/bin` that has initdb and pg_ctl.
fn newest_bin_dir() -> Result<PathBuf> {
    let entries = fs::read_dir(PG_LIB).with_context(|| {
        format!(
            "no PostgreSQL found in {PG_LIB}: install the `postgresql` package \
             (or set CONFIDANT_TEST_DATABASE_URL to a database to use)"
        )
    })?;
    let mut best: Option<(Vec<u32>, PathBuf)> = None;
    for entry in entries {
        let entry = entry.with_context(|| format!("could not list {PG_LIB}"))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(version) = parse_version(&name) else {
            continue;
        };
        let bin = entry.path().join("bin");
        if !bin.join("initdb").is_file() || !bin.join("pg_ctl").is_file() {
            continue;
        }
        if best.as_ref().is_none_or(|(newest, _)| version > *newest) {
            best = Some((version, bin));
        }
    }
    match best {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "no PostgreSQL server programs (initdb, pg_ctl) under {PG_LIB}/*/bin: \
             install the `postgresql` package (or set CONFIDANT_TEST_DATABASE_URL)"
        ),
    }
}

/// "15" -> [15], "9.6" -> [9, 6]; anything else is not a version folder.
fn parse_version(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// A running throwaway cluster. Dropping it stops the server and deletes
/// its folder.
#[derive(Debug)]
pub struct Cluster {
    tools: Tools,
    /// fsync on (for benchmarks); tests run without it.
    durable: bool,
    /// The temporary folder: `data/`, `sock/` and the logs.
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    pub fn start() -> Result<Self> {
        Self::start_with(false)
    }

    /// A cluster that fsyncs its commits, as a production server does: for
    /// benchmarks that compare durable writes.
    pub fn start_durable() -> Result<Self> {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Result<Self> {
        let tools = Tools::find()?;
        reap_stale(&tools);
        let dir = make_dir(&tools)?;
        // From here on, dropping `cluster` cleans up whatever exists.
        let mut cluster = Self {
            tools,
            durable,
            dir,
            port: 0,
        };
        cluster.init()?;
        cluster.run_server()?;
        Ok(cluster)
    }

    pub fn version(&self) -> &str {
        &self.tools.version
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the tests read from CONFIDANT_TEST_DATABASE_URL.
    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/postgres", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    fn init(&self) -> Result<()> {
        let (mut cmd, log) = self.tools.command("initdb", &self.dir)?;
        cmd.arg("-D").arg(self.data()).args([
            "-A",
            "trust",
            "-U",
            PG_USER,
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        let status = process::run(&mut cmd)?;
        if !status.success() {
            bail!(
                "initdb failed ({status}); its output:\n{}\n(when running as root the \
                 `{PG_USER}` user must be able to reach {})",
                process::tail(&log, LOG_TAIL_LINES),
                self.dir.display()
            );
        }
        let sock = self.dir.join("sock");
        create_private_dir(&sock, &self.tools)?;
        Ok(())
    }

    fn run_server(&mut self) -> Result<()> {
        for attempt in 1..=START_ATTEMPTS {
            let port = free_port()?;
            let (mut cmd, pg_ctl_log) = self.tools.command("pg_ctl", &self.dir)?;
            // pg_ctl hands -o to the server through a shell: quote the path.
            let options = format!(
                "-h 127.0.0.1 -p {port} -k {}{}",
                shell_quote(&self.dir.join("sock"))?,
                if self.durable { "" } else { " -F" }
            );
            cmd.arg("start")
                .args(["-w", "-t", "60", "-D"])
                .arg(self.data())
                .arg("-l")
                .arg(self.log())
                .arg("-o")
                .arg(options);
            let status = process::run(&mut cmd)?;
            if status.success() {
                self.port = port;
                return Ok(());
            }
            let server_log = process::tail(&self.log(), LOG_TAIL_LINES);
            // Another process may have taken the port since we looked.
            if attempt < START_ATTEMPTS && server_log.contains("could not bind") {
                eprintln!("xtask: port {port} was taken, trying another");
                self.tools.stop_server(&self.dir, &self.data(), "immediate");
                continue;
            }
            bail!(
                "PostgreSQL did not start ({status}).\npg_ctl said:\n{}\n\
                 server log ({}):\n{server_log}",
                process::tail(&pg_ctl_log, LOG_TAIL_LINES),
                self.log().display()
            );
        }
        bail!("PostgreSQL did not start after {START_ATTEMPTS} attempts")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.tools.stop_server(&self.dir, &self.data(), "fast");
        match fs::remove_dir_all(&self.dir) {
            Ok(()) => eprintln!("xtask: PostgreSQL test cluster stopped and removed"),
            Err(error) => eprintln!(
                "xtask: warning: could not remove {}: {error}",
                self.dir.display()
            ),
        }
    }
}

/// Creates the cluster's temporary folder, owned by the user who runs the
/// PostgreSQL programs.
fn make_dir(tools: &Tools) -> Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{nanos}", std::process::id()));
    create_private_dir(&dir, tools)?;
    Ok(dir)
}

fn create_private_dir(dir: &Path, tools: &Tools) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("could not create {}", dir.display()))?;
    if tools.as_pg_user {
        let (uid, gid) = pg_user_ids()?;
        std::os::unix::fs::chown(dir, Some(uid), Some(gid))
            .with_context(|| format!("could not give {} to {PG_USER}", dir.display()))?;
    }
    Ok(())
}

fn pg_user_ids() -> Result<(u32, u32)> {
    let id = |flag: &str| -> Result<u32> {
        let output = Command::new("id")
            .args([flag, PG_USER])
            .stdin(Stdio::null())
            .output()
            .context("could not run `id`")?;
        if !output.status.success() {
            bail!(
                "there is no `{PG_USER}` system user (the postgresql package creates it); \
                 initdb cannot run as root without it"
            );
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .with_context(|| format!("unexpected output of `id {flag} {PG_USER}`"))
    };
    Ok((id("-u")?, id("-g")?))
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("could not find a free port on 127.0.0.1")?;
    let port = listener
        .local_addr()
        .context("could not find a free port on 127.0.0.1")?
        .port();
    Ok(port)
}

fn shell_quote(path: &Path) -> Result<String> {
    let text = path
        .to_str()
        .with_context(|| format!("the temporary folder {} is not valid UTF-8", path.display()))?;
    if text.contains('\'') {
        bail!("the temporary folder {text} contains a quote; set TMPDIR elsewhere");
    }
    Ok(format!("'{text}'"))
}

/// Stops and deletes clusters that an earlier xtask left behind when it was
/// killed outright (SIGKILL leaves no chance to clean up).
fn reap_stale(tools: &Tools) {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    // Without /proc we cannot tell a live owner from a dead one.
    if !Path::new("/proc/self").exists() {
        return;
    }
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = name
            .strip_prefix(DIR_PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if Path::new("/proc").join(owner.to_string()).exists() {
            continue;
        }
        let dir = entry.path();
        eprintln!(
            "xtask: removing a test cluster left behind by a killed run: {}",
            dir.display()
        );
        tools.stop_server(&dir, &dir.join("data"), "immediate");
        if let Err(error) = fs::remove_dir_all(&dir) {
            eprintln!(
                "xtask: warning: could not remove {}: {error}",
                dir.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order_numerically() {
        assert_eq!(parse_version("15"), Some(vec![15]));
        assert_eq!(parse_version("9.6"), Some(vec![9, 6]));
        assert_eq!(parse_version("main"), None);
        assert_eq!(parse_version(""), None);
        assert!(parse_version("10") > parse_version("9.6"));
    }
}
