//! `confidant devices`: enrollment codes, the list of devices with their
//! last report, revocation and the posture policy (owner and admins; on a
//! data dir or, after `confidant login`, on the server; `list` works for
//! everyone on the server, showing their own devices).

use clap::Subcommand;
use confidant_core::device::PosturePolicy;
use confidant_protocol::device::{
    CreateEnrollmentRequest, DeviceInfo, EnrollmentCode, PosturePolicyInfo,
};
use secrecy::ExposeSecret;

use crate::datadir::Global;
use crate::output::{self, Format};
use crate::people::{Target, target};

#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// A one-time enrollment code for a person's computer (shown once, good
    /// for 24 hours); they run `confidant agent enroll URL CODE`.
    Enroll {
        /// The person's e-mail address.
        person: String,
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Devices with their status and last report.
    List {
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Revoke a device (lost, replaced, or its person left): its sessions no
    /// longer count and its reports are refused.
    Revoke {
        /// The device id (`confidant devices list`).
        device: String,
        #[arg(long)]
        reason: String,
    },
    /// Show or set which checks must pass for which labels:
    /// `--require firewall=confidential,disk_encryption=restricted` (or
    /// `none`), and how many hours a report counts.
    Policy {
        #[arg(long, value_name = "CHECK=LABEL,...")]
        require: Option<String>,
        #[arg(long, value_name = "HOURS")]
        max_age_hours: Option<u32>,
    },
}

pub async fn run(global: &Global, command: DevicesCommand) -> anyhow::Result<()> {
    let target = target(global).await?;
    match command {
        DevicesCommand::Enroll { person, format } => {
            let (code, url) = match &target {
                Target::DataDir(vault, owner, url) => {
                    let (code, email) = vault.new_enrollment_code(owner, &person).await?;
                    (
                        EnrollmentCode {
                            code: code.code.expose_secret().to_owned(),
                            person: email,
                            expires_at: code.expires_at,
                        },
                        url.clone(),
                    )
                }
                Target::Server(client) => (
                    client
                        .post(
                            "/api/v1/devices/enrollments",
                            &CreateEnrollmentRequest { person },
                        )
                        .await?,
                    client.server().to_owned(),
                ),
            };
            match format {
                Format::Json => output::json(&code),
                Format::Text => {
                    println!(
                        "enrollment code for {} (shown once, good until {}): {}",
                        code.person,
                        crate::gates::rfc3339(code.expires_at),
                        code.code
                    );
                    println!(
                        "on their computer: confidant agent enroll {url} {}",
                        code.code
                    );
                    Ok(())
                }
            }
        }
        DevicesCommand::List { format } => {
            let devices: Vec<DeviceInfo> = match &target {
                Target::DataDir(vault, owner, _) => vault
                    .devices(owner)
                    .await?
                    .iter()
                    .map(confidant_server::wire::device_info)
                    .collect(),
                Target::Server(client) => client.get("/api/v1/devices").await?,
            };
            match format {
                Format::Json => output::json(&devices),
                Format::Text => {
                    if devices.is_empty() {
                        println!("no device is enrolled yet: `confidant devices enroll EMAIL`");
                        return Ok(());
                    }
                    let rows: Vec<Vec<String>> = devices
                        .iter()
                        .map(|d| {
                            let failing: Vec<String> = d
                                .checks
                                .iter()
                                .filter(|c| c.status.as_str() != "pass")
                                .map(|c| format!("{} {}", c.name, c.status.as_str()))
                                .collect();
                            vec![
                                d.id.clone(),
                                d.person.clone(),
                                output::clean(&d.name),
                                d.status.clone(),
                                d.checked_at.map(output::time).unwrap_or_default(),
                                failing.join(", "),
                            ]
                        })
                        .collect();
                    output::table(
                        &["ID", "PERSON", "NAME", "STATUS", "CHECKED", "NOT PASSING"],
                        &rows,
                    )
                }
            }
        }
        DevicesCommand::Revoke { device, reason } => {
            match &target {
                Target::DataDir(vault, owner, _) => {
                    vault.revoke_device(owner, &device, &reason).await?;
                }
                Target::Server(client) => {
                    let _: serde_json::Value = client
                        .post(
                            &format!("/api/v1/devices/{}/revoke", crate::people::segment(&device)),
                            &serde_json::json!({ "reason": reason }),
                        )
                        .await?;
                }
            }
            println!("device {device} revoked");
            Ok(())
        }
        DevicesCommand::Policy {
            require,
            max_age_hours,
        } => {
            let current = match &target {
                Target::DataDir(vault, _, _) => {
                    confidant_server::wire::policy_info(&vault.posture_policy().await?)
                }
                Target::Server(client) => client.get("/api/v1/devices/policy").await?,
            };
            let policy = if require.is_some() || max_age_hours.is_some() {
                let wanted = PosturePolicy::parse(
                    require.as_deref().unwrap_or(&current.requirements),
                    max_age_hours.unwrap_or(current.max_age_hours),
                )?;
                match &target {
                    Target::DataDir(vault, owner, _) => {
                        vault.set_posture_policy(owner, &wanted).await?;
                        confidant_server::wire::policy_info(&wanted)
                    }
                    Target::Server(client) => {
                        client
                            .put::<_, PosturePolicyInfo>(
                                "/api/v1/devices/policy",
                                &confidant_server::wire::policy_info(&wanted),
                            )
                            .await?
                    }
                }
            } else {
                current
            };
            println!(
                "required: {}; a report counts for {} hours",
                policy.requirements, policy.max_age_hours
            );
            Ok(())
        }
    }
}
