//! Repository rules checked by `cargo xtask tidy` and, as ordinary tests,
//! by `cargo test --workspace` (see the tests at the bottom).
//!
//! - Dependency direction: the normal (non-dev) dependencies between our
//!   crates follow [`MAY_USE`], the crate diagram of the design; the pure
//!   crates ([`PURE_CRATES`]) name none of [`IO_CRATES`].
//! - Each crate folder `crates/<name>` holds the package `confidant-<name>`.
//! - No `todo!(`, `unimplemented!(` or `dbg!(` under `crates/*/src`.
//! - Every `crates/*/src/lib.rs` starts with a `//!` doc comment.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::workspace_root;

/// What a crate may use among our crates.
#[derive(Debug, Clone, Copy)]
enum MayUse {
    Only(&'static [&'static str]),
    AnyExcept(&'static [&'static str]),
}

/// The dependency direction of the workspace, by short crate name (the
/// folder under `crates/`). Arrows only point down: nothing uses `server`,
/// `cli` or `agent`, and the agent never links the vault or the server. A
/// new crate needs a row here before its tests pass.
const MAY_USE: &[(&str, MayUse)] = &[
    ("core", MayUse::Only(&[])),
    ("crypto", MayUse::Only(&[])),
    ("detect", MayUse::Only(&[])),
    ("ledger", MayUse::Only(&["core"])),
    ("policy", MayUse::Only(&["core"])),
    ("mark", MayUse::Only(&["core"])),
    ("store", MayUse::Only(&["core"])),
    ("protocol", MayUse::Only(&[])),
    // The vault verifies signed posture reports: the signed bytes are the
    // protocol's report and message formats, so it reads them there.
    (
        "vault",
        MayUse::Only(&[
            "core", "crypto", "store", "policy", "ledger", "mark", "detect", "protocol",
        ]),
    ),
    ("server", MayUse::Only(&["core", "vault", "protocol"])),
    ("agent", MayUse::Only(&["protocol", "crypto", "core"])),
    // The composition root.
    ("cli", MayUse::AnyExcept(&["cli", "xtask", "testkit"])),
    ("testkit", MayUse::Only(&["core", "store", "protocol"])),
    ("xtask", MayUse::Only(&[])),
];

/// Crates that do no network or database I/O and never read the clock or
/// the OS RNG: time and randomness are passed in.
const PURE_CRATES: &[&str] = &["core", "crypto", "detect", "ledger", "policy", "mark"];

/// Third-party crates the pure crates must not depend on (normal deps).
const IO_CRATES: &[&str] = &[
    "sqlx",
    "tokio",
    "object_store",
    "reqwest",
    "axum",
    "hyper",
    "lettre",
    "getrandom",
];

/// Package names of our crates are `confidant-<folder>`.
const PACKAGE_PREFIX: &str = "confidant-";

/// Patterns that must not be left in crate sources (split so that this file
/// does not match itself).
const FORBIDDEN_MACROS: &[&str] = &[
    concat!("todo", "!("),
    concat!("unimplemented", "!("),
    concat!("dbg", "!("),
];

/// One workspace member, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Member {
    package: String,
    manifest_path: PathBuf,
    deps: Vec<Dep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dep {
    package: String,
    /// `None` for normal dependencies, else "dev" or "build".
    kind: Option<String>,
}

impl Dep {
    fn is_dev(&self) -> bool {
        self.kind.as_deref() == Some("dev")
    }
}

