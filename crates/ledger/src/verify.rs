//! The offline verifier: recompute a whole log from its leaves and say
//! where it stops matching what was signed.
//!
//! What it can pinpoint, from the evidence it is given:
//! - a leaf that is not a canonical entry: exactly, at its index;
//! - with trusted leaf hashes (for example an earlier export that itself
//!   verified): exactly, the first index whose leaf differs;
//! - with signed checkpoints only: the first checkpoint whose prefix root
//!   does not match bounds the first change to the entries between the last
//!   matching checkpoint and that one. With a checkpoint after every batch,
//!   that is the batch; with only the latest checkpoint, it is "somewhere in
//!   the log". A Merkle root commits to the leaves but does not say which
//!   one differs, so nothing finer is possible without more evidence;
//! - a log shorter than the latest checkpoint: entries were removed at or
//!   after the last checkpoint that still matches.
//!
//! What it cannot tell apart: an insertion from an append after the latest
//! checkpoint (entries beyond the checkpoint are reported as not yet
//! covered, not as tampering), nor a change from a reorder (both change
//! leaves in place). The size difference, given in the error, is the hint.

use crate::checkpoint::Checkpoint;
use crate::entry::{Entry, EntryError};
use crate::tree::{self, ConsistencyError, EMPTY_ROOT, Frontier, Hash, InclusionError, LeafHashes};

/// A log that matches its checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedLog {
    /// The entries the checkpoint covers (the checkpoint's size).
    pub checkpoint_size: u64,
    /// The recomputed root, equal to the checkpoint's.
    pub root: Hash,
    /// How many entries the log holds; those beyond `checkpoint_size` were
    /// appended after the checkpoint and are not yet covered by a signature.
    pub log_size: u64,
    /// How many of the given checkpoints (including the latest) matched.
    pub checkpoints_matched: usize,
}

impl VerifiedLog {
    /// Entries after the checkpoint, not yet covered by a signature.
    pub fn uncovered(&self) -> u64 {
        self.log_size - self.checkpoint_size
    }
}

/// What the sizes suggest about a log that does not match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Likely {
    /// As many entries as the checkpoint: changed or reordered.
    ChangedOrReordered,
    /// Fewer entries than the checkpoint: removed.
    Removed,
    /// More entries: inserted (or appended after the checkpoint, which is
    /// not tampering by itself).
    Inserted,
}

/// A log did not verify.
#[derive(Debug, thiserror::Error)]
pub enum LogError<E>
where
    E: std::error::Error + 'static,
{
    /// The given checkpoints name different logs.
    #[error("checkpoints of different logs were given ({first:?} and {second:?})")]
    MixedOrigins { first: String, second: String },
    /// An earlier checkpoint is larger than the one to verify against.
    #[error(
        "a checkpoint of size {size} is larger than the latest checkpoint (size {latest}): pass the largest as the latest"
    )]
    LaterThanLatest { size: u64, latest: u64 },
    /// Two signed checkpoints of the same size disagree: the log was forked.
    #[error(
        "two signed checkpoints of size {size} have different roots: the log was rewritten and signed twice"
    )]
    Fork { size: u64 },
    /// A checkpoint of the empty tree with another root.
    #[error("a checkpoint of size 0 does not have the empty tree's root")]
    EmptyTreeRoot,
    /// The leaf source failed.
    #[error("entry {index} could not be read: {source}")]
    Read {
        index: u64,
        #[source]
        source: E,
    },
    /// A leaf is not a canonical ledger entry.
    #[error("entry {index} was changed: {source}")]
    NotCanonical {
        index: u64,
        #[source]
        source: EntryError,
    },
    /// A leaf differs from the trusted leaf hash at its index.
    #[error(
        "entry {index} was changed, removed, inserted or moved: it differs from the trusted leaf hash at {index}"
    )]
    LeafMismatch { index: u64, log_size: u64 },
    /// The first checkpoint whose root does not match.
    #[error("{}", describe_divergence(.first_possible, .checkpoint_size, .log_size, .latest_size))]
    Diverged {
        /// The first entry that may have changed (all before it match a
        /// signed checkpoint).
        first_possible: u64,
        /// The size of the first checkpoint that does not match; the first
        /// change is below this index.
        checkpoint_size: u64,
        /// How many entries the log holds.
        log_size: u64,
        /// The latest checkpoint's size.
        latest_size: u64,
        likely: Likely,
    },
    /// The log ends before the checkpoint's size, and every checkpoint it
    /// reaches matches.
    #[error(
        "the log has {log_size} entries but the checkpoint covers {checkpoint_size}: entries were removed at or after index {first_possible}"
    )]
    Missing {
        first_possible: u64,
        log_size: u64,
        checkpoint_size: u64,
    },
}

