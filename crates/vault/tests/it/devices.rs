//! Enrolled devices at the vault: enrollment with one-time codes, signed
//! posture reports (forged, replayed, stale, future, unsigned, revoked and
//! unknown ones refused), linking a session to a device, the posture gate
//! in front of Confidential items with what to fix, revocation,
//! offboarding and the owner's posture policy. The device side is the
//! agent's own signing code (`confidant_agent::identity`).

use confidant_agent::identity::DeviceIdentity;
use confidant_core::device::PosturePolicy;
use confidant_core::{Access, Label, Role};
use confidant_protocol::{CheckStatus, PostureReport};
use confidant_vault::{
    Actor, DeviceEnrollment, GrantRequest, GrantTarget, IncomingReport, PasscodeItem, Vault,
    VaultError,
};
use rand_core::OsRng;
use secrecy::ExposeSecret;
use time::{Duration, OffsetDateTime};

use crate::Setup;
use crate::grants::{member, sign_all, unlock};

use confidant_testkit::posture::{NO_FIREWALL, PASS as ALL_PASS, report};

/// Enrolls a device for `who` with a code from the owner.
pub async fn enroll(vault: &Vault, who: &Actor) -> DeviceIdentity {
    let owner = vault.owner().await.unwrap();
    let (code, _) = vault.new_enrollment_code(&owner, &who.email).await.unwrap();
    let mut identity = DeviceIdentity::generate("http://test", &mut OsRng);
    let request = identity.enroll_request(code.code.expose_secret(), "alex-laptop", "linux");
    let enrolled = vault.enroll_device(&enrollment(&request)).await.unwrap();
    identity.device = enrolled.device.to_string();
    identity
}

fn enrollment(r: &confidant_protocol::device::EnrollDeviceRequest) -> DeviceEnrollment {
    DeviceEnrollment {
        code: r.code.clone(),
        public_key: r.public_key.clone(),
        name: r.name.clone(),
        os: r.os.clone(),
        signature: r.signature.clone(),
    }
}

fn incoming(signed: &confidant_protocol::device::SignedReport) -> IncomingReport {
    IncomingReport {
        device: signed.device.clone(),
        seq: signed.seq,
        body: signed.body.clone(),
        signature: signed.signature.clone(),
    }
}

/// Signs and sends a report; the vault's answer.
async fn send(
    vault: &Vault,
    identity: &mut DeviceIdentity,
    statuses: [CheckStatus; 4],
    at: OffsetDateTime,
) -> Result<Vec<(Label, Vec<confidant_core::device::PostureProblem>)>, VaultError> {
    let signed = identity.sign_report(&report(at, statuses), at).unwrap();
    vault.receive_report(&incoming(&signed)).await
}

/// `who` working from an enrolled device with a fresh, passing report (what
/// every test that is not about devices needs for Confidential items).
pub async fn with_passing_device(vault: &Vault, mut who: Actor) -> Actor {
    let mut identity = enroll(vault, &who).await;
    send(vault, &mut identity, ALL_PASS, vault.now())
        .await
        .unwrap();
    who.device = Some(identity.device.parse().unwrap());
    who
}

fn blocker<T: std::fmt::Debug>(result: Result<T, VaultError>) -> confidant_vault::Blocker {
    match result {
        Err(VaultError::Blocked(b)) => b,
        other => panic!("expected the gates to block, got {other:?}"),
    }
}

async fn open(vault: &Vault, who: &Actor) -> Result<Vec<u8>, VaultError> {
    crate::read(vault, who, "invoices.txt").await
}

