//! AES-256-GCM building blocks shared by the key hierarchy and fields.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::keys::{KEY_LEN, SecretBytes};
use crate::{CryptoError, Rng};

pub(crate) const TAG_LEN: usize = 16;
/// version (1) || nonce (12) || key ciphertext (32) || tag (16)
pub(crate) const WRAPPED_KEY_LEN: usize = 1 + NONCE_LEN + KEY_LEN + TAG_LEN;
const WRAP_VERSION: u8 = 1;

pub(crate) fn cipher(key: &[u8; KEY_LEN]) -> Result<LessSafeKey, CryptoError> {
    UnboundKey::new(&AES_256_GCM, key)
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::Cipher)
}

/// `domain || len(context) || context`: the associated data of a wrap.
fn wrap_aad(domain: &[u8], context: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(domain.len() + 8 + context.len());
    aad.extend_from_slice(domain);
    aad.extend_from_slice(&(context.len() as u64).to_be_bytes());
    aad.extend_from_slice(context);
    aad
}

/// Encrypts `plaintext` with a random nonce: `nonce || ciphertext || tag`.
pub(crate) fn seal_random_nonce(
    key: &LessSafeKey,
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl Rng,
) -> Result<Vec<u8>, CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Cipher)?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens what [`seal_random_nonce`] made.
pub(crate) fn open_random_nonce(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
    what: &'static str,
) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::Malformed(what));
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed(what))?;
    let mut buf = body.to_vec();
    let len = key
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| CryptoError::Integrity(what))?
        .len();
    buf.truncate(len);
    Ok(buf)
}

pub(crate) fn wrap(
    wrapping: &SecretBytes,
    domain: &[u8],
    context: &[u8],
    key: &SecretBytes,
    rng: &mut impl Rng,
) -> Result<Vec<u8>, CryptoError> {
    let aad = wrap_aad(domain, context);
    let sealed = seal_random_nonce(&cipher(&wrapping.0)?, &aad, &key.0, rng)?;
    let mut out = Vec::with_capacity(WRAPPED_KEY_LEN);
    out.push(WRAP_VERSION);
    out.extend_from_slice(&sealed);
    Ok(out)
}

pub(crate) fn unwrap(
    wrapping: &SecretBytes,
    domain: &[u8],
    context: &[u8],
    wrapped: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let Some((&WRAP_VERSION, sealed)) = wrapped.split_first() else {
        return Err(CryptoError::Malformed("wrapped key"));
    };
    let aad = wrap_aad(domain, context);
    let mut plain = open_random_nonce(&cipher(&wrapping.0)?, &aad, sealed, "wrapped key")?;
    let bytes: [u8; KEY_LEN] = plain
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::Malformed("wrapped key"))?;
    zeroize::Zeroize::zeroize(&mut plain);
    Ok(SecretBytes(bytes))
}

#[cfg(test)]
pub(crate) mod tests {
    use rand_core::{CryptoRng, RngCore};

    /// A deterministic RNG for tests (xorshift); never used outside tests.
    pub(crate) struct TestRng(u64);

    impl TestRng {
        pub(crate) fn new(seed: u64) -> Self {
            TestRng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
        }
    }

    impl RngCore for TestRng {
        fn next_u32(&mut self) -> u32 {
            (self.next_u64() >> 32) as u32
        }
        fn next_u64(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            rand_core::impls::fill_bytes_via_next(self, dest);
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }
    impl CryptoRng for TestRng {}
}
