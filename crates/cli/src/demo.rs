//! `confidant serve --demo`: a throwaway workspace with fake customers,
//! documents and an assistant.

use std::fmt::Write as _;
use std::net::SocketAddr;

use anyhow::Context;
use confidant_core::{Access, DataCategory, Label, Role};
use confidant_vault::{ColumnMapping, DocRef, GrantRequest, GrantTarget};
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};

use crate::datadir::{self, Global, InitArgs, InitSecrets};

const OWNER_EMAIL: &str = "owner@demo.example";

pub async fn run(listen: Option<SocketAddr>, port: Option<u16>) -> anyhow::Result<()> {
    let temp = tempfile::Builder::new()
        .prefix("confidant-demo-")
        .tempdir()
        .context("cannot make a temporary folder")?;
    let dir = temp.path().join("data");
    let key_file = temp.path().join("demo.key");
    let password = SecretString::from(random_password());
    let args = InitArgs {
        owner_email: OWNER_EMAIL.into(),
        owner_name: "Dana Owner".into(),
        workspace_name: "Demo Plumbing & Heating".into(),
        database: None,
    };
    datadir::create_workspace(
        &dir,
        Some(&key_file),
        &args,
        InitSecrets {
            owner_password: password.clone(),
            passphrase: None,
        },
    )
    .await?;
    let global = Global {
        data: Some(dir.clone()),
        key_file: Some(key_file.clone()),
        workspace: None,
    };
    let (vault, owner) = datadir::open_as_owner(&global).await?;
    let alex_invite = seed(&vault, &owner).await?;
    let (alex_device, _) = vault
        .new_enrollment_code(&owner, "alex@demo.example")
        .await?;

    let addr = match (listen, port) {
        (Some(addr), _) => addr,
        (None, Some(port)) => SocketAddr::from(([127, 0, 0, 1], port)),
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        // The usual port is taken: any free one will do for a demo.
        Err(_) if listen.is_none() && port.is_none() => {
            tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?
        }
        Err(e) => return Err(e).with_context(|| format!("cannot listen on {addr}")),
    };
    let base = format!("http://{}", listener.local_addr()?);
    let url = format!("{base}/");
    println!("confidant demo is running at {url}");
    println!();
    println!("  open {url} and sign in as {OWNER_EMAIL}");
    println!("  password: {}", password.expose_secret());
    println!("  (the first sign-in asks you to set up an authenticator app)");
    println!();
    println!("  you will find 3 documents, 40 fake customers (record set \"customers\"),");
    println!("  and an invited assistant, Alex Doe, granted some customer columns and the Q3");
    println!("  invoices; join as Alex in another browser with:");
    println!("    {base}/join/{}", alex_invite.expose_secret());
    println!("  Alex first signs the NDA and the handbook (Agreements), then enters the day");
    println!("  passcode you issue on the Passcodes page before the data opens.");
    println!("  Confidential items also open only from an enrolled computer whose firewall is");
    println!("  on: enroll the computer Alex works from (this one will do) with");
    println!(
        "    confidant agent enroll {base} {}",
        alex_device.code.expose_secret()
    );
    println!(
        "  then press \"Link this browser\" on Alex's Devices page and run the command shown."
    );
    println!();
    println!("  the same workspace from the command line, while this runs:");
    println!(
        "    export CONFIDANT_DATA={} CONFIDANT_KEY_FILE={}",
        dir.display(),
        key_file.display()
    );
    println!("    confidant docs list; confidant records show customers");
    println!();
    println!("  everything is deleted when you stop the demo with Ctrl-C");
    let tenants = confidant_vault::Tenants::new(vec![vault])?;
    crate::serve::serve(
        tenants,
        listener,
        &base,
        confidant_vault::schedule::ScheduleSettings::default(),
    )
    .await?;
    drop(temp);
    Ok(())
}

/// 80 random bits as four groups of four letters and digits.
fn random_password() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = OsRng;
    let chars: Vec<char> = (0..16)
        .map(|_| ALPHABET[(rng.next_u32() % 32) as usize] as char)
        .collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A Luhn-valid card number in the 4000 00.. test range.