/// Alex, signed in (with the session token), holding a grant on a
/// Confidential document, agreements signed and today's passcode entered:
/// only the device stands in the way.
async fn alex_with_grant(vault: &Vault) -> (Actor, secrecy::SecretString) {
    let owner = vault.owner().await.unwrap();
    vault
        .add_document(
            &owner,
            "invoices.txt",
            Label::Confidential,
            &b"Q3 invoices: 4 paid, 1 open"[..],
        )
        .await
        .unwrap();
    let invitation = vault
        .invite(
            &owner,
            "alex@example.com",
            "Alex Doe",
            Role::Assistant,
            None,
        )
        .await
        .unwrap();
    let setup = vault.new_totp_setup("alex@example.com").unwrap();
    let secret = setup.secret.expose_secret().to_owned();
    let welcome = vault
        .accept_invitation(
            &invitation.token,
            &secrecy::SecretString::from("velvet lantern orbit mosaic"),
            &secret,
            &confidant_vault::code_at(&secret, OffsetDateTime::now_utc()).unwrap(),
            None,
            &confidant_vault::SessionRequest::web("test"),
        )
        .await
        .unwrap();
    let alex = welcome.session.actor.clone();
    sign_all(vault, &alex).await;
    let grant = vault
        .grant(
            &owner,
            "alex@example.com",
            &GrantRequest {
                target: GrantTarget::Document(confidant_vault::DocRef::Name("invoices.txt".into())),
                actions: [Access::View, Access::Download].into(),
                purpose: "reconcile invoices".into(),
                until: OffsetDateTime::now_utc() + Duration::days(10),
                require_passcode: false,
            },
        )
        .await
        .unwrap()
        .grant
        .id;
    unlock(
        vault,
        &owner,
        &alex,
        grant,
        PasscodeItem::Document(confidant_vault::DocRef::Name("invoices.txt".into())),
    )
    .await;
    (alex, welcome.session.token)
}

/// The session's actor as the server would see it on the next request.
async fn as_seen(vault: &Vault, token: &secrecy::SecretString) -> Actor {
    vault.authenticate(token, false).await.unwrap()
}

async fn run_device_gate(postgres: bool) {
    let Some(setup) = Setup::new(postgres).await else {
        return;
    };
    let vault = setup.open().await;
    let (alex, token) = alex_with_grant(&vault).await;

    // No device: the grant covers it, the device gate says what to do.
    let b = blocker(open(&vault, &alex).await);
    assert!(b.device && !b.passcode && !b.agreement, "{b:?}");
    assert!(b.message().contains("agent link"), "{}", b.message());

    // Enrolled with the firewall off, and the session linked.
    let mut laptop = enroll(&vault, &alex).await;
    let verdict = send(&vault, &mut laptop, NO_FIREWALL, vault.now())
        .await
        .unwrap();
    assert_eq!(verdict.len(), 2);
    assert!(
        !verdict[0].1.is_empty(),
        "Confidential is blocked: {verdict:?}"
    );
    let code = vault.new_link_code(&alex, &token).await.unwrap();
    let link = laptop.link_request(code.code.expose_secret());
    vault
        .link_device(&link.device, &link.code, &link.signature)
        .await
        .unwrap();
    // A link code links once.
    assert!(matches!(
        vault.link_device(&link.device, &link.code, &link.signature).await,
        Err(VaultError::Forbidden(m)) if m.contains("used already")
    ));
    let alex = as_seen(&vault, &token).await;
    assert_eq!(
        alex.device.map(|d| d.to_string()),
        Some(laptop.device.clone())
    );
    let b = blocker(open(&vault, &alex).await);
    assert!(b.device, "{b:?}");
    let steps = b.steps.join("\n");
    assert!(steps.contains("firewall check says fail"), "{steps}");
    assert!(steps.contains("run: fix-firewall"), "{steps}");

    // The firewall on, a new report: it opens.
    send(&vault, &mut laptop, ALL_PASS, vault.now())
        .await
        .unwrap();
    assert!(!open(&vault, &alex).await.unwrap().is_empty());

    // The devices page view, for Alex and the owner.
    let owner = vault.owner().await.unwrap();
    let mine = vault.devices(&alex).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].status(), "pass");
    assert_eq!(vault.devices(&owner).await.unwrap().len(), 1);

    // Every step is in the ledger, with the device.
    let entries = vault
        .ledger_log(&owner, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .collect::<Vec<_>>();
    let device_of = |action: &str| {
        entries
            .iter()
            .filter(|e| e.action.to_string() == action)
            .map(|e| e.device.as_ref().map(|d| d.to_string()))
            .collect::<Vec<_>>()
    };
    assert!(device_of("device_enroll").contains(&Some(laptop.device.clone())));
    assert_eq!(device_of("device_report").len(), 2);
    assert_eq!(device_of("device_link"), vec![Some(laptop.device.clone())]);
    let opened = entries
        .iter()
        .rfind(|e| {
            e.action.to_string() == "download"
                && e.decision == confidant_vault::LedgerDecision::Allow
        })
        .unwrap();
    assert_eq!(
        opened.device.as_ref().map(|d| d.to_string()),
        Some(laptop.device.clone())
    );

    // A stale report no longer counts: 12 hours later the gate closes.
    let policy = vault.posture_policy().await.unwrap();
    assert_eq!(policy, PosturePolicy::default());

    // Revoked: the linked session no longer counts, reports are refused.
    vault
        .revoke_device(&owner, &laptop.device, "laptop lost")
        .await
        .unwrap();
    let b = blocker(open(&vault, &alex).await);
    assert!(b.steps.join(" ").contains("revoked"), "{b:?}");
    assert!(matches!(
        send(&vault, &mut laptop, ALL_PASS, vault.now()).await,
        Err(VaultError::Forbidden(m)) if m.contains("revoked")
    ));

    // A second device; offboarding revokes it with everything else.
    let desktop = enroll(&vault, &alex).await;
    let done = vault
        .offboard(&owner, "alex@example.com", "contract ended")
        .await
        .unwrap();
    assert_eq!(done.devices_revoked, 1);
    assert!(
        vault
            .devices(&owner)
            .await
            .unwrap()
            .iter()
            .all(|d| d.status() == "revoked"),
        "{}",
        desktop.device
    );
}

