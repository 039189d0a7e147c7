//! `cargo xtask eval-detect`: precision and recall of `confidant-detect` per
//! kind on a generated labelled set, beside Microsoft Presidio's pattern and
//! checksum recognizers on the same set, and the single-thread throughput of
//! both.
//!
//! Steps: a Python venv under `target/eval-venv` (made, and filled from
//! `crates/detect/eval/requirements.txt`, when missing); the generator
//! (`crates/detect/eval/generate.py`, Faker, fixed seed) writes
//! `target/eval-detect-set.jsonl`; the detector's `eval` example scores it
//! (release build); `presidio_score.py` scores Presidio. Then the
//! detector's `throughput` example writes a generated mixed corpus (`--mb`,
//! 100 MB by default; 0 skips this step) to `target/eval-detect-corpus.txt`
//! and scans it (best of three runs), and ripgrep (Debian's `ripgrep`, installed when missing) searches
//! the same file, single thread, for the detector's candidate patterns: once
//! with all of them (`rg -f`, one pass that reports leftmost matches only)
//! and once per pattern (every candidate of every pattern, the search the
//! detector does before validating). The table goes to standard output and
//! everything to `target/eval-detect-report.json`. If Presidio cannot be
//! installed, the detector's figures are still reported.

use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::UsageError;
use crate::install;
use crate::process;

const KINDS: [&str; 11] = [
    "card_number",
    "iban",
    "routing_number",
    "ssn",
    "national_id",
    "phone",
    "email",
    "postal_address",
    "date_of_birth",
    "secret",
    "person_name",
];

#[derive(Debug)]
pub struct Options {
    docs: u32,
    seed: u32,
    mb: u32,
}

impl Options {
    pub fn parse(args: Vec<OsString>) -> Result<Self, UsageError> {
        let mut options = Options {
            docs: 2000,
            seed: 7,
            mb: 100,
        };
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let slot = match arg.to_str() {
                Some("--docs") => &mut options.docs,
                Some("--seed") => &mut options.seed,
                Some("--mb") => &mut options.mb,
                _ => {
                    return Err(UsageError(format!(
                        "`eval-detect` does not understand `{}`",
                        arg.to_string_lossy()
                    )));
                }
            };
            let value = args
                .next()
                .and_then(|v| v.to_str().and_then(|v| v.parse().ok()))
                .ok_or_else(|| {
                    UsageError(format!("`{}` needs a whole number", arg.to_string_lossy()))
                })?;
            *slot = value;
        }
        if options.docs == 0 {
            return Err(UsageError("`--docs` must be at least 1".to_owned()));
        }
        Ok(options)
    }
}

/// Runs `cmd` (interruptible), its standard output into `out`; fails with
/// the tail of standard error when it fails.
fn run_to(cmd: &mut Command, out: &Path, what: &str) -> Result<()> {
    let err_path = out.with_extension("stderr");
    cmd.stdout(File::create(out).with_context(|| format!("cannot create {}", out.display()))?)
        .stderr(File::create(&err_path)?);
    let status = process::run(cmd)?;
    if !status.success() {
        bail!(
            "{what} failed ({status}):\n{}",
            process::tail(&err_path, 20)
        );
    }
    Ok(())
}

/// The last JSON object a command printed.
fn last_json(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path)?;
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .with_context(|| format!("no result in {}", path.display()))?;
    Ok(serde_json::from_str(line)?)
}

