//! Known-answer files for other implementations of the ledger format
//! (`docs/ledger.md`): five entries as canonical leaves, the tree root, a
//! checkpoint signed with a fixed test key (Ed25519 signatures are
//! deterministic), its verifier key, and two proofs. Any change to these
//! bytes is a format change. Regenerate with `LEDGER_BLESS=1` only on
//! purpose.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use confidant_core::DataCategory;
use confidant_ledger::checkpoint::{NoteSigner, VerifierKey};
use confidant_ledger::entry::KnownAction;
use confidant_ledger::tree::{self, Hash};
use confidant_ledger::{
    Checkpoint, Decision, Entry, KeyedHash, Name, OpaqueId, Target, TargetId, Timestamp,
};
use ed25519_dalek::{Signer as _, SigningKey};

const WORKSPACE: &str = "0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";
const ORIGIN: &str = "confidant.example/0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";

struct TestKey(SigningKey);

impl NoteSigner for TestKey {
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

fn entries() -> Vec<Entry> {
    let ws = WORKSPACE.parse().unwrap();
    let alice = "7d0e2c54-1f1a-4b7e-8a39-5b0c6f1e2d3a".parse().unwrap();
    let set = "3c9a1b2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".parse().unwrap();
    let row = "a1b2c3d4-e5f6-4789-9abc-def012345678".parse().unwrap();
    let doc = "f0e1d2c3-b4a5-4968-8776-655443322110".parse().unwrap();
    let base = Entry {
        time: "2026-11-29T08:15:00.123Z".parse::<Timestamp>().unwrap(),
        workspace: ws,
        actor: Some(alice),
        device: Some(OpaqueId::new("laptop-7").unwrap()),
        client: Some("192.0.2.10".parse().unwrap()),
        action: KnownAction::SignIn.into(),
        target: Target::whole(TargetId::Workspace(ws)),
        decision: Decision::Allow,
        reason: "password and TOTP verified".into(),
        categories: BTreeSet::new(),
        delivery: None,
        keyed: BTreeMap::new(),
    };
    let mut reveal = base.clone();
    reveal.time = "2026-11-29T08:16:02.500Z".parse().unwrap();
    reveal.action = KnownAction::Reveal.into();
    reveal.target = Target {
        id: TargetId::RecordSet(set),
        rows: vec![row],
        columns: vec!["Email".into(), "Card number".into()],
    };
    reveal.reason = "grant \"support\" allows reveal of Email, Card number until 2026-12-31".into();
    reveal.categories = [DataCategory::Email, DataCategory::CardNumber]
        .into_iter()
        .map(Name::from)
        .collect();
    reveal.keyed.insert(
        Name::new("email").unwrap(),
        KeyedHash::new((0u8..32).collect()).unwrap(),
    );
    let mut denied = base.clone();
    denied.time = "2026-11-29T08:17:00.000Z".parse().unwrap();
    denied.action = KnownAction::Export.into();
    denied.target = Target::whole(TargetId::RecordSet(set));
    denied.decision = Decision::Deny;
    denied.reason = "no grant allows export\nof this record set".into();
    let mut download = base.clone();
    download.time = "2026-11-29T08:20:45.999Z".parse().unwrap();
    download.action = KnownAction::Download.into();
    download.target = Target::whole(TargetId::Document(doc));
    download.client = Some("2001:db8::7".parse().unwrap());
    download.delivery = Some(OpaqueId::new("dlv-0001").unwrap());
    download.reason = "grant \"contracts\" allows download; stamped copy".into();
    let mut anonymous = base.clone();
    anonymous.time = "2026-11-29T09:00:00.001Z".parse().unwrap();
    anonymous.actor = None;
    anonymous.device = None;
    anonymous.decision = Decision::Deny;
    anonymous.reason = "unknown account".into();
    vec![base, reveal, denied, download, anonymous]
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn hex_lines(hashes: &[Hash]) -> String {
    hashes.iter().map(|h| hex::encode(h) + "\n").collect()
}

#[test]
fn known_answers() {
    let entries = entries();
    let leaves: Vec<Vec<u8>> = entries.iter().map(Entry::to_leaf).collect();
    let hashes: Vec<Hash> = leaves.iter().map(|l| tree::leaf_hash(l)).collect();
    let root = tree::root_of(&hashes);
    let key = TestKey(SigningKey::from_bytes(&[42; 32]));
    let checkpoint = Checkpoint::new(ORIGIN, leaves.len() as u64, root).unwrap();
    let note = checkpoint.sign(&key).unwrap();
    let verifier = VerifierKey::of_signer(&key).unwrap().to_string() + "\n";
    let mut jsonl = Vec::new();
    for l in &leaves {
        jsonl.extend_from_slice(l);
        jsonl.push(b'\n');
    }
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("entries.jsonl", jsonl),
        ("leaf_hashes.txt", hex_lines(&hashes).into_bytes()),
        ("checkpoint.note", note.clone().into_bytes()),
        ("verifier_key.txt", verifier.clone().into_bytes()),
        (
            "inclusion_2_of_5.txt",
            hex_lines(&tree::inclusion_proof(hashes.as_slice(), 2, 5).unwrap()).into_bytes(),
        ),
        (
            "consistency_2_to_5.txt",
            hex_lines(&tree::consistency_proof(hashes.as_slice(), 2, 5).unwrap()).into_bytes(),
        ),
    ];
    if std::env::var_os("LEDGER_BLESS").is_some() {
        for (name, bytes) in &files {
            std::fs::write(data(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &files {
        let stored = std::fs::read(data(name)).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&stored),
            String::from_utf8_lossy(bytes),
            "tests/data/{name} changed: that is a format change"
        );
    }
    // The stored files verify on their own.
    let cp = Checkpoint::verify(&note, verifier.trim_end()).unwrap();
    let stored = std::fs::read(data("entries.jsonl")).unwrap();
    let lines = stored
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(Ok::<_, std::convert::Infallible>);
    let verified = confidant_ledger::verify_log(lines, &cp).unwrap();
    assert_eq!(verified.log_size, 5);
}
