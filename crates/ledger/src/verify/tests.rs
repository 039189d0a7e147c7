use std::convert::Infallible;

use proptest::prelude::*;

use super::*;
use crate::entry::tests::minimal;
use crate::tree::{consistency_proof, leaf_hash, root_of};

const ORIGIN: &str = "confidant.example/0b5f1c3e-8d2a-4f6b-9c1d-000000000001";

fn leaves(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| minimal(i).to_leaf()).collect()
}

fn checkpoint_of(leaves: &[Vec<u8>], size: usize) -> Checkpoint {
    let hashes: Vec<Hash> = leaves[..size].iter().map(|l| leaf_hash(l)).collect();
    Checkpoint::new(ORIGIN, size as u64, root_of(&hashes)).unwrap()
}

fn ok(leaves: &[Vec<u8>]) -> impl Iterator<Item = Result<&[u8], Infallible>> {
    leaves.iter().map(|l| Ok(l.as_slice()))
}

#[test]
fn an_untouched_log_verifies_with_an_uncovered_tail() {
    let log = leaves(50);
    let cp = checkpoint_of(&log, 40);
    let v = verify_log(ok(&log), &cp).unwrap();
    assert_eq!((v.checkpoint_size, v.log_size, v.uncovered()), (40, 50, 10));
    assert_eq!(v.root, *cp.root());
    let earlier: Vec<_> = (0..=40)
        .step_by(8)
        .map(|s| checkpoint_of(&log, s))
        .collect();
    let v = LogVerifier::new(&cp)
        .with_checkpoints(&earlier)
        .verify(ok(&log))
        .unwrap();
    assert_eq!(v.checkpoints_matched, 6);
    let empty = checkpoint_of(&log, 0);
    assert_eq!(verify_log(ok(&[]), &empty).unwrap().log_size, 0);
}

