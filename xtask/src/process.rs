//! Child processes that stop when xtask is told to stop.
//!
//! Every child runs in its own process group with stdin closed. A Ctrl-C in
//! the terminal (or a SIGTERM/SIGHUP sent to xtask) only sets a flag; the
//! wait loop sees it, passes SIGINT on to the child's whole group (cargo,
//! rustc, test binaries), escalates to SIGKILL if the group does not go, and
//! returns [`Interrupted`] so the callers unwind and their guards (the
//! PostgreSQL cluster) clean up. Own process groups also keep a terminal
//! Ctrl-C from reaching the PostgreSQL server before xtask can stop it in
//! order.

use std::fmt;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

const POLL: Duration = Duration::from_millis(50);
/// How long a child gets to exit after SIGINT/SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// The error a command returns when xtask was asked to stop.
#[derive(Debug)]
pub struct Interrupted;

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

pub fn is_interrupted(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<Interrupted>())
}

/// Routes SIGINT, SIGTERM and SIGHUP to a flag instead of the default
/// "die at once", which would leave the PostgreSQL cluster running.
pub fn catch_signals() -> Result<()> {
    ctrlc::set_handler(|| {
        if !INTERRUPTED.swap(true, Ordering::SeqCst) {
            eprintln!("\nxtask: stopping (signal received), cleaning up...");
        }
    })
    .context("could not install the Ctrl-C/SIGTERM handler")
}

/// Fails with [`Interrupted`] once a stop signal has arrived.
pub fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        Err(Interrupted.into())
    } else {
        Ok(())
    }
}

/// Prepares `cmd` the way every child of xtask runs: own process group and
/// no stdin (CI has none; a test that waits on it should see end of file).
pub fn detach(cmd: &mut Command) -> &mut Command {
    cmd.process_group(0).stdin(Stdio::null())
}

/// Runs `cmd` to completion (output goes wherever `cmd` says, the terminal
/// by default), or stops it and its process group when xtask is
/// interrupted. Processes the child leaves behind in its group are killed.
pub fn run(cmd: &mut Command) -> Result<ExitStatus> {
    check_interrupted()?;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = detach(cmd)
        .spawn()
        .with_context(|| format!("could not start `{program}`"))?;
    let status = loop {
        if let Some(status) = child
            .try_wait()
            .with_context(|| format!("could not wait for `{program}`"))?
        {
            break status;
        }
        if INTERRUPTED.load(Ordering::SeqCst) {
            stop(&mut child, "INT");
            return Err(Interrupted.into());
        }
        thread::sleep(POLL);
    };
    sweep_group(child.id(), &program);
    Ok(status)
}

/// Stops a running child and everything in its process group: SIGINT (what
/// the terminal would have sent), then SIGKILL after [`GRACE`].
fn stop(child: &mut Child, signal: &str) {
    let pgid = child.id();
    if !signal_group(pgid, signal) {
        // No `kill` program: at least the child itself must go.
        let _ = child.kill();
    }
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        thread::sleep(POLL);
    }
    if !matches!(child.try_wait(), Ok(Some(_))) {
        signal_group(pgid, "KILL");
        let _ = child.kill();
        let _ = child.wait();
    }
    // Grandchildren may outlive the leader (cargo's test binaries).
    let deadline = Instant::now() + GRACE;
    while group_alive(pgid) && Instant::now() < deadline {
        thread::sleep(POLL);
    }
    if group_alive(pgid) {
        signal_group(pgid, "KILL");
    }
}

/// Kills what a finished child left running in its process group, so
/// nothing outlives the command.
fn sweep_group(pgid: u32, program: &str) {
    if !group_alive(pgid) {
        return;
    }
    eprintln!("xtask: `{program}` left processes running; stopping them");
    signal_group(pgid, "TERM");
    let deadline = Instant::now() + GRACE;
    while group_alive(pgid) && Instant::now() < deadline {
        thread::sleep(POLL);
    }
    if group_alive(pgid) {
        signal_group(pgid, "KILL");
    }
}

/// Sends `signal` to process group `pgid` with procps' `kill`. Returns
/// whether `kill` ran and succeeded.
fn signal_group(pgid: u32, signal: &str) -> bool {
    Command::new("kill")
        .args(["-s", signal, "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Whether any process is left in group `pgid` (signal 0 only checks).
fn group_alive(pgid: u32) -> bool {
    signal_group(pgid, "0")
}

/// Whether xtask runs as root, which decides how packages are installed
/// and how PostgreSQL is started.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout.trim_ascii() == b"0")
}

/// The last `lines` lines of a text file, for error reports.
pub fn tail(path: &std::path::Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..].join("\n")
        }
        Err(error) => format!("(could not read {}: {error})", path.display()),
    }
}