/// One broken rule, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(String);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `cargo xtask tidy`.
pub fn run() -> Result<()> {
    let root = workspace_root();
    let members = workspace_members(&root)?;
    let mut problems = dependency_problems(&members);
    problems.extend(folder_name_problems(&root, &members));
    problems.extend(source_problems(&root)?);
    problems.extend(crate_doc_problems(&root)?);
    problems.extend(one_door_problems(&root)?);
    if problems.is_empty() {
        println!("tidy: ok ({} workspace members)", members.len());
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

/// The workspace members and their dependencies, from `cargo metadata`.
fn workspace_members(root: &Path) -> Result<Vec<Member>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(&cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--manifest-path",
        ])
        .arg(root.join("Cargo.toml"))
        .stdin(Stdio::null())
        .output()
        .context("could not run `cargo metadata`")?;
    if !output.status.success() {
        bail!(
            "`cargo metadata` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).context("`cargo metadata` printed invalid JSON")?;
    parse_members(&metadata)
}

fn parse_members(metadata: &Value) -> Result<Vec<Member>> {
    let str_field = |value: &Value, key: &str| -> Result<String> {
        value
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("`cargo metadata`: missing string field `{key}`"))
    };
    let member_ids: Vec<&str> = metadata
        .get("workspace_members")
        .and_then(Value::as_array)
        .context("`cargo metadata`: no workspace_members")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let packages = metadata
        .get("packages")
        .and_then(Value::as_array)
        .context("`cargo metadata`: no packages")?;
    let mut members = Vec::new();
    for package in packages {
        let id = str_field(package, "id")?;
        if !member_ids.contains(&id.as_str()) {
            continue;
        }
        let mut deps = Vec::new();
        for dep in package
            .get("dependencies")
            .and_then(Value::as_array)
            .context("`cargo metadata`: package without dependencies")?
        {
            deps.push(Dep {
                package: str_field(dep, "name")?,
                kind: dep.get("kind").and_then(Value::as_str).map(str::to_owned),
            });
        }
        members.push(Member {
            package: str_field(package, "name")?,
            manifest_path: PathBuf::from(str_field(package, "manifest_path")?),
            deps,
        });
    }
    members.sort_by(|a, b| a.package.cmp(&b.package));
    Ok(members)
}

/// `confidant-vault` -> `vault`; other names stay as they are.
fn short_name(package: &str) -> &str {
    package.strip_prefix(PACKAGE_PREFIX).unwrap_or(package)
}

fn may_use(short: &str) -> Option<MayUse> {
    MAY_USE
        .iter()
        .find(|(name, _)| *name == short)
        .map(|(_, may)| *may)
}

fn describe(may: MayUse) -> String {
    match may {
        MayUse::Only([]) => "none of our crates".to_owned(),
        MayUse::Only(names) => names.join(", "),
        MayUse::AnyExcept(names) => format!("any of our crates except {}", names.join(", ")),
    }
}

fn dependency_problems(members: &[Member]) -> Vec<Problem> {
    let ours: Vec<&str> = members.iter().map(|m| m.package.as_str()).collect();
    let mut problems = Vec::new();
    for member in members {
        let short = short_name(&member.package);
        let Some(may) = may_use(short) else {
            problems.push(Problem(format!(
                "crate `{}` ({}) is not in the dependency table: add a row for `{short}` \
                 to MAY_USE in xtask/src/tidy.rs naming the workspace crates it may use \
                 (following the crate diagram in the design), and to PURE_CRATES if it \
                 does no I/O",
                member.package,
                member.manifest_path.display()
            )));
            continue;
        };
        for dep in member.deps.iter().filter(|dep| !dep.is_dev()) {
            let dep_short = short_name(&dep.package);
            if ours.contains(&dep.package.as_str()) {
                let allowed = match may {
                    MayUse::Only(names) => names.contains(&dep_short),
                    MayUse::AnyExcept(names) => !names.contains(&dep_short),
                };
                if !allowed {
                    problems.push(Problem(format!(
                        "`{}` depends on `{}`, which breaks the dependency direction: \
                         `{short}` may use {} (move the shared part down, or use it \
                         only as a dev-dependency)",
                        member.package,
                        dep.package,
                        describe(may)
                    )));
                }
            } else if PURE_CRATES.contains(&short) && IO_CRATES.contains(&dep.package.as_str()) {
                problems.push(Problem(format!(
                    "`{}` depends on `{}`, but `{short}` does no network, database, clock \
                     or OS-RNG I/O (those are passed in); keep `{}` to the crates above it",
                    member.package, dep.package, dep.package
                )));
            }
        }
    }
    problems
}

/// `crates/<name>` must hold the package `confidant-<name>`.
fn folder_name_problems(root: &Path, members: &[Member]) -> Vec<Problem> {
    let crates = root.join("crates");
    members
        .iter()
        .filter_map(|member| {
            let dir = member.manifest_path.parent()?;
            if dir.parent()? != crates {
                return None;
            }
            let folder = dir.file_name()?.to_string_lossy();
            let expected = format!("{PACKAGE_PREFIX}{folder}");
            (member.package != expected).then(|| {
                Problem(format!(
                    "the package in crates/{folder} is named `{}`; name it `{expected}`",
                    member.package
                ))
            })
        })
        .collect()
}

/// The folders `crates/*` that have a `Cargo.toml`.
fn crate_dirs(root: &Path) -> Result<Vec<PathBuf>> {
    let crates = root.join("crates");
    let mut dirs = Vec::new();
    for entry in
        fs::read_dir(&crates).with_context(|| format!("could not list {}", crates.display()))?
    {
        let path = entry
            .with_context(|| format!("could not list {}", crates.display()))?
            .path();
        if path.join("Cargo.toml").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    Ok(dirs)
}

fn files_under(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))? {
        let entry = entry.with_context(|| format!("could not list {}", dir.display()))?;
        let file_type = entry
            .file_type()
            .with_context(|| format!("could not stat {}", entry.path().display()))?;
        if file_type.is_dir() {
            files_under(&entry.path(), files)?;
        } else if file_type.is_file() {
            files.push(entry.path());
        }
    }
    Ok(())
}

