use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What a finding is. The names are part of the CLI's output format and of
/// `--fail-on`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CardNumber,
    Iban,
    RoutingNumber,
    Ssn,
    NationalId,
    Phone,
    Email,
    PostalAddress,
    DateOfBirth,
    Secret,
    PersonName,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::CardNumber,
        Kind::Iban,
        Kind::RoutingNumber,
        Kind::Ssn,
        Kind::NationalId,
        Kind::Phone,
        Kind::Email,
        Kind::PostalAddress,
        Kind::DateOfBirth,
        Kind::Secret,
        Kind::PersonName,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::CardNumber => "card_number",
            Kind::Iban => "iban",
            Kind::RoutingNumber => "routing_number",
            Kind::Ssn => "ssn",
            Kind::NationalId => "national_id",
            Kind::Phone => "phone",
            Kind::Email => "email",
            Kind::PostalAddress => "postal_address",
            Kind::DateOfBirth => "date_of_birth",
            Kind::Secret => "secret",
            Kind::PersonName => "person_name",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown kind {0:?}: use one of card_number, iban, routing_number, ssn, national_id, phone, \
     email, postal_address, date_of_birth, secret, person_name"
)]
pub struct UnknownKindError(pub String);

impl FromStr for Kind {
    type Err = UnknownKindError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == wanted)
            .ok_or_else(|| UnknownKindError(s.to_owned()))
    }
}
