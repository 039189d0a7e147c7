//! Our checkpoints, notes and proofs checked by independent implementations
//! of the same formats: the `signed_note` and `tlog_tiles` crates (Rust
//! ports of Go's sumdb note and tlog packages, from cloudflare/azul).

use confidant_ledger::checkpoint::{NoteSigner, VerifierKey};
use confidant_ledger::tree::{self, Hash, consistency_proof, inclusion_proof};
use confidant_ledger::{Checkpoint, Frontier};
use ed25519_dalek::{Signer as _, SigningKey};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use tlog_tiles::{HashReader, check_record, check_tree, prove_record, prove_tree};

const ORIGIN: &str = "confidant.example/0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";

struct Signer(SigningKey);

impl NoteSigner for Signer {
    fn name(&self) -> &str {
        ORIGIN
    }
    fn public_key(&self) -> [u8; 32] {
        self.0.verifying_key().to_bytes()
    }
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
}

fn signer() -> Signer {
    Signer(SigningKey::from_bytes(&[42; 32]))
}

fn leaf_hashes(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| tree::leaf_hash(format!("entry {i}").as_bytes()))
        .collect()
}

#[test]
fn signed_note_verifies_our_checkpoint_and_key() {
    let hashes = leaf_hashes(1000);
    let cp = Checkpoint::new(ORIGIN, 1000, tree::root_of(&hashes)).unwrap();
    let note = cp.sign(&signer()).unwrap();
    let key = VerifierKey::of_signer(&signer()).unwrap().to_string();

    // Their key parser accepts our key text, and their key text is ours.
    let theirs = StandardVerifier::new(&key).unwrap();
    assert_eq!(
        signed_note::new_ed25519_verifier_key(ORIGIN, &signer().0.verifying_key()),
        key
    );
    let parsed = Note::from_bytes(note.as_bytes()).unwrap();
    let (verified, unverified) = parsed
        .verify(&VerifierList::new(vec![Box::new(theirs)]))
        .unwrap();
    assert_eq!((verified.len(), unverified.len()), (1, 0));
    assert_eq!(parsed.to_bytes(), note.as_bytes());

    // tlog_tiles reads the body as the same checkpoint.
    let body = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
    assert_eq!(body.origin(), ORIGIN);
    assert_eq!(body.size(), 1000);
    assert_eq!(body.hash().0, *cp.root());
    assert_eq!(body.to_bytes(), cp.body().as_bytes());
}

#[test]
fn we_verify_a_checkpoint_signed_by_signed_note() {
    let key = SigningKey::from_bytes(&[7; 32]);
    let vkey = signed_note::new_ed25519_verifier_key(ORIGIN, &key.verifying_key());
    let id = vkey.split('+').nth(1).unwrap();
    let mut secret = vec![1u8];
    secret.extend_from_slice(&key.to_bytes());
    use base64::Engine as _;
    let skey = format!(
        "PRIVATE+KEY+{ORIGIN}+{id}+{}",
        base64::engine::general_purpose::STANDARD.encode(secret)
    );
    let their_signer = StandardSigner::new(&skey).unwrap();

    let root = tree::root_of(&leaf_hashes(77));
    let body = tlog_tiles::Checkpoint::new(ORIGIN, 77, tlog_tiles::Hash(root), "").unwrap();
    let mut note = Note::new(&body.to_bytes(), &[]).unwrap();
    note.add_sigs(&[&their_signer]).unwrap();
    let text = String::from_utf8(note.to_bytes()).unwrap();

    let cp = Checkpoint::verify(&text, &vkey).unwrap();
    assert_eq!((cp.origin(), cp.size(), *cp.root()), (ORIGIN, 77, root));
    // Tampered after signing: rejected by us.
    let altered = text.replacen("\n77\n", "\n78\n", 1);
    assert!(Checkpoint::verify(&altered, &vkey).is_err());
}

/// Go's tlog (and tlog_tiles) store every interior node of the tree; this
/// keeps them in memory for the third-party prover.
struct Stored(Vec<tlog_tiles::Hash>);

impl HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

fn stored(hashes: &[Hash]) -> Stored {
    let mut s = Stored(Vec::new());
    for (n, h) in hashes.iter().enumerate() {
        // Fed our leaf hashes, not record bytes, so both sides hash the same
        // leaves and only the tree math is compared.
        let new =
            tlog_tiles::stored_hashes_for_record_hash(n as u64, tlog_tiles::Hash(*h), &s).unwrap();
        s.0.extend(new);
    }
    s
}

fn to_theirs(proof: &[Hash]) -> Vec<tlog_tiles::Hash> {
    proof.iter().map(|h| tlog_tiles::Hash(*h)).collect()
}

#[test]
fn tlog_tiles_checks_our_inclusion_and_consistency_proofs() {
    for size in [1u64, 2, 3, 7, 8, 9, 31, 64, 100, 257] {
        let hashes = leaf_hashes(size);
        let s = stored(&hashes);
        let root = tree::root_of(&hashes);
        assert_eq!(
            tlog_tiles::tree_hash(size, &s).unwrap().0,
            root,
            "root of {size}"
        );
        for index in (0..size).step_by(((size / 13) + 1) as usize) {
            let ours = inclusion_proof(hashes.as_slice(), index, size).unwrap();
            check_record(
                &to_theirs(&ours),
                size,
                tlog_tiles::Hash(root),
                index,
                tlog_tiles::Hash(hashes[index as usize]),
            )
            .unwrap();
            let theirs = prove_record(size, index, &s).unwrap();
            assert_eq!(to_theirs(&ours), theirs, "inclusion {index} in {size}");
            // A flipped bit fails theirs too.
            let mut bad = ours.clone();
            if let Some(first) = bad.first_mut() {
                first[0] ^= 1;
                assert!(
                    check_record(
                        &to_theirs(&bad),
                        size,
                        tlog_tiles::Hash(root),
                        index,
                        tlog_tiles::Hash(hashes[index as usize])
                    )
                    .is_err()
                );
            }
        }
        for old in (1..=size).step_by(((size / 11) + 1) as usize) {
            let old_root = tree::root_of(&hashes[..old as usize]);
            let ours = consistency_proof(hashes.as_slice(), old, size).unwrap();
            check_tree(
                &to_theirs(&ours),
                size,
                tlog_tiles::Hash(root),
                old,
                tlog_tiles::Hash(old_root),
            )
            .unwrap();
            let theirs = prove_tree(size, old, &s).unwrap();
            assert_eq!(to_theirs(&ours), theirs, "consistency {old} to {size}");
            // And their proofs pass our verifier.
            let back: Vec<Hash> = theirs.iter().map(|h| h.0).collect();
            tree::verify_consistency(old, size, &old_root, &root, &back).unwrap();
        }
    }
}

#[test]
fn our_frontier_matches_tlog_tiles_roots_at_every_size() {
    let hashes = leaf_hashes(300);
    let s = stored(&hashes);
    let mut frontier = Frontier::new();
    for (i, h) in hashes.iter().enumerate() {
        frontier.push_leaf_hash(*h);
        assert_eq!(
            frontier.root(),
            tlog_tiles::tree_hash(i as u64 + 1, &s).unwrap().0
        );
    }
}