#[tokio::test]
async fn a_device_must_pass_before_a_confidential_document_opens_sqlite() {
    run_device_gate(false).await;
}

#[tokio::test]
async fn a_device_must_pass_before_a_confidential_document_opens_postgres() {
    run_device_gate(true).await;
}

#[tokio::test]
async fn forged_replayed_stale_unsigned_and_unknown_reports_are_refused() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let alex = member(&vault, "alex@example.com", Role::Assistant).await;
    let mut laptop = enroll(&vault, &alex).await;
    let now = vault.now();
    let good = laptop.sign_report(&report(now, ALL_PASS), now).unwrap();
    vault.receive_report(&incoming(&good)).await.unwrap();

    // Replayed: the same signed report again.
    assert!(refused(vault.receive_report(&incoming(&good)).await).contains("replay"));
    // Forged: another key signs for this device.
    let mut thief = DeviceIdentity::generate("http://test", &mut OsRng);
    thief.device = laptop.device.clone();
    thief.seq = good.seq + 10;
    let forged = thief.sign_report(&report(now, ALL_PASS), now).unwrap();
    assert!(refused(vault.receive_report(&incoming(&forged)).await).contains("does not verify"));
    // Tampered: a fail turned into a pass after signing.
    let mut bad = laptop.sign_report(&report(now, NO_FIREWALL), now).unwrap();
    bad.body = bad.body.replacen("\"fail\"", "\"pass\"", 1);
    assert!(refused(vault.receive_report(&incoming(&bad)).await).contains("does not verify"));
    // Unsigned.
    let mut unsigned = laptop.sign_report(&report(now, ALL_PASS), now).unwrap();
    unsigned.signature = String::new();
    assert!(refused(vault.receive_report(&incoming(&unsigned)).await).contains("not signed"));
    // Stale, and dated ahead of the clock.
    let stale = laptop
        .sign_report(&report(now - Duration::hours(13), ALL_PASS), now)
        .unwrap();
    assert!(refused(vault.receive_report(&incoming(&stale)).await).contains("stale"));
    let ahead = laptop
        .sign_report(&report(now + Duration::minutes(30), ALL_PASS), now)
        .unwrap();
    assert!(refused(vault.receive_report(&incoming(&ahead)).await).contains("ahead"));
    // Wrong device: this device's report sent under another device's id.
    let other = enroll(&vault, &alex).await;
    let mut wrong = laptop.sign_report(&report(now, ALL_PASS), now).unwrap();
    wrong.device = other.device.clone();
    assert!(refused(vault.receive_report(&incoming(&wrong)).await).contains("does not verify"));
    // Unknown and malformed ids.
    let mut unknown = good.clone();
    unknown.device = confidant_core::DeviceId::random(&mut OsRng).to_string();
    assert!(refused(vault.receive_report(&incoming(&unknown)).await).contains("not enrolled"));
    unknown.device = "../etc".into();
    assert!(refused(vault.receive_report(&incoming(&unknown)).await).contains("not a device id"));

    // None of them changed the kept report; each refusal is recorded.
    let owner = vault.owner().await.unwrap();
    let devices = vault.devices(&owner).await.unwrap();
    let kept = devices
        .iter()
        .find(|d| d.id.to_string() == laptop.device)
        .unwrap();
    assert_eq!(kept.checked_at, Some(good_time(&good)));
    let denied: Vec<String> = vault
        .ledger_log(&owner, None, None)
        .await
        .unwrap()
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| {
            e.action.to_string() == "device_report"
                && e.decision == confidant_vault::LedgerDecision::Deny
        })
        .map(|e| e.reason)
        .collect();
    for kind in [
        "replayed",
        "bad signature",
        "unsigned",
        "stale",
        "dated ahead of the clock",
    ] {
        assert!(
            denied.iter().any(|r| r.ends_with(kind)),
            "{kind}: {denied:?}"
        );
    }
    assert!(
        denied.iter().all(|r| !r.contains("alex")),
        "no personal data in reasons"
    );

    // Enrollment codes: single use, and a forged proof of the key fails.
    let (code, _) = vault
        .new_enrollment_code(&owner, "alex@example.com")
        .await
        .unwrap();
    let fresh = DeviceIdentity::generate("http://test", &mut OsRng);
    let mut request = fresh.enroll_request(code.code.expose_secret(), "x", "linux");
    let honest = request.signature.clone();
    request.signature = laptop
        .enroll_request(code.code.expose_secret(), "x", "linux")
        .signature;
    assert!(refused(vault.enroll_device(&enrollment(&request)).await).contains("does not verify"));
    request.signature = honest;
    vault.enroll_device(&enrollment(&request)).await.unwrap();
    assert!(refused(vault.enroll_device(&enrollment(&request)).await).contains("used already"));
    assert!(
        refused(
            vault
                .enroll_device(&DeviceEnrollment {
                    code: "not a code".into(),
                    ..enrollment(&request)
                })
                .await
        )
        .contains("twelve letters")
    );
}

