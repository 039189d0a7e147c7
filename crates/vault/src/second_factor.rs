//! The second factor: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, one
//! step of clock skew either way, which every authenticator app speaks) and
//! single-use recovery codes.
//!
//! The TOTP secret is sealed with the workspace's names key, bound to the
//! person, so the database alone does not yield codes; each accepted code's
//! time step is stored and a code is never accepted twice (RFC 6238 5.2).
//! Recovery codes are 80 random bits each, stored as SHA-256 hashes bound to
//! the person.

use aws_lc_rs::digest;
use confidant_core::{PersonId, WorkspaceId};
use rand_core::{OsRng, RngCore};
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::VaultError;

/// Bytes of a TOTP secret: 160 bits, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;
/// Recovery codes made at each enrollment.
pub const RECOVERY_CODES: usize = 10;
const STEP_SECONDS: u64 = 30;

/// A TOTP secret being enrolled: shown to the person (as a QR code of
/// `uri` or as `secret` typed into the app) until a code confirms it.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// Base32, as authenticator apps take it when typed.
    pub secret: SecretString,
    /// `otpauth://totp/...`: what the QR code holds.
    pub uri: SecretString,
}

fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<Totp, VaultError> {
    // otpauth labels may not contain ':'; the issuer names the workspace.
    let issuer = issuer.replace(':', " ");
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| VaultError::Internal(format!("making a TOTP generator failed: {e}")))
}

/// A fresh random TOTP secret for `account` at `issuer`.
pub(crate) fn new_setup(issuer: &str, account: &str) -> Result<TotpSetup, VaultError> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    setup_for(bytes, issuer, account)
}

pub(crate) fn setup_for(
    bytes: Vec<u8>,
    issuer: &str,
    account: &str,
) -> Result<TotpSetup, VaultError> {
    let secret = Secret::from(bytes.clone()).to_base32();
    let uri = totp(bytes, issuer, account)?
        .to_url()
        .map_err(|e| VaultError::Internal(format!("making the otpauth address failed: {e}")))?;
    Ok(TotpSetup {
        secret: SecretString::from(secret),
        uri: SecretString::from(uri),
    })
}

/// The raw bytes of a base32 TOTP secret as typed or sent back by a form.
pub(crate) fn decode_secret(base32: &str) -> Result<Vec<u8>, VaultError> {
    let cleaned: String = base32
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let bytes = Secret::try_from_base32(&cleaned).map_err(|_| {
        VaultError::InvalidInput(
            "the authenticator secret was changed on its way back: start the enrollment again"
                .into(),
        )
    })?;
    let bytes = bytes.as_ref().to_vec();
    if bytes.len() < 16 {
        return Err(VaultError::InvalidInput(
            "the authenticator secret is too short: start the enrollment again".into(),
        ));
    }
    Ok(bytes)
}

/// The time step of `code` if it is valid for `secret` at `now` (within one
/// step either way), else `None`. Malformed codes are simply invalid.
pub(crate) fn check_code(secret: &[u8], code: &str, now: OffsetDateTime) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let generator = totp(secret.to_vec(), "confidant", "check").ok()?;
    let seconds = u64::try_from(now.unix_timestamp()).ok()?;
    generator.check(&code, seconds)
}

/// The code an authenticator shows for `secret` at `now` (for tests and the
/// benchmark, which play the authenticator).
pub fn code_at(secret_base32: &str, now: OffsetDateTime) -> Result<String, VaultError> {
    let secret = decode_secret(secret_base32)?;
    let generator = totp(secret, "confidant", "check")?;
    let seconds = u64::try_from(now.unix_timestamp())
        .map_err(|_| VaultError::InvalidInput("the time is before 1970".into()))?;
    Ok(generator.generate(seconds).to_string())
}

/// The AEAD context of a person's sealed TOTP secret.
pub(crate) fn secret_context(ws: WorkspaceId, person: PersonId) -> [Vec<u8>; 3] {
    [
        b"totp-secret".to_vec(),
        ws.as_bytes().to_vec(),
        person.as_bytes().to_vec(),
    ]
}

