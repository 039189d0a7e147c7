//! The Debian packages the tests need, installed with apt-get when missing.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::process;

/// A Debian package and why the tests need it.
#[derive(Debug)]
pub struct Package {
    pub name: &'static str,
    pub why: &'static str,
}

/// Every Debian package `cargo xtask test` makes sure of. When a test or a
/// benchmark needs another system tool, add its package here (and only
/// here), with the reason.
pub const DEBIAN_PACKAGES: &[Package] = &[
    Package {
        name: "postgresql",
        why: "initdb, pg_ctl, postgres and pg_dump for the PostgreSQL tests",
    },
    Package {
        name: "openssl",
        why: "the benchmarks",
    },
    Package {
        name: "wrk",
        why: "the sign-in benchmark: page latency under 64 connections",
    },
    Package {
        name: "chromium",
        why: "the headless browser of the end-to-end web test (crates/cli/tests/it/browser.rs)",
    },
    Package {
        name: "chromium-driver",
        why: "chromedriver, through which that test drives chromium (WebDriver)",
    },
    Package {
        name: "nftables",
        why: "nft, to load the rulesets the agent's firewall check reads (crates/agent/tests/it/netns.rs)",
    },
    Package {
        name: "iptables",
        why: "iptables, for the agent's firewall check on iptables rules in the same tests",
    },
    Package {
        name: "iproute2",
        why: "ip netns, the network namespaces those tests load their rulesets into",
    },
    Package {
        name: "qpdf",
        why: "qpdf --check on every stamped PDF and signed-agreement PDF (crates/mark, crates/vault)",
    },
    Package {
        name: "poppler-utils",
        why: "pdftotext and pdfinfo, to read the stamp text back from stamped PDFs",
    },
    Package {
        name: "age",
        why: "the age command-line tool must decrypt the backups confidant writes",
    },
    Package {
        name: "restic",
        why: "the backup benchmark runs restic on the same data, side by side",
    },
    RIPGREP,
    Package {
        name: "python3-venv",
        why: "python3 -m venv, for the Python test tools below (target/s3-venv)",
    },
    Package {
        name: "procps",
        why: "ps and kill, to stop everything the tests started",
    },
];

/// The Python packages the tests need, pip-installed into `target/s3-venv`
/// (not on Debian: moto is not packaged there).
pub const PYTHON_PACKAGES: &[Package] = &[Package {
    name: "moto[server]==5.1.22",
    why: "moto_server, the real S3-compatible server the bucket backup tests \
          upload to (crates/cli/tests/it/s3.rs)",
}];

/// The variable through which the tests find `moto_server`.
pub const MOTO_SERVER_VAR: &str = "CONFIDANT_TEST_MOTO_SERVER";

/// Makes `target/s3-venv` with [`PYTHON_PACKAGES`] when missing; returns
/// the path of its `moto_server`.
pub fn ensure_python_tools(target: &Path) -> Result<std::path::PathBuf> {
    let dir = target.join("s3-venv");
    let moto = dir.join("bin").join("moto_server");
    let pip = dir.join("bin").join("pip");
    let wanted: Vec<&str> = PYTHON_PACKAGES.iter().map(|p| p.name).collect();
    // The marker names the exact packages, so a changed pin reinstalls.
    let marker = dir.join("confidant-packages.txt");
    if moto.exists() && fs::read_to_string(&marker).is_ok_and(|m| m == wanted.join("\n")) {
        eprintln!("xtask: Python test tools present in {}", dir.display());
        return Ok(moto);
    }
    if !pip.exists() {
        eprintln!("xtask: creating {}", dir.display());
        let status = process::run(Command::new("python3").args(["-m", "venv"]).arg(&dir))
            .context("cannot run python3 (apt-get install python3 python3-venv)")?;
        if !status.success() {
            bail!(
                "python3 -m venv {} failed (apt-get install python3-venv)",
                dir.display()
            );
        }
    }
    for package in PYTHON_PACKAGES {
        eprintln!("xtask: pip install {}: {}", package.name, package.why);
    }
    let status = process::run(
        Command::new(&pip)
            .args(["install", "--quiet", "--disable-pip-version-check"])
            .args(&wanted),
    )?;
    if !status.success() || !moto.exists() {
        bail!(
            "pip could not install {} into {}: the S3 backup tests need moto_server",
            names(wanted.iter().copied()),
            dir.display()
        );
    }
    fs::write(&marker, wanted.join("\n"))?;
    Ok(moto)
}

