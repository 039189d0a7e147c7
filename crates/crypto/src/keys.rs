use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::aead::{self, WRAPPED_KEY_LEN};
use crate::{CryptoError, Rng};

pub(crate) const KEY_LEN: usize = 32;

/// 256 secret bits, wiped from memory when dropped and never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SecretBytes(pub(crate) [u8; KEY_LEN]);

impl SecretBytes {
    pub(crate) fn random(rng: &mut impl Rng) -> Self {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill_bytes(&mut bytes);
        SecretBytes(bytes)
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBytes(..)")
    }
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug)]
        pub struct $name(pub(crate) SecretBytes);

        impl $name {
            /// A fresh random key.
            pub fn generate(rng: &mut impl Rng) -> Self {
                Self(SecretBytes::random(rng))
            }
        }
    };
}

key_type!(
    /// The root of a workspace's keys; sealed by a passphrase or key file and
    /// never stored in the clear.
    RootKey
);
key_type!(
    /// A workspace key-encryption key: wraps data keys; rotated by
    /// `confidant keys rotate`.
    Kek
);
key_type!(
    /// A key for one object: one document version, one record set, the
    /// workspace names key, or the signing key seed.
    DataKey
);

impl RootKey {
    /// Seals a KEK under this root key, bound to `context` (the workspace and
    /// KEK ids).
    pub fn wrap_kek(
        &self,
        kek: &Kek,
        context: &[u8],
        rng: &mut impl Rng,
    ) -> Result<Vec<u8>, CryptoError> {
        aead::wrap(&self.0, b"confidant.kek.v1", context, &kek.0, rng)
    }

    pub fn unwrap_kek(&self, wrapped: &[u8], context: &[u8]) -> Result<Kek, CryptoError> {
        aead::unwrap(&self.0, b"confidant.kek.v1", context, wrapped).map(Kek)
    }

    /// Seals a server-level key (the seed of the backup signing key) under
    /// this root key, bound to `context`.
    pub fn wrap_server_key(
        &self,
        key: &DataKey,
        context: &[u8],
        rng: &mut impl Rng,
    ) -> Result<Vec<u8>, CryptoError> {
        aead::wrap(&self.0, b"confidant.server-key.v1", context, &key.0, rng)
    }

    pub fn unwrap_server_key(
        &self,
        wrapped: &[u8],
        context: &[u8],
    ) -> Result<DataKey, CryptoError> {
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(CryptoError::Malformed("wrapped key"));
        }
        aead::unwrap(&self.0, b"confidant.server-key.v1", context, wrapped).map(DataKey)
    }
}

impl Kek {
    /// Wraps a data key, bound to `context` (what the key belongs to), so a
    /// wrapped key copied onto another object does not unwrap.
    pub fn wrap(
        &self,
        key: &DataKey,
        context: &[u8],
        rng: &mut impl Rng,
    ) -> Result<Vec<u8>, CryptoError> {
        aead::wrap(&self.0, b"confidant.dek.v1", context, &key.0, rng)
    }

    pub fn unwrap(&self, wrapped: &[u8], context: &[u8]) -> Result<DataKey, CryptoError> {
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(CryptoError::Malformed("wrapped key"));
        }
        aead::unwrap(&self.0, b"confidant.dek.v1", context, wrapped).map(DataKey)
    }
}

impl DataKey {
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::tests::TestRng;

    #[test]
    fn wrapped_keys_are_bound_to_their_context() {
        let mut rng = TestRng::new(1);
        let kek = Kek::generate(&mut rng);
        let key = DataKey::generate(&mut rng);
        let wrapped = kek.wrap(&key, b"doc-1", &mut rng).expect("wraps");
        assert_eq!(wrapped.len(), WRAPPED_KEY_LEN);
        let back = kek.unwrap(&wrapped, b"doc-1").expect("unwraps");
        assert_eq!(back.bytes(), key.bytes());
        assert!(matches!(
            kek.unwrap(&wrapped, b"doc-2"),
            Err(CryptoError::Integrity(_))
        ));
        let other = Kek::generate(&mut rng);
        assert!(other.unwrap(&wrapped, b"doc-1").is_err());
        let mut flipped = wrapped;
        flipped[20] ^= 1;
        assert!(kek.unwrap(&flipped, b"doc-1").is_err());
    }

    #[test]
    fn debug_never_shows_key_bytes() {
        let key = DataKey(SecretBytes([0xAB; KEY_LEN]));
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"));
    }
}
