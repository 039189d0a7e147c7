//! `confidant people`: list, invite, show and offboard people. With a data
//! dir (`--data` or CONFIDANT_DATA) the owner works at the server's own
//! console; otherwise the command goes to the server of `confidant login`
//! as the signed-in person.

use clap::{Args, Subcommand};
use confidant_core::Role;
use confidant_protocol::{
    InviteRequest, InviteResponse, OffboardRequest, OffboardResponse, PersonDetailInfo, PersonInfo,
};
use confidant_server::wire;
use secrecy::ExposeSecret;

use crate::client::Client;
use crate::datadir::{self, Global};
use crate::output::{self, Format};

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Everyone of the workspace with their role and status (invited,
    /// active, offboarded).
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Invite someone: prints a single-use link that works for 72 hours.
    Invite(InviteArgs),
    /// One person: role, status, second factor, sessions.
    Show {
        /// E-mail address or id.
        who: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// End every session and token of a person, disable the account and
    /// revoke what they were given, in one step; prints what they reached.
    Offboard {
        /// E-mail address or id.
        who: String,
        /// Why (kept in the access record).
        #[arg(long)]
        reason: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// Their e-mail address (their sign-in name).
    email: String,
    /// admin, assistant, vendor, associate or auditor.
    #[arg(long)]
    role: Role,
    /// Their full name, as on their agreements.
    #[arg(long)]
    name: String,
    /// How long the link works, in hours (at most 720).
    #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(u32).range(1..=720))]
    valid_hours: u32,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

/// Where a people (or grants) command runs.
pub(crate) enum Target {
    DataDir(confidant_vault::Vault, confidant_vault::Actor, String),
    Server(Client),
}

pub(crate) async fn target(global: &Global) -> anyhow::Result<Target> {
    if global.data.is_some() {
        let (vault, owner) = datadir::open_as_owner(global).await?;
        let config = datadir::read_config(datadir::data_dir(global)?)?;
        Ok(Target::DataDir(vault, owner, datadir::public_url(&config)))
    } else {
        Ok(Target::Server(Client::from_saved()?))
    }
}

/// A path segment for a person (an e-mail address or an id).
pub(crate) fn segment(who: &str) -> String {
    who.trim()
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'@' | b'+' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub async fn run(global: &Global, command: PeopleCommand) -> anyhow::Result<()> {
    let target = target(global).await?;
    match command {
        PeopleCommand::List { format } => {
            let people: Vec<PersonInfo> = match &target {
                Target::DataDir(vault, owner, _) => vault
                    .people(owner)
                    .await?
                    .iter()
                    .map(wire::person_info)
                    .collect(),
                Target::Server(client) => client.get("/api/v1/people").await?,
            };
            match format {
                Format::Json => output::json(&people),
                Format::Text => output::table(
                    &["EMAIL", "NAME", "ROLE", "STATUS"],
                    &people
                        .iter()
                        .map(|p| {
                            vec![
                                p.email.clone(),
                                p.name.clone(),
                                p.role.clone(),
                                p.status.clone(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                ),
            }
        }
        PeopleCommand::Invite(args) => {
            let invited: InviteResponse = match &target {
                Target::DataDir(vault, owner, public_url) => {
                    let invitation = vault
                        .invite(
                            owner,
                            &args.email,
                            &args.name,
                            args.role,
                            Some(time::Duration::hours(i64::from(args.valid_hours))),
                        )
                        .await?;
                    InviteResponse {
                        person: wire::person_info(&invitation.person),
                        invite_url: format!(
                            "{}/join/{}",
                            public_url.trim_end_matches('/'),
                            invitation.token.expose_secret()
                        ),
                        expires_at: invitation.expires_at,
                    }
                }
                Target::Server(client) => {
                    client
                        .post(
                            "/api/v1/people",
                            &InviteRequest {
                                email: args.email.clone(),
                                name: args.name.clone(),
                                role: args.role.as_str().to_owned(),
                                valid_hours: Some(args.valid_hours),
                            },
                        )
                        .await?
                }
            };
            match args.format {
                Format::Json => output::json(&invited),
                Format::Text => {
                    println!(
                        "invited {} <{}> as {}",
                        output::clean(&invited.person.name),
                        invited.person.email,
                        invited.person.role
                    );
                    println!(
                        "send them this link (it works once, until {}):",
                        output::time(invited.expires_at)
                    );
                    println!("{}", invited.invite_url);
                    Ok(())
                }
            }
        }
        PeopleCommand::Show { who, format } => {
            let detail: PersonDetailInfo = match &target {
                Target::DataDir(vault, owner, _) => {
                    wire::person_detail_info(&vault.person_detail(owner, &who).await?)
                }
                Target::Server(client) => {
                    client
                        .get(&format!("/api/v1/people/{}", segment(&who)))
                        .await?
                }
            };
            match format {
                Format::Json => output::json(&detail),
                Format::Text => {
                    let p = &detail.person;
                    println!("{} <{}>", output::clean(&p.name), p.email);
                    println!("role: {}, status: {}", p.role, p.status);
                    println!("added: {}", output::time(detail.created_at));
                    println!(
                        "second factor: {}",
                        if detail.second_factor {
                            format!(
                                "authenticator app, {} recovery codes left",
                                detail.recovery_codes_left
                            )
                        } else {
                            "none".to_owned()
                        }
                    );
                    if let Some(at) = detail.offboarded_at {
                        println!(
                            "offboarded: {} ({})",
                            output::time(at),
                            output::clean(detail.offboard_reason.as_deref().unwrap_or(""))
                        );
                    }
                    println!("sessions: {}", detail.sessions.len());
                    if !detail.sessions.is_empty() {
                        output::table(
                            &["KIND", "DEVICE", "LAST USED", "ENDS"],
                            &detail
                                .sessions
                                .iter()
                                .map(|s| {
                                    vec![
                                        s.kind.clone(),
                                        s.label.clone(),
                                        output::time(s.last_used_at),
                                        output::time(s.expires_at),
                                    ]
                                })
                                .collect::<Vec<_>>(),
                        )?;
                    }
                    Ok(())
                }
            }
        }
        PeopleCommand::Offboard {
            who,
            reason,
            format,
        } => {
            let done: OffboardResponse = match &target {
                Target::DataDir(vault, owner, _) => {
                    wire::offboard_info(&vault.offboard(owner, &who, &reason).await?)
                }
                Target::Server(client) => {
                    client
                        .post(
                            &format!("/api/v1/people/{}/offboard", segment(&who)),
                            &OffboardRequest { reason },
                        )
                        .await?
                }
            };
            match format {
                Format::Json => output::json(&done),
                Format::Text => {
                    println!(
                        "offboarded {} <{}>: {} sessions and tokens ended, {} invitation links cancelled, {} devices revoked",
                        output::clean(&done.person.name),
                        done.person.email,
                        done.sessions_ended,
                        done.invites_cancelled,
                        done.devices_revoked
                    );
                    println!("their role reached: {}", done.role_access);
                    if done.accessed.is_empty() {
                        println!("they opened no documents or customer records");
                    } else {
                        println!("what they had reached, from the access record:");
                        output::table(
                            &["KIND", "ITEM", "WHAT", "LAST"],
                            &done
                                .accessed
                                .iter()
                                .map(|a| {
                                    vec![
                                        a.kind.clone(),
                                        a.name.clone().unwrap_or_else(|| a.id.clone()),
                                        a.actions
                                            .iter()
                                            .map(|(k, n)| format!("{k} x{n}"))
                                            .collect::<Vec<_>>()
                                            .join(", "),
                                        output::time(a.last),
                                    ]
                                })
                                .collect::<Vec<_>>(),
                        )?;
                    }
                    Ok(())
                }
            }
        }
    }
}
