//! confidant's cryptography: the key hierarchy, streaming encryption of
//! document bodies, encrypted fields with blind indexes, password hashing and
//! signing keys.
//!
//! ```text
//! passphrase ──Argon2id──┐
//! key file ───HKDF───────┴─► seals the root key
//! root key ─────────────────► seals the workspace key-encryption key (KEK)
//! KEK ──────────────────────► wraps every data key (one per document
//!                             version, one per record set, the names key,
//!                             the signing key)
//! data key ─────────────────► encrypts a document body (chunked stream) or
//!                             derives field and blind-index keys
//! ```
//!
//! Everything symmetric is AES-256-GCM from aws-lc-rs (hardware AES, also
//! what rustls uses here); passwords and passphrases go through Argon2id;
//! signatures are Ed25519.
//!
//! What this crate deliberately leaves out: it does no I/O, never reads the
//! clock and never draws from the OS random number generator. Callers pass
//! an RNG (`rand_core::CryptoRng`), so tests are deterministic and the edge
//! decides where randomness comes from.

mod aead;
mod error;
mod field;
mod keys;
mod password;
mod seal;
mod sign;
mod stream;

pub use error::CryptoError;
pub use field::{FieldKeys, FieldPurpose};
pub use keys::{DataKey, Kek, RootKey};
pub use password::{hash_password, verify_password};
pub use seal::{KdfParams, KeyFile, RootSeal};
pub use sign::{SigningKey, VerifyingKey};
pub use stream::{
    CHUNK_SIZE, ChunkOpener, ChunkSealer, Decryptor, Encryptor, HEADER_LEN, TAG_LEN, encrypted_len,
};

/// A random number generator fit for keys and nonces.
pub trait Rng: rand_core::RngCore + rand_core::CryptoRng {}
impl<T: rand_core::RngCore + rand_core::CryptoRng> Rng for T {}
