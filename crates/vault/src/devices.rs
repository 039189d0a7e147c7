//! Enrolled devices and their posture: the owner's enrollment codes, a
//! device enrolling with its own key, signed posture reports (verified,
//! never replayed, never stale), linking a session or API token to a
//! device, revocation, the workspace's posture policy, and what a device
//! means for the gate in front of an item.
//!
//! The server never holds a device's private key: a device proves itself
//! by signing (see `confidant_protocol::device` for the exact messages).
//! Codes are 60 random bits, shown once and stored as SHA-256 hashes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use confidant_core::device::{
    CheckResult, CheckState, DeviceStanding, ENROLLMENT_HOURS, Posture, PosturePolicy,
    PostureProblem, check_report_time, posture_problems,
};
use confidant_core::{DeviceId, Label, PersonId, PersonStatus, normalize_passcode, passcode_text};
use confidant_crypto::VerifyingKey;
use confidant_ledger::{KnownAction, Target, TargetId};
use confidant_protocol::device::{enroll_message, link_message, report_message};
use confidant_protocol::{CheckStatus, PostureReport};
use confidant_store::{AcceptedReport, DeviceRecord, EnrollmentRecord, LinkRecord};
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use time::{Duration, OffsetDateTime};

use crate::audit::Attempt;
use crate::{Actor, Vault, VaultError};

/// How long a link code shown by a session stays good.
const LINK_MINUTES: i64 = 10;

/// The longest device name kept (host names are short).
const MAX_NAME: usize = 100;

/// A report body larger than this is refused (a real one is a few KiB).
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

/// A one-time code, shown once.
#[derive(Debug)]
pub struct OneTimeCode {
    pub code: SecretString,
    pub expires_at: OffsetDateTime,
}

/// What a device sends to enroll.
#[derive(Debug, Clone)]
pub struct DeviceEnrollment {
    pub code: String,
    /// Base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    pub name: String,
    pub os: String,
    /// Base64 signature of the enrollment message.
    pub signature: String,
}

/// A device just enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub device: DeviceId,
    pub person_email: String,
    pub workspace: String,
}

/// A signed posture report as received.
#[derive(Debug, Clone)]
pub struct IncomingReport {
    pub device: String,
    pub seq: u64,
    pub body: String,
    pub signature: String,
}

/// A device, as its person and the owner see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceView {
    pub id: DeviceId,
    pub person: PersonId,
    pub person_email: String,
    pub person_name: String,
    pub name: String,
    pub os: String,
    pub enrolled_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    pub checked_at: Option<OffsetDateTime>,
    pub report: Option<PostureReport>,
    /// Per label from Confidential up: what keeps the device from such
    /// items now (empty: nothing).
    pub labels: Vec<(Label, Vec<PostureProblem>)>,
}

impl DeviceView {
    /// `revoked`, `no report`, `stale`, `pass`, `partial` or `fail`.
    pub fn status(&self) -> &'static str {
        if self.revoked_at.is_some() {
            return "revoked";
        }
        if self.report.is_none() {
            return "no report";
        }
        if self
            .labels
            .iter()
            .any(|(_, p)| matches!(p[..], [PostureProblem::Stale { .. }]))
        {
            return "stale";
        }
        let ok = self.labels.iter().filter(|(_, p)| p.is_empty()).count();
        match ok {
            n if n == self.labels.len() => "pass",
            0 => "fail",
            _ => "partial",
        }
    }
}

pub(crate) fn code_hash(code: &str) -> Result<Vec<u8>, VaultError> {
    let canonical = normalize_passcode(code).ok_or_else(|| {
        VaultError::InvalidInput(
            "that is not a code: it has twelve letters and digits like K7F3-9QXM-2HDP".into(),
        )
    })?;
    Ok(crate::auth::token_hash(&canonical))
}

fn device_id(text: &str) -> Result<DeviceId, VaultError> {
    text.trim().parse().map_err(|_| {
        VaultError::InvalidInput(format!(
            "{:?} is not a device id: run `confidant agent enroll` first",
            text.trim()
        ))
    })
}

/// Why a device's request was refused: a short kind for the ledger, and
/// the error for the device.
#[derive(Debug)]
struct Refused {
    kind: &'static str,
    error: VaultError,
}

fn refused(kind: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        kind,
        error: VaultError::Forbidden(message.into()),
    }
}

