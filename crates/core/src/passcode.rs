//! Day passcodes: a second secret per person and grant, valid for one
//! business day (or a window the owner sets), stored only as a hash.
//!
//! A passcode is 60 random bits written as twelve Crockford base32
//! characters in three groups (`K7F3-9QXM-2HDP`): easy to read out over the
//! phone, with no letters that look alike, and typed back with or without
//! the dashes, in any case.

use crate::Label;

/// Wrong tries that lock a grant's passcode for the rest of the day.
pub const MAX_PASSCODE_FAILURES: u32 = 5;

/// The longest window the owner may give a passcode instead of the day.
pub const MAX_PASSCODE_HOURS: u32 = 7 * 24;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Writes 60 random bits (the low 60 of `random`) as a passcode.
pub fn passcode_text(random: u64) -> String {
    let mut out = String::with_capacity(14);
    for i in 0..12 {
        if i == 4 || i == 8 {
            out.push('-');
        }
        let shift = 55 - 5 * i;
        let index = usize::try_from((random >> shift) & 31).unwrap_or(0);
        out.push(char::from(ALPHABET[index]));
    }
    out
}

/// The canonical form of a typed passcode (upper case, no separators, the
/// look-alike letters read as the digits they resemble), or `None` when it
/// cannot be a passcode at all.
pub fn normalize_passcode(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(12);
    for c in typed.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == 12).then_some(out)
}

/// Whether an access through a grant needs the day passcode: always for
/// Confidential and Restricted items, and for any item when the owner set
/// it on the grant.
pub fn passcode_required(label: Label, grant_requires: bool) -> bool {
    grant_requires || label >= Label::Confidential
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passcode_reads_back_in_any_form() {
        let text = passcode_text(0x0FED_CBA9_8765_4321);
        assert_eq!(text.len(), 14);
        let bare = normalize_passcode(&text).unwrap();
        assert_eq!(bare.len(), 12);
        assert_eq!(normalize_passcode(&text.to_lowercase()), Some(bare.clone()));
        assert_eq!(
            normalize_passcode(&bare.replace('-', " ")),
            Some(bare.clone())
        );
        assert_eq!(
            normalize_passcode("OIL0-0000-0000"),
            Some("011000000000".into())
        );
        assert_eq!(normalize_passcode("too short"), None);
        assert_eq!(normalize_passcode("ÄÄÄÄ-0000-0000"), None);
    }

    #[test]
    fn different_bits_give_different_passcodes() {
        let a = passcode_text(1);
        let b = passcode_text(2);
        let c = passcode_text(1 << 59);
        assert_ne!(a, b);
        assert_ne!(a, c);
        // Bits above 60 are ignored.
        assert_eq!(passcode_text(1), passcode_text(1 | (1 << 62)));
    }

    #[test]
    fn confidential_and_restricted_items_need_a_passcode() {
        assert!(!passcode_required(Label::Internal, false));
        assert!(passcode_required(Label::Internal, true));
        assert!(passcode_required(Label::Confidential, false));
        assert!(passcode_required(Label::Restricted, false));
    }
}