/// Fresh recovery codes: 16 base32 characters (80 bits) in groups of four.
pub(crate) fn new_recovery_codes() -> Vec<SecretString> {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            OsRng.fill_bytes(&mut bytes);
            // 80 bits as sixteen 5-bit groups.
            let mut bits: u128 = 0;
            for b in bytes {
                bits = (bits << 8) | u128::from(b);
            }
            let chars: Vec<char> = (0..16)
                .map(|i| ALPHABET[((bits >> (75 - 5 * i)) & 31) as usize] as char)
                .collect();
            let groups: Vec<String> = chars.chunks(4).map(|c| c.iter().collect()).collect();
            SecretString::from(groups.join("-"))
        })
        .collect()
}

/// Whether `input` is shaped like a recovery code rather than a TOTP code.
pub(crate) fn looks_like_recovery_code(input: &str) -> bool {
    normalize_recovery_code(input).len() == 16
}

fn normalize_recovery_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The stored hash of a recovery code, bound to its person.
pub(crate) fn recovery_code_hash(ws: WorkspaceId, person: PersonId, code: &str) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    context.update(b"confidant-recovery-code");
    context.update(ws.as_bytes());
    context.update(person.as_bytes());
    context.update(normalize_recovery_code(code).as_bytes());
    context.finish().as_ref().to_vec()
}

pub(crate) fn recovery_code_hashes(
    ws: WorkspaceId,
    person: PersonId,
    codes: &[SecretString],
) -> Vec<Vec<u8>> {
    codes
        .iter()
        .map(|c| recovery_code_hash(ws, person, c.expose_secret()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vectors() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890" (8
        // digits there; the last 6 digits are the 6-digit code).
        let secret = b"12345678901234567890".to_vec();
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            let now = OffsetDateTime::from_unix_timestamp(t).unwrap();
            assert_eq!(check_code(&secret, code, now), Some(t as u64 / 30), "{t}");
        }
    }

    #[test]
    fn codes_are_valid_one_step_either_way_only() {
        let setup = new_setup("Acme", "ann@example.com").unwrap();
        let secret = decode_secret(setup.secret.expose_secret()).unwrap();
        let t = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let code = code_at(setup.secret.expose_secret(), t).unwrap();
        let step = 1_800_000_000 / 30;
        assert_eq!(check_code(&secret, &code, t), Some(step));
        assert_eq!(
            check_code(&secret, &code, t + time::Duration::seconds(30)),
            Some(step)
        );
        assert_eq!(
            check_code(&secret, &code, t - time::Duration::seconds(30)),
            Some(step)
        );
        assert_eq!(
            check_code(&secret, &code, t + time::Duration::seconds(90)),
            None
        );
        assert_eq!(check_code(&secret, "12345", t), None);
        assert_eq!(check_code(&secret, "abcdef", t), None);
        assert!(setup.uri.expose_secret().starts_with("otpauth://totp/"));
        assert!(setup.uri.expose_secret().contains("issuer=Acme"));
    }

    #[test]
    fn recovery_codes_are_random_and_normalized() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let first = codes[0].expose_secret();
        assert_eq!(first.len(), 19);
        assert!(looks_like_recovery_code(first));
        assert!(!looks_like_recovery_code("123456"));
        let ws = WorkspaceId::random(&mut OsRng);
        let person = PersonId::random(&mut OsRng);
        assert_eq!(
            recovery_code_hash(ws, person, first),
            recovery_code_hash(ws, person, &first.to_uppercase().replace('-', " "))
        );
        let other = PersonId::random(&mut OsRng);
        assert_ne!(
            recovery_code_hash(ws, person, first),
            recovery_code_hash(ws, other, first)
        );
        let unique: std::collections::HashSet<_> =
            codes.iter().map(|c| c.expose_secret().to_owned()).collect();
        assert_eq!(unique.len(), RECOVERY_CODES);
    }
}
