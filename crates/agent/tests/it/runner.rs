//! [`LocalSystem`] runs real programs: output, failures, missing programs,
//! timeouts, and a whole check run on this machine.

use std::time::{Duration, Instant};

use confidant_agent::{LocalSystem, Options, Os, RunError, System};
use confidant_protocol::CHECK_NAMES;

#[test]
fn output_and_exit_codes_come_back() {
    let system = LocalSystem::new();
    let out = system.run("echo", &["one", "two words"]).unwrap();
    assert!(out.success);
    assert_eq!(out.stdout, "one two words\n");
    // No shell: the argument is not split or expanded.
    let out = system.run("echo", &["$HOME;", "*"]).unwrap();
    assert_eq!(out.stdout, "$HOME; *\n");
    let out = system.run("ls", &["/definitely/not/here"]).unwrap();
    assert!(!out.success);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("No such file"), "{out:?}");
}

#[test]
fn a_missing_program_is_not_found() {
    let err = LocalSystem::new()
        .run("confidant-no-such-tool", &[])
        .unwrap_err();
    assert_eq!(err, RunError::NotFound("confidant-no-such-tool".into()));
}

#[test]
fn a_slow_program_is_killed_at_the_timeout() {
    let system = LocalSystem::new().with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = system.run("sleep", &["30"]).unwrap_err();
    assert!(
        matches!(err, RunError::TimedOut(ref p, _) if p == "sleep"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_c_locale_is_used() {
    let out = LocalSystem::new().run("env", &[]).unwrap();
    assert!(
        out.stdout.lines().any(|l| l == "LC_ALL=C"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_prefix_runs_before_the_resolved_program() {
    // `env` as a prefix runs the program it is given, by full path.
    let system = LocalSystem::new().with_prefix(["env", "CONFIDANT_PREFIX_TEST=1"]);
    let out = system.run("printenv", &["CONFIDANT_PREFIX_TEST"]).unwrap();
    assert_eq!(out.stdout, "1\n");
}

#[test]
fn a_whole_check_run_on_this_machine() {
    let now = time::OffsetDateTime::now_utc();
    let report = confidant_agent::check(&LocalSystem::new(), &Options::new(Os::current(), now));
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, CHECK_NAMES);
    for check in &report.checks {
        assert!(!check.detail.is_empty(), "{check:?}");
        eprintln!(
            "{} {}: {} | {}",
            check.status.as_str(),
            check.name,
            check.detail,
            check.fix
        );
    }
    assert_eq!(report.checked_at, now);
    assert!(!report.os.is_empty());
}