impl<E: std::error::Error + 'static> LogError<E> {
    /// The first entry index that may have been tampered with, when the
    /// error is about the log's content.
    pub fn first_bad_index(&self) -> Option<u64> {
        match self {
            Self::Read { index, .. }
            | Self::NotCanonical { index, .. }
            | Self::LeafMismatch { index, .. } => Some(*index),
            Self::Diverged { first_possible, .. } | Self::Missing { first_possible, .. } => {
                Some(*first_possible)
            }
            Self::MixedOrigins { .. }
            | Self::LaterThanLatest { .. }
            | Self::Fork { .. }
            | Self::EmptyTreeRoot => None,
        }
    }
}

fn describe_divergence(first: &u64, cp_size: &u64, log_size: &u64, latest: &u64) -> String {
    let (first, cp_size, log_size, latest) = (*first, *cp_size, *log_size, *latest);
    let place = if cp_size.saturating_sub(first) == 1 {
        format!("entry {first} was changed, removed, inserted or moved")
    } else {
        format!(
            "the first entry changed, removed, inserted or moved is between index {first} and {}",
            cp_size.saturating_sub(1)
        )
    };
    let hint = match log_size.cmp(&latest) {
        std::cmp::Ordering::Less => format!(
            " (the log has {} fewer entries than signed)",
            latest - log_size
        ),
        std::cmp::Ordering::Greater => format!(
            " (the log has {} more entries than signed; some may be appended after the checkpoint)",
            log_size - latest
        ),
        std::cmp::Ordering::Equal => String::new(),
    };
    format!("the log does not match the signed checkpoint of size {cp_size}: {place}{hint}")
}

/// Verifies a log against its latest signed checkpoint, with optional
/// earlier checkpoints and trusted leaf hashes to narrow down where a
/// tampered log first differs.
#[derive(Clone, Copy)]
pub struct LogVerifier<'a> {
    latest: &'a Checkpoint,
    earlier: &'a [Checkpoint],
    known: Option<&'a dyn LeafHashes>,
    check_entries: bool,
}

impl std::fmt::Debug for LogVerifier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogVerifier")
            .field("latest", self.latest)
            .field("earlier", &self.earlier.len())
            .field("known_leaf_hashes", &self.known.map(|k| k.len()))
            .field("check_entries", &self.check_entries)
            .finish()
    }
}

impl<'a> LogVerifier<'a> {
    /// A verifier against `latest`, an already verified checkpoint (see
    /// [`Checkpoint::verify`]).
    pub fn new(latest: &'a Checkpoint) -> Self {
        Self {
            latest,
            earlier: &[],
            known: None,
            check_entries: true,
        }
    }

    /// Earlier verified checkpoints of the same log, in any order: each one
    /// the log reaches is checked, which bounds where a change lies.
    pub fn with_checkpoints(mut self, earlier: &'a [Checkpoint]) -> Self {
        self.earlier = earlier;
        self
    }

    /// Trusted leaf hashes of a prefix of the log (for example from an
    /// export that verified earlier): the first leaf that differs is then
    /// reported exactly.
    pub fn with_leaf_hashes(mut self, known: &'a dyn LeafHashes) -> Self {
        self.known = Some(known);
        self
    }

    /// Whether to decode every leaf as a canonical [`Entry`] (on by
    /// default). Off, only the tree is checked, which is faster and works
    /// on leaves of a future format.
    pub fn check_entries(mut self, on: bool) -> Self {
        self.check_entries = on;
        self
    }