fn test_card_number(seed: u32) -> String {
    let body = format!("400000{:09}", seed % 1_000_000_000);
    let digits: Vec<u32> = body.chars().filter_map(|c| c.to_digit(10)).collect();
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                *d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// Fills the demo workspace; returns Alex's invitation token.
async fn seed(
    vault: &confidant_vault::Vault,
    owner: &confidant_vault::Actor,
) -> anyhow::Result<SecretString> {
    let alex = vault
        .invite(
            owner,
            "alex@demo.example",
            "Alex Doe",
            Role::Assistant,
            None,
        )
        .await?;

    const FIRST: [&str; 10] = [
        "Ann", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    ];
    const LAST: [&str; 8] = [
        "Lee", "Martin", "Novak", "Okafor", "Patel", "Quinn", "Rossi", "Silva",
    ];
    const STREETS: [&str; 5] = [
        "Oak Street",
        "Mill Road",
        "Harbor Lane",
        "Pine Avenue",
        "Station Road",
    ];
    const CITIES: [&str; 4] = ["Springfield", "Riverton", "Lakeside", "Fairview"];
    let mut csv = String::from("name,email,phone,address,city,card_number,date_of_birth,notes\n");
    for i in 0..40u32 {
        let first = FIRST[(i % 10) as usize];
        let last = LAST[((i / 10 + i) % 8) as usize];
        let _ = writeln!(
            csv,
            "{first} {last},{}.{}{i}@example.com,+1 555 01{:02} {:04},\"{} {}\",{},{},{}-{:02}-{:02},{}",
            first.to_lowercase(),
            last.to_lowercase(),
            i % 100,
            1000 + i * 37,
            10 + i * 3,
            STREETS[(i % 5) as usize],
            CITIES[(i % 4) as usize],
            test_card_number(i * 7919 + 17),
            1950 + (i * 7) % 50,
            1 + i % 12,
            1 + (i * 3) % 28,
            if i % 3 == 0 {
                "prefers morning appointments"
            } else {
                ""
            },
        );
    }
    let mapping = ColumnMapping {
        categories: vec![
            ("name".into(), DataCategory::Name),
            ("email".into(), DataCategory::Email),
            ("phone".into(), DataCategory::Phone),
            ("address".into(), DataCategory::PostalAddress),
            ("city".into(), DataCategory::PostalAddress),
            ("card_number".into(), DataCategory::CardNumber),
            ("date_of_birth".into(), DataCategory::DateOfBirth),
            ("notes".into(), DataCategory::FreeText),
        ],
        indexed: vec!["email".into(), "phone".into()],
        rows_are_customers: true,
        contact_column: Some("email".into()),
        label: Label::Confidential,
    };
    vault
        .import_records(
            owner,
            "customers",
            std::io::Cursor::new(csv.into_bytes()),
            mapping,
        )
        .await?;

    let documents: [(&str, Label, String); 3] = [
        (
            "Handbook/Handling customer data.md",
            Label::Internal,
            "# Handling customer data\n\nOnly open what your task needs. Never copy customer data out of confidant.\n\
             Report anything unusual to the owner at once.\n"
                .into(),
        ),
        (
            "Invoices/Q3 invoices.csv",
            Label::Confidential,
            "invoice,customer,amount\nINV-1001,Ann Lee,240.00\nINV-1002,Ben Martin,1180.50\nINV-1003,Chloe Novak,95.00\n"
                .into(),
        ),
        (
            "Jobs/Boiler replacement - Rossi.txt",
            Label::Restricted,
            "Customer: Elena Rossi, 22 Harbor Lane, Riverton\nAccess code for the side gate: 4471\n\
             Boiler: replace with a 30 kW combi unit; customer pays by card on completion.\n"
                .into(),
        ),
    ];
    for (name, label, body) in documents {
        vault
            .add_document(owner, name, label, std::io::Cursor::new(body.into_bytes()))
            .await?;
    }
    // Alex needs to know some customers' contact details and the Q3
    // invoices: after joining, Alex signs the NDA and the handbook, and
    // opens them with the day passcode the owner issues.
    let until = time::OffsetDateTime::now_utc() + time::Duration::days(14);
    for target in [
        GrantTarget::Records {
            set: "customers".into(),
            columns: vec!["name".into(), "phone".into(), "city".into()],
            rows: None,
        },
        GrantTarget::Document(DocRef::Name("Invoices/Q3 invoices.csv".into())),
    ] {
        vault
            .grant(
                owner,
                "alex@demo.example",
                &GrantRequest {
                    target,
                    actions: [Access::View].into(),
                    purpose: "schedule appointments and chase open invoices".into(),
                    until,
                    require_passcode: false,
                },
            )
            .await?;
    }
    Ok(alex.token)
}
