//! Sealing the root key with a passphrase (Argon2id) or a key file.

use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::{digest, hkdf};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::aead::{cipher, open_random_nonce, seal_random_nonce};
use crate::keys::{KEY_LEN, SecretBytes};
use crate::{CryptoError, Rng, RootKey};

/// Argon2id cost parameters, stored beside the sealed root key so they can
/// be raised later without breaking old workspaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes: well above OWASP's Argon2id minimum (19 MiB, 2
    /// passes) because the root key is unsealed once per server start.
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 * 1024,
            iterations: 3,
            parallelism: 1,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
enum Method {
    Passphrase {
        kdf: String,
        params: KdfParams,
        /// Base64.
        salt: String,
    },
    KeyFile {
        /// Hex SHA-256 of the key file's secret, to tell a wrong key file
        /// from a damaged seal. Reveals nothing usable: the secret is 256
        /// random bits.
        fingerprint: String,
    },
}

/// The root key sealed by a passphrase or key file; stored as JSON in the
/// database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootSeal {
    version: u8,
    #[serde(flatten)]
    method: Method,
    /// Base64 of nonce || ciphertext || tag.
    sealed: String,
}

const AAD_PREFIX: &[u8] = b"confidant.root.v1";

fn aad(context: &[u8]) -> Vec<u8> {
    [AAD_PREFIX, context].concat()
}

fn argon2_key(
    passphrase: &SecretString,
    params: KdfParams,
    salt: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let p = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(KEY_LEN),
    )
    .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    let mut out = [0u8; KEY_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passphrase.expose_secret().as_bytes(), salt, &mut out)
        .map_err(|e| CryptoError::Kdf(e.to_string()))?;
    Ok(SecretBytes(out))
}

impl RootSeal {
    /// Seals `root` under a key derived from `passphrase` with Argon2id.
    /// `context` names the workspace.
    pub fn with_passphrase(
        root: &RootKey,
        passphrase: &SecretString,
        params: KdfParams,
        context: &[u8],
        rng: &mut impl Rng,
    ) -> Result<Self, CryptoError> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        let key = argon2_key(passphrase, params, &salt)?;
        let sealed = seal_random_nonce(&cipher(&key.0)?, &aad(context), &root.0.0, rng)?;
        Ok(RootSeal {
            version: 1,
            method: Method::Passphrase {
                kdf: "argon2id".into(),
                params,
                salt: B64.encode(salt),
            },
            sealed: B64.encode(sealed),
        })
    }

    /// Seals `root` under a key file's secret.
    pub fn with_key_file(
        root: &RootKey,
        file: &KeyFile,
        context: &[u8],
        rng: &mut impl Rng,
    ) -> Result<Self, CryptoError> {
        let sealed = seal_random_nonce(
            &cipher(&file.wrapping_key()?.0)?,
            &aad(context),
            &root.0.0,
            rng,
        )?;
        Ok(RootSeal {
            version: 1,
            method: Method::KeyFile {
                fingerprint: file.fingerprint(),
            },
            sealed: B64.encode(sealed),
        })
    }

    pub fn uses_passphrase(&self) -> bool {
        matches!(self.method, Method::Passphrase { .. })
    }

    fn sealed_bytes(&self) -> Result<Vec<u8>, CryptoError> {
        if self.version != 1 {
            return Err(CryptoError::Malformed("root seal version"));
        }
        B64.decode(&self.sealed)
            .map_err(|_| CryptoError::Malformed("root seal"))
    }

    pub fn unseal_with_passphrase(
        &self,
        passphrase: &SecretString,
        context: &[u8],
    ) -> Result<RootKey, CryptoError> {
        let Method::Passphrase { kdf, params, salt } = &self.method else {
            return Err(CryptoError::WrongKeyFile);
        };
        if kdf != "argon2id" {
            return Err(CryptoError::Malformed("root seal key derivation"));
        }
        let salt = B64
            .decode(salt)
            .map_err(|_| CryptoError::Malformed("root seal salt"))?;
        let key = argon2_key(passphrase, *params, &salt)?;
        let plain = open_random_nonce(
            &cipher(&key.0)?,
            &aad(context),
            &self.sealed_bytes()?,
            "root seal",
        )
        .map_err(|e| match e {
            CryptoError::Integrity(_) => CryptoError::WrongPassphrase,
            other => other,
        })?;
        root_from(plain)
    }

    pub fn unseal_with_key_file(
        &self,
        file: &KeyFile,
        context: &[u8],
    ) -> Result<RootKey, CryptoError> {
        let Method::KeyFile { fingerprint } = &self.method else {
            return Err(CryptoError::WrongPassphrase);
        };
        if *fingerprint != file.fingerprint() {
            return Err(CryptoError::WrongKeyFile);
        }
        let plain = open_random_nonce(
            &cipher(&file.wrapping_key()?.0)?,
            &aad(context),
            &self.sealed_bytes()?,
            "root seal",
        )?;
        root_from(plain)
    }

    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &str) -> Result<Self, CryptoError> {
        serde_json::from_str(text).map_err(|_| CryptoError::Malformed("root seal"))
    }
}

