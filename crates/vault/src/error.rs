use confidant_crypto::CryptoError;
use confidant_store::StoreError;

/// Why a vault operation failed, in the few categories the server and CLI
/// map to status codes and exit messages. Messages say what was wrong and,
/// where there is something to do, what to do; they never contain secrets or
/// customer data.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    /// A grant covers the item, but the person must first sign an
    /// agreement or enter the day passcode (see [`crate::Blocker`]).
    #[error("{}", .0.message())]
    Blocked(crate::access::Blocker),
    #[error("{0}")]
    Conflict(String),
    /// The document is view only: it is shown in the browser, never
    /// offered for download.
    #[error("{0}")]
    ViewOnly(String),
    #[error("{0}")]
    InvalidInput(String),
    /// The passphrase or key file does not open the workspace.
    #[error("{0}")]
    Locked(String),
    /// Stored ciphertext failed authentication: it was changed, truncated or
    /// moved. The data is never returned.
    #[error("{0}")]
    Integrity(String),
    /// Too many failed attempts: try again after `retry_after`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: time::Duration,
    },
    /// The store could not be reached or written; retry later.
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for VaultError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => VaultError::Conflict(m),
            StoreError::Unavailable(m) => {
                VaultError::Unavailable(format!("storage unavailable: {m}"))
            }
            StoreError::BlobNotFound(m) => VaultError::Integrity(format!(
                "the encrypted body {m} is missing from blob storage"
            )),
            e @ (StoreError::Corrupt(_) | StoreError::InvalidUrl(_)) => {
                VaultError::Internal(e.to_string())
            }
        }
    }
}

impl VaultError {
    /// Maps a cryptographic failure while reading `what` (an item named for
    /// the user) to the right category.
    pub(crate) fn crypto(what: &str, e: CryptoError) -> Self {
        match e {
            CryptoError::Integrity(detail) => {
                VaultError::Integrity(format!("integrity check failed for {what}: {detail}"))
            }
            CryptoError::Malformed(detail) => VaultError::Integrity(format!(
                "integrity check failed for {what}: malformed {detail}"
            )),
            CryptoError::WrongPassphrase => VaultError::Locked(
                "the passphrase is wrong: check CONFIDANT_PASSPHRASE (nothing was changed)".into(),
            ),
            CryptoError::WrongKeyFile => VaultError::Locked(
                "the key file does not open this workspace: check --key-file (nothing was changed)"
                    .into(),
            ),
            other => VaultError::Internal(format!("{what}: {other}")),
        }
    }
}