#[test]
fn a_changed_entry_is_bounded_by_checkpoints_and_pinned_by_known_hashes() {
    let log = leaves(100);
    let cp = checkpoint_of(&log, 100);
    let earlier: Vec<_> = (10..100)
        .step_by(10)
        .map(|s| checkpoint_of(&log, s))
        .collect();
    let mut bad = log.clone();
    // Still a canonical entry: only the tree can tell.
    bad[42] = {
        let mut e = minimal(42);
        e.reason = "nothing to see".into();
        e.to_leaf()
    };
    let err = verify_log(ok(&bad), &cp).unwrap_err();
    assert!(matches!(
        err,
        LogError::Diverged {
            first_possible: 0,
            checkpoint_size: 100,
            ..
        }
    ));
    let err = LogVerifier::new(&cp)
        .with_checkpoints(&earlier)
        .verify(ok(&bad))
        .unwrap_err();
    assert!(
        matches!(
            err,
            LogError::Diverged {
                first_possible: 40,
                checkpoint_size: 50,
                likely: Likely::ChangedOrReordered,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("between index 40 and 49"), "{err}");
    let known: Vec<Hash> = log.iter().map(|l| leaf_hash(l)).collect();
    let err = LogVerifier::new(&cp)
        .with_leaf_hashes(&known)
        .verify(ok(&bad))
        .unwrap_err();
    assert_eq!(err.first_bad_index(), Some(42));
    assert_eq!(
        err.to_string(),
        "entry 42 was changed, removed, inserted or moved: it differs from the trusted leaf hash at 42"
    );
}

#[test]
fn a_non_canonical_entry_is_reported_at_its_index() {
    let mut log = leaves(20);
    log[7].insert(1, b' ');
    let cp = checkpoint_of(&leaves(20), 20);
    let err = verify_log(ok(&log), &cp).unwrap_err();
    assert!(
        matches!(err, LogError::NotCanonical { index: 7, .. }),
        "{err}"
    );
    // Without the entry check, the tree still catches it.
    let err = LogVerifier::new(&cp)
        .check_entries(false)
        .verify(ok(&log))
        .unwrap_err();
    assert!(matches!(err, LogError::Diverged { .. }));
}

#[test]
fn removals_insertions_and_truncations_say_so() {
    let log = leaves(30);
    let cp = checkpoint_of(&log, 30);
    let earlier: Vec<_> = (1..30).map(|s| checkpoint_of(&log, s)).collect();
    let verifier = LogVerifier::new(&cp).with_checkpoints(&earlier);

    let mut removed = log.clone();
    removed.remove(12);
    let err = verifier.verify(ok(&removed)).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::Diverged {
                first_possible: 12,
                checkpoint_size: 13,
                likely: Likely::Removed,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(
            "the log does not match the signed checkpoint of size 13: entry 12 was changed"
        ),
        "{err}"
    );

    let mut inserted = log.clone();
    inserted.insert(5, minimal(99).to_leaf());
    let err = verifier.verify(ok(&inserted)).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::Diverged {
                first_possible: 5,
                likely: Likely::Inserted,
                ..
            }
        ),
        "{err}"
    );

    let mut swapped = log.clone();
    swapped.swap(20, 21);
    let err = verifier.verify(ok(&swapped)).unwrap_err();
    assert_eq!(err.first_bad_index(), Some(20));

    let err = verifier.verify(ok(&log[..25])).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::Missing {
                first_possible: 25,
                log_size: 25,
                checkpoint_size: 30
            }
        ),
        "{err}"
    );
    let err = verify_log(ok(&log[..25]), &cp).unwrap_err();
    assert!(
        matches!(
            err,
            LogError::Missing {
                first_possible: 0,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn read_errors_forks_and_mixed_origins_are_reported() {
    #[derive(Debug, thiserror::Error)]
    #[error("disk on fire")]
    struct Fire;
    let log = leaves(5);
    let cp = checkpoint_of(&log, 5);
    let items = log
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 3 { Err(Fire) } else { Ok(l) });
    let err = verify_log(items, &cp).unwrap_err();
    assert_eq!(err.to_string(), "entry 3 could not be read: disk on fire");

    let other = leaves(5).into_iter().rev().collect::<Vec<_>>();
    let forked = [checkpoint_of(&other, 3)];
    let err = LogVerifier::new(&cp)
        .with_checkpoints(&[checkpoint_of(&log, 3), forked[0].clone()])
        .verify(ok(&log))
        .unwrap_err();
    assert!(matches!(err, LogError::Fork { size: 3 }), "{err}");
    let elsewhere = [Checkpoint::new("confidant.example/other", 1, [0; 32]).unwrap()];
    let err = LogVerifier::new(&cp)
        .with_checkpoints(&elsewhere)
        .verify(ok(&log))
        .unwrap_err();
    assert!(matches!(err, LogError::MixedOrigins { .. }));
    let later = [checkpoint_of(&leaves(6), 6)];
    let err = LogVerifier::new(&cp)
        .with_checkpoints(&later)
        .verify(ok(&log))
        .unwrap_err();
    assert!(matches!(
        err,
        LogError::LaterThanLatest { size: 6, latest: 5 }
    ));
}

#[test]
fn consistency_between_checkpoints() {
    let log = leaves(40);
    let hashes: Vec<Hash> = log.iter().map(|l| leaf_hash(l)).collect();
    let (old, new) = (checkpoint_of(&log, 17), checkpoint_of(&log, 40));
    let proof = consistency_proof(hashes.as_slice(), 17, 40).unwrap();
    verify_consistency_with(&old, &new, &proof).unwrap();
    let rewritten = {
        let mut l = log.clone();
        l[3] = minimal(1000).to_leaf();
        checkpoint_of(&l, 40)
    };
    assert!(verify_consistency_with(&old, &rewritten, &proof).is_err());
    let elsewhere = Checkpoint::new("x.example/y", 40, *new.root()).unwrap();
    assert!(matches!(
        verify_consistency_with(&old, &elsewhere, &proof),
        Err(ConsistencyCheckError::OriginMismatch { .. })
    ));
    let incl = crate::tree::inclusion_proof(hashes.as_slice(), 9, 40).unwrap();
    verify_inclusion_in(&new, &log[9], 9, &incl).unwrap();
    assert!(verify_inclusion_in(&new, &log[10], 9, &incl).is_err());
}

#[test]
fn a_hundred_thousand_small_entries_verify() {
    let mut frontier = Frontier::new();
    let log: Vec<Vec<u8>> = (0..100_000u64)
        .map(|i| {
            let leaf = minimal(i).to_leaf();
            frontier.append(&leaf);
            leaf
        })
        .collect();
    let cp = Checkpoint::new(ORIGIN, frontier.size(), frontier.root()).unwrap();
    let v = verify_log(ok(&log), &cp).unwrap();
    assert_eq!(v.log_size, 100_000);
}

#[derive(Clone, Debug)]
enum Tamper {
    Flip { index: usize, byte: usize, mask: u8 },
    Remove(usize),
    Insert(usize),
    Swap(usize, usize),
    Truncate(usize),
}

fn tamper() -> impl Strategy<Value = Tamper> {
    prop_oneof![
        (0..60usize, any::<usize>(), 1..=255u8).prop_map(|(index, byte, mask)| Tamper::Flip {
            index,
            byte,
            mask
        }),
        (0..60usize).prop_map(Tamper::Remove),
        // Inserting at 60 would append after the checkpoint's entries, which
        // is growth the checkpoint does not cover, not tampering.
        (0..60usize).prop_map(Tamper::Insert),
        (0..60usize, 0..60usize)
            .prop_filter("distinct", |(a, b)| a != b)
            .prop_map(|(a, b)| Tamper::Swap(a, b)),
        (0..60usize).prop_map(Tamper::Truncate),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_tamper_is_detected_no_later_than_where_it_happened(t in tamper(), every in 1..12usize) {
        let log = leaves(60);
        let mut bad = log.clone();
        match t {
            Tamper::Flip { index, byte, mask } => {
                let b = byte % bad[index].len();
                bad[index][b] ^= mask;
            }
            Tamper::Remove(i) => { bad.remove(i); }
            Tamper::Insert(i) => bad.insert(i, minimal(1000).to_leaf()),
            Tamper::Swap(a, b) => bad.swap(a, b),
            Tamper::Truncate(n) => bad.truncate(n),
        }
        let first_diff = (0..log.len()).find(|&i| bad.get(i) != log.get(i)).unwrap() as u64;
        let cp = checkpoint_of(&log, 60);
        let earlier: Vec<_> = (every..60).step_by(every).map(|s| checkpoint_of(&log, s)).collect();
        let err = LogVerifier::new(&cp).with_checkpoints(&earlier).verify(ok(&bad)).unwrap_err();
        let at = err.first_bad_index().unwrap();
        prop_assert!(at <= first_diff, "{err} for first difference {first_diff}");
        if let LogError::Diverged { checkpoint_size, .. } = err {
            prop_assert!(first_diff < checkpoint_size);
            prop_assert!(checkpoint_size - at <= every as u64);
        }
        // With trusted leaf hashes, the index is exact.
        let known: Vec<Hash> = log.iter().map(|l| leaf_hash(l)).collect();
        let err = LogVerifier::new(&cp).with_leaf_hashes(&known).verify(ok(&bad)).unwrap_err();
        prop_assert_eq!(err.first_bad_index(), Some(first_diff), "{}", err);
    }
}