fn relative<'a>(root: &Path, path: &'a Path) -> std::path::Display<'a> {
    path.strip_prefix(root).unwrap_or(path).display()
}

/// No leftover `todo!(`, `unimplemented!(` or `dbg!(` in crate sources.
fn source_problems(root: &Path) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for dir in crate_dirs(root)? {
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        files_under(&src, &mut files)?;
        files.sort();
        for file in files {
            let bytes =
                fs::read(&file).with_context(|| format!("could not read {}", file.display()))?;
            let text = String::from_utf8_lossy(&bytes);
            for (number, line) in text.lines().enumerate() {
                for pattern in FORBIDDEN_MACROS {
                    if line.contains(pattern) {
                        problems.push(Problem(format!(
                            "{}:{}: `{pattern}` left in the code; finish it, or return an \
                             error that says what is missing",
                            relative(root, &file),
                            number + 1
                        )));
                    }
                }
            }
        }
    }
    Ok(problems)
}

/// What the composition root may name from the store crate: how to open a
/// store and a blob folder, never the rows. Protected data is read only
/// through the vault (DESIGN.md, "one door"); `server` cannot even depend on
/// the store (see the dependency table).
const CLI_STORE_ALLOWED: [&str; 3] = ["connect", "BlobStore", "Store"];

/// The one door: outside `vault` (and the store itself), no crate source
/// uses the store crate beyond [`CLI_STORE_ALLOWED`].
fn one_door_problems(root: &Path) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for dir in crate_dirs(root)? {
        let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if matches!(name, "vault" | "store" | "testkit") {
            continue;
        }
        let src = dir.join("src");
        if !src.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        files_under(&src, &mut files)?;
        files.sort();
        for file in files {
            let text = fs::read_to_string(&file)
                .with_context(|| format!("could not read {}", file.display()))?;
            for (number, line) in text.lines().enumerate() {
                for (i, _) in line.match_indices("confidant_store::") {
                    let rest = &line[i + "confidant_store::".len()..];
                    let item: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !CLI_STORE_ALLOWED.contains(&item.as_str()) {
                        problems.push(Problem(format!(
                            "{}:{}: uses `confidant_store::{item}`; protected data goes through the vault                              (only {} may be named outside it)",
                            relative(root, &file),
                            number + 1,
                            CLI_STORE_ALLOWED.join(", ")
                        )));
                    }
                }
                if line.contains("use confidant_store::{") {
                    problems.push(Problem(format!(
                        "{}:{}: import store items by full path (`confidant_store::connect`), so the one-door check can read them",
                        relative(root, &file),
                        number + 1
                    )));
                }
            }
        }
    }
    Ok(problems)
}

