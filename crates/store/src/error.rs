/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {0:?} is not supported: use sqlite://PATH or postgres://USER@HOST/DB")]
    InvalidUrl(String),
    /// A uniqueness or concurrency rule was broken; nothing was changed.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database or blob storage could not be reached or refused to
    /// write (disk full, read-only, connection lost).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data does not decode (a corrupt row or a schema from a newer
    /// version).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("blob {0} not found")]
    BlobNotFound(String),
}
