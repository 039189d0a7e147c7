//! RFC 6962 / RFC 9162 Merkle tree math: hashing, an appendable frontier,
//! inclusion and consistency proofs and their verification.
//!
//! Everything here works on leaf hashes; what a leaf *is* lives in
//! [`crate::entry`]. Proof generation reads leaf hashes through
//! [`LeafHashes`] and recomputes the subtree roots it needs, which costs
//! O(n) hashing per proof: a store that serves many proofs over a large log
//! should cache interior nodes and is free to, since the proofs it returns
//! are checked by the verification functions below, not trusted.

use sha2::{Digest, Sha256};

/// A SHA-256 output: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of a leaf: SHA-256(0x00 || leaf). The prefix keeps a leaf from
/// ever being mistaken for an interior node (a second-preimage defence).
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(leaf);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A source of leaf hashes by index: a slice, a vector, or a store adapter.
pub trait LeafHashes {
    /// How many leaves the source holds.
    fn len(&self) -> u64;

    /// Whether the source holds no leaves.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of leaf `index`, or `None` when the source does not have it.
    fn get(&self, index: u64) -> Option<Hash>;
}

impl LeafHashes for [Hash] {
    fn len(&self) -> u64 {
        self.len() as u64
    }

    fn get(&self, index: u64) -> Option<Hash> {
        usize::try_from(index)
            .ok()
            .and_then(|i| <[Hash]>::get(self, i))
            .copied()
    }
}

impl LeafHashes for Vec<Hash> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn get(&self, index: u64) -> Option<Hash> {
        LeafHashes::get(self.as_slice(), index)
    }
}

impl<T: LeafHashes + ?Sized> LeafHashes for &T {
    fn len(&self) -> u64 {
        (**self).len()
    }

    fn get(&self, index: u64) -> Option<Hash> {
        (**self).get(index)
    }
}

/// The right edge of a growing tree: the roots of its perfect subtrees,
/// largest first. Appending costs O(1) amortized hashing, the root costs
/// O(log n), and it never holds more than 64 hashes, so a verifier can
/// stream a log of any length in constant memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // INVARIANT: `peaks[i]` is the root of a perfect subtree whose height is
    // the position of the i-th set bit of `size`, counted from the top.
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves have been appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf's bytes.
    pub fn append(&mut self, leaf: &[u8]) {
        self.push_leaf_hash(leaf_hash(leaf));
    }

    /// Appends a leaf by its hash.
    pub fn push_leaf_hash(&mut self, hash: Hash) {
        let mut node = hash;
        // Every trailing one bit of the old size is a perfect subtree of the
        // same height as the one being carried: merge them, like binary
        // addition.
        let mut carry = self.size;
        while carry & 1 == 1 {
            match self.peaks.pop() {
                Some(left) => node = node_hash(&left, &node),
                None => break,
            }
            carry >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The peaks as bytes for storage, 32 bytes each, largest subtree
    /// first; the size is kept beside them.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.peaks.concat()
    }

    /// The frontier of `size` leaves from [`Frontier::to_bytes`]. Fails
    /// when the bytes do not hold exactly one peak per set bit of `size`.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Self, FrontierError> {
        let expected = size.count_ones() as usize;
        if bytes.len() != expected * 32 {
            return Err(FrontierError {
                size,
                len: bytes.len(),
            });
        }
        let peaks = bytes
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(Self { size, peaks })
    }

    /// The root of the tree of all appended leaves.
    pub fn root(&self) -> Hash {
        let mut peaks = self.peaks.iter().rev();
        let Some(last) = peaks.next() else {
            return EMPTY_ROOT;
        };
        // RFC 6962 splits at the largest power of two, so the smaller
        // subtrees on the right are folded first.
        peaks.fold(*last, |right, left| node_hash(left, &right))
    }
}

/// Stored frontier bytes that do not fit the stored size.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a stored frontier of {len} bytes does not fit a tree of {size} leaves")]
pub struct FrontierError {
    size: u64,
    len: usize,
}

/// The root of a list of leaf hashes.
pub fn root_of(leaf_hashes: &[Hash]) -> Hash {
    let mut frontier = Frontier::new();
    for h in leaf_hashes {
        frontier.push_leaf_hash(*h);
    }
    frontier.root()
}

/// A proof could not be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProveError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The old size of a consistency proof is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    /// The tree size is larger than the source holds.
    #[error("tree size {size} is larger than the {available} leaf hashes available")]
    SizeBeyondSource { size: u64, available: u64 },
    /// The source claimed to hold a leaf it then did not return.
    #[error("leaf hash {index} is missing from the source")]
    MissingLeaf { index: u64 },
}

