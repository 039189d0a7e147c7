//! What the checks read from the machine, behind one small trait: commands,
//! files, modification times and environment variables.
//!
//! [`LocalSystem`] is the real machine: it runs programs directly (never
//! through a shell) with a timeout and the C locale. Tests give the checks
//! recorded outputs instead.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

/// What a finished command printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Whether it exited with status 0.
    pub success: bool,
    /// The exit code, when it exited (not killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// A successful run that printed `stdout`.
    pub fn ok(stdout: &str) -> Self {
        Self {
            success: true,
            code: Some(0),
            stdout: stdout.to_owned(),
            stderr: String::new(),
        }
    }

    /// A run that exited with `code` and printed `stderr`.
    pub fn failed(code: i32, stderr: &str) -> Self {
        Self {
            success: false,
            code: Some(code),
            stdout: String::new(),
            stderr: stderr.to_owned(),
        }
    }

    /// Standard output and error together, for tools that print their
    /// answer on either.
    pub fn all_text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Why a command could not be run to its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error("`{0}` is not installed")]
    NotFound(String),
    #[error("`{0}` did not finish within {1} seconds")]
    TimedOut(String, u64),
    #[error("could not run `{0}`: {1}")]
    Io(String, String),
}

/// The machine as the checks see it.
pub trait System {
    /// Runs `program` with `args` (no shell) and waits for it, within the
    /// implementation's timeout.
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, RunError>;
    /// A text file's contents.
    fn read_file(&self, path: &str) -> io::Result<String>;
    /// When a file or folder was last modified.
    fn modified(&self, path: &str) -> io::Result<OffsetDateTime>;
    /// The names of a folder's entries, in any order.
    fn list_dir(&self, path: &str) -> io::Result<Vec<String>>;
    /// An environment variable of the agent's own process.
    fn env(&self, name: &str) -> Option<String>;
}

/// Folders searched after `PATH`: firewall tools live in sbin folders,
/// which an ordinary user's `PATH` often leaves out.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// At most this much of a command's output is kept (a big nftables set
/// is a few megabytes).
const MAX_OUTPUT: u64 = 32 << 20;

/// The real machine.
#[derive(Clone, Debug)]
pub struct LocalSystem {
    timeout: Duration,
    prefix: Vec<String>,
}

impl Default for LocalSystem {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalSystem {
    /// Commands get 20 seconds each (PowerShell's first start is slow).
    pub fn new() -> Self {
        Self {
            timeout: Duration::from_secs(20),
            prefix: Vec::new(),
        }
    }

    /// Each command may take at most `timeout`; it is killed after that.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs every command as `prefix... PROGRAM ARGS...`, for example
    /// `ip netns exec NS` to look at another network namespace. The
    /// program is still resolved to a full path first.
    #[must_use]
    pub fn with_prefix<I, S>(mut self, prefix: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.prefix = prefix.into_iter().map(Into::into).collect();
        self
    }

    fn resolve(program: &str) -> Option<PathBuf> {
        let path = Path::new(program);
        if path.components().count() > 1 {
            return path.is_file().then(|| path.to_owned());
        }
        let from_env = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default();
        let extra = EXTRA_DIRS.iter().map(PathBuf::from);
        for dir in from_env.into_iter().chain(extra) {
            for name in candidate_names(program) {
                let candidate = dir.join(&name);
                if candidate.is_file() {
                    return Some(candidate);
                }
            }
        }
        None
    }
}

/// `program`, and on Windows also `program.exe`.
fn candidate_names(program: &str) -> Vec<String> {
    if cfg!(windows) && Path::new(program).extension().is_none() {
        vec![format!("{program}.exe"), program.to_owned()]
    } else {
        vec![program.to_owned()]
    }
}

impl System for LocalSystem {
    fn run(&self, program: &str, args: &[&str]) -> Result<Output, RunError> {
        let Some(resolved) = Self::resolve(program) else {
            return Err(RunError::NotFound(program.to_owned()));
        };
        let mut words: VecDeque<std::ffi::OsString> = args.iter().map(Into::into).collect();
        words.push_front(resolved.into_os_string());
        for word in self.prefix.iter().rev() {
            words.push_front(word.into());
        }
        let Some(first) = words.pop_front() else {
            return Err(RunError::NotFound(program.to_owned()));
        };
        let mut command = Command::new(first);
        command
            .args(words)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if cfg!(unix) {
            // Parsers read the untranslated messages and dates.
            command.env("LC_ALL", "C").env("LANG", "C");
        }
        run_with_timeout(command, program, self.timeout)
    }

