//! Signed checkpoints: a C2SP tlog-checkpoint body
//! (`<origin>\n<size>\n<base64 root>\n`) inside a C2SP signed note with one
//! Ed25519 signature, and the verifier key in the signed-note text form
//! `<name>+<key id hex8>+<base64(0x01 || public key)>`.
//!
//! This crate holds no private key: signing goes through [`NoteSigner`],
//! which the vault implements over its own key type.
//!
//! The key name is the checkpoint's origin (as c2sp.org/tlog-checkpoint
//! recommends), and both signing and verifying insist on it: a key that
//! signs several workspaces' ledgers then cannot have one workspace's
//! checkpoint passed off as another's, because the origin names the
//! workspace.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use confidant_core::WorkspaceId;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::tree::Hash;

/// The signed-note algorithm byte for Ed25519.
const ALG_ED25519: u8 = 0x01;

/// The largest note we parse; ours are a few hundred bytes, cosigned ones a
/// few kilobytes.
const MAX_NOTE_LEN: usize = 64 * 1024;

/// Signs note text with an Ed25519 key held elsewhere.
pub trait NoteSigner {
    /// The key name, which must be the checkpoint origin.
    fn name(&self) -> &str;
    /// The Ed25519 public key.
    fn public_key(&self) -> [u8; 32];
    /// An Ed25519 signature of `msg`.
    fn sign(&self, msg: &[u8]) -> [u8; 64];
}

/// A tree head: the origin (which log), its size and its root.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

/// A checkpoint body that is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The origin is empty or has spaces, `+` or control characters.
    #[error(
        "origin {0:?} is not valid: it must be non-empty, without spaces, '+' or control characters"
    )]
    BadOrigin(String),
    /// Not exactly three newline-terminated lines.
    #[error(
        "checkpoint body must be exactly three lines (origin, size, base64 root); extension lines are not accepted"
    )]
    Lines,
    /// The size line is not a canonical decimal number.
    #[error("checkpoint size {0:?} is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not the canonical base64 of 32 bytes.
    #[error("checkpoint root {0:?} is not the base64 of a 32-byte hash")]
    BadRoot(String),
}

fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
}

impl Checkpoint {
    /// A checkpoint of the log named `origin`.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        if !is_valid_key_name(origin) {
            return Err(CheckpointError::BadOrigin(origin.to_owned()));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// The origin of a workspace's ledger: `<host>/<workspace id>`.
    pub fn workspace_origin(host: &str, workspace: WorkspaceId) -> String {
        format!("{host}/{workspace}")
    }

