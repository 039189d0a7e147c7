use ed25519_dalek::{Signer as _, SigningKey};

use super::*;

pub(crate) struct TestSigner {
    pub name: String,
    pub key: SigningKey,
}

impl TestSigner {
    pub fn new(name: &str, seed: u8) -> Self {
        Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&[seed; 32]),
        }
    }
}

impl NoteSigner for TestSigner {
    fn name(&self) -> &str {
        &self.name
    }
    fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }
    fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

const ORIGIN: &str = "confidant.example/0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d";

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 12345, [0xab; 32]).unwrap()
}

#[test]
fn a_signed_checkpoint_verifies_and_round_trips() {
    let signer = TestSigner::new(ORIGIN, 1);
    let note = checkpoint().sign(&signer).unwrap();
    assert!(note.starts_with(&format!("{ORIGIN}\n12345\nq6ur")));
    assert!(note.contains("\n\n\u{2014} confidant.example/"));
    let key = VerifierKey::of_signer(&signer).unwrap().to_string();
    assert_eq!(key.parse::<VerifierKey>().unwrap().to_string(), key);
    assert_eq!(Checkpoint::verify(&note, &key).unwrap(), checkpoint());
    assert_eq!(
        Checkpoint::parse_body(&checkpoint().body()).unwrap(),
        checkpoint()
    );
}

#[test]
fn any_changed_byte_of_a_note_is_rejected() {
    let signer = TestSigner::new(ORIGIN, 1);
    let note = checkpoint().sign(&signer).unwrap();
    let key = VerifierKey::of_signer(&signer).unwrap().to_string();
    let bytes = note.as_bytes();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x20] {
            let mut changed = bytes.to_vec();
            changed[i] ^= mask;
            let Ok(text) = String::from_utf8(changed) else {
                continue;
            };
            if let Ok(c) = Checkpoint::verify(&text, &key) {
                // Only a change the signature does not cover may pass, and
                // then it must not change what was signed.
                assert_eq!(c, checkpoint(), "byte {i} mask {mask:#x}");
                panic!("byte {i} mask {mask:#x} accepted: {text:?}");
            }
        }
    }
}

#[test]
fn wrong_keys_and_origins_are_rejected() {
    let signer = TestSigner::new(ORIGIN, 1);
    let note = checkpoint().sign(&signer).unwrap();
    let other = VerifierKey::of_signer(&TestSigner::new(ORIGIN, 2)).unwrap();
    assert_eq!(
        Checkpoint::verify_with(&note, &other),
        Err(NoteVerifyError::NotSignedByKey {
            name: ORIGIN.into()
        })
    );
    let elsewhere = TestSigner::new("confidant.example/other", 1);
    assert!(matches!(
        checkpoint().sign(&elsewhere),
        Err(SignError::NameIsNotOrigin { .. })
    ));
    // A note for another origin signed by a key of the same name and key.
    let forged_body = Checkpoint::new("confidant.example/other", 1, [0; 32]).unwrap();
    let forged = forged_body.sign(&elsewhere).unwrap();
    let key = VerifierKey::of_signer(&signer).unwrap();
    assert!(Checkpoint::verify_with(&forged, &key).is_err());
}

#[test]
fn cosignatures_by_other_keys_are_ignored() {
    let signer = TestSigner::new(ORIGIN, 1);
    let note = checkpoint().sign(&signer).unwrap();
    let witness = "\u{2014} witness.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n";
    let cosigned = format!("{note}{witness}");
    let key = VerifierKey::of_signer(&signer).unwrap();
    assert_eq!(
        Checkpoint::verify_with(&cosigned, &key).unwrap(),
        checkpoint()
    );
}

#[test]
fn bodies_and_keys_in_other_spellings_are_rejected() {
    for body in [
        format!("{ORIGIN}\n012345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"),
        format!("{ORIGIN}\n+12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"),
        format!("{ORIGIN}\n12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6t=\n"),
        format!("{ORIGIN}\n12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\nextension\n"),
        format!("{ORIGIN}\n12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="),
        "\n12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n".to_owned(),
        format!("{ORIGIN}\n99999999999999999999\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"),
    ] {
        assert!(Checkpoint::parse_body(&body).is_err(), "{body:?}");
    }
    assert_eq!(
        Checkpoint::parse_body(&format!(
            "{ORIGIN}\n12345\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"
        )),
        Ok(checkpoint())
    );
    let key = VerifierKey::of_signer(&TestSigner::new(ORIGIN, 1))
        .unwrap()
        .to_string();
    let (name, rest) = key.split_once('+').unwrap();
    let (id, b64) = rest.split_once('+').unwrap();
    let wrong_id = format!(
        "{name}+{:08x}+{b64}",
        u32::from_str_radix(id, 16).unwrap() ^ 1
    );
    assert!(matches!(
        wrong_id.parse::<VerifierKey>(),
        Err(VerifierKeyError::IdMismatch { .. })
    ));
    assert!("nope".parse::<VerifierKey>().is_err());
    assert!(format!("{name}+{id}+AgAA").parse::<VerifierKey>().is_err());
}