fn refused<T: std::fmt::Debug>(result: Result<T, VaultError>) -> String {
    match result {
        Err(VaultError::Forbidden(m) | VaultError::InvalidInput(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn good_time(signed: &confidant_protocol::device::SignedReport) -> OffsetDateTime {
    serde_json::from_str::<PostureReport>(&signed.body)
        .unwrap()
        .checked_at
}

#[tokio::test]
async fn the_owner_sets_which_checks_each_label_needs() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let (alex, token) = alex_with_grant(&vault).await;
    let owner = vault.owner().await.unwrap();
    // Nobody else may change it.
    assert!(matches!(
        vault
            .set_posture_policy(&alex, &PosturePolicy::none())
            .await,
        Err(VaultError::Forbidden(_))
    ));
    // No requirement: the document opens without a device.
    vault
        .set_posture_policy(&owner, &PosturePolicy::none())
        .await
        .unwrap();
    assert!(!open(&vault, &alex).await.unwrap().is_empty());
    // Disk encryption for Confidential: a device with only the firewall
    // on is blocked, and told exactly that.
    vault
        .set_posture_policy(
            &owner,
            &PosturePolicy::parse("disk_encryption=confidential", 2).unwrap(),
        )
        .await
        .unwrap();
    let mut laptop = enroll(&vault, &alex).await;
    let statuses = [
        CheckStatus::Pass,
        CheckStatus::Unknown,
        CheckStatus::Pass,
        CheckStatus::Pass,
    ];
    send(&vault, &mut laptop, statuses, vault.now())
        .await
        .unwrap();
    let code = vault.new_link_code(&alex, &token).await.unwrap();
    let link = laptop.link_request(code.code.expose_secret());
    vault
        .link_device(&link.device, &link.code, &link.signature)
        .await
        .unwrap();
    let alex = as_seen(&vault, &token).await;
    let b = blocker(open(&vault, &alex).await);
    assert!(
        b.steps
            .join(" ")
            .contains("disk encryption check says unknown"),
        "{b:?}"
    );
    // A report 3 hours old is stale under a 2-hour policy.
    send(&vault, &mut laptop, ALL_PASS, vault.now())
        .await
        .unwrap();
    assert!(!open(&vault, &alex).await.unwrap().is_empty());
    assert!(matches!(
        send(&vault, &mut laptop, ALL_PASS, vault.now() - Duration::hours(3)).await,
        Err(VaultError::Forbidden(m)) if m.contains("stale")
    ));

    // Another person's device cannot claim Alex's session.
    let sam = member(&vault, "sam@example.com", Role::Assistant).await;
    let sams = enroll(&vault, &sam).await;
    let code = vault.new_link_code(&alex, &token).await.unwrap();
    let link = sams.link_request(code.code.expose_secret());
    assert!(matches!(
        vault.link_device(&link.device, &link.code, &link.signature).await,
        Err(VaultError::Forbidden(m)) if m.contains("someone else")
    ));
}

#[tokio::test]
async fn an_incident_about_a_lost_laptop_covers_what_was_opened_from_it() {
    let setup = Setup::new(false).await.unwrap();
    let vault = setup.open().await;
    let owner = vault.owner().await.unwrap();
    let (alex, token) = alex_with_grant(&vault).await;
    let mut laptop = enroll(&vault, &alex).await;
    send(&vault, &mut laptop, ALL_PASS, vault.now())
        .await
        .unwrap();
    let code = vault.new_link_code(&alex, &token).await.unwrap();
    let link = laptop.link_request(code.code.expose_secret());
    vault
        .link_device(&link.device, &link.code, &link.signature)
        .await
        .unwrap();
    let alex = as_seen(&vault, &token).await;
    assert!(!open(&vault, &alex).await.unwrap().is_empty());
    let desktop = enroll(&vault, &alex).await;

    let request = |offboard| confidant_vault::incidents::IncidentRequest {
        person: String::new(),
        since: vault.now() - Duration::days(1),
        until: None,
        reason: "Alex's laptop was stolen from a car".into(),
        aware_at: None,
        offboard,
    };
    // Offboarding is an incident about the person, not the device.
    assert!(matches!(
        vault
            .open_device_incident(&owner, &laptop.device, &request(true), false)
            .await,
        Err(VaultError::InvalidInput(m)) if m.contains("--person")
    ));
    // The desktop opened nothing; the laptop the invoices.
    let quiet = vault
        .open_device_incident(&owner, &desktop.device, &request(false), false)
        .await
        .unwrap();
    assert!(quiet.documents.is_empty());
    let lost = vault
        .open_device_incident(&owner, &laptop.device, &request(false), true)
        .await
        .unwrap();
    assert_eq!(lost.documents.len(), 1, "{:?}", lost.documents);
    assert_eq!(lost.documents[0].name.as_deref(), Some("invoices.txt"));
    assert!(
        lost.item
            .as_deref()
            .is_some_and(|i| i.starts_with("device alex-laptop"))
    );
    assert_eq!(lost.person_email, "alex@example.com");
    // Revoked in the same step, on the timeline.
    let devices = vault.devices(&owner).await.unwrap();
    let revoked = devices
        .iter()
        .find(|d| d.id.to_string() == laptop.device)
        .unwrap();
    assert_eq!(revoked.status(), "revoked");
    assert!(lost.timeline.iter().any(|s| s.kind == "device revoked"));
    // The other device is untouched; an unknown one is refused.
    assert!(
        devices
            .iter()
            .any(|d| d.id.to_string() == desktop.device && d.revoked_at.is_none())
    );
    assert!(matches!(
        vault
            .open_device_incident(&owner, "not-a-device", &request(false), false)
            .await,
        Err(VaultError::NotFound(_))
    ));
}
