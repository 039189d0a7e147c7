//! `confidant serve`

use std::net::SocketAddr;

use anyhow::Context;
use clap::Args;
use confidant_server::ServerOptions;
use confidant_vault::Tenants;

use crate::datadir::{self, Global};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default 127.0.0.1:8080, or `listen`
    /// in the data dir's confidant.toml).
    #[arg(long, env = "CONFIDANT_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Port on 127.0.0.1 (shorthand for --listen 127.0.0.1:PORT).
    #[arg(long, conflicts_with = "listen")]
    port: Option<u16>,
    /// Create a throwaway demo workspace with fake customers, documents and
    /// an assistant, serve it, and delete it on exit.
    #[arg(long)]
    demo: bool,
    /// Write the ledger's latest signed checkpoint into this folder
    /// (`latest.note` and `<size>.note`) whenever it changes, checked every
    /// `--publish-interval` seconds, for copying off the server.
    #[arg(long, env = "CONFIDANT_PUBLISH_CHECKPOINTS", value_name = "DIR")]
    publish_checkpoints: Option<std::path::PathBuf>,
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    publish_interval: u64,
    /// Where people reach the server, e.g. https://vault.example.com (for
    /// invitation links; https also makes cookies Secure and turns on HSTS).
    /// Default: `public_url` in confidant.toml, else http://LISTEN.
    #[arg(long, env = "CONFIDANT_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
}

const DEFAULT_PORT: u16 = 8080;

pub async fn run(global: &Global, args: ServeArgs) -> anyhow::Result<()> {
    if args.demo {
        return crate::demo::run(args.listen, args.port).await;
    }
    let dir = datadir::data_dir(global)?;
    let config = datadir::read_config(dir)?;
    let listen = match (args.listen, args.port, &config.listen) {
        (Some(addr), _, _) => addr,
        (None, Some(port), _) => SocketAddr::from(([127, 0, 0, 1], port)),
        (None, None, Some(text)) => text.parse().with_context(|| {
            format!(
                "listen = {text:?} in {} is not ADDR:PORT",
                datadir::CONFIG_FILE
            )
        })?,
        (None, None, None) => SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)),
    };
    let vaults = datadir::open_all(global).await?;
    let tenants = confidant_vault::Tenants::new(vaults)?;
    let policy = config.sessions.clone().unwrap_or_default().policy()?;
    tenants.set_session_policy(policy);
    let public_url = match args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None if config.public_url.is_some() => datadir::public_url(&config),
        None => format!("http://{listen}"),
    };
    let vault = tenants.first().clone();
    let schedule = crate::schedule::Schedule::from_config(global)?;
    if schedule.enabled {
        let mut owned = Vec::new();
        for vault in tenants.vaults() {
            owned.push((vault.clone(), vault.owner().await?));
        }
        let edge = crate::schedule::Edge {
            data: dir.to_owned(),
            owned,
            hook: schedule.hook.clone(),
            keep: schedule.keep,
        };
        let vaults: Vec<_> = tenants.vaults().cloned().collect();
        tokio::spawn(crate::schedule::run(vaults, schedule.clone(), edge));
    }
    if let Some(dir) = args.publish_checkpoints.clone() {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let owner = vault.owner().await?;
        let vault = vault.clone();
        let every = std::time::Duration::from_secs(args.publish_interval.max(1));
        tokio::spawn(async move {
            let mut published = None;
            loop {
                match vault.latest_checkpoint(&owner).await {
                    Ok(Some(note)) if published.as_ref() != Some(&note) => {
                        match publish(&dir, &note) {
                            Ok(()) => published = Some(note),
                            Err(e) => {
                                tracing::warn!("could not publish the ledger checkpoint: {e:#}")
                            }
                        }
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("could not read the ledger checkpoint: {e}"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen}: choose another with --port or --listen")
        })?;
    let public_url = public_url.replace(
        &format!(":{}", listen.port()),
        &format!(":{}", listener.local_addr()?.port()),
    );
    if tenants.len() == 1 {
        println!(
            "confidant is serving workspace {:?} at {public_url}/",
            vault.workspace_name(),
        );
    } else {
        println!(
            "confidant is serving {} workspaces at {public_url}/",
            tenants.len()
        );
    }
    // On stderr: whoever reads the address from stdout may stop reading.
    for line in schedule.describe() {
        eprintln!("schedule: {line}");
    }
    // A schedule that is off sends nothing, whatever its settings say.
    let page_settings = if schedule.enabled {
        schedule.settings
    } else {
        confidant_vault::schedule::ScheduleSettings::default()
    };
    serve(tenants, listener, &public_url, page_settings).await
}

/// Serves until Ctrl-C or SIGTERM; `public_url` is where people reach it.
pub async fn serve(
    tenants: Tenants,
    listener: tokio::net::TcpListener,
    public_url: &str,
    schedule: confidant_vault::schedule::ScheduleSettings,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    if !addr.ip().is_loopback() {
        eprintln!(
            "warning: listening on {addr} without TLS: put a TLS-terminating proxy in front, \
             or passwords and data cross the network in the clear"
        );
    }
    for workspace in tenants.vaults() {
        match workspace.sweep_orphan_blobs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("removed {n} encrypted bodies left by interrupted uploads"),
            Err(e) => tracing::warn!("could not sweep interrupted uploads: {e}"),
        }
    }
    let tls = public_url.starts_with("https://");
    let options = ServerOptions {
        secure_cookies: tls,
        hsts: tls,
        public_url: public_url.to_owned(),
        schedule,
        ..ServerOptions::default()
    };
    let router = confidant_server::router(tenants, options);
    confidant_server::serve(listener, router, shutdown_signal())
        .await
        .context("the server failed")?;
    eprintln!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        () = term => {}
    }
}

/// Writes a checkpoint note as `<size>.note` and `latest.note`, each
/// through a temporary file, so a reader never sees half a note.
fn publish(dir: &std::path::Path, note: &str) -> anyhow::Result<()> {
    let size = note.lines().nth(1).unwrap_or("unknown");
    for name in [format!("{size}.note"), "latest.note".to_owned()] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, note)?;
        std::fs::rename(&tmp, dir.join(&name))?;
    }
    Ok(())
}