fn verify(public_key: &[u8], message: &[u8], signature: &str) -> Result<(), Refused> {
    let forged = || {
        refused(
            "bad signature",
            "the signature does not verify: this was not signed by the device's key",
        )
    };
    if signature.trim().is_empty() {
        return Err(refused(
            "unsigned",
            "the request is not signed: send it with `confidant agent`, which signs with the \
             device key",
        ));
    }
    let signature = BASE64.decode(signature.trim()).map_err(|_| forged())?;
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| Refused {
        kind: "bad stored key",
        error: VaultError::Integrity("a stored device key is not valid".into()),
    })?;
    key.verify(message, &signature).map_err(|_| forged())
}

/// The domain's view of a report.
pub(crate) fn posture_of(report: &PostureReport) -> Posture {
    Posture {
        checked_at: report.checked_at,
        checks: report
            .checks
            .iter()
            .map(|c| CheckResult {
                name: c.name.clone(),
                state: match c.status {
                    CheckStatus::Pass => CheckState::Pass,
                    CheckStatus::Fail => CheckState::Fail,
                    CheckStatus::Unknown => CheckState::Unknown,
                },
                detail: c.detail.clone(),
                fix: c.fix.clone(),
            })
            .collect(),
    }
}

/// The checks' statuses for the ledger: names and pass/fail/unknown only.
fn statuses(report: &PostureReport) -> String {
    report
        .checks
        .iter()
        .filter(|c| confidant_core::device::POSTURE_CHECKS.contains(&c.name.as_str()))
        .map(|c| format!("{} {}", c.name, c.status.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The labels a posture policy can matter for.
const GATED: [Label; 2] = [Label::Confidential, Label::Restricted];

/// The devices a request may count on, for the gate.
#[derive(Debug, Clone)]
pub(crate) enum DeviceChoice {
    /// The device the session or token is linked to, if any.
    Session(Option<DeviceId>),
    /// Any of the person's devices (the owner asking what the person could
    /// reach from their best device).
    AnyOfPerson,
}

/// The device side of a person's circumstances.
#[derive(Debug, Clone)]
pub(crate) struct DeviceGate {
    policy: PosturePolicy,
    now: OffsetDateTime,
    /// The devices that count: revoked ones as `None` postures with
    /// `revoked` set.
    candidates: Vec<Candidate>,
}

#[derive(Debug, Clone)]
struct Candidate {
    revoked: bool,
    posture: Option<Posture>,
}

impl Candidate {
    fn of(device: &DeviceRecord) -> Self {
        Candidate {
            revoked: device.revoked_at.is_some(),
            posture: parse_report(device).map(|r| posture_of(&r)),
        }
    }
}

impl DeviceGate {
    /// No device needed (owner and admins).
    pub(crate) fn exempt(now: OffsetDateTime) -> Self {
        DeviceGate {
            policy: PosturePolicy::none(),
            now,
            candidates: Vec::new(),
        }
    }

    /// The gate of `person`'s best unrevoked device among `devices` (the
    /// workspace's, read once by the caller): what the owner's views ask.
    pub(crate) fn best_of(
        policy: PosturePolicy,
        now: OffsetDateTime,
        person: PersonId,
        devices: &[DeviceRecord],
    ) -> Self {
        let candidates = devices
            .iter()
            .filter(|d| d.person == person && d.revoked_at.is_none())
            .map(Candidate::of)
            .collect();
        DeviceGate {
            policy,
            now,
            candidates,
        }
    }

    fn problems(&self, label: Label) -> Vec<PostureProblem> {
        if self.candidates.is_empty() {
            return posture_problems(&self.policy, label, DeviceStanding::Unlinked, self.now);
        }
        let mut first = None;
        for c in &self.candidates {
            let standing = if c.revoked {
                DeviceStanding::Revoked
            } else {
                DeviceStanding::Enrolled(c.posture.as_ref())
            };
            let problems = posture_problems(&self.policy, label, standing, self.now);
            if problems.is_empty() {
                return problems;
            }
            first.get_or_insert(problems);
        }
        first.unwrap_or_default()
    }

    /// Whether the device passes for an item with this label.
    pub(crate) fn ok(&self, label: Label) -> bool {
        self.problems(label).is_empty()
    }

    /// What to do so that it does.
    pub(crate) fn steps(&self, label: Label) -> Vec<String> {
        self.problems(label)
            .iter()
            .map(PostureProblem::step)
            .collect()
    }
}

impl Vault {
    /// The workspace's posture policy: which checks must pass for which
    /// labels, and how young a report must be.
    pub async fn posture_policy(&self) -> Result<PosturePolicy, VaultError> {
        let (text, hours) = self.store().posture_policy(self.workspace()).await?;
        let hours = hours.unwrap_or(confidant_core::device::DEFAULT_REPORT_HOURS);
        match text {
            None => Ok(PosturePolicy {
                max_age_hours: hours,
                ..PosturePolicy::default()
            }),
            Some(text) => PosturePolicy::parse(&text, hours).map_err(|e| {
                VaultError::Integrity(format!(
                    "the stored posture policy does not load ({e}): set it again on the \
                     Devices page or with `confidant devices policy`"
                ))
            }),
        }
    }

    /// Sets the posture policy (owner and admins).
    pub async fn set_posture_policy(
        &self,
        actor: &Actor,
        policy: &PosturePolicy,
    ) -> Result<(), VaultError> {
        self.gate(
            actor,
            "change the device posture policy",
            KnownAction::PolicyChange,
        )
        .await?;
        // Round-trip through the text form, so what is stored always loads.
        let text = policy.requirements_text();
        let checked = PosturePolicy::parse(&text, policy.max_age_hours)
            .map_err(|e| VaultError::InvalidInput(e.to_string()))?;
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::PolicyChange,
            Target::whole(TargetId::Workspace(self.workspace())),
        );
        attempt.reason = format!(
            "{}: device posture policy set to {text}, reports count for {} hours",
            attempt.reason, checked.max_age_hours
        );
        self.record(&[attempt]).await?;
        self.store()
            .set_posture_policy(self.workspace(), &text, checked.max_age_hours)
            .await?;
        Ok(())
    }

    /// A one-time code with which `who` enrolls one device (owner and
    /// admins). Shown once; good for 24 hours.
    pub async fn new_enrollment_code(
        &self,
        actor: &Actor,
        who: &str,
    ) -> Result<(OneTimeCode, String), VaultError> {
        self.gate(
            actor,
            "make device enrollment codes",
            KnownAction::DeviceEnroll,
        )
        .await?;
        let person = self.find_person(who).await?;
        if person.status == PersonStatus::Offboarded {
            return Err(VaultError::Conflict(format!(
                "{} was offboarded: their devices cannot be enrolled",
                person.email
            )));
        }
        let now = self.inner.clock.now();
        let code = passcode_text(OsRng.next_u64());
        let record = EnrollmentRecord {
            code_hash: code_hash(&code)?,
            workspace: self.workspace(),
            person: person.id,
            created_by: actor.person,
            created_at: now,
            expires_at: now + Duration::hours(ENROLLMENT_HOURS),
            used_at: None,
            device: None,
        };
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::DeviceEnroll,
            Target::whole(TargetId::Person(person.id)),
        );
        attempt.reason = format!(
            "{}: enrollment code made, good for {ENROLLMENT_HOURS} hours",
            attempt.reason
        );
        self.record(&[attempt]).await?;
        self.store().insert_enrollment(&record).await?;
        Ok((
            OneTimeCode {
                code: SecretString::from(code),
                expires_at: record.expires_at,
            },
            person.email,
        ))
    }

    /// Enrolls a device with a code from [`Vault::new_enrollment_code`]
    /// (no sign-in: the code is the credential, the signature proves the
    /// device holds its key).
    pub async fn enroll_device(&self, request: &DeviceEnrollment) -> Result<Enrolled, VaultError> {
        let invalid_code = || {
            VaultError::Forbidden(
                "this enrollment code is not valid: it was used already or it expired. Ask the \
                 owner for a new one"
                    .into(),
            )
        };
        let hash = code_hash(&request.code)?;
        let enrollment = self
            .store()
            .enrollment(&hash)
            .await?
            .filter(|e| e.workspace == self.workspace())
            .ok_or_else(invalid_code)?;
        let now = self.inner.clock.now();
        if enrollment.used_at.is_some() || enrollment.expires_at <= now {
            return Err(invalid_code());
        }
        let public_key = BASE64
            .decode(request.public_key.trim())
            .ok()
            .filter(|k| VerifyingKey::from_bytes(k).is_ok())
            .ok_or_else(|| {
                VaultError::InvalidInput(
                    "the device's public key is not a base64 Ed25519 key".into(),
                )
            })?;
        let canonical = normalize_passcode(&request.code).unwrap_or_default();
        verify(
            &public_key,
            &enroll_message(&canonical, request.public_key.trim()),
            &request.signature,
        )
        .map_err(|r| r.error)?;
        let name: String = request
            .name
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME)
            .collect();
        let name = if name.trim().is_empty() {
            "unnamed device".to_owned()
        } else {
            name.trim().to_owned()
        };
        let os: String = request
            .os
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .take(20)
            .collect();
        let person = self
            .store()
            .person(self.workspace(), enrollment.person)
            .await?
            .filter(|p| p.status != PersonStatus::Offboarded)
            .ok_or_else(invalid_code)?;
        let device = DeviceRecord {
            id: DeviceId::random(&mut OsRng),
            workspace: self.workspace(),
            person: person.id,
            name,
            os,
            public_key,
            enrolled_at: now,
            revoked_at: None,
            revoke_reason: None,
            report_seq: 0,
            checked_at: None,
            received_at: None,
            report: None,
        };
        let mut attempt = Attempt::allowed(
            &Actor::from_record(&person),
            KnownAction::DeviceEnroll,
            Target::whole(TargetId::Person(person.id)),
        );
        attempt.device = Some(device.id.to_string());
        attempt.reason = "device enrolled with a one-time code".to_owned();
        self.record(&[attempt]).await?;
        if !self.store().enroll_device(&hash, &device).await? {
            return Err(invalid_code());
        }
        Ok(Enrolled {
            device: device.id,
            person_email: person.email,
            workspace: self.workspace_name().to_owned(),
        })
    }

    /// Checks and keeps a signed posture report. Refused (and recorded)
    /// when the device is unknown or revoked, the signature is missing or
    /// wrong, the report is not newer than the last one (a replay), or it
    /// is stale or dated ahead of the clock.
    pub async fn receive_report(
        &self,
        report: &IncomingReport,
    ) -> Result<Vec<(Label, Vec<PostureProblem>)>, VaultError> {
        let id = device_id(&report.device)?;
        let device = self
            .store()
            .device(id)
            .await?
            .filter(|d| d.workspace == self.workspace())
            .ok_or_else(|| {
                VaultError::Forbidden(
                    "this device is not enrolled here: run `confidant agent enroll` with a new \
                     code from the owner"
                        .into(),
                )
            })?;
        let now = self.inner.clock.now();
        let policy = self.posture_policy().await?;
        let outcome = self.check_report(&device, report, &policy, now);
        let mut attempt = Attempt {
            person: Some(device.person),
            client: None,
            action: KnownAction::DeviceReport,
            target: Target::whole(TargetId::Person(device.person)),
            allowed: true,
            reason: String::new(),
            categories: Vec::new(),
            keyed: Vec::new(),
            delivery: None,
            device: Some(device.id.to_string()),
        };
        let parsed = match outcome {
            Ok(parsed) => parsed,
            Err(refusal) => {
                attempt.allowed = false;
                attempt.reason = format!("posture report {} refused: {}", report.seq, refusal.kind);
                self.record(&[attempt]).await?;
                return Err(refusal.error);
            }
        };
        attempt.reason = format!("posture report {}: {}", report.seq, statuses(&parsed));
        self.record(&[attempt]).await?;
        let accepted = self
            .store()
            .accept_report(
                self.workspace(),
                device.id,
                &AcceptedReport {
                    seq: report.seq,
                    checked_at: parsed.checked_at,
                    received_at: now,
                    report: &report.body,
                },
            )
            .await?;
        if !accepted {
            return Err(VaultError::Forbidden(
                "the report was refused: a newer one arrived first, or the device was revoked"
                    .into(),
            ));
        }
        let posture = posture_of(&parsed);
        Ok(GATED
            .into_iter()
            .map(|label| {
                let standing = DeviceStanding::Enrolled(Some(&posture));
                (label, posture_problems(&policy, label, standing, now))
            })
            .collect())
    }

    fn check_report(
        &self,
        device: &DeviceRecord,
        report: &IncomingReport,
        policy: &PosturePolicy,
        now: OffsetDateTime,
    ) -> Result<PostureReport, Refused> {
        if device.revoked_at.is_some() {
            return Err(refused(
                "device revoked",
                "this device was revoked: ask the owner for a new enrollment code",
            ));
        }
        if report.body.len() > MAX_REPORT_BYTES {
            return Err(Refused {
                kind: "too large",
                error: VaultError::InvalidInput(format!(
                    "the report is larger than {MAX_REPORT_BYTES} bytes"
                )),
            });
        }
        verify(
            &device.public_key,
            &report_message(&report.device, report.seq, &report.body),
            &report.signature,
        )?;
        if report.seq <= device.report_seq {
            return Err(refused(
                "replayed",
                format!(
                    "the report is a replay: its number {} is not newer than the last accepted \
                     one ({}); run `confidant agent report` for a new report",
                    report.seq, device.report_seq
                ),
            ));
        }
        let parsed: PostureReport = serde_json::from_str(&report.body).map_err(|e| Refused {
            kind: "malformed",
            error: VaultError::InvalidInput(format!("the report is not a posture report: {e}")),
        })?;
        check_report_time(policy, parsed.checked_at, now).map_err(|message| {
            let kind = if message.contains("ahead") {
                "dated ahead of the clock"
            } else {
                "stale"
            };
            refused(kind, message)
        })?;
        Ok(parsed)
    }

    /// A one-time code for the signed-in session or token `token`, which
    /// the person's device signs with `confidant agent link CODE` to link
    /// the session to itself. Good for 10 minutes.
    pub async fn new_link_code(
        &self,
        actor: &Actor,
        token: &SecretString,
    ) -> Result<OneTimeCode, VaultError> {
        self.require_member(actor)?;
        let session_hash = crate::auth::token_hash(token.expose_secret());
        let session = self
            .store()
            .session(&session_hash)
            .await?
            .filter(|s| s.workspace == self.workspace() && s.person == actor.person)
            .ok_or_else(|| VaultError::Forbidden("sign in again".into()))?;
        let now = self.inner.clock.now();
        let code = passcode_text(OsRng.next_u64());
        let link = LinkRecord {
            code_hash: code_hash(&code)?,
            workspace: self.workspace(),
            session_hash: session.hash,
            person: actor.person,
            expires_at: now + Duration::minutes(LINK_MINUTES),
        };
        self.store().insert_link(&link).await?;
        Ok(OneTimeCode {
            code: SecretString::from(code),
            expires_at: link.expires_at,
        })
    }

    /// Links the session that showed `code` to the device, when the device
    /// signed the code and belongs to the session's person.
    pub async fn link_device(
        &self,
        device: &str,
        code: &str,
        signature: &str,
    ) -> Result<String, VaultError> {
        let invalid_code = || {
            VaultError::Forbidden(
                "this link code is not valid: it was used already or it expired. Reload the \
                 Devices page (or run `confidant agent link` again) for a new one"
                    .into(),
            )
        };
        let id = device_id(device)?;
        let hash = code_hash(code)?;
        let link = self
            .store()
            .take_link(&hash)
            .await?
            .ok_or_else(invalid_code)?;
        let now = self.inner.clock.now();
        if link.workspace != self.workspace() || link.expires_at <= now {
            return Err(invalid_code());
        }
        let device = self
            .store()
            .device(id)
            .await?
            .filter(|d| d.workspace == self.workspace() && d.revoked_at.is_none())
            .ok_or_else(|| {
                VaultError::Forbidden(
                    "this device is not enrolled here or was revoked: enroll it again".into(),
                )
            })?;
        let mut attempt = Attempt {
            person: Some(link.person),
            client: None,
            action: KnownAction::DeviceLink,
            target: Target::whole(TargetId::Person(link.person)),
            allowed: true,
            reason: "session linked to the device".to_owned(),
            categories: Vec::new(),
            keyed: Vec::new(),
            delivery: None,
            device: Some(device.id.to_string()),
        };
        let canonical = normalize_passcode(code).unwrap_or_default();
        let checked = if device.person != link.person {
            Err(refused(
                "another person's device",
                "this device belongs to someone else: link a device enrolled for you",
            ))
        } else {
            verify(
                &device.public_key,
                &link_message(device.id.to_string().as_str(), &canonical),
                signature,
            )
        };
        if let Err(refusal) = checked {
            attempt.allowed = false;
            attempt.reason = format!("session not linked: {}", refusal.kind);
            self.record(&[attempt]).await?;
            return Err(refusal.error);
        }
        self.record(&[attempt]).await?;
        if !self
            .store()
            .link_session(self.workspace(), &link.session_hash, device.id)
            .await?
        {
            return Err(VaultError::Forbidden(
                "the session ended before it was linked: sign in again".into(),
            ));
        }
        Ok(device.name)
    }

    /// The devices the actor may see: every device for the owner and
    /// admins, their own for everyone else.
    pub async fn devices(&self, actor: &Actor) -> Result<Vec<DeviceView>, VaultError> {
        self.require_member(actor)?;
        let manager = actor.role.manages_people();
        let policy = self.posture_policy().await?;
        let now = self.inner.clock.now();
        let people = self.store().people(self.workspace()).await?;
        let mut out = Vec::new();
        for record in self.store().devices(self.workspace()).await? {
            if !manager && record.person != actor.person {
                continue;
            }
            let Some(person) = people.iter().find(|p| p.id == record.person) else {
                continue;
            };
            out.push(view(record, person, &policy, now));
        }
        Ok(out)
    }

    /// Revokes a device (owner and admins): its sessions no longer count
    /// as coming from an enrolled device, and its reports are refused.
    pub async fn revoke_device(
        &self,
        actor: &Actor,
        device: &str,
        reason: &str,
    ) -> Result<(), VaultError> {
        self.gate(actor, "revoke devices", KnownAction::DeviceRevoke)
            .await?;
        let id = device_id(device)?;
        let record = self
            .store()
            .device(id)
            .await?
            .filter(|d| d.workspace == self.workspace())
            .ok_or_else(|| VaultError::NotFound("there is no such device".into()))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(VaultError::InvalidInput(
                "say why the device is revoked (e.g. \"laptop lost\")".into(),
            ));
        }
        let now = self.inner.clock.now();
        let mut attempt = Attempt::allowed(
            actor,
            KnownAction::DeviceRevoke,
            Target::whole(TargetId::Person(record.person)),
        );
        attempt.device = Some(record.id.to_string());
        attempt.reason = format!("{}: device revoked", attempt.reason);
        self.record(&[attempt]).await?;
        if !self
            .store()
            .revoke_device(self.workspace(), id, now, reason)
            .await?
        {
            return Err(VaultError::Conflict(
                "the device was revoked already".into(),
            ));
        }
        Ok(())
    }

    /// The device side of a person's circumstances.
    pub(crate) async fn device_gate(
        &self,
        person: PersonId,
        choice: &DeviceChoice,
        now: OffsetDateTime,
    ) -> Result<DeviceGate, VaultError> {
        let policy = self.posture_policy().await?;
        if policy.required.is_empty() {
            return Ok(DeviceGate {
                policy,
                now,
                candidates: Vec::new(),
            });
        }
        let candidates = match choice {
            DeviceChoice::Session(None) => Vec::new(),
            DeviceChoice::Session(Some(id)) => match self.store().device(*id).await? {
                Some(d) if d.workspace == self.workspace() && d.person == person => {
                    vec![Candidate::of(&d)]
                }
                // Linked to a device that is gone or not theirs: treat it
                // like a revoked one.
                _ => vec![Candidate {
                    revoked: true,
                    posture: None,
                }],
            },
            DeviceChoice::AnyOfPerson => {
                let devices = self.store().devices(self.workspace()).await?;
                return Ok(DeviceGate::best_of(policy, now, person, &devices));
            }
        };
        Ok(DeviceGate {
            policy,
            now,
            candidates,
        })
    }
}

fn parse_report(record: &DeviceRecord) -> Option<PostureReport> {
    record
        .report
        .as_deref()
        .and_then(|r| serde_json::from_str(r).ok())
}

fn view(
    record: DeviceRecord,
    person: &confidant_store::PersonRecord,
    policy: &PosturePolicy,
    now: OffsetDateTime,
) -> DeviceView {
    let report = parse_report(&record);
    let posture = report.as_ref().map(posture_of);
    let standing = if record.revoked_at.is_some() {
        DeviceStanding::Revoked
    } else {
        DeviceStanding::Enrolled(posture.as_ref())
    };
    DeviceView {
        labels: GATED
            .into_iter()
            .map(|label| (label, posture_problems(policy, label, standing, now)))
            .collect(),
        id: record.id,
        person: person.id,
        person_email: person.email.clone(),
        person_name: person.name.clone(),
        name: record.name,
        os: record.os,
        enrolled_at: record.enrolled_at,
        revoked_at: record.revoked_at,
        checked_at: record.checked_at,
        report,
    }
}
