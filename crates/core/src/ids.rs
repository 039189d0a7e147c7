//! Newtype ids. Every id is 122 random bits (a version 4 UUID) drawn from the
//! caller's RNG, so an id says nothing about when, where or by whom it was
//! made, and ids of one workspace cannot be guessed from another's.

use std::fmt;
use std::str::FromStr;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// An id that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error(
    "{kind} id {input:?} is not valid: expected a UUID such as 0b5f1c3e-8d2a-4f6b-9c1d-2e3f4a5b6c7d"
)]
pub struct IdError {
    kind: &'static str,
    input: String,
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh random id.
            pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
            }

            /// The id's 16 bytes, for binding into cryptographic context.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::try_parse(s.trim()).map(Self).map_err(|_| IdError {
                    kind: $kind,
                    input: s.to_owned(),
                })
            }
        }
    };
}

id_type!(
    /// A workspace: one business, its people, items and keys.
    WorkspaceId,
    "workspace"
);
id_type!(
    /// A person of a workspace (owner, admin, assistant, ...).
    PersonId,
    "person"
);
id_type!(
    /// An item (a document) of a workspace.
    ItemId,
    "item"
);
id_type!(
    /// A record set (a table of customer data).
    RecordSetId,
    "record set"
);
id_type!(
    /// A row of a record set; stable for the row's life.
    RowId,
    "row"
);
id_type!(
    /// A key-encryption key generation.
    KeyId,
    "key"
);
id_type!(
    /// A grant: one person's need-to-know access to an item.
    GrantId,
    "grant"
);

id_type!(
    /// One published version of an agreement (NDA or handbook).
    AgreementId,
    "agreement"
);
id_type!(
    /// One person's signature of one agreement version.
    SignatureId,
    "signature"
);
id_type!(
    /// A day passcode.
    PasscodeId,
    "passcode"
);
id_type!(
    /// An incident: a leak or suspected leak and its exposure.
    IncidentId,
    "incident"
);
id_type!(
    /// One breach notice to one affected customer.
    NoticeId,
    "notice"
);
id_type!(
    /// An enrolled device: a person's computer with its own key.
    DeviceId,
    "device"
);
id_type!(
    /// A break-glass grant: an admin's time-limited access to backups.
    BreakGlassId,
    "break-glass grant"
);

/// A deterministic RNG for the crate's tests: counts up from its seed.
#[cfg(test)]
pub(crate) mod test_rng {
    pub(crate) struct Counter(pub u8);

    impl rand_core::RngCore for Counter {
        fn next_u32(&mut self) -> u32 {
            rand_core::impls::next_u32_via_fill(self)
        }
        fn next_u64(&mut self) -> u64 {
            rand_core::impls::next_u64_via_fill(self)
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl rand_core::CryptoRng for Counter {}
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::test_rng::Counter;

    #[test]
    fn ids_round_trip_through_text() {
        let id = ItemId::random(&mut Counter(0));
        let text = id.to_string();
        assert_eq!(text.parse::<ItemId>().ok(), Some(id));
        assert_eq!(
            Uuid::parse_str(&text).map(|u| u.get_version_num()).ok(),
            Some(4)
        );
    }

    #[test]
    fn bad_ids_name_their_kind() {
        let err = "nope".parse::<RecordSetId>().err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("record set id \"nope\"")));
    }
}
