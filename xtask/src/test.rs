//! `cargo xtask test`: the project's test command, the same locally and in CI.

use std::ffi::{OsStr, OsString};
use std::io::IsTerminal;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::postgres::Cluster;
use crate::{UsageError, install, process, workspace_root};

/// The variable the PostgreSQL tests read; set here when not set already.
const DATABASE_URL_VAR: &str = "CONFIDANT_TEST_DATABASE_URL";
/// The variable that would make the PostgreSQL tests skip; never passed on.
const SKIP_POSTGRES_VAR: &str = "CONFIDANT_SKIP_POSTGRES";
/// The variable that would make the browser test skip; never passed on
/// either (the packages it needs are installed above).
const SKIP_BROWSER_VAR: &str = "CONFIDANT_SKIP_BROWSER";

#[derive(Debug, Default)]
pub struct Options {
    no_lint: bool,
    no_install: bool,
    /// Passed to `cargo test` after `--workspace`.
    test_args: Vec<OsString>,
}

impl Options {
    pub fn parse(args: Vec<OsString>) -> Result<Self, UsageError> {
        let mut options = Self::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.to_str() {
                Some("--no-lint") => options.no_lint = true,
                Some("--no-install") => options.no_install = true,
                Some("--") => {
                    options.test_args = args.collect();
                    break;
                }
                _ => {
                    return Err(UsageError(format!(
                        "unknown option `{}` for `test` (arguments for cargo test go after `--`)",
                        arg.to_string_lossy()
                    )));
                }
            }
        }
        Ok(options)
    }
}

/// One cargo invocation of the run.
#[derive(Debug)]
struct Step {
    args: Vec<OsString>,
}

impl Step {
    fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    fn display(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        format!("cargo {}", args.join(" "))
    }
}

fn steps(options: &Options) -> Vec<Step> {
    let mut steps = Vec::new();
    if !options.no_lint {
        steps.push(Step::new(["fmt", "--all", "--check"]));
        steps.push(Step::new([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]));
    }
    let mut test = vec![OsString::from("test")];
    // `--workspace` wins over `-p` in cargo, so leave it out when the caller
    // picks packages.
    if !selects_packages(&options.test_args) {
        test.push("--workspace".into());
    }
    test.extend(options.test_args.iter().cloned());
    steps.push(Step { args: test });
    steps
}

/// Whether cargo test arguments (before a nested `--`) choose packages.
fn selects_packages(args: &[OsString]) -> bool {
    args.iter()
        .map(|arg| arg.to_string_lossy())
        .take_while(|arg| arg != "--")
        .any(|arg| {
            arg == "--workspace"
                || arg == "--all"
                || arg == "--package"
                || arg.starts_with("--package=")
                || arg.starts_with("-p")
                || arg == "--manifest-path"
                || arg.starts_with("--manifest-path=")
        })
}

pub fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    let result = run_steps(options);
    let elapsed = format_duration(started.elapsed());
    match &result {
        Ok(summary) => {
            eprintln!();
            eprintln!(
                "{}",
                paint(&format!("xtask test: ok in {elapsed} ({summary})"), GREEN)
            );
            Ok(())
        }
        Err(error) if process::is_interrupted(error) => result.map(|_| ()),
        Err(_) => result
            .map(|_| ())
            .with_context(|| paint(&format!("xtask test failed after {elapsed}"), RED)),
    }
}

/// Runs everything; on success returns what ran, for the summary line.
fn run_steps(options: &Options) -> Result<String> {
    process::catch_signals()?;
    let root = workspace_root();

    if options.no_install {
        eprintln!("xtask: --no-install: not checking Debian packages");
    } else {
        header("Debian packages");
        install::ensure_packages()?;
    }
    process::check_interrupted()?;
    // The S3 server of the bucket backup tests: always installed (pip, into
    // target/), since those tests fail rather than skip without it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from);
    header("Python test tools");
    let moto_server = install::ensure_python_tools(&target)?;
    process::check_interrupted()?;

    // Declared before the steps run so that it is dropped (the cluster
    // stopped and deleted) whatever happens to them.
    let mut cluster: Option<Cluster> = None;
    let database = match std::env::var_os(DATABASE_URL_VAR) {
        Some(_) => {
            eprintln!("xtask: using the database in {DATABASE_URL_VAR} from the environment");
            format!("PostgreSQL from {DATABASE_URL_VAR}")
        }
        None => {
            header("PostgreSQL test cluster");
            let started = cluster.insert(Cluster::start()?);
            eprintln!(
                "xtask: PostgreSQL {} running on 127.0.0.1:{} for this run",
                started.version(),
                started.port()
            );
            format!(
                "PostgreSQL {} on 127.0.0.1:{}",
                started.version(),
                started.port()
            )
        }
    };
    let database_url = cluster.as_ref().map(Cluster::url);
    if std::env::var_os(SKIP_POSTGRES_VAR).is_some() {
        eprintln!("xtask: ignoring {SKIP_POSTGRES_VAR}: the PostgreSQL tests always run here");
    }
    if std::env::var_os(SKIP_BROWSER_VAR).is_some() {
        eprintln!("xtask: ignoring {SKIP_BROWSER_VAR}: the browser test always runs here");
    }

    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let steps = steps(options);
    let total = steps.len();
    let mut names = Vec::new();
    for (index, step) in steps.iter().enumerate() {
        process::check_interrupted()?;
        let shown = step.display();
        header(&format!("[{}/{total}] {shown}", index + 1));
        let mut cmd = Command::new(&cargo);
        cmd.args(&step.args).current_dir(&root);
        child_env(&mut cmd, database_url.as_deref());
        cmd.env(install::MOTO_SERVER_VAR, &moto_server);
        let step_started = Instant::now();
        let status = process::run(&mut cmd)?;
        let took = format_duration(step_started.elapsed());
        if !status.success() {
            bail!(
                "step {}/{total} `{shown}` failed ({status}) after {took}",
                index + 1
            );
        }
        eprintln!("xtask: `{shown}` passed in {took}");
        names.push(
            step.args
                .first()
                .map_or_else(String::new, |a| a.to_string_lossy().into_owned()),
        );
    }
    // `cluster` is dropped here: the server is stopped before the summary.
    drop(cluster);
    Ok(format!("{}; {database}", names.join(", ")))
}