/// The largest power of two strictly below `n` (for n >= 2).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[lo..hi]) from the source.
fn subtree_root(src: &(impl LeafHashes + ?Sized), lo: u64, hi: u64) -> Result<Hash, ProveError> {
    let mut frontier = Frontier::new();
    for i in lo..hi {
        frontier.push_leaf_hash(src.get(i).ok_or(ProveError::MissingLeaf { index: i })?);
    }
    Ok(frontier.root())
}

fn check_source(src: &(impl LeafHashes + ?Sized), size: u64) -> Result<(), ProveError> {
    let available = src.len();
    if size > available {
        return Err(ProveError::SizeBeyondSource { size, available });
    }
    Ok(())
}

/// The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index` in
/// the tree made of the first `size` leaves of `src`, bottom-up.
pub fn inclusion_proof(
    src: &(impl LeafHashes + ?Sized),
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError> {
    if index >= size {
        return Err(ProveError::IndexOutOfRange { index, size });
    }
    check_source(src, size)?;
    // Walk down from the root, collecting siblings top-down; reversed at the
    // end because proofs list them leaf first.
    let mut path = Vec::new();
    let (mut lo, mut hi, mut m) = (0u64, size, index);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < k {
            path.push(subtree_root(src, lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(subtree_root(src, lo, lo + k)?);
            lo += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof (RFC 9162 §2.1.4.1) that the tree of the first
/// `old` leaves is a prefix of the tree of the first `new` leaves. Empty when
/// `old` is 0 or equal to `new`, as in transparency-dev/merkle.
pub fn consistency_proof(
    src: &(impl LeafHashes + ?Sized),
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProveError> {
    if old > new {
        return Err(ProveError::OldLargerThanNew { old, new });
    }
    check_source(src, new)?;
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo..hi], b), unrolled; siblings collected top-down.
    let mut path = Vec::new();
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new, old, true);
    loop {
        let n = hi - lo;
        if m == n {
            if !whole {
                path.push(subtree_root(src, lo, hi)?);
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            path.push(subtree_root(src, lo + k, hi)?);
            hi = lo + k;
        } else {
            path.push(subtree_root(src, lo, lo + k)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// An inclusion proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InclusionError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The proof has more or fewer hashes than the index and size call for.
    #[error("inclusion proof has the wrong number of hashes ({len})")]
    WrongLength { len: usize },
    /// The proof leads to a different root.
    #[error("inclusion proof does not lead to the expected root")]
    RootMismatch,
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves
/// with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), InclusionError> {
    if index >= size {
        return Err(InclusionError::IndexOutOfRange { index, size });
    }
    let wrong_length = InclusionError::WrongLength { len: proof.len() };
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(wrong_length);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(wrong_length);
    }
    if &r != root {
        return Err(InclusionError::RootMismatch);
    }
    Ok(())
}

/// A consistency proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    /// The old size is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    /// The proof has more or fewer hashes than the sizes call for.
    #[error("consistency proof has the wrong number of hashes ({len})")]
    WrongLength { len: usize },
    /// Equal sizes with different roots: two different trees.
    #[error("trees of the same size {size} have different roots")]
    SameSizeDifferentRoots { size: u64 },
    /// The proof does not rebuild the old root.
    #[error("consistency proof does not lead to the old root")]
    OldRootMismatch,
    /// The proof does not rebuild the new root.
    #[error("consistency proof does not lead to the new root")]
    NewRootMismatch,
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix
/// of the tree of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ConsistencyError> {
    let wrong_length = ConsistencyError::WrongLength { len: proof.len() };
    if old > new {
        return Err(ConsistencyError::OldLargerThanNew { old, new });
    }
    if old == new {
        if !proof.is_empty() {
            return Err(wrong_length);
        }
        if old_root != new_root {
            return Err(ConsistencyError::SameSizeDifferentRoots { size: old });
        }
        return Ok(());
    }
    if old == 0 {
        // Every tree extends the empty tree; a non-empty proof is malformed.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(wrong_length)
        };
    }
    if proof.is_empty() {
        return Err(wrong_length);
    }
    // When the old tree is a perfect subtree its root is the first node of
    // the path, so the RFC prepends it instead of sending it.
    let prefix = old.is_power_of_two().then_some(old_root);
    let mut path = prefix.into_iter().chain(proof.iter());
    let mut f = old - 1;
    let mut s = new - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let Some(first) = path.next() else {
        return Err(wrong_length);
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in path {
        if s == 0 {
            return Err(wrong_length);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(wrong_length);
    }
    if &fr != old_root {
        return Err(ConsistencyError::OldRootMismatch);
    }
    if &sr != new_root {
        return Err(ConsistencyError::NewRootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
