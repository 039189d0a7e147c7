//! `confidant agreements ...` (read and sign the NDA and handbook, on the
//! server of `confidant login`), `confidant passcodes ...` (the owner
//! issues and rotates day passcodes, on a data dir or a server) and
//! `confidant open ITEM --passcode ...` (enter today's passcode for an
//! item, then read it).

use std::io::Write as _;

use clap::{Args, Subcommand};
use confidant_protocol::{
    AgreementInfo, EnterPasscodeRequest, EnterPasscodeResponse, IssuePasscodeRequest,
    IssuedPasscodeInfo, SignAgreementRequest, SignatureInfo,
};
use secrecy::ExposeSecret as _;

use crate::client::Client;
use crate::datadir::Global;
use crate::output::{self, Format};
use crate::people::{Target, target};

#[derive(Debug, Subcommand)]
pub enum AgreementsCommand {
    /// The agreements you sign, and whether you have.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Print the full text of the current NDA (or handbook).
    Show {
        #[arg(long, default_value = "nda")]
        kind: String,
    },
    /// Sign the current NDA (or acknowledge the handbook with --kind
    /// handbook) after reading it: `confidant agreements show` first.
    Sign {
        #[arg(long, default_value = "nda")]
        kind: String,
        /// Your full name, as your signature.
        #[arg(long)]
        name: String,
        /// You have read the full text and agree to it.
        #[arg(long)]
        agree: bool,
        /// Sign only if the text's SHA-256 is this (what `list --format
        /// json` showed): the text you read is the text you sign.
        #[arg(long)]
        sha256: Option<String>,
    },
}

async fn current(client: &Client, kind: &str) -> anyhow::Result<AgreementInfo> {
    let all: Vec<AgreementInfo> = client.get("/api/v1/agreements").await?;
    let kind = kind.trim().to_ascii_lowercase();
    all.into_iter().find(|a| a.kind == kind).ok_or_else(|| {
        anyhow::anyhow!(
            "no {kind} for you to sign (agreements are for assistants, vendors and associates; \
             kinds: nda, handbook)"
        )
    })
}

