//! Known-answer vectors from the RFC 6962 reference tree (the eight leaves
//! used by certificate-transparency-go and transparency-dev/merkle), a table
//! of corrupted proofs that must all be rejected, and property tests.

use proptest::prelude::*;

use super::*;

fn h(s: &str) -> Hash {
    let bytes = hex::decode(s).unwrap();
    bytes.try_into().unwrap()
}

fn leaves() -> Vec<Vec<u8>> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| hex::decode(s).unwrap())
    .collect()
}

fn leaf_hashes() -> Vec<Hash> {
    leaves().iter().map(|l| leaf_hash(l)).collect()
}

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (index, size, proof)
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (0, 1, vec![]),
        (
            0,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            5,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            1,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old, new, proof)
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

fn root(size: u64) -> Hash {
    h(ROOTS[size as usize])
}

#[test]
fn roots_of_every_prefix_match_the_reference_tree() {
    let hashes = leaf_hashes();
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), root(0));
    assert_eq!(EMPTY_ROOT, root(0));
    for (i, lh) in hashes.iter().enumerate() {
        frontier.push_leaf_hash(*lh);
        assert_eq!(frontier.root(), root(i as u64 + 1), "size {}", i + 1);
        assert_eq!(root_of(&hashes[..=i]), root(i as u64 + 1));
    }
    let mut by_bytes = Frontier::new();
    for l in leaves() {
        by_bytes.append(&l);
    }
    assert_eq!(by_bytes, frontier);
}

#[test]
fn generated_proofs_match_the_reference_proofs_and_verify() {
    let hashes = leaf_hashes();
    for (index, size, proof) in inclusion_vectors() {
        assert_eq!(
            inclusion_proof(hashes.as_slice(), index, size).unwrap(),
            proof,
            "inclusion {index} in {size}"
        );
        verify_inclusion(&hashes[index as usize], index, size, &proof, &root(size)).unwrap();
    }
    for (old, new, proof) in consistency_vectors() {
        assert_eq!(
            consistency_proof(hashes.as_slice(), old, new).unwrap(),
            proof,
            "consistency {old} to {new}"
        );
        verify_consistency(old, new, &root(old), &root(new), &proof).unwrap();
    }
}

/// Every way a proof can be wrong, applied to every reference vector.
fn corrupted(proof: &[Hash]) -> Vec<(String, Vec<Hash>)> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        for bit in [0usize, 7, 100, 255] {
            let mut p = proof.to_vec();
            p[i][bit / 8] ^= 1 << (bit % 8);
            out.push((format!("bit {bit} of node {i} flipped"), p));
        }
        let mut p = proof.to_vec();
        p.remove(i);
        out.push((format!("node {i} removed"), p));
    }
    let mut p = proof.to_vec();
    p.push(EMPTY_ROOT);
    out.push(("extra node at the end".into(), p));
    let mut p = proof.to_vec();
    p.insert(0, EMPTY_ROOT);
    out.push(("extra node at the start".into(), p));
    if proof.len() >= 2 {
        let mut p = proof.to_vec();
        p.swap(0, 1);
        out.push(("first two nodes swapped".into(), p));
    }
    out
}

#[test]
fn corrupted_inclusion_proofs_are_rejected() {
    let hashes = leaf_hashes();
    for (index, size, proof) in inclusion_vectors() {
        let leaf = hashes[index as usize];
        let good_root = root(size);
        for (what, p) in corrupted(&proof) {
            assert!(
                verify_inclusion(&leaf, index, size, &p, &good_root).is_err(),
                "{what}: inclusion {index} in {size}"
            );
        }
        let mut wrong_leaf = leaf;
        wrong_leaf[0] ^= 1;
        assert!(verify_inclusion(&wrong_leaf, index, size, &proof, &good_root).is_err());
        let mut wrong_root = good_root;
        wrong_root[31] ^= 0x80;
        assert!(verify_inclusion(&leaf, index, size, &proof, &wrong_root).is_err());
        for wrong_index in [index + 1, index.wrapping_sub(1), index ^ 1, size, u64::MAX] {
            if wrong_index != index {
                assert!(
                    verify_inclusion(&leaf, wrong_index, size, &proof, &good_root).is_err(),
                    "index {wrong_index} instead of {index} in {size}"
                );
            }
        }
        // As in transparency-dev/merkle, sizes that change the shape of the
        // path: a size of one more or less can share it (leaf 0 of 7 and of 8
        // have the same three siblings), and then only the root tells them
        // apart, which a verifier given the matching root cannot do.
        for wrong_size in [size * 2, size / 2, 0, u64::MAX] {
            if wrong_size != size {
                assert!(
                    verify_inclusion(&leaf, index, wrong_size, &proof, &good_root).is_err(),
                    "size {wrong_size} instead of {size} for {index}"
                );
            }
        }
    }
}

