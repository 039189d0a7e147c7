//! Enrolled devices: enrollment, signed posture reports, linking a session
//! to a device, and the messages the device key signs.
//!
//! A device key is an Ed25519 key made on the person's computer; the server
//! only ever sees its public half. Each signed message starts with its own
//! domain line, so a signature over one kind of message is never valid for
//! another.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::PostureCheck;

/// The bytes a device signs to prove it holds its key when it enrolls.
pub fn enroll_message(code: &str, public_key: &str) -> Vec<u8> {
    message("confidant device enroll v1", &[code, public_key])
}

/// The bytes a device signs for a posture report: its id, the report's
/// sequence number (higher than every earlier one: a replayed report is
/// refused) and the report's JSON exactly as sent.
pub fn report_message(device: &str, seq: u64, body: &str) -> Vec<u8> {
    message(
        "confidant posture report v1",
        &[device, &seq.to_string(), body],
    )
}

/// The bytes a device signs to link a session (a browser's or an API
/// token's) to itself, with the one-time code that session showed.
pub fn link_message(device: &str, code: &str) -> Vec<u8> {
    message("confidant device link v1", &[device, code])
}

fn message(domain: &str, parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    out.extend_from_slice(domain.as_bytes());
    for part in parts {
        out.push(b'\n');
        out.extend_from_slice(part.as_bytes());
    }
    out
}

/// `POST /api/v1/devices/enroll` (no sign-in: the code is the credential).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollDeviceRequest {
    /// The enrollment code the owner made for the person.
    pub code: String,
    /// The device's Ed25519 public key, base64 (standard, padded).
    pub public_key: String,
    /// What the device calls itself (its host name).
    pub name: String,
    /// `linux`, `macos`, `windows`, ...
    pub os: String,
    /// Base64 signature of [`enroll_message`] by the device key.
    pub signature: String,
}

/// The answer to an enrollment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledDevice {
    pub device: String,
    /// The person the device belongs to (their e-mail).
    pub person: String,
    pub workspace: String,
}

/// `POST /api/v1/devices/report` (no sign-in: the device key signs it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReport {
    pub device: String,
    /// Higher than the sequence number of every report this device sent.
    pub seq: u64,
    /// The [`crate::PostureReport`] as JSON, exactly the signed bytes.
    pub body: String,
    /// Base64 signature of [`report_message`] by the device key.
    pub signature: String,
}

/// What the server made of a report: per label, whether the device may
/// open such items now and what to fix otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportVerdict {
    pub device: String,
    pub labels: Vec<LabelPosture>,
}

/// Whether a device passes for one label.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelPosture {
    pub label: String,
    pub ok: bool,
    /// What to do, when not ok.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<String>,
}

/// `POST /api/v1/devices/link-code`: a one-time code for the signed-in
/// session, which `confidant agent link CODE` signs on the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkCode {
    pub code: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// `POST /api/v1/devices/link` (no sign-in: the device key signs it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDeviceRequest {
    pub device: String,
    pub code: String,
    /// Base64 signature of [`link_message`] by the device key.
    pub signature: String,
}

/// `POST /api/v1/devices/enrollments`: an enrollment code for a person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateEnrollmentRequest {
    /// The person's e-mail.
    pub person: String,
}

/// An enrollment code: shown once, good for one device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentCode {
    pub code: String,
    pub person: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// An enrolled device, as its person and the owner see it
/// (`GET /api/v1/devices`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub id: String,
    /// The person's e-mail.
    pub person: String,
    pub name: String,
    pub os: String,
    #[serde(with = "time::serde::rfc3339")]
    pub enrolled_at: OffsetDateTime,
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When the agent ran the checks of the latest report.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub checked_at: Option<OffsetDateTime>,
    /// `revoked`, `no report`, `stale`, `pass` (every check the policy
    /// needs for Restricted items passes), `partial` (enough for some
    /// labels) or `fail`.
    pub status: String,
    #[serde(default)]
    pub checks: Vec<PostureCheck>,
}

/// The workspace's posture policy (`GET`/`PUT /api/v1/devices/policy`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosturePolicyInfo {
    /// `firewall=confidential,disk_encryption=restricted`, or `none`.
    pub requirements: String,
    /// A report older than this does not count.
    pub max_age_hours: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_message_has_its_own_domain() {
        let report = report_message("dev", 7, "{}");
        assert_eq!(report, b"confidant posture report v1\ndev\n7\n{}");
        assert_ne!(link_message("dev", "7"), report_message("dev", 7, ""));
        assert_eq!(
            enroll_message("CODE", "KEY"),
            b"confidant device enroll v1\nCODE\nKEY"
        );
    }
}