pub async fn agreements(command: AgreementsCommand) -> anyhow::Result<()> {
    let client = Client::from_saved()?;
    match command {
        AgreementsCommand::List { format } => {
            let all: Vec<AgreementInfo> = client.get("/api/v1/agreements").await?;
            match format {
                Format::Json => output::json(&all),
                Format::Text => output::table(
                    &["KIND", "VERSION", "TITLE", "SIGNED", "TO DO"],
                    &all.iter()
                        .map(|a| {
                            vec![
                                a.kind.clone(),
                                a.version.to_string(),
                                a.title.clone(),
                                if a.signed { "yes" } else { "no" }.to_owned(),
                                a.todo.clone().unwrap_or_default(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                ),
            }
        }
        AgreementsCommand::Show { kind } => {
            let a = current(&client, &kind).await?;
            println!("{} (version {})\n\n{}", a.title, a.version, a.text);
            println!("SHA-256 of this text: {}", a.text_sha256);
            Ok(())
        }
        AgreementsCommand::Sign {
            kind,
            name,
            agree,
            sha256,
        } => {
            if !agree {
                anyhow::bail!(
                    "read the text (`confidant agreements show --kind {kind}`) and add --agree to \
                     confirm that you agree to it"
                );
            }
            let a = current(&client, &kind).await?;
            if let Some(expected) = sha256
                && !expected.trim().eq_ignore_ascii_case(&a.text_sha256)
            {
                anyhow::bail!(
                    "the current text is not the one you read (its SHA-256 is {}): read it again \
                     with `confidant agreements show --kind {kind}`; nothing was signed",
                    a.text_sha256
                );
            }
            let signed: SignatureInfo = client
                .post(
                    &format!("/api/v1/agreements/{}/sign", a.id),
                    &SignAgreementRequest {
                        typed_name: name,
                        consent: true,
                    },
                )
                .await?;
            println!(
                "signed {} version {} as {:?} at {} (signature {})",
                signed.kind, signed.version, signed.typed_name, signed.signed_at, signed.id
            );
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum PasscodesCommand {
    /// Issue today's passcode for a grant (shown once: pass it on by
    /// another channel). It replaces the grant's earlier passcodes.
    Issue {
        /// The grant's id (`confidant grants list`).
        grant: String,
        /// Valid for this many hours instead of until the business day ends.
        #[arg(long)]
        hours: Option<u32>,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Issue the next business day's passcodes for every grant that needs
    /// one (run daily, e.g. from cron; on a data dir).
    Rotate {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn issued_info(i: confidant_vault::IssuedPasscode) -> IssuedPasscodeInfo {
    IssuedPasscodeInfo {
        passcode: i.passcode.expose_secret().to_owned(),
        grant: i.grant.to_string(),
        person: i.email,
        item: i.item,
        valid_from: rfc3339(i.valid_from),
        valid_until: rfc3339(i.valid_until),
    }
}

fn print_issued(issued: &[IssuedPasscodeInfo], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => output::json(&issued),
        Format::Text => output::table(
            &["PERSON", "ITEM", "PASSCODE", "VALID FROM", "VALID UNTIL"],
            &issued
                .iter()
                .map(|i| {
                    vec![
                        i.person.clone(),
                        i.item.clone(),
                        i.passcode.clone(),
                        i.valid_from.clone(),
                        i.valid_until.clone(),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    }
}

pub async fn passcodes(global: &Global, command: PasscodesCommand) -> anyhow::Result<()> {
    let target = target(global).await?;
    match command {
        PasscodesCommand::Issue {
            grant,
            hours,
            format,
        } => {
            let info = match &target {
                Target::DataDir(vault, owner, _) => {
                    let id = grant
                        .trim()
                        .parse()
                        .map_err(|e| anyhow::anyhow!("{e}: see `confidant grants list`"))?;
                    issued_info(vault.issue_passcode(owner, id, hours).await?)
                }
                Target::Server(client) => {
                    client
                        .post("/api/v1/passcodes", &IssuePasscodeRequest { grant, hours })
                        .await?
                }
            };
            print_issued(&[info], format)
        }
        PasscodesCommand::Rotate { format } => {
            let Target::DataDir(vault, owner, _) = &target else {
                anyhow::bail!(
                    "rotate runs on the server's data dir (`--data DIR`), e.g. from cron after \
                     the business day ends"
                );
            };
            let issued: Vec<IssuedPasscodeInfo> = vault
                .rotate_passcodes(owner)
                .await?
                .into_iter()
                .map(issued_info)
                .collect();
            if issued.is_empty() && format == Format::Text {
                eprintln!("no grant needs a new passcode for the next business day");
                return Ok(());
            }
            print_issued(&issued, format)
        }
    }
}

/// `confidant open ITEM --passcode CODE`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The document (name or id), or the record set with --records.
    item: String,
    /// ITEM is a record set.
    #[arg(long)]
    records: bool,
    /// Today's passcode for the item (asked for when left out).
    #[arg(long, env = "CONFIDANT_PASSCODE", hide_env_values = true)]
    passcode: Option<String>,
    /// Write the document here instead of standard output.
    #[arg(long, short)]
    output: Option<std::path::PathBuf>,
}

pub async fn open(args: OpenArgs) -> anyhow::Result<()> {
    let client = Client::from_saved()?;
    let passcode = match args.passcode {
        Some(p) => p,
        None => rpassword::prompt_password("Today's passcode: ")?,
    };
    let body = if args.records {
        EnterPasscodeRequest {
            document: None,
            records: Some(args.item.clone()),
            passcode,
        }
    } else {
        EnterPasscodeRequest {
            document: Some(args.item.clone()),
            records: None,
            passcode,
        }
    };
    let opened: EnterPasscodeResponse = client.post("/api/v1/passcodes/enter", &body).await?;
    eprintln!(
        "open until {}; `confidant open` needs no passcode for it until then",
        opened.open_until
    );
    let segment = crate::people::segment(&args.item);
    if args.records {
        let page: serde_json::Value = client
            .get(&format!("/api/v1/record-sets/{segment}"))
            .await?;
        return output::json(&page);
    }
    let bytes = client
        .get_bytes(&format!("/api/v1/documents/{segment}"))
        .await?;
    match args.output {
        Some(path) => std::fs::write(&path, &bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display())),
        None => Ok(std::io::stdout().write_all(&bytes)?),
    }
}
