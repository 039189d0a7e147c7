use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How confidential an item is. Ordered: `Public < Internal < Confidential <
/// Restricted`. Copies of Confidential-or-higher items are stamped when they
/// leave the vault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl Label {
    pub const ALL: [Label; 4] = [
        Label::Public,
        Label::Internal,
        Label::Confidential,
        Label::Restricted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Label::Public => "public",
            Label::Internal => "internal",
            Label::Confidential => "confidential",
            Label::Restricted => "restricted",
        }
    }

    /// Whether copies of an item with this label must carry a stamp.
    pub fn requires_stamp(self) -> bool {
        self >= Label::Confidential
    }

    /// The label suggested for an item holding these categories of data:
    /// Restricted with card numbers, bank accounts or national ids,
    /// Confidential with other personal data or secrets (`secrets`),
    /// Internal otherwise.
    pub fn suggested(categories: &[crate::DataCategory], secrets: bool) -> Label {
        use crate::DataCategory as C;
        let has = |wanted: &[C]| categories.iter().any(|c| wanted.contains(c));
        if has(&[C::CardNumber, C::BankAccount, C::NationalId]) {
            Label::Restricted
        } else if secrets
            || has(&[
                C::Phone,
                C::Email,
                C::PostalAddress,
                C::DateOfBirth,
                C::Name,
            ])
        {
            Label::Confidential
        } else {
            Label::Internal
        }
    }
}

/// The label an item gets when nobody says otherwise: customer data is
/// confidential until someone decides it is not.
impl Default for Label {
    fn default() -> Self {
        Label::Confidential
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown label {0:?}: use one of public, internal, confidential, restricted")]
pub struct UnknownLabelError(pub String);

impl FromStr for Label {
    type Err = UnknownLabelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Label::ALL
            .into_iter()
            .find(|l| l.as_str() == wanted)
            .ok_or_else(|| UnknownLabelError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_follow_the_most_sensitive_category() {
        use crate::DataCategory as C;
        assert_eq!(Label::suggested(&[], false), Label::Internal);
        assert_eq!(
            Label::suggested(&[C::Other, C::FreeText], false),
            Label::Internal
        );
        assert_eq!(Label::suggested(&[], true), Label::Confidential);
        assert_eq!(Label::suggested(&[C::Email], false), Label::Confidential);
        assert_eq!(
            Label::suggested(&[C::Email, C::BankAccount], false),
            Label::Restricted
        );
        assert_eq!(Label::suggested(&[C::NationalId], false), Label::Restricted);
    }

    #[test]
    fn labels_parse_case_insensitively_and_order_by_sensitivity() {
        assert_eq!(
            "Confidential".parse::<Label>().ok(),
            Some(Label::Confidential)
        );
        assert!("secret".parse::<Label>().is_err());
        assert!(Label::Restricted > Label::Internal);
        assert!(Label::Confidential.requires_stamp());
        assert!(!Label::Internal.requires_stamp());
    }
}
