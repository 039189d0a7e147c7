//! Delivery ids: one per copy of an item that leaves the vault.
//!
//! A delivery id is 16 random bytes chosen by the caller (the vault, from its
//! RNG). It is written as 26 characters of Crockford base32 (the 128 bits
//! read as a 130-bit number with two leading zero bits, so the first
//! character is always 0-7), e.g. `0K3F9Q2M7XW4HBN8C5RVTD6ZGA`: short enough
//! for a page footer, unambiguous when read aloud or retyped (no I, L, O, U),
//! and parsed back case-insensitively with the usual Crockford substitutions
//! (`O` -> 0, `I`/`L` -> 1) and hyphens or spaces ignored.

use std::fmt;
use std::str::FromStr;

use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The Crockford base32 alphabet.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Length of a delivery id's text form.
pub const DELIVERY_ID_LEN: usize = 26;

/// The id of one delivery: one stamped copy of an item for one recipient.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId([u8; 16]);

impl DeliveryId {
    /// A delivery id from 16 bytes the caller drew from its RNG.
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A fresh random delivery id.
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut bytes = [0u8; 16];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The id's 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The value of one Crockford character (after the usual substitutions),
    /// or `None` for a character that is not part of the alphabet.
    pub fn crockford_value(c: char) -> Option<u8> {
        let c = c.to_ascii_uppercase();
        let c = match c {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        };
        ALPHABET
            .iter()
            .position(|&a| char::from(a) == c)
            .and_then(|p| u8::try_from(p).ok())
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = u128::from_be_bytes(self.0);
        let mut out = [0u8; DELIVERY_ID_LEN];
        for (i, slot) in out.iter_mut().enumerate() {
            let shift = 5 * (DELIVERY_ID_LEN - 1 - i);
            // INVARIANT: the mask keeps the index below 32.
            let index = ((n >> shift) & 0x1f) as usize;
            *slot = ALPHABET[index];
        }
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeliveryId({self})")
    }
}

/// A delivery id that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error(
    "delivery id {input:?} is not valid: expected 26 characters of Crockford base32 \
     starting with 0-7, such as 0K3F9Q2M7XW4HBN8C5RVTD6ZGA"
)]
pub struct DeliveryIdError {
    input: String,
}

impl FromStr for DeliveryId {
    type Err = DeliveryIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let error = || DeliveryIdError {
            input: s.to_owned(),
        };
        let mut n: u128 = 0;
        let mut count = 0usize;
        for c in s.trim().chars().filter(|c| *c != '-' && *c != ' ') {
            let value = Self::crockford_value(c).ok_or_else(error)?;
            if count == 0 && value > 7 {
                // The first character carries the top 3 bits only.
                return Err(error());
            }
            n = (n << 5) | u128::from(value);
            count += 1;
            if count > DELIVERY_ID_LEN {
                return Err(error());
            }
        }
        if count != DELIVERY_ID_LEN {
            return Err(error());
        }
        Ok(Self(n.to_be_bytes()))
    }
}

impl Serialize for DeliveryId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeliveryId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(
            DeliveryId::from_bytes([0; 16]).to_string(),
            "00000000000000000000000000"
        );
        assert_eq!(
            DeliveryId::from_bytes([0xff; 16]).to_string(),
            "7ZZZZZZZZZZZZZZZZZZZZZZZZZ"
        );
        let mut one = [0u8; 16];
        one[15] = 1;
        assert_eq!(
            DeliveryId::from_bytes(one).to_string(),
            "00000000000000000000000001"
        );
    }

    #[test]
    fn parsing_is_forgiving_about_case_hyphens_and_lookalikes() {
        let id = DeliveryId::from_bytes([0xab; 16]);
        let text = id.to_string();
        assert_eq!(text.to_lowercase().parse::<DeliveryId>().unwrap(), id);
        let grouped = format!("{}-{}", &text[..13], &text[13..]);
        assert_eq!(grouped.parse::<DeliveryId>().unwrap(), id);
        assert_eq!(
            "0O0Il000000000000000000001".parse::<DeliveryId>().unwrap(),
            "00011000000000000000000001".parse::<DeliveryId>().unwrap()
        );
    }

    #[test]
    fn wrong_inputs_are_refused_with_an_example() {
        for bad in [
            "",
            "0000000000000000000000000",
            "000000000000000000000000000",
            "80000000000000000000000000",
            "0000000000000000000000000U",
        ] {
            let err = bad.parse::<DeliveryId>().unwrap_err();
            assert!(err.to_string().contains("Crockford"), "{err}");
        }
    }

    proptest! {
        #[test]
        fn text_form_round_trips(bytes in any::<[u8; 16]>()) {
            let id = DeliveryId::from_bytes(bytes);
            let text = id.to_string();
            prop_assert_eq!(text.len(), DELIVERY_ID_LEN);
            prop_assert_eq!(text.parse::<DeliveryId>().unwrap(), id);
        }
    }
}