/// ripgrep, which `cargo xtask eval-detect` times beside the detector.
pub const RIPGREP: Package = Package {
    name: "ripgrep",
    why: "rg, the speed yardstick of the detector's evaluation (cargo xtask eval-detect)",
};

/// Where Debian's invoke-rc.d asks whether a package may start its service.
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

/// Installs whatever of [`DEBIAN_PACKAGES`] is missing.
pub fn ensure_packages() -> Result<()> {
    ensure(DEBIAN_PACKAGES)
}

/// Installs whatever of `packages` is missing.
pub fn ensure(packages: &'static [Package]) -> Result<()> {
    let Some(missing) = missing_packages(packages)? else {
        eprintln!(
            "xtask: no dpkg-query here (not Debian); not checking for: {}",
            names(packages.iter().map(|p| p.name))
        );
        return Ok(());
    };
    if missing.is_empty() {
        eprintln!(
            "xtask: Debian packages present: {}",
            names(packages.iter().map(|p| p.name))
        );
        return Ok(());
    }
    let list = names(missing.iter().map(|p| p.name));
    let reasons: Vec<String> = missing
        .iter()
        .map(|p| format!("  {}: {}", p.name, p.why))
        .collect();
    if !process::is_root() {
        bail!(
            "missing Debian packages: {list}\n{}\ninstall them with \
             `sudo apt-get install -y --no-install-recommends {list}`, \
             or pass --no-install to skip this check",
            reasons.join("\n")
        );
    }
    eprintln!("xtask: installing missing Debian packages: {list}");
    for reason in &reasons {
        eprintln!("{reason}");
    }
    apt_get(&["update"])?;
    {
        // The postgresql package would start its own system cluster on port
        // 5432; the tests only use the throwaway one, and nothing may keep
        // running after the command.
        let _no_services = NoServiceStarts::install()?;
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend(missing.iter().map(|p| p.name));
        apt_get(&args)?;
    }
    match missing_packages(packages)? {
        Some(still) if !still.is_empty() => bail!(
            "apt-get finished but these packages are still not installed: {}",
            names(still.iter().map(|p| p.name))
        ),
        _ => Ok(()),
    }
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.collect::<Vec<_>>().join(" ")
}

/// The packages of `packages` that are not installed, or `None` when
/// there is no `dpkg-query` (not a Debian system).
fn missing_packages(packages: &'static [Package]) -> Result<Option<Vec<&'static Package>>> {
    let mut missing = Vec::new();
    for package in packages {
        let output = match Command::new("dpkg-query")
            .args(["-W", "-f=${Status}", package.name])
            .stdin(Stdio::null())
            .output()
        {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error).context("could not run dpkg-query"),
        };
        // Status is "install ok installed" once unpacked and configured; an
        // unknown package makes dpkg-query fail.
        let installed = output.status.success() && output.stdout.ends_with(b" installed");
        if !installed {
            missing.push(package);
        }
    }
    Ok(Some(missing))
}

fn apt_get(args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("apt-get");
    cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
    let status = process::run(&mut cmd)?;
    if !status.success() {
        bail!("`apt-get {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// A `policy-rc.d` that forbids starting services, present while packages
/// install (the usual container trick). Does nothing when the machine
/// already has a policy: that one is the admin's, and left alone.
#[derive(Debug)]
struct NoServiceStarts {
    written: bool,
}

impl NoServiceStarts {
    fn install() -> Result<Self> {
        let path = Path::new(POLICY_RC_D);
        if path.exists() {
            return Ok(Self { written: false });
        }
        fs::write(
            path,
            "#!/bin/sh\n# Written by `cargo xtask test` while it installs packages; \
             removed afterwards.\nexit 101\n",
        )
        .with_context(|| format!("could not write {POLICY_RC_D}"))?;
        let guard = Self { written: true };
        fs::set_permissions(path, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("could not make {POLICY_RC_D} executable"))?;
        Ok(guard)
    }
}

impl Drop for NoServiceStarts {
    fn drop(&mut self) {
        if self.written
            && let Err(error) = fs::remove_file(POLICY_RC_D)
        {
            eprintln!("xtask: warning: could not remove {POLICY_RC_D}: {error}");
        }
    }
}