fn root_from(mut plain: Vec<u8>) -> Result<RootKey, CryptoError> {
    let bytes: Result<[u8; KEY_LEN], _> = plain.as_slice().try_into();
    plain.zeroize();
    bytes
        .map(|b| RootKey(SecretBytes(b)))
        .map_err(|_| CryptoError::Malformed("root key"))
}

/// A key file: 256 random bits, kept by the owner outside the data dir
/// (mode 0600), instead of a passphrase.
pub struct KeyFile(SecretBytes);

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFile(..)")
    }
}

const KEY_FILE_TAG: &str = "confidant-key-file-v1";

impl KeyFile {
    pub fn generate(rng: &mut impl Rng) -> Self {
        KeyFile(SecretBytes::random(rng))
    }

    /// The file's text: one line, `confidant-key-file-v1 <base64>`.
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!("{KEY_FILE_TAG} {}\n", B64.encode(self.0.0)))
    }

    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let (tag, body) = text
            .trim()
            .split_once(' ')
            .ok_or(CryptoError::Malformed("key file"))?;
        if tag != KEY_FILE_TAG {
            return Err(CryptoError::Malformed("key file"));
        }
        let mut bytes = Zeroizing::new(
            B64.decode(body.trim())
                .map_err(|_| CryptoError::Malformed("key file"))?,
        );
        let secret: [u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::Malformed("key file"))?;
        bytes.zeroize();
        Ok(KeyFile(SecretBytes(secret)))
    }

    fn fingerprint(&self) -> String {
        let d = digest::digest(
            &digest::SHA256,
            &[b"confidant.key-file.fingerprint".as_slice(), &self.0.0].concat(),
        );
        d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn wrapping_key(&self) -> Result<SecretBytes, CryptoError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"confidant.key-file.v1").extract(&self.0.0);
        let info = [b"root-seal".as_slice()];
        let okm = prk
            .expand(&info, hkdf::HKDF_SHA256)
            .map_err(|_| CryptoError::Cipher)?;
        let mut out = [0u8; KEY_LEN];
        okm.fill(&mut out).map_err(|_| CryptoError::Cipher)?;
        Ok(SecretBytes(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aead::tests::TestRng;

    fn cheap() -> KdfParams {
        KdfParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[test]
    fn passphrase_seal_round_trip_and_wrong_passphrase() {
        let mut rng = TestRng::new(1);
        let root = RootKey::generate(&mut rng);
        let pass = SecretString::from("correct horse battery staple");
        let seal =
            RootSeal::with_passphrase(&root, &pass, cheap(), b"ws-1", &mut rng).expect("seal");
        let seal = RootSeal::from_json(&seal.to_json()).expect("json");
        assert!(seal.uses_passphrase());
        let back = seal.unseal_with_passphrase(&pass, b"ws-1").expect("unseal");
        assert_eq!(back.0.0, root.0.0);
        assert_eq!(
            seal.unseal_with_passphrase(&SecretString::from("wrong"), b"ws-1")
                .err(),
            Some(CryptoError::WrongPassphrase)
        );
        assert!(seal.unseal_with_passphrase(&pass, b"ws-2").is_err());
        assert!(
            seal.unseal_with_key_file(&KeyFile::generate(&mut rng), b"ws-1")
                .is_err()
        );
    }

    #[test]
    fn key_file_seal_round_trip_and_wrong_file() {
        let mut rng = TestRng::new(2);
        let root = RootKey::generate(&mut rng);
        let file = KeyFile::generate(&mut rng);
        let file = KeyFile::parse(&file.to_text()).expect("parse");
        let seal = RootSeal::with_key_file(&root, &file, b"ws", &mut rng).expect("seal");
        assert_eq!(
            seal.unseal_with_key_file(&file, b"ws").map(|r| r.0.0),
            Ok(root.0.0)
        );
        assert_eq!(
            seal.unseal_with_key_file(&KeyFile::generate(&mut rng), b"ws")
                .err(),
            Some(CryptoError::WrongKeyFile)
        );
        assert!(KeyFile::parse("confidant-key-file-v1 AAAA").is_err());
        assert!(KeyFile::parse("something else").is_err());
    }
}
