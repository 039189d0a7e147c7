//! Ed25519 signing keys of a workspace (checkpoints, signatures of
//! agreements, backup manifests) and of devices.

use ed25519_dalek::{Signer as _, Verifier as _};

use crate::{CryptoError, DataKey};

/// An Ed25519 signing key. Its 32-byte seed is kept as a [`DataKey`] so it is
/// wrapped and rotated like every other key.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SigningKey(public {})",
            hex(&self.verifying_key().to_bytes())
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SigningKey {
    pub fn from_seed(seed: &DataKey) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(seed.bytes()))
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey(self.0.verifying_key())
    }

    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyingKey(ed25519_dalek::VerifyingKey);

impl VerifyingKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let bytes: &[u8; 32] = bytes
            .try_into()
            .map_err(|_| CryptoError::Malformed("public key"))?;
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(VerifyingKey)
            .map_err(|_| CryptoError::Malformed("public key"))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let sig = ed25519_dalek::Signature::from_slice(signature)
            .map_err(|_| CryptoError::Malformed("signature"))?;
        self.0
            .verify(message, &sig)
            .map_err(|_| CryptoError::Integrity("signature does not verify"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::tests::TestRng;

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::from_seed(&DataKey::generate(&mut TestRng::new(1)));
        let public = VerifyingKey::from_bytes(&key.verifying_key().to_bytes()).expect("public");
        let sig = key.sign(b"checkpoint");
        assert_eq!(public.verify(b"checkpoint", &sig), Ok(()));
        assert!(public.verify(b"checkpoinT", &sig).is_err());
    }
}