    /// Which log this is.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// How many entries the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root hash.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The tlog-checkpoint body: the text that is signed.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a body written by [`Checkpoint::body`]; nothing else is
    /// accepted (no extension lines, no other spellings).
    pub fn parse_body(body: &str) -> Result<Self, CheckpointError> {
        let mut lines = body.split_terminator('\n');
        let (Some(origin), Some(size), Some(root), None) =
            (lines.next(), lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Lines);
        };
        if !body.ends_with('\n') {
            return Err(CheckpointError::Lines);
        }
        let bad_size = || CheckpointError::BadSize(size.to_owned());
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad_size());
        }
        let size: u64 = size.parse().map_err(|_| bad_size())?;
        let root_bytes: Hash = BASE64
            .decode(root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::BadRoot(root.to_owned()))?;
        if BASE64.encode(root_bytes) != root {
            return Err(CheckpointError::BadRoot(root.to_owned()));
        }
        Self::new(origin, size, root_bytes)
    }

    /// The signed note: the body, a blank line and one signature line.
    pub fn sign(&self, signer: &dyn NoteSigner) -> Result<String, SignError> {
        if signer.name() != self.origin {
            return Err(SignError::NameIsNotOrigin {
                name: signer.name().to_owned(),
                origin: self.origin.clone(),
            });
        }
        let key = VerifierKey::from_parts(signer.name(), signer.public_key())
            .map_err(SignError::BadKey)?;
        let body = self.body();
        let signature = signer.sign(body.as_bytes());
        // The signer is not trusted to have used the key it claims: a bad
        // signature caught here is cheaper than a ledger no one can verify.
        key.verify_signature(body.as_bytes(), &signature)
            .map_err(|()| SignError::SignatureDoesNotVerify)?;
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&key.id.to_be_bytes());
        blob.extend_from_slice(&signature);
        Ok(format!(
            "{body}\n\u{2014} {} {}\n",
            key.name,
            BASE64.encode(blob)
        ))
    }

    /// Verifies a signed note with the key in its text form and returns the
    /// checkpoint. Signatures by other keys (witness cosignatures) are
    /// ignored; at least one must be by this key and every one by this key
    /// must verify.
    pub fn verify(note: &str, verifier_key: &str) -> Result<Self, NoteVerifyError> {
        let key: VerifierKey = verifier_key.parse().map_err(NoteVerifyError::Key)?;
        Self::verify_with(note, &key)
    }

    /// [`Checkpoint::verify`] with a parsed key.
    pub fn verify_with(note: &str, key: &VerifierKey) -> Result<Self, NoteVerifyError> {
        let (body, signatures) = split_note(note)?;
        let mut ours = 0usize;
        for line in signatures {
            let (name, blob) = parse_signature_line(line)?;
            if name != key.name || blob.len() < 4 || blob[..4] != key.id.to_be_bytes() {
                continue;
            }
            ours += 1;
            let sig: [u8; 64] = blob[4..]
                .try_into()
                .map_err(|_| NoteVerifyError::BadSignature)?;
            key.verify_signature(body.as_bytes(), &sig)
                .map_err(|()| NoteVerifyError::BadSignature)?;
        }
        if ours == 0 {
            return Err(NoteVerifyError::NotSignedByKey {
                name: key.name.clone(),
            });
        }
        let checkpoint = Self::parse_body(body).map_err(NoteVerifyError::Body)?;
        if checkpoint.origin != key.name {
            return Err(NoteVerifyError::OriginIsNotKeyName {
                origin: checkpoint.origin,
                name: key.name.clone(),
            });
        }
        Ok(checkpoint)
    }
}

/// Splits a signed note into its text (with the final newline) and its
/// signature lines.
fn split_note(note: &str) -> Result<(&str, std::str::Split<'_, char>), NoteVerifyError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(NoteVerifyError::Malformed("the note is too long"));
    }
    if note.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteVerifyError::Malformed(
            "the note holds control characters",
        ));
    }
    // The text cannot hold a blank line, so the last one separates it from
    // the signatures.
    let split = note.rfind("\n\n").ok_or(NoteVerifyError::Malformed(
        "no blank line before the signatures",
    ))?;
    let body = &note[..=split];
    let signatures = note[split + 2..]
        .strip_suffix('\n')
        .ok_or(NoteVerifyError::Malformed(
            "the note does not end with a newline",
        ))?;
    if signatures.is_empty() {
        return Err(NoteVerifyError::Malformed("no signature lines"));
    }
    Ok((body, signatures.split('\n')))
}

fn parse_signature_line(line: &str) -> Result<(&str, Vec<u8>), NoteVerifyError> {
    let malformed = NoteVerifyError::Malformed("a signature line is not \"— <name> <base64>\"");
    let rest = line.strip_prefix("\u{2014} ").ok_or(malformed.clone())?;
    let (name, b64) = rest.split_once(' ').ok_or(malformed.clone())?;
    if !is_valid_key_name(name) {
        return Err(malformed);
    }
    let blob = BASE64.decode(b64).map_err(|_| malformed.clone())?;
    if blob.len() < 5 {
        return Err(malformed);
    }
    Ok((name, blob))
}

/// A checkpoint could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The key name differs from the origin.
    #[error("signer key name {name:?} is not the checkpoint origin {origin:?}")]
    NameIsNotOrigin { name: String, origin: String },
    /// The signer's public key or name is unusable.
    #[error("signer key is not usable: {0}")]
    BadKey(VerifierKeyError),
    /// The signer returned a signature its own public key rejects.
    #[error("the signer's signature does not verify with its public key")]
    SignatureDoesNotVerify,
}

