/// Why a cryptographic operation failed. Messages never contain key
/// material or plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the passphrase is wrong")]
    WrongPassphrase,
    #[error("the key file does not match this workspace")]
    WrongKeyFile,
    /// Authentication failed: the ciphertext, its context or its framing was
    /// changed, truncated, reordered or moved from another object.
    #[error("integrity check failed: {0}")]
    Integrity(&'static str),
    /// Input that is not in any format this crate writes.
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("key derivation failed: {0}")]
    Kdf(String),
    #[error("the underlying cipher failed")]
    Cipher,
}