#[test]
fn corrupted_consistency_proofs_are_rejected() {
    for (old, new, proof) in consistency_vectors() {
        let (old_root, new_root) = (root(old), root(new));
        for (what, p) in corrupted(&proof) {
            assert!(
                verify_consistency(old, new, &old_root, &new_root, &p).is_err(),
                "{what}: consistency {old} to {new}"
            );
        }
        let mut bad = old_root;
        bad[3] ^= 4;
        assert!(verify_consistency(old, new, &bad, &new_root, &proof).is_err());
        let mut bad = new_root;
        bad[30] ^= 1;
        assert!(verify_consistency(old, new, &old_root, &bad, &proof).is_err());
        for (o, n) in [
            (old + 1, new),
            (old - 1, new),
            (old, new + 1),
            (old, new - 1),
            (new, old),
        ] {
            if (o, n) == (old, new) || o == 0 || n > 8 {
                continue;
            }
            assert!(
                verify_consistency(o, n, &root(o.min(8)), &root(n.min(8)), &proof).is_err(),
                "sizes {o}->{n} instead of {old}->{new}"
            );
        }
    }
}

#[test]
fn edge_cases_of_consistency() {
    // The empty tree is a prefix of everything, with an empty proof only.
    verify_consistency(0, 8, &EMPTY_ROOT, &root(8), &[]).unwrap();
    assert!(verify_consistency(0, 8, &EMPTY_ROOT, &root(8), &[root(1)]).is_err());
    assert_eq!(
        verify_consistency(3, 3, &root(3), &root(4), &[]),
        Err(ConsistencyError::SameSizeDifferentRoots { size: 3 })
    );
    assert_eq!(
        verify_consistency(5, 3, &root(5), &root(3), &[]),
        Err(ConsistencyError::OldLargerThanNew { old: 5, new: 3 })
    );
    assert!(verify_consistency(2, 5, &root(2), &root(5), &[]).is_err());
}

#[test]
fn proof_generation_rejects_bad_arguments() {
    let hashes = leaf_hashes();
    assert_eq!(
        inclusion_proof(hashes.as_slice(), 8, 8),
        Err(ProveError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert_eq!(
        inclusion_proof(hashes.as_slice(), 0, 9),
        Err(ProveError::SizeBeyondSource {
            size: 9,
            available: 8
        })
    );
    assert_eq!(
        consistency_proof(hashes.as_slice(), 5, 4),
        Err(ProveError::OldLargerThanNew { old: 5, new: 4 })
    );
    assert_eq!(consistency_proof(&hashes, 0, 8), Ok(vec![]));
}

fn hashes_of(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_proofs_verify_and_any_bit_flip_fails(
        size in 1u64..300,
        index_seed in any::<u64>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let hashes = hashes_of(size);
        let index = index_seed % size;
        let root = root_of(&hashes);
        let proof = inclusion_proof(hashes.as_slice(), index, size).unwrap();
        prop_assert!(verify_inclusion(&hashes[index as usize], index, size, &proof, &root).is_ok());
        // One bit anywhere in the proof, the leaf hash or the root.
        let total_bits = (proof.len() + 2) * 256;
        let bit = flip.index(total_bits);
        let (node, byte, mask) = (bit / 256, (bit % 256) / 8, 1u8 << (bit % 8));
        let mut proof = proof;
        let mut leaf = hashes[index as usize];
        let mut root = root;
        match node {
            n if n < proof.len() => proof[n][byte] ^= mask,
            n if n == proof.len() => leaf[byte] ^= mask,
            _ => root[byte] ^= mask,
        }
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
    }

    #[test]
    fn consistency_proofs_verify_and_any_bit_flip_fails(
        new in 1u64..300,
        old_seed in any::<u64>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let hashes = hashes_of(new);
        let old = 1 + old_seed % new;
        let old_root = root_of(&hashes[..old as usize]);
        let new_root = root_of(&hashes);
        let proof = consistency_proof(hashes.as_slice(), old, new).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        let total_bits = (proof.len() + 2) * 256;
        let bit = flip.index(total_bits);
        let (node, byte, mask) = (bit / 256, (bit % 256) / 8, 1u8 << (bit % 8));
        let (mut proof, mut old_root, mut new_root) = (proof, old_root, new_root);
        match node {
            n if n < proof.len() => proof[n][byte] ^= mask,
            n if n == proof.len() => old_root[byte] ^= mask,
            _ => new_root[byte] ^= mask,
        }
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_err());
    }

    #[test]
    fn a_wrong_index_or_size_fails(
        size in 2u64..200,
        index_seed in any::<u64>(),
        other_seed in any::<u64>(),
    ) {
        let hashes = hashes_of(size);
        let index = index_seed % size;
        let other = other_seed % size;
        prop_assume!(other != index);
        let root = root_of(&hashes);
        let proof = inclusion_proof(hashes.as_slice(), index, size).unwrap();
        prop_assert!(verify_inclusion(&hashes[index as usize], other, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&hashes[other as usize], index, size, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&hashes[index as usize], index, size * 2, &proof, &root).is_err());
        if index < size / 2 {
            prop_assert!(verify_inclusion(&hashes[index as usize], index, size / 2, &proof, &root).is_err());
        }
    }
}

#[test]
fn frontiers_survive_storage() {
    let mut f = Frontier::new();
    for i in 0..300u32 {
        let stored = Frontier::from_bytes(f.size(), &f.to_bytes()).unwrap();
        assert_eq!(stored, f);
        f.append(&i.to_be_bytes());
    }
    assert!(Frontier::from_bytes(3, &[0u8; 32]).is_err());
    assert!(Frontier::from_bytes(0, &[0u8; 32]).is_err());
}
