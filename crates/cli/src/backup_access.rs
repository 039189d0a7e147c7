//! Who runs a backup command: the owner's console (the data dir opened with
//! its passphrase or key file), or, with `--as EMAIL`, a person who signs
//! in here with their own password and authenticator code, so the vault
//! decides for that person (an admin needs an active break-glass grant)
//! and the ledger names them. And `backup break-glass grant|approve|end|
//! list|require-approval`.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use confidant_core::BreakGlassId;
use confidant_vault::backup::{BreakGlassGrant, break_glass_status};
use confidant_vault::{Actor, SessionRequest, SignIn, Vault};
use secrecy::SecretString;

use crate::datadir::{self, Global};

/// A person signed in for one command; signed out by [`Acting::finish`].
pub struct Acting {
    pub actor: Actor,
    token: Option<SecretString>,
}

impl std::fmt::Debug for Acting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acting")
            .field("person", &self.actor.person)
            .finish_non_exhaustive()
    }
}

impl Acting {
    /// The owner of `vault` (the console), or the person `email` signed in
    /// with CONFIDANT_PASSWORD and CONFIDANT_CODE (or asked on the terminal).
    pub async fn new(vault: &Vault, email: Option<&str>) -> anyhow::Result<Acting> {
        let Some(email) = email else {
            return Ok(Acting {
                actor: vault.owner().await?,
                token: None,
            });
        };
        let password =
            crate::client::secret("CONFIDANT_PASSWORD", &format!("Password of {email}"))?;
        let request = SessionRequest::api("cli backup");
        let issued = match vault.sign_in(email, &password, None, &request).await? {
            SignIn::Done(issued) => issued,
            SignIn::SecondFactor { pending } => {
                let code = match std::env::var("CONFIDANT_CODE") {
                    Ok(code) => code,
                    Err(_) => crate::client::prompt_line(
                        "Code from your authenticator app (or a recovery code)",
                    )?,
                };
                vault
                    .complete_sign_in(&pending, &code, None, &request)
                    .await?
            }
        };
        Ok(Acting {
            actor: issued.actor,
            token: Some(issued.token),
        })
    }

    /// Ends the session of a signed-in person.
    pub async fn finish(self, vault: &Vault) -> anyhow::Result<()> {
        if let Some(token) = &self.token {
            vault.sign_out(token).await?;
        }
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
pub enum BreakGlassCommand {
    /// Give an admin time-limited access to backups, with a reason.
    Grant(GrantArgs),
    /// Approve a grant as a second admin or the owner (not its holder or issuer).
    Approve(IdArgs),
    /// End a grant now.
    End(IdArgs),
    /// List the workspace's grants and whether a second approval is required.
    List(AsArgs),
    /// Whether a new grant needs a second person's approval (the owner only).
    RequireApproval(RequireArgs),
}

#[derive(Debug, Args)]
pub struct AsArgs {
    /// Act as this person (signs in with CONFIDANT_PASSWORD and
    /// CONFIDANT_CODE, or asks); default: the owner's console.
    #[arg(long = "as", value_name = "EMAIL")]
    pub as_person: Option<String>,
}

#[derive(Debug, Args)]
pub struct GrantArgs {
    /// The admin who gets it.
    #[arg(long, value_name = "EMAIL")]
    pub to: String,
    /// Why backups must be touched (kept with the grant, not in the ledger).
    #[arg(long)]
    pub reason: String,
    /// How long it lasts, in hours (at most 168).
    #[arg(long)]
    pub hours: u32,
    #[command(flatten)]
    pub acting: AsArgs,
}

#[derive(Debug, Args)]
pub struct IdArgs {
    /// The grant's id (from `backup break-glass list`).
    pub id: String,
    #[command(flatten)]
    pub acting: AsArgs,
}

#[derive(Debug, Args)]
pub struct RequireArgs {
    /// on or off.
    #[arg(value_parser = ["on", "off"])]
    pub setting: String,
}

fn show(grant: &BreakGlassGrant, now: time::OffsetDateTime) -> String {
    format!(
        "{}  {}  person {}  until {}  {}",
        grant.id,
        break_glass_status(grant, now).as_str(),
        grant.person,
        crate::output::time(grant.expires_at),
        grant.reason
    )
}

fn parse_id(text: &str) -> anyhow::Result<BreakGlassId> {
    text.parse().map_err(|_| {
        anyhow::anyhow!(
            "{text:?} is not a break-glass grant id: copy one from `confidant backup break-glass list`"
        )
    })
}

pub async fn run(global: &Global, cmd: BreakGlassCommand) -> anyhow::Result<()> {
    let vault = datadir::open(global).await?;
    let now = vault.now();
    match cmd {
        BreakGlassCommand::Grant(args) => {
            if args.hours == 0 || args.hours > 168 {
                bail!("--hours must be between 1 and 168 (7 days): nothing was changed");
            }
            let acting = Acting::new(&vault, args.acting.as_person.as_deref()).await?;
            let result = vault
                .issue_break_glass(
                    &acting.actor,
                    &args.to,
                    &args.reason,
                    now + time::Duration::hours(i64::from(args.hours)),
                )
                .await;
            acting.finish(&vault).await?;
            let grant = result?;
            println!("break-glass grant {} for {}", grant.id, args.to);
            println!("{}", show(&grant, now));
            if grant.needs_approval {
                println!(
                    "it needs a second admin's or the owner's approval: confidant backup break-glass approve {} --as EMAIL",
                    grant.id
                );
            }
        }
        BreakGlassCommand::Approve(args) => {
            let id = parse_id(&args.id)?;
            let acting = Acting::new(&vault, args.acting.as_person.as_deref()).await?;
            let result = vault.approve_break_glass(&acting.actor, id).await;
            acting.finish(&vault).await?;
            let grant = result?;
            println!("approved: {}", show(&grant, now));
        }
        BreakGlassCommand::End(args) => {
            let id = parse_id(&args.id)?;
            let acting = Acting::new(&vault, args.acting.as_person.as_deref()).await?;
            let result = vault.end_break_glass(&acting.actor, id).await;
            acting.finish(&vault).await?;
            let grant = result?;
            println!("ended: {}", show(&grant, now));
        }
        BreakGlassCommand::List(args) => {
            let acting = Acting::new(&vault, args.as_person.as_deref()).await?;
            let result = async {
                let grants = vault.break_glass_grants(&acting.actor).await?;
                let required = vault.break_glass_approval_required(&acting.actor).await?;
                Ok::<_, confidant_vault::VaultError>((grants, required))
            }
            .await;
            acting.finish(&vault).await?;
            let (grants, required) = result?;
            for grant in &grants {
                println!("{}", show(grant, now));
            }
            println!(
                "{} break-glass grants; a second approval is {}",
                grants.len(),
                if required { "required" } else { "not required" }
            );
        }
        BreakGlassCommand::RequireApproval(args) => {
            let owner = vault.owner().await?;
            let required = args.setting == "on";
            vault
                .set_break_glass_approval(&owner, required)
                .await
                .context("the setting was not changed")?;
            println!(
                "break-glass grants on backups {} a second approval",
                if required { "need" } else { "no longer need" }
            );
        }
    }
    Ok(())
}