/// Every `crates/*/src/lib.rs` starts with a `//!` comment saying what the
/// crate is and what it leaves out.
fn crate_doc_problems(root: &Path) -> Result<Vec<Problem>> {
    let mut problems = Vec::new();
    for dir in crate_dirs(root)? {
        let lib = dir.join("src").join("lib.rs");
        if !lib.is_file() {
            continue;
        }
        let text = fs::read_to_string(&lib)
            .with_context(|| format!("could not read {}", lib.display()))?;
        if !starts_with_crate_doc(&text) {
            problems.push(Problem(format!(
                "{} must start with a `//!` comment saying what the crate is and what it \
                 deliberately leaves out",
                relative(root, &lib)
            )));
        }
    }
    Ok(problems)
}

fn starts_with_crate_doc(text: &str) -> bool {
    text.trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with("//!")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn assert_none(problems: &[Problem]) {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "\n{}\n", text.join("\n"));
    }

    // The rules, on the real workspace.

    #[test]
    fn dependencies_point_down() {
        let members = workspace_members(&workspace_root()).unwrap();
        assert!(
            members.iter().any(|m| m.package == "confidant-core"),
            "cargo metadata did not list confidant-core"
        );
        assert_none(&dependency_problems(&members));
    }

    #[test]
    fn crate_folders_match_package_names() {
        let root = workspace_root();
        let members = workspace_members(&root).unwrap();
        assert_none(&folder_name_problems(&root, &members));
    }

    #[test]
    fn no_todo_unimplemented_or_dbg_in_crate_sources() {
        assert_none(&source_problems(&workspace_root()).unwrap());
    }

    #[test]
    fn protected_data_has_one_door() {
        assert_none(&one_door_problems(&workspace_root()).unwrap());
    }

    #[test]
    fn a_second_door_is_reported() {
        let root = std::env::temp_dir().join(format!("confidant-tidy-{}", std::process::id()));
        let src = root.join("crates").join("server").join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("../Cargo.toml"), "[package]\n").unwrap();
        fs::write(src.join("lib.rs"), "//! x\nfn f(s: &dyn confidant_store::Store) { let _ = confidant_store::PersonRecord; }\n").unwrap();
        let problems = one_door_problems(&root).unwrap();
        fs::remove_dir_all(&root).unwrap();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].0.contains("confidant_store::PersonRecord"));
    }

    #[test]
    fn every_lib_rs_starts_with_a_crate_doc() {
        assert_none(&crate_doc_problems(&workspace_root()).unwrap());
    }

    // The checks themselves, on made-up workspaces.

    fn member(package: &str, deps: &[TestDep]) -> Member {
        Member {
            package: package.to_owned(),
            manifest_path: PathBuf::from(format!("/w/crates/{}/Cargo.toml", short_name(package))),
            deps: deps
                .iter()
                .map(|(name, kind)| Dep {
                    package: (*name).to_owned(),
                    kind: kind.map(str::to_owned),
                })
                .collect(),
        }
    }

    fn workspace(extra: Member) -> Vec<Member> {
        let mut members: Vec<Member> = MAY_USE
            .iter()
            .map(|(name, _)| {
                let package = if *name == "xtask" {
                    "xtask".to_owned()
                } else {
                    format!("{PACKAGE_PREFIX}{name}")
                };
                member(&package, &[])
            })
            .filter(|m| m.package != extra.package)
            .collect();
        members.push(extra);
        members
    }

    /// A dependency in a test case: package name and kind.
    type TestDep = (&'static str, Option<&'static str>);

    #[test]
    fn table_cases() {
        let cases: &[(&str, &[TestDep], bool)] = &[
            ("confidant-core", &[("serde", None)], true),
            ("confidant-core", &[("confidant-store", None)], false),
            ("confidant-core", &[("confidant-store", Some("dev"))], true),
            (
                "confidant-core",
                &[("confidant-store", Some("build"))],
                false,
            ),
            (
                "confidant-store",
                &[("confidant-core", None), ("sqlx", None)],
                true,
            ),
            ("confidant-vault", &[("confidant-server", None)], false),
            (
                "confidant-vault",
                &[("confidant-ledger", None), ("tokio", None)],
                true,
            ),
            ("confidant-server", &[("confidant-store", None)], false),
            ("confidant-agent", &[("confidant-vault", None)], false),
            ("confidant-agent", &[("confidant-server", None)], false),
            ("confidant-agent", &[("confidant-store", None)], false),
            ("confidant-agent", &[("confidant-protocol", None)], true),
            (
                "confidant-agent",
                &[("confidant-protocol", None), ("confidant-crypto", None)],
                true,
            ),
            ("confidant-server", &[("confidant-agent", None)], false),
            ("confidant-vault", &[("confidant-agent", None)], false),
            ("confidant-protocol", &[("confidant-agent", None)], false),
            (
                "confidant-cli",
                &[("confidant-agent", None), ("confidant-store", None)],
                true,
            ),
            ("confidant-cli", &[("confidant-testkit", None)], false),
            ("confidant-cli", &[("confidant-testkit", Some("dev"))], true),
            ("confidant-testkit", &[("confidant-store", None)], true),
            ("confidant-testkit", &[("confidant-vault", None)], false),
            ("confidant-ledger", &[("tokio", None)], false),
            ("confidant-crypto", &[("getrandom", None)], false),
            ("confidant-policy", &[("sqlx", Some("dev"))], true),
            ("confidant-detect", &[("confidant-core", None)], false),
            (
                "confidant-mark",
                &[("confidant-core", None), ("lopdf", None)],
                true,
            ),
            ("confidant-mark", &[("confidant-store", None)], false),
            ("confidant-mark", &[("confidant-crypto", None)], false),
            ("confidant-mark", &[("getrandom", None)], false),
            ("confidant-vault", &[("confidant-mark", None)], true),
            ("xtask", &[("confidant-core", None)], false),
        ];
        for (package, deps, ok) in cases {
            let problems = dependency_problems(&workspace(member(package, deps)));
            assert_eq!(problems.is_empty(), *ok, "{package} {deps:?}: {problems:?}");
        }
    }

    #[test]
    fn a_crate_missing_from_the_table_is_reported() {
        let problems = dependency_problems(&workspace(member("confidant-billing", &[])));
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].0.contains("add a row for `billing`"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn the_table_names_only_crates_in_the_table() {
        for (name, may) in MAY_USE {
            let (MayUse::Only(names) | MayUse::AnyExcept(names)) = may;
            for used in *names {
                assert!(may_use(used).is_some(), "{name} names unknown crate {used}");
            }
        }
        for name in PURE_CRATES {
            assert!(
                may_use(name).is_some(),
                "pure crate {name} not in the table"
            );
        }
    }

    #[test]
    fn folder_names_follow_package_names() {
        let root = Path::new("/w");
        let mut wrong = member("confidant-store", &[]);
        wrong.manifest_path = PathBuf::from("/w/crates/storage/Cargo.toml");
        let problems = folder_name_problems(root, &[member("confidant-core", &[]), wrong]);
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn crate_doc_detection() {
        assert!(starts_with_crate_doc("//! The domain.\n"));
        assert!(starts_with_crate_doc("\n//! The domain.\n"));
        assert!(!starts_with_crate_doc("/// Not a crate doc.\n"));
        assert!(!starts_with_crate_doc(
            "#![forbid(unsafe_code)]\n//! Late.\n"
        ));
        assert!(!starts_with_crate_doc(""));
    }

    #[test]
    fn metadata_parsing_keeps_members_and_dependency_kinds() {
        let metadata = serde_json::json!({
            "workspace_members": ["core-id"],
            "packages": [
                {
                    "id": "core-id",
                    "name": "confidant-core",
                    "manifest_path": "/w/crates/core/Cargo.toml",
                    "dependencies": [
                        {"name": "serde", "kind": null},
                        {"name": "proptest", "kind": "dev"}
                    ]
                },
                {
                    "id": "other-id",
                    "name": "not-a-member",
                    "manifest_path": "/elsewhere/Cargo.toml",
                    "dependencies": []
                }
            ]
        });
        let members = parse_members(&metadata).unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0].package, "confidant-core");
        assert!(!members[0].deps[0].is_dev());
        assert!(members[0].deps[1].is_dev());
    }
}
