//! Small encrypted values (record-set cells, document names) and their blind
//! indexes (keyed hashes for exact-match lookup without decrypting).

use aws_lc_rs::aead::LessSafeKey;
use aws_lc_rs::{hkdf, hmac};
use zeroize::Zeroize;

use crate::aead::{cipher, open_random_nonce, seal_random_nonce};
use crate::keys::KEY_LEN;
use crate::{CryptoError, DataKey, Rng};

/// What a set of field keys is for; keys for different purposes differ even
/// when derived from the same data key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldPurpose {
    /// Cells of a record set.
    Cells,
    /// Names of a workspace's documents.
    Names,
}

impl FieldPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            FieldPurpose::Cells => b"cells",
            FieldPurpose::Names => b"names",
        }
    }
}

/// An encryption key and a blind-index key, both derived (HKDF-SHA256) from
/// one data key, so rewrapping the data key on rotation keeps every
/// ciphertext and every index valid.
pub struct FieldKeys {
    cipher: LessSafeKey,
    index: hmac::Key,
}

impl std::fmt::Debug for FieldKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldKeys(..)")
    }
}

fn derive(key: &DataKey, purpose: FieldPurpose, what: &[u8]) -> Result<[u8; KEY_LEN], CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"confidant.field.v1").extract(key.bytes());
    let info = [purpose.label(), b"/", what];
    let okm = prk
        .expand(&info, hkdf::HKDF_SHA256)
        .map_err(|_| CryptoError::Cipher)?;
    let mut out = [0u8; KEY_LEN];
    okm.fill(&mut out).map_err(|_| CryptoError::Cipher)?;
    Ok(out)
}

/// Length-prefixed concatenation, so `["ab", "c"]` and `["a", "bc"]` differ.
fn encode_parts(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for part in parts {
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

impl FieldKeys {
    pub fn derive(key: &DataKey, purpose: FieldPurpose) -> Result<Self, CryptoError> {
        let mut enc = derive(key, purpose, b"encrypt")?;
        let mut idx = derive(key, purpose, b"index")?;
        let keys = FieldKeys {
            cipher: cipher(&enc)?,
            index: hmac::Key::new(hmac::HMAC_SHA256, &idx),
        };
        enc.zeroize();
        idx.zeroize();
        Ok(keys)
    }

    /// Encrypts a value bound to `context` (for a cell: set, row and column),
    /// so a ciphertext moved to another place does not decrypt.
    pub fn seal(
        &self,
        context: &[&[u8]],
        plaintext: &[u8],
        rng: &mut impl Rng,
    ) -> Result<Vec<u8>, CryptoError> {
        seal_random_nonce(&self.cipher, &encode_parts(context), plaintext, rng)
    }

    pub fn open(&self, context: &[&[u8]], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
        open_random_nonce(
            &self.cipher,
            &encode_parts(context),
            sealed,
            "encrypted field",
        )
    }

    /// A keyed hash of a normalized value within `scope` (for a cell: the
    /// column), 16 bytes: enough to make collisions irrelevant, short enough
    /// to index.
    pub fn blind_index(&self, scope: &[&[u8]], normalized: &[u8]) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.index);
        ctx.update(&encode_parts(scope));
        ctx.update(normalized);
        ctx.sign().as_ref()[..16].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::tests::TestRng;

    #[test]
    fn fields_are_bound_to_their_context_and_purpose() {
        let mut rng = TestRng::new(3);
        let key = DataKey::generate(&mut rng);
        let cells = FieldKeys::derive(&key, FieldPurpose::Cells).expect("keys");
        let sealed = cells
            .seal(&[b"set", b"row-1", b"email"], b"ann@example.com", &mut rng)
            .expect("seal");
        assert!(!sealed.windows(3).any(|w| w == b"ann"));
        assert_eq!(
            cells
                .open(&[b"set", b"row-1", b"email"], &sealed)
                .as_deref(),
            Ok(&b"ann@example.com"[..])
        );
        assert!(cells.open(&[b"set", b"row-2", b"email"], &sealed).is_err());
        assert!(
            cells
                .open(&[b"set", b"row-1", b"emai", b"l"], &sealed)
                .is_err()
        );
        let names = FieldKeys::derive(&key, FieldPurpose::Names).expect("keys");
        assert!(names.open(&[b"set", b"row-1", b"email"], &sealed).is_err());
    }

    #[test]
    fn blind_indexes_are_deterministic_and_scoped() {
        let key = DataKey::generate(&mut TestRng::new(4));
        let keys = FieldKeys::derive(&key, FieldPurpose::Cells).expect("keys");
        let a = keys.blind_index(&[b"email"], b"ann@example.com");
        assert_eq!(a, keys.blind_index(&[b"email"], b"ann@example.com"));
        assert_ne!(a, keys.blind_index(&[b"contact"], b"ann@example.com"));
        assert_ne!(a, keys.blind_index(&[b"email"], b"bob@example.com"));
        let other = FieldKeys::derive(
            &DataKey::generate(&mut TestRng::new(5)),
            FieldPurpose::Cells,
        )
        .expect("keys");
        assert_ne!(a, other.blind_index(&[b"email"], b"ann@example.com"));
    }
}