/// A signed checkpoint did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteVerifyError {
    /// The verifier key text is unusable.
    #[error("verifier key: {0}")]
    Key(VerifierKeyError),
    /// Not a signed note.
    #[error("not a signed note: {0}")]
    Malformed(&'static str),
    /// No signature line names this key.
    #[error("the checkpoint is not signed by key {name:?}")]
    NotSignedByKey { name: String },
    /// A signature by this key does not verify: the text was changed or
    /// the signature forged.
    #[error(
        "the checkpoint signature does not verify: the checkpoint was altered or not signed by this key"
    )]
    BadSignature,
    /// The signed text is not a checkpoint.
    #[error("signed text is not a checkpoint: {0}")]
    Body(CheckpointError),
    /// Signed by the key, but for another log.
    #[error("checkpoint origin {origin:?} is not the key name {name:?}")]
    OriginIsNotKeyName { origin: String, name: String },
}

/// An Ed25519 verifier key with its name and signed-note key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: u32,
    key: VerifyingKey,
}

/// Verifier key text that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifierKeyError {
    #[error("verifier key must look like <name>+<8 hex digits>+<base64 key>")]
    Format,
    #[error("key name {0:?} is not valid: it must be non-empty, without spaces or '+'")]
    BadName(String),
    #[error("key algorithm {0} is not supported (only Ed25519, 1)")]
    Algorithm(u8),
    #[error("the Ed25519 public key is not valid")]
    BadPublicKey,
    #[error("key id {given:08x} does not match the key (expected {expected:08x})")]
    IdMismatch { given: u32, expected: u32 },
}

impl VerifierKey {
    /// The verifier key of a name and Ed25519 public key.
    pub fn from_parts(name: &str, public_key: [u8; 32]) -> Result<Self, VerifierKeyError> {
        if !is_valid_key_name(name) {
            return Err(VerifierKeyError::BadName(name.to_owned()));
        }
        let key =
            VerifyingKey::from_bytes(&public_key).map_err(|_| VerifierKeyError::BadPublicKey)?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, &public_key),
            key,
        })
    }

    /// The verifier key of a signer.
    pub fn of_signer(signer: &dyn NoteSigner) -> Result<Self, VerifierKeyError> {
        Self::from_parts(signer.name(), signer.public_key())
    }

    /// The key name (the origin of the log it signs).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The signed-note key id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    fn verify_signature(&self, msg: &[u8], sig: &[u8; 64]) -> Result<(), ()> {
        // Strict verification rejects malleable and small-order signatures;
        // honest Ed25519 signers never produce them.
        self.key
            .verify_strict(msg, &Signature::from_bytes(sig))
            .map_err(|_| ())
    }
}

/// The signed-note key id: the first four bytes of
/// SHA-256(name || "\n" || 0x01 || public key), big-endian.
fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut blob = [0u8; 33];
        blob[0] = ALG_ED25519;
        blob[1..].copy_from_slice(self.key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.id, BASE64.encode(blob))
    }
}

impl FromStr for VerifierKey {
    type Err = VerifierKeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim_end_matches(['\n', '\r']);
        // The name cannot hold '+', so the first two are the separators.
        let mut parts = s.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifierKeyError::Format);
        };
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(VerifierKeyError::Format);
        }
        let given = u32::from_str_radix(id_hex, 16).map_err(|_| VerifierKeyError::Format)?;
        let blob = BASE64.decode(b64).map_err(|_| VerifierKeyError::Format)?;
        let Some((&alg, key)) = blob.split_first() else {
            return Err(VerifierKeyError::Format);
        };
        if alg != ALG_ED25519 {
            return Err(VerifierKeyError::Algorithm(alg));
        }
        let key: [u8; 32] = key.try_into().map_err(|_| VerifierKeyError::Format)?;
        let parsed = Self::from_parts(name, key)?;
        if parsed.id != given {
            return Err(VerifierKeyError::IdMismatch {
                given,
                expected: parsed.id,
            });
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests;