    /// Streams the leaves once, in order, in memory independent of the log's
    /// length (plus the checkpoints given). Leaves are borrowed or owned
    /// bytes, so a caller can hand out slices of one buffer. After the first
    /// mismatch the remaining leaves are only counted, not hashed, for the
    /// size hint in the error.
    pub fn verify<I, B, E>(self, leaves: I) -> Result<VerifiedLog, LogError<E>>
    where
        I: IntoIterator<Item = Result<B, E>>,
        B: AsRef<[u8]>,
        E: std::error::Error + 'static,
    {
        let targets = self.targets()?;
        let latest_size = self.latest.size();
        let mut frontier = Frontier::new();
        let mut scratch = Vec::new();
        let mut next = targets.iter().peekable();
        let mut last_good = 0u64;
        let mut matched = 0usize;
        // A size-0 checkpoint was checked against the empty root already.
        while next.next_if(|(size, _)| *size == 0).is_some() {
            matched += 1;
        }
        let mut leaves = leaves.into_iter();
        for item in leaves.by_ref() {
            let index = frontier.size();
            let leaf = item.map_err(|source| LogError::Read { index, source })?;
            let leaf = leaf.as_ref();
            if self.check_entries {
                Entry::from_leaf_with(leaf, &mut scratch)
                    .map_err(|source| LogError::NotCanonical { index, source })?;
            }
            let hash = tree::leaf_hash(leaf);
            if let Some(known) = self.known
                && known.get(index).is_some_and(|k| k != hash)
            {
                let log_size = index + 1 + count(&mut leaves);
                return Err(LogError::LeafMismatch { index, log_size });
            }
            frontier.push_leaf_hash(hash);
            let size = frontier.size();
            if let Some((_, root)) = next.next_if(|(s, _)| *s == size) {
                if frontier.root() != *root {
                    let log_size = size + count(&mut leaves);
                    return Err(LogError::Diverged {
                        first_possible: last_good,
                        checkpoint_size: size,
                        log_size,
                        latest_size,
                        likely: match log_size.cmp(&latest_size) {
                            std::cmp::Ordering::Less => Likely::Removed,
                            std::cmp::Ordering::Equal => Likely::ChangedOrReordered,
                            std::cmp::Ordering::Greater => Likely::Inserted,
                        },
                    });
                }
                last_good = size;
                matched += 1;
            }
        }
        let log_size = frontier.size();
        if log_size < latest_size {
            // Every leaf read matched the trusted hashes; if they go further,
            // the first missing entry is known exactly.
            let trusted_beyond = self.known.is_some_and(|k| k.len() > log_size);
            return Err(LogError::Missing {
                first_possible: if trusted_beyond { log_size } else { last_good },
                log_size,
                checkpoint_size: latest_size,
            });
        }
        Ok(VerifiedLog {
            checkpoint_size: latest_size,
            root: *self.latest.root(),
            log_size,
            checkpoints_matched: matched,
        })
    }

    /// The checkpoint sizes and roots to check, ascending and unique.
    fn targets<E: std::error::Error + 'static>(&self) -> Result<Vec<(u64, Hash)>, LogError<E>> {
        let mut targets = Vec::with_capacity(self.earlier.len() + 1);
        for c in self.earlier.iter().chain(std::iter::once(self.latest)) {
            if c.origin() != self.latest.origin() {
                return Err(LogError::MixedOrigins {
                    first: self.latest.origin().to_owned(),
                    second: c.origin().to_owned(),
                });
            }
            if c.size() > self.latest.size() {
                return Err(LogError::LaterThanLatest {
                    size: c.size(),
                    latest: self.latest.size(),
                });
            }
            if c.size() == 0 && *c.root() != EMPTY_ROOT {
                return Err(LogError::EmptyTreeRoot);
            }
            targets.push((c.size(), *c.root()));
        }
        targets.sort_unstable();
        targets.dedup();
        if let Some(w) = targets.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(LogError::Fork { size: w[0].0 });
        }
        Ok(targets)
    }
}

/// Counts the remaining items without hashing them, for the size hint of
/// an error.
fn count<T>(rest: &mut impl Iterator<Item = T>) -> u64 {
    rest.fold(0u64, |n, _| n + 1)
}

/// Verifies `leaves` against `checkpoint` alone; see [`LogVerifier`] for
/// earlier checkpoints and trusted leaf hashes.
pub fn verify_log<I, B, E>(leaves: I, checkpoint: &Checkpoint) -> Result<VerifiedLog, LogError<E>>
where
    I: IntoIterator<Item = Result<B, E>>,
    B: AsRef<[u8]>,
    E: std::error::Error + 'static,
{
    LogVerifier::new(checkpoint).verify(leaves)
}

/// A new checkpoint does not extend an old one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyCheckError {
    /// The checkpoints are of different logs.
    #[error("the checkpoints are of different logs ({old:?} and {new:?})")]
    OriginMismatch { old: String, new: String },
    /// The proof fails: the new log does not extend the old one.
    #[error("the newer checkpoint does not extend the older one: {0}")]
    Proof(#[from] ConsistencyError),
}

/// Checks that `new` extends `old` (both already verified checkpoints of the
/// same log) with a consistency proof: nothing the old checkpoint covered
/// was changed, removed, inserted or reordered since.
pub fn verify_consistency_with(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), ConsistencyCheckError> {
    if old.origin() != new.origin() {
        return Err(ConsistencyCheckError::OriginMismatch {
            old: old.origin().to_owned(),
            new: new.origin().to_owned(),
        });
    }
    tree::verify_consistency(old.size(), new.size(), old.root(), new.root(), proof)?;
    Ok(())
}

/// Checks that `leaf` is entry `index` of the log `checkpoint` signs.
pub fn verify_inclusion_in(
    checkpoint: &Checkpoint,
    leaf: &[u8],
    index: u64,
    proof: &[Hash],
) -> Result<(), InclusionError> {
    tree::verify_inclusion(
        &tree::leaf_hash(leaf),
        index,
        checkpoint.size(),
        proof,
        checkpoint.root(),
    )
}

#[cfg(test)]
mod tests;
