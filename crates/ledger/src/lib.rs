//! confidant's access ledger, as pure functions: what a ledger entry is and
//! its canonical bytes ([`entry`]), the RFC 6962 / RFC 9162 Merkle tree over
//! those bytes ([`tree`]), signed checkpoints in the C2SP tlog-checkpoint
//! and signed-note formats ([`checkpoint`]), and the offline verifier that
//! recomputes a whole log and says where it was tampered with ([`verify`]).
//!
//! The split follows the transparency-log crates we learn from (math,
//! formats, verification), and the verifier needs nothing but the leaves, a
//! checkpoint and a public key, so `confidant audit verify` and any third
//! party can run it without the server.
//!
//! What it leaves out, on purpose:
//! - storage and durability (the vault appends through the store, and fails
//!   closed when that append fails);
//! - keys: signing goes through the [`checkpoint::NoteSigner`] trait, so the
//!   private key stays with the vault's key hierarchy;
//! - the clock and randomness: an entry's time is passed in;
//! - queries, reports and alerts, which read entries but do not need the
//!   tree.
//!
//! The entry format is specified in `docs/ledger.md`.

pub mod checkpoint;
pub mod entry;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, NoteSigner, VerifierKey};
pub use entry::{
    Action, Decision, Entry, EntryError, KeyedHash, KnownAction, Name, OpaqueId, Target, TargetId,
    TargetKind, Timestamp,
};
pub use tree::{Frontier, FrontierError, Hash, LeafHashes};
pub use verify::{
    ConsistencyCheckError, Likely, LogError, LogVerifier, VerifiedLog, verify_consistency_with,
    verify_inclusion_in, verify_log,
};
