//! confidant's developer tooling, run as `cargo xtask <command>`.
//!
//! - `test`: the project's one test command (what CI runs): installs the
//!   Debian packages the tests need, starts a throwaway PostgreSQL cluster,
//!   then runs rustfmt, clippy and the whole test suite.
//! - `tidy`: the repository rules (dependency direction, no leftover
//!   `todo!`/`dbg!`, crate docs). The same checks run as ordinary tests, so
//!   `cargo test --workspace` enforces them too.
//!
//! It deliberately leaves out anything a plain `cargo` command already does
//! well, and it never needs network access except for `apt-get`.

mod bench;
mod eval;
mod install;
mod postgres;
mod process;
mod test;
mod tidy;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  test [--no-lint] [--no-install] [-- <cargo test args>...]
        the project's test command (CI runs exactly this): installs missing
        Debian packages, starts a throwaway PostgreSQL cluster, then runs
        `cargo fmt --all --check`, `cargo clippy --workspace --all-targets
        -- -D warnings` and `cargo test --workspace [args]`
          --no-lint     skip rustfmt and clippy (quick local runs)
          --no-install  do not check for or install Debian packages
        Set CONFIDANT_TEST_DATABASE_URL to use your own PostgreSQL instead.
  bench [ledger]
        throughput of document encryption through the vault (in memory
        and to disk) as a ratio of `openssl speed -evp aes-256-gcm`, peak
        memory for a 2 GiB document, a 100,000-row import, ledger appends
        on SQLite and on a throwaway PostgreSQL cluster (fsync on) as a
        ratio of fsync-ed single-row inserts, and more;
          ledger        only the ledger's figures (appends, verify)
  eval-detect [--docs N] [--seed S] [--mb M]
        precision and recall per kind of confidant-detect on a generated
        labelled set (N documents, default 2000; Python venv with Faker under
        target/eval-venv), beside Microsoft Presidio's pattern recognizers on
        the same set, and both throughputs; then the detector's throughput
        on an M MB mixed corpus (default 100, 0 to skip) beside ripgrep's
        with the detector's candidate patterns (Debian's ripgrep, installed
        when missing), each as a ratio to the targets; writes
        target/eval-detect-report.json
  tidy  check the repository rules (dependency direction between crates,
        no todo!/unimplemented!/dbg! in crate sources, crate docs)
  help  print this message
";

/// The subcommands. A new one (`bench` is next) gets a variant here, a line
/// in [`USAGE`], an arm in [`parse`] and one in [`main`].
#[derive(Debug)]
enum Command {
    Test(test::Options),
    Bench { ledger_only: bool },
    EvalDetect(eval::Options),
    Tidy,
    Help,
}

/// Why the command line was not understood; printed above the usage.
#[derive(Debug)]
struct UsageError(String);

fn parse(args: Vec<OsString>) -> Result<Command, UsageError> {
    let mut args = args.into_iter();
    let Some(command) = args.next() else {
        return Err(UsageError("no command given".to_owned()));
    };
    let rest: Vec<OsString> = args.collect();
    match command.to_str() {
        Some("test") => test::Options::parse(rest).map(Command::Test),
        Some("tidy") => no_arguments("tidy", &rest).map(|()| Command::Tidy),
        Some("bench") => match rest.first().and_then(|a| a.to_str()) {
            Some("ledger") => no_arguments("bench ledger", &rest[1..])
                .map(|()| Command::Bench { ledger_only: true }),
            _ => no_arguments("bench", &rest).map(|()| Command::Bench { ledger_only: false }),
        },
        Some("eval-detect") => eval::Options::parse(rest).map(Command::EvalDetect),
        Some("help" | "-h" | "--help") => Ok(Command::Help),
        _ => Err(UsageError(format!(
            "unknown command `{}`",
            command.to_string_lossy()
        ))),
    }
}

fn no_arguments(command: &str, rest: &[OsString]) -> Result<(), UsageError> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(UsageError(format!(
            "`{command}` takes no arguments, got `{}`",
            arg.to_string_lossy()
        ))),
    }
}

/// The workspace root: xtask lives in `<root>/xtask`.
fn workspace_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    match xtask_dir.parent() {
        Some(root) => root.to_path_buf(),
        None => xtask_dir,
    }
}

fn main() -> ExitCode {
    let command = match parse(std::env::args_os().skip(1).collect()) {
        Ok(command) => command,
        Err(UsageError(message)) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Command::Test(options) => test::run(&options),
        Command::Tidy => tidy::run(),
        Command::Bench { ledger_only: false } => bench::run(&workspace_root()),
        Command::Bench { ledger_only: true } => bench::run_ledger(&workspace_root()),
        Command::EvalDetect(options) => eval::run(&workspace_root(), &options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if process::is_interrupted(&error) => {
            eprintln!("xtask: interrupted; everything it started has been stopped");
            ExitCode::from(130)
        }
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
