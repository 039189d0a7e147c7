//! What makes a new password acceptable (OWASP ASVS 5, V6.2): at least 12
//! characters, at most 128, any characters at all (no composition rules),
//! and not guessable: zxcvbn checks it against its bundled lists of common
//! and breached passwords (30,000 from leaked password sets), English words,
//! names, keyboard walks, dates, repeats and the person's own details, and
//! estimates the guesses an attacker needs. Passwords needing fewer than
//! 10^10 guesses (zxcvbn score below 3) are refused with zxcvbn's reason.
//! Passwords never expire by age.

use secrecy::{ExposeSecret, SecretString};
use zxcvbn::Score;

use crate::VaultError;

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Checks a new password; `personal` holds what an attacker would try first
/// (the person's e-mail address and name, the workspace's name).
pub fn check_new_password(password: &SecretString, personal: &[&str]) -> Result<(), VaultError> {
    let password = password.expose_secret();
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the password has {chars} characters: use at least {MIN_PASSWORD_CHARS} \
             (a few unrelated words work well)"
        )));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(VaultError::InvalidInput(format!(
            "the password has {chars} characters: use at most {MAX_PASSWORD_CHARS}"
        )));
    }
    if password.chars().any(char::is_control) {
        return Err(VaultError::InvalidInput(
            "the password contains control characters: use letters, digits, spaces and symbols"
                .into(),
        ));
    }
    // Each detail, its words, and its words run together ("anndoe"), and
    // the parts of an e-mail address: all guessable on their own.
    let mut inputs: Vec<String> = vec!["confidant".to_owned()];
    for item in personal {
        let item = item.to_lowercase();
        let (item, domain) = match item.split_once('@') {
            Some((local, domain)) => {
                inputs.extend(domain.split('.').map(str::to_owned));
                (local.to_owned(), Some(domain.to_owned()))
            }
            None => (item.clone(), None),
        };
        let words: Vec<&str> = item
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        inputs.push(words.concat());
        inputs.extend(words.iter().map(|w| (*w).to_owned()));
        inputs.push(item.clone());
        inputs.extend(domain);
    }
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= Score::Three {
        return Ok(());
    }
    let why = estimate
        .feedback()
        .and_then(|f| f.warning())
        .map(|w| w.to_string())
        .unwrap_or_else(|| "it is easy to guess".to_owned());
    Err(VaultError::InvalidInput(format!(
        "this password is too easy to guess ({}): choose another, for example three or four \
         unrelated words",
        why.trim_end_matches('.').to_lowercase()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(p: &str) -> Result<(), VaultError> {
        check_new_password(
            &SecretString::from(p),
            &["ann.doe@example.com", "Ann Doe", "Acme Bookkeeping"],
        )
    }

    #[test]
    fn short_and_long_passwords_are_refused() {
        let e = check("Xk3#pQ9!mZ").unwrap_err().to_string();
        assert!(
            e.contains("10 characters") && e.contains("at least 12"),
            "{e}"
        );
        assert!(check(&"ab".repeat(65)).is_err());
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for weak in [
            "password1234",
            "qwertyuiop123",
            "123456789012",
            "iloveyou1234",
            "annDoe123456",
            "AcmeBookkeeping1",
            "aaaaaaaaaaaaaaaa",
        ] {
            let e = check(weak).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains("too easy to guess"), "{weak}: {e:?}");
        }
    }

    #[test]
    fn strong_passwords_of_any_shape_pass() {
        for strong in [
            "velvet lantern orbit mosaic",
            "tr0mbone-Glacier-47-quill",
            "Überweisung Zahnrad Möwe",
            "kq8vz2mx7rlp4nwt",
        ] {
            assert!(check(strong).is_ok(), "{strong}");
        }
    }
}