/// The venv's python, creating the venv and installing the requirements
/// when missing. Returns whether Presidio is usable.
fn venv(root: &Path, target: &Path) -> Result<(PathBuf, bool)> {
    let dir = target.join("eval-venv");
    let python = dir.join("bin").join("python");
    let requirements = root.join("crates/detect/eval/requirements.txt");
    let has = |module: &str| {
        Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !python.exists() {
        eprintln!("== creating {}", dir.display());
        let status = process::run(Command::new("python3").args(["-m", "venv"]).arg(&dir))
            .context("cannot run python3 (apt-get install python3 python3-venv)")?;
        if !status.success() {
            bail!("python3 -m venv failed (apt-get install python3-venv)");
        }
    }
    if !(has("faker") && has("phonenumbers") && has("presidio_analyzer")) {
        eprintln!("== pip install -r {}", requirements.display());
        let pip = dir.join("bin").join("pip");
        let all = process::run(
            Command::new(&pip)
                .args(["install", "--quiet", "-r"])
                .arg(&requirements),
        )?;
        if !all.success() {
            // Presidio is optional; the generator's packages are not.
            eprintln!("xtask: could not install everything; trying the generator's packages alone");
            let lines = std::fs::read_to_string(&requirements)?;
            let needed: Vec<&str> = lines
                .lines()
                .filter(|l| l.starts_with("faker") || l.starts_with("phonenumbers"))
                .collect();
            let status = process::run(
                Command::new(&pip)
                    .args(["install", "--quiet"])
                    .args(&needed),
            )?;
            if !status.success() {
                bail!("pip could not install {needed:?}: the evaluation set cannot be generated");
            }
        }
    }
    let presidio = has("presidio_analyzer");
    if !presidio {
        eprintln!(
            "xtask: presidio-analyzer could not be installed: only confidant-detect is reported"
        );
    }
    Ok((python, presidio))
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Precision and recall from `{"tp","fp","fn"}`.
fn pr(counts: Option<&Value>) -> (Option<f64>, Option<f64>) {
    let Some(c) = counts else {
        return (None, None);
    };
    let n = |k: &str| c.get(k).and_then(Value::as_u64).unwrap_or(0);
    let (tp, fp, fn_) = (n("tp"), n("fp"), n("fn"));
    (ratio(tp, tp + fp), ratio(tp, tp + fn_))
}

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

fn mb_s(v: &Value) -> Option<f64> {
    let bytes = v.get("bytes")?.as_f64()?;
    let secs = v.get("seconds")?.as_f64()?;
    (secs > 0.0).then(|| bytes / 1e6 / secs)
}

/// `cargo run --release -p confidant-detect --example NAME -- ARGS`.
fn example(root: &Path, name: &str) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root).args([
        "run",
        "--quiet",
        "--release",
        "-p",
        "confidant-detect",
        "--example",
        name,
        "--",
    ]);
    cmd
}

/// Seconds `rg` takes (best of `runs`) to count the matches of the
/// patterns in `patterns` in `corpus`, single thread.
fn time_rg(patterns: &Path, corpus: &Path, runs: u32) -> Result<f64> {
    let mut best = f64::MAX;
    for _ in 0..runs {
        // Waited for directly, not polled as `process::run` does: a run
        // takes well under a second and the poll interval would count.
        process::check_interrupted()?;
        let mut cmd = Command::new("rg");
        cmd.args(["-j1", "--count-matches", "-f"])
            .arg(patterns)
            .arg(corpus)
            .stdout(Stdio::null());
        let started = Instant::now();
        let status = process::detach(&mut cmd)
            .status()
            .context("could not run rg")?;
        let secs = started.elapsed().as_secs_f64();
        // 1 is "no match", which is still a full search.
        if !matches!(status.code(), Some(0 | 1)) {
            bail!("rg failed ({status})");
        }
        best = best.min(secs);
    }
    Ok(best)
}

/// Runs of the detector's throughput example (each writes the corpus
/// again, the same bytes) and of ripgrep's one-pass search; the best of
/// each is reported, as on a shared machine the slowest runs say more
/// about the neighbours than about the tool.
const SCAN_RUNS: u32 = 3;