    fn read_file(&self, path: &str) -> io::Result<String> {
        let bytes = std::fs::read(path)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn modified(&self, path: &str) -> io::Result<OffsetDateTime> {
        Ok(OffsetDateTime::from(std::fs::metadata(path)?.modified()?))
    }

    fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in std::fs::read_dir(path)? {
            names.push(entry?.file_name().to_string_lossy().into_owned());
        }
        Ok(names)
    }

    fn env(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

fn run_with_timeout(
    mut command: Command,
    program: &str,
    timeout: Duration,
) -> Result<Output, RunError> {
    let io_error = |e: io::Error| RunError::Io(program.to_owned(), e.to_string());
    let mut child = command.spawn().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            RunError::NotFound(program.to_owned())
        } else {
            io_error(e)
        }
    })?;
    // Both pipes are drained on their own threads, so a chatty command
    // never blocks on a full pipe while we wait for it.
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().map_err(io_error)? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RunError::TimedOut(program.to_owned(), timeout.as_secs()));
            }
            None => thread::sleep(Duration::from_millis(10)),
        }
    };
    // A grandchild may still hold a pipe open; do not wait for it forever.
    let collect = |rx: Option<mpsc::Receiver<Vec<u8>>>| {
        rx.and_then(|rx| rx.recv_timeout(Duration::from_secs(2)).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    };
    Ok(Output {
        success: status.success(),
        code: status.code(),
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn drain(pipe: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.take(MAX_OUTPUT).read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

#[cfg(test)]
pub(crate) mod fake {
    //! A machine made of recorded outputs.

    use std::collections::HashMap;
    use std::io;

    use time::OffsetDateTime;

    use super::{Output, RunError, System};

    #[derive(Debug, Default)]
    pub struct FakeSystem {
        commands: HashMap<String, Result<Output, RunError>>,
        files: HashMap<String, String>,
        mtimes: HashMap<String, OffsetDateTime>,
        dirs: HashMap<String, Vec<String>>,
        env: HashMap<String, String>,
    }

    impl FakeSystem {
        /// `line` is the program and its arguments joined by spaces.
        pub fn command(mut self, line: &str, output: Output) -> Self {
            self.commands.insert(line.to_owned(), Ok(output));
            self
        }

        pub fn command_error(mut self, line: &str, error: RunError) -> Self {
            self.commands.insert(line.to_owned(), Err(error));
            self
        }

        pub fn file(mut self, path: &str, text: &str) -> Self {
            self.files.insert(path.to_owned(), text.to_owned());
            self
        }

        pub fn mtime(mut self, path: &str, when: OffsetDateTime) -> Self {
            self.mtimes.insert(path.to_owned(), when);
            self
        }

        pub fn dir(mut self, path: &str, names: &[&str]) -> Self {
            self.dirs.insert(
                path.to_owned(),
                names.iter().map(|n| (*n).to_owned()).collect(),
            );
            self
        }

        pub fn env(mut self, name: &str, value: &str) -> Self {
            self.env.insert(name.to_owned(), value.to_owned());
            self
        }
    }

    impl System for FakeSystem {
        fn run(&self, program: &str, args: &[&str]) -> Result<Output, RunError> {
            let mut line = program.to_owned();
            for arg in args {
                line.push(' ');
                line.push_str(arg);
            }
            self.commands
                .get(&line)
                .cloned()
                .unwrap_or_else(|| Err(RunError::NotFound(program.to_owned())))
        }

        fn read_file(&self, path: &str) -> io::Result<String> {
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }

        fn modified(&self, path: &str) -> io::Result<OffsetDateTime> {
            self.mtimes
                .get(path)
                .copied()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }

        fn list_dir(&self, path: &str) -> io::Result<Vec<String>> {
            self.dirs
                .get(path)
                .cloned()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
        }

        fn env(&self, name: &str) -> Option<String> {
            self.env.get(name).cloned()
        }
    }
}
