//! The device's identity: an Ed25519 key made on this computer, the id the
//! server gave it at enrollment, and the sequence number of its reports.
//!
//! The key never leaves the computer: the server keeps only the public
//! half. The identity is a small JSON file that only its owner can read
//! (mode 0600, written through a temporary file and a rename, like an SSH
//! key); [`DeviceIdentity::save`] and [`DeviceIdentity::load`] do the I/O,
//! everything else is pure.

use std::fs;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use confidant_protocol::PostureReport;
use confidant_protocol::device::{
    EnrollDeviceRequest, LinkDeviceRequest, SignedReport, enroll_message, link_message,
    report_message,
};
use ed25519_dalek::{Signer as _, SigningKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What can go wrong with the identity file.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is damaged ({why}): enroll this computer again with `confidant agent enroll`")]
    Damaged { path: String, why: String },
    #[error("cannot write the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// An enrolled device (or one about to enroll: `device` is empty until the
/// server answers).
pub struct DeviceIdentity {
    /// The server's base URL.
    pub server: String,
    /// The id the server gave the device.
    pub device: String,
    /// The person the device belongs to (their e-mail).
    pub person: String,
    pub workspace: String,
    key: SigningKey,
    /// The sequence number of the last signed report.
    pub seq: u64,
}

impl std::fmt::Debug for DeviceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceIdentity")
            .field("server", &self.server)
            .field("device", &self.device)
            .field("public_key", &self.public_key())
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    server: String,
    device: String,
    person: String,
    workspace: String,
    /// Base64 of the 32-byte Ed25519 seed.
    secret_key: String,
    seq: u64,
}

impl DeviceIdentity {
    /// A new key for enrolling with `server`.
    pub fn generate(server: &str, rng: &mut impl rand_core::CryptoRngCore) -> Self {
        DeviceIdentity {
            server: server.to_owned(),
            device: String::new(),
            person: String::new(),
            workspace: String::new(),
            key: SigningKey::generate(rng),
            seq: 0,
        }
    }

    /// The public key, base64.
    pub fn public_key(&self) -> String {
        BASE64.encode(self.key.verifying_key().to_bytes())
    }

    fn sign(&self, message: &[u8]) -> String {
        BASE64.encode(self.key.sign(message).to_bytes())
    }

    /// The enrollment request for `code` (as typed; the server reads it in
    /// its canonical form, which is what is signed).
    pub fn enroll_request(&self, code: &str, name: &str, os: &str) -> EnrollDeviceRequest {
        let canonical = canonical_code(code);
        let public_key = self.public_key();
        EnrollDeviceRequest {
            code: code.trim().to_owned(),
            signature: self.sign(&enroll_message(&canonical, &public_key)),
            public_key,
            name: name.to_owned(),
            os: os.to_owned(),
        }
    }

    /// Signs a report with the next sequence number: one past the last, or
    /// the current time in milliseconds when that is larger, so numbers
    /// keep rising even if this file was restored from an old copy. Save
    /// the identity before sending, so a number is never used twice.
    pub fn sign_report(
        &mut self,
        report: &PostureReport,
        now: OffsetDateTime,
    ) -> Result<SignedReport, IdentityError> {
        let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        self.seq = (self.seq + 1).max(millis);
        let body = serde_json::to_string(report)?;
        Ok(SignedReport {
            device: self.device.clone(),
            seq: self.seq,
            signature: self.sign(&report_message(&self.device, self.seq, &body)),
            body,
        })
    }

    /// Signs a session's link code.
    pub fn link_request(&self, code: &str) -> LinkDeviceRequest {
        LinkDeviceRequest {
            device: self.device.clone(),
            code: code.trim().to_owned(),
            signature: self.sign(&link_message(&self.device, &canonical_code(code))),
        }
    }

    /// Writes the identity to `path` (mode 0600, atomically).
    pub fn save(&self, path: &Path) -> Result<(), IdentityError> {
        let io = |source| IdentityError::Io {
            path: path.display().to_string(),
            source,
        };
        let stored = Stored {
            server: self.server.clone(),
            device: self.device.clone(),
            person: self.person.clone(),
            workspace: self.workspace.clone(),
            secret_key: BASE64.encode(self.key.to_bytes()),
            seq: self.seq,
        };
        let text = serde_json::to_string_pretty(&stored)?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        fs::rename(&tmp, path).map_err(io)
    }

    /// Reads an identity written by [`DeviceIdentity::save`].
    pub fn load(path: &Path) -> Result<Self, IdentityError> {
        let shown = path.display().to_string();
        let text = fs::read_to_string(path).map_err(|source| IdentityError::Io {
            path: shown.clone(),
            source,
        })?;
        let damaged = |why: String| IdentityError::Damaged {
            path: shown.clone(),
            why,
        };
        let stored: Stored = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        let seed: [u8; 32] = BASE64
            .decode(stored.secret_key.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| damaged("the key is not 32 base64 bytes".to_owned()))?;
        Ok(DeviceIdentity {
            server: stored.server,
            device: stored.device,
            person: stored.person,
            workspace: stored.workspace,
            key: SigningKey::from_bytes(&seed),
            seq: stored.seq,
        })
    }
}

/// A code as the server reads it: upper case, without separators, the
/// look-alike letters as digits (Crockford base32).
pub fn canonical_code(code: &str) -> String {
    code.chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};

    use super::*;

    fn verify(identity: &DeviceIdentity, message: &[u8], signature: &str) -> bool {
        let key = VerifyingKey::from_bytes(
            &BASE64
                .decode(identity.public_key())
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .unwrap();
        let sig = Signature::from_slice(&BASE64.decode(signature).unwrap()).unwrap();
        key.verify(message, &sig).is_ok()
    }

    fn report(at: OffsetDateTime) -> PostureReport {
        PostureReport {
            checks: Vec::new(),
            host: "laptop".into(),
            os: "linux".into(),
            os_version: None,
            arch: "x86_64".into(),
            agent_version: "0".into(),
            checked_at: at,
        }
    }

    #[test]
    fn reports_are_signed_with_rising_numbers_and_survive_a_save() {
        let mut id = DeviceIdentity::generate("https://vault.example", &mut rand_core::OsRng);
        id.device = "dev-1".into();
        let at = time::macros::datetime!(2026-11-29 12:00 UTC);
        let first = id.sign_report(&report(at), at).unwrap();
        assert!(verify(
            &id,
            &report_message("dev-1", first.seq, &first.body),
            &first.signature
        ));
        assert!(!verify(
            &id,
            &report_message("dev-1", first.seq + 1, &first.body),
            &first.signature
        ));
        // An earlier clock never lowers the number.
        let second = id
            .sign_report(&report(at), at - time::Duration::days(1))
            .unwrap();
        assert_eq!(second.seq, first.seq + 1);

        let dir = tempfile_dir();
        let path = dir.join("device.json");
        id.save(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let back = DeviceIdentity::load(&path).unwrap();
        assert_eq!(back.public_key(), id.public_key());
        assert_eq!(back.seq, second.seq);
        let link = back.link_request("k7f3-9qxm-2hdp");
        assert!(verify(
            &id,
            &link_message("dev-1", "K7F39QXM2HDP"),
            &link.signature
        ));

        fs::write(&path, "{not json").unwrap();
        assert!(
            DeviceIdentity::load(&path)
                .unwrap_err()
                .to_string()
                .contains("enroll this computer again")
        );
        fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "confidant-identity-{}-{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp_nanos()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }
}