/// The environment of the cargo children.
fn child_env(cmd: &mut Command, database_url: Option<&str>) {
    if let Some(url) = database_url {
        cmd.env(DATABASE_URL_VAR, url);
    }
    cmd.env_remove(SKIP_POSTGRES_VAR);
    cmd.env_remove(SKIP_BROWSER_VAR);
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        cmd.env("RUST_BACKTRACE", "1");
    }
    // `cargo run` set these for xtask itself; they describe xtask, not
    // what the children build.
    for (key, _) in std::env::vars_os() {
        if is_cargo_run_var(&key) {
            cmd.env_remove(key);
        }
    }
}

fn is_cargo_run_var(key: &OsStr) -> bool {
    let key = key.to_string_lossy();
    key.starts_with("CARGO_PKG_")
        || matches!(
            key.as_ref(),
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
        )
}

const BOLD: &str = "1";
const GREEN: &str = "1;32";
const RED: &str = "1;31";

fn header(title: &str) {
    eprintln!();
    eprintln!("{}", paint(&format!("==> {title}"), BOLD));
}

/// Colours `text` when stderr is a terminal and NO_COLOR is not set.
fn paint(text: &str, colour: &str) -> String {
    if std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{colour}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs >= 60 {
        format!("{}m {:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    fn commands(options: &Options) -> Vec<String> {
        steps(options).iter().map(Step::display).collect()
    }

    #[test]
    fn default_run_is_fmt_clippy_test() {
        let options = Options::parse(vec![]).unwrap();
        assert_eq!(
            commands(&options),
            [
                "cargo fmt --all --check",
                "cargo clippy --workspace --all-targets -- -D warnings",
                "cargo test --workspace",
            ]
        );
    }

    #[test]
    fn no_lint_and_extra_args() {
        let options = Options::parse(os(&[
            "--no-lint",
            "--no-install",
            "--",
            "store",
            "--",
            "--nocapture",
        ]))
        .unwrap();
        assert!(options.no_install);
        assert_eq!(
            commands(&options),
            ["cargo test --workspace store -- --nocapture"]
        );
    }

    #[test]
    fn package_selection_drops_workspace() {
        for args in [
            &["-p", "confidant-core"][..],
            &["-pconfidant-core"],
            &["--package=confidant-core"],
            &["--workspace", "--exclude", "confidant-cli"],
        ] {
            let mut all = vec!["--no-lint", "--"];
            all.extend_from_slice(args);
            let options = Options::parse(os(&all)).unwrap();
            assert_eq!(
                commands(&options),
                [format!("cargo test {}", args.join(" "))]
            );
        }
        // After a nested `--` the words belong to the test binaries.
        let options = Options::parse(os(&["--no-lint", "--", "--", "-p"])).unwrap();
        assert_eq!(commands(&options), ["cargo test --workspace -- -p"]);
    }

    #[test]
    fn unknown_options_are_usage_errors() {
        assert!(Options::parse(os(&["--nolint"])).is_err());
        assert!(Options::parse(os(&["-p", "confidant-core"])).is_err());
    }

    #[test]
    fn only_cargo_run_variables_are_dropped() {
        for key in ["CARGO_PKG_NAME", "CARGO_MANIFEST_DIR", "CARGO_BIN_NAME"] {
            assert!(is_cargo_run_var(OsStr::new(key)), "{key}");
        }
        for key in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
        ] {
            assert!(!is_cargo_run_var(OsStr::new(key)), "{key}");
        }
    }
}