/// The detector's throughput on a generated mixed corpus of `mb` MB, and
/// ripgrep's on the same file with the detector's candidate patterns.
fn throughput_vs_ripgrep(root: &Path, target: &Path, mb: u32) -> Result<Value> {
    let corpus = target.join("eval-detect-corpus.txt");
    let out = target.join("eval-detect-throughput.out");
    eprintln!("== scanning a {mb} MB mixed corpus (best of {SCAN_RUNS})");
    let mut ours: Option<Value> = None;
    for _ in 0..SCAN_RUNS {
        run_to(
            example(root, "throughput")
                .arg(mb.to_string())
                .arg("--corpus")
                .arg(&corpus),
            &out,
            "the throughput example",
        )?;
        let run = last_json(&out)?;
        let seconds = |v: &Value| v.get("seconds").and_then(Value::as_f64).unwrap_or(f64::MAX);
        if ours
            .as_ref()
            .is_none_or(|best| seconds(&run) < seconds(best))
        {
            ours = Some(run);
        }
    }
    let ours = ours.context("the throughput example did not run")?;
    let patterns = target.join("eval-detect-rg-patterns.txt");
    run_to(
        example(root, "throughput").arg("patterns"),
        &patterns,
        "the throughput example (patterns)",
    )?;
    let rg_runs = || {
        Command::new("rg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let mut has_rg = rg_runs();
    if !has_rg {
        // Installed the way `cargo xtask test` installs its tools.
        static RG: [install::Package; 1] = [install::RIPGREP];
        match install::ensure(&RG) {
            Ok(()) => has_rg = rg_runs(),
            Err(e) => eprintln!("xtask: could not install ripgrep: {e:#}"),
        }
    }
    let rg = if has_rg {
        eprintln!("== ripgrep on the same corpus");
        let all = time_rg(&patterns, &corpus, SCAN_RUNS)?;
        // Each pattern alone: rg's time for every candidate of every pattern.
        let one = target.join("eval-detect-rg-pattern.txt");
        let mut each = 0.0;
        for line in std::fs::read_to_string(&patterns)?.lines() {
            std::fs::write(&one, format!("{line}\n"))?;
            each += time_rg(&one, &corpus, 1)?;
        }
        let _ = std::fs::remove_file(&one);
        Some((all, each))
    } else {
        eprintln!("xtask: ripgrep is not installed (apt-get install ripgrep): no comparison");
        None
    };
    let bytes = ours.get("bytes").and_then(Value::as_f64).unwrap_or(0.0);
    let rate = |secs: f64| (secs > 0.0).then(|| bytes / 1e6 / secs);
    let ours_rate = mb_s(&ours);
    let rg_all = rg.and_then(|(a, _)| rate(a));
    let rg_each = rg.and_then(|(_, e)| rate(e));
    let slower = |theirs: Option<f64>| theirs.zip(ours_rate).map(|(t, o)| t / o);
    let shown = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    // "2.7x slower", or "2.8x faster" for a ratio under 1.
    let compared = |ratio: Option<f64>| match ratio {
        Some(r) if r >= 1.0 => format!("{r:.1}x slower"),
        Some(r) if r > 0.0 => format!("{:.1}x faster", 1.0 / r),
        _ => "-".to_owned(),
    };
    println!(
        "throughput, single thread, {:.0} MB mixed corpus: ours {} MB/s; ripgrep, all patterns in one pass {} MB/s \
         (ours {}), each pattern alone {} MB/s (ours {})",
        bytes / 1e6,
        shown(ours_rate),
        shown(rg_all),
        compared(slower(rg_all)),
        shown(rg_each),
        compared(slower(rg_each)),
    );
    if let Some(ratio) = slower(rg_all) {
        println!(
            "ripgrep (one pass) / ours: {ratio:.1}x (target: 3x or less) {}",
            if ratio <= 3.0 { "met" } else { "NOT met" }
        );
    }
    let _ = std::fs::remove_file(&corpus);
    Ok(json!({
        "bytes": bytes,
        "ours": ours,
        "ours_mb_s": ours_rate,
        "rg_one_pass_mb_s": rg_all,
        "rg_per_pattern_mb_s": rg_each,
        "rg_one_pass_over_ours": slower(rg_all),
        "rg_per_pattern_over_ours": slower(rg_each),
    }))
}

pub fn run(root: &Path, options: &Options) -> Result<()> {
    process::catch_signals()?;
    let target = root.join("target");
    std::fs::create_dir_all(&target)?;
    let eval_dir = root.join("crates/detect/eval");
    let (python, presidio) = venv(root, &target)?;

    let set = target.join("eval-detect-set.jsonl");
    eprintln!(
        "== generating {} documents (seed {})",
        options.docs, options.seed
    );
    let status = process::run(
        Command::new(&python)
            .arg(eval_dir.join("generate.py"))
            .arg(&set)
            .args(["--docs", &options.docs.to_string()])
            .args(["--seed", &options.seed.to_string()]),
    )?;
    if !status.success() {
        bail!("the generator failed ({status})");
    }

    eprintln!("== scoring confidant-detect (release build)");
    let ours_out = target.join("eval-detect-ours.out");
    run_to(
        example(root, "eval")
            .arg(&set)
            .arg(target.join("eval-detect-misses.jsonl")),
        &ours_out,
        "the eval example",
    )?;
    let ours = last_json(&ours_out)?;

    let theirs = if presidio {
        eprintln!("== scoring Presidio's pattern recognizers (a minute or so)");
        let out = target.join("eval-detect-presidio.out");
        run_to(
            Command::new(&python)
                .arg(eval_dir.join("presidio_score.py"))
                .arg(&set),
            &out,
            "presidio_score.py",
        )?;
        Some(last_json(&out)?)
    } else {
        None
    };

    let supported: Vec<&str> = theirs
        .as_ref()
        .and_then(|t| t.get("kinds"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!(
        "{:<15} {:>8} {:>8}   {:>8} {:>8}",
        "kind", "ours P", "ours R", "Presidio P", "R"
    );
    let mut rows = serde_json::Map::new();
    for kind in KINDS {
        let (p, r) = pr(ours.get("per_kind").and_then(|k| k.get(kind)));
        let (tp, tr) = if supported.contains(&kind) {
            pr(theirs
                .as_ref()
                .and_then(|t| t.get("per_kind"))
                .and_then(|k| k.get(kind)))
        } else {
            (None, None)
        };
        println!(
            "{kind:<15} {:>8} {:>8}   {:>10} {:>8}",
            cell(p),
            cell(r),
            cell(tp),
            cell(tr)
        );
        rows.insert(
            kind.to_owned(),
            json!({"ours": {"precision": p, "recall": r}, "presidio": {"precision": tp, "recall": tr}}),
        );
    }
    let ours_rate = mb_s(&ours);
    let theirs_rate = theirs.as_ref().and_then(mb_s);
    let speedup = ours_rate.zip(theirs_rate).map(|(a, b)| a / b);
    println!(
        "throughput, single thread, {:.1} MB: ours {} MB/s, Presidio {} MB/s, ratio {}",
        ours.get("bytes").and_then(Value::as_f64).unwrap_or(0.0) / 1e6,
        ours_rate.map_or("-".into(), |v| format!("{v:.1}")),
        theirs_rate.map_or("-".into(), |v| format!("{v:.2}")),
        speedup.map_or("-".into(), |v| format!("{v:.0}x")),
    );
    if let Some(ratio) = speedup {
        println!(
            "ours / Presidio: {ratio:.0}x (target: 50x or more) {}",
            if ratio >= 50.0 { "met" } else { "NOT met" }
        );
    }
    let corpus = if options.mb > 0 {
        Some(throughput_vs_ripgrep(root, &target, options.mb)?)
    } else {
        None
    };
    let report = json!({
        "docs": options.docs,
        "seed": options.seed,
        "corpus_throughput": corpus,
        "per_kind": rows,
        "ours": ours,
        "presidio": theirs,
        "ours_mb_s": ours_rate,
        "presidio_mb_s": theirs_rate,
        "speedup": speedup,
    });
    let path = target.join("eval-detect-report.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    println!(
        "(written to {}; the detector's misses are in {})",
        path.display(),
        target.join("eval-detect-misses.jsonl").display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse() {
        let o =
            Options::parse(vec!["--docs".into(), "50".into()]).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((o.docs, o.seed, o.mb), (50, 7, 100));
        let o = Options::parse(vec!["--mb".into(), "0".into()]).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(o.mb, 0);
        assert!(Options::parse(vec!["--docs".into()]).is_err());
        assert!(Options::parse(vec!["--docs".into(), "0".into()]).is_err());
        assert!(Options::parse(vec!["--bogus".into()]).is_err());
    }

    #[test]
    fn precision_and_recall() {
        let (p, r) = pr(Some(&json!({"tp": 3, "fp": 1, "fn": 0})));
        assert_eq!((p, r), (Some(0.75), Some(1.0)));
        assert_eq!(pr(Some(&json!({"tp": 0, "fp": 0, "fn": 0}))), (None, None));
    }
}
