use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What kind of personal data a column (or a finding in a document) holds.
/// The names are part of the CLI and file formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    CardNumber,
    BankAccount,
    NationalId,
    Phone,
    Email,
    PostalAddress,
    DateOfBirth,
    Name,
    FreeText,
    Other,
}

impl DataCategory {
    pub const ALL: [DataCategory; 10] = [
        DataCategory::CardNumber,
        DataCategory::BankAccount,
        DataCategory::NationalId,
        DataCategory::Phone,
        DataCategory::Email,
        DataCategory::PostalAddress,
        DataCategory::DateOfBirth,
        DataCategory::Name,
        DataCategory::FreeText,
        DataCategory::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DataCategory::CardNumber => "card_number",
            DataCategory::BankAccount => "bank_account",
            DataCategory::NationalId => "national_id",
            DataCategory::Phone => "phone",
            DataCategory::Email => "email",
            DataCategory::PostalAddress => "postal_address",
            DataCategory::DateOfBirth => "date_of_birth",
            DataCategory::Name => "name",
            DataCategory::FreeText => "free_text",
            DataCategory::Other => "other",
        }
    }

    /// The canonical form of a value of this category for exact-match
    /// lookups, so `A@B.C ` finds `a@b.c` and `+1 (555) 010-9999` finds
    /// `+15550109999`.
    pub fn normalize_for_lookup(self, value: &str) -> String {
        let trimmed = value.trim();
        match self {
            DataCategory::Email => trimmed.to_lowercase(),
            DataCategory::CardNumber | DataCategory::BankAccount | DataCategory::NationalId => {
                trimmed
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .flat_map(char::to_uppercase)
                    .collect()
            }
            DataCategory::Phone => {
                let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
                if trimmed.starts_with('+') {
                    format!("+{digits}")
                } else {
                    digits
                }
            }
            _ => trimmed.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

impl fmt::Display for DataCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
#[error(
    "unknown data category {0:?}: use one of card_number, bank_account, national_id, phone, \
     email, postal_address, date_of_birth, name, free_text, other"
)]
pub struct UnknownCategoryError(pub String);

impl FromStr for DataCategory {
    type Err = UnknownCategoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        DataCategory::ALL
            .into_iter()
            .find(|c| c.as_str() == wanted)
            .ok_or_else(|| UnknownCategoryError(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_category_round_trips_through_its_name() {
        for c in DataCategory::ALL {
            assert_eq!(c.as_str().parse::<DataCategory>().ok(), Some(c));
        }
        assert!("ssn".parse::<DataCategory>().is_err());
    }

    #[test]
    fn lookup_normalization() {
        let cases = [
            (DataCategory::Email, " Ann@Example.COM ", "ann@example.com"),
            (DataCategory::Phone, "+1 (555) 010-9999", "+15550109999"),
            (DataCategory::Phone, "555 010 9999", "5550109999"),
            (
                DataCategory::CardNumber,
                "4111-1111 1111-1111",
                "4111111111111111",
            ),
            (DataCategory::NationalId, "ab 12 34 56 c", "AB123456C"),
            (DataCategory::Name, "  Ann   Lee ", "Ann Lee"),
        ];
        for (category, input, want) in cases {
            assert_eq!(
                category.normalize_for_lookup(input),
                want,
                "{category} {input:?}"
            );
        }
    }
}

/// What a person without access to a value sees of it, by category: a card
/// number at most its last 4 digits (PCI DSS 3.4.1), a phone number its
/// last 2 digits, an e-mail address its first letter and its domain, every
/// other category nothing but a fixed mask (so not even the length shows).
pub fn mask_value(category: DataCategory, value: &str) -> String {
    const HIDDEN: &str = "••••••";
    let last_digits = |n: usize| -> String {
        let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
        if digits.len() <= n * 2 {
            // Too short to show anything safely.
            return HIDDEN.to_owned();
        }
        let tail: String = digits[digits.len() - n..].iter().collect();
        format!("{HIDDEN}{tail}")
    };
    match category {
        DataCategory::CardNumber => last_digits(4),
        DataCategory::Phone => last_digits(2),
        DataCategory::Email => match value.trim().rsplit_once('@') {
            Some((local, domain)) if !local.is_empty() && !domain.is_empty() => {
                let first: String = local.chars().take(1).collect();
                format!("{first}•••@{domain}")
            }
            _ => HIDDEN.to_owned(),
        },
        _ => HIDDEN.to_owned(),
    }
}

impl DataCategory {
    /// Categories shown masked in bulk views even to a person whose grant
    /// covers the column; each value is revealed one at a time.
    pub fn reveal_only(self) -> bool {
        matches!(
            self,
            DataCategory::CardNumber | DataCategory::BankAccount | DataCategory::NationalId
        )
    }
}

#[cfg(test)]
mod mask_tests {
    use super::*;

    #[test]
    fn masks_follow_the_category() {
        assert_eq!(
            mask_value(DataCategory::CardNumber, "4111 1111 1111 1234"),
            "••••••1234"
        );
        assert_eq!(
            mask_value(DataCategory::Phone, "+44 20 7946 0958"),
            "••••••58"
        );
        assert_eq!(
            mask_value(DataCategory::Email, "ann.lee@example.com"),
            "a•••@example.com"
        );
        for category in [
            DataCategory::Name,
            DataCategory::PostalAddress,
            DataCategory::DateOfBirth,
            DataCategory::NationalId,
            DataCategory::BankAccount,
            DataCategory::FreeText,
            DataCategory::Other,
        ] {
            assert_eq!(mask_value(category, "Ann Lee, 12 High St"), "••••••");
        }
        // Too short to keep digits, or not an address: all hidden.
        assert_eq!(mask_value(DataCategory::CardNumber, "1234"), "••••••");
        assert_eq!(mask_value(DataCategory::Email, "not-an-address"), "••••••");
        assert!(DataCategory::CardNumber.reveal_only());
        assert!(!DataCategory::Phone.reveal_only());
    }
}
