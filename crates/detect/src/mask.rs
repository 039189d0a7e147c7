use crate::Kind;

/// Masks `value` for display and redaction. The result has as many
/// characters as the value, and keeps separators and whitespace, so a
/// redacted file keeps its layout and a reader can tell which value it was
/// (the last digits of a card or account, the domain of an e-mail) without
/// seeing it.
pub fn mask(kind: Kind, value: &str) -> String {
    match kind {
        Kind::CardNumber | Kind::Iban | Kind::RoutingNumber | Kind::Ssn | Kind::NationalId => {
            let keep_front = if kind == Kind::Iban { 2 } else { 0 };
            keep_ends(value, keep_front, 4)
        }
        Kind::Phone => keep_ends(value, 0, 2),
        Kind::Email => match value.rsplit_once('@') {
            Some((local, domain)) => {
                let mut out = keep_ends(local, 1, 0);
                out.push('@');
                out.push_str(domain);
                out
            }
            None => keep_ends(value, 0, 0),
        },
        Kind::PersonName => {
            // The initial of each word stays.
            let mut out = String::with_capacity(value.len());
            let mut at_word_start = true;
            for c in value.chars() {
                if c.is_alphanumeric() {
                    out.push(if at_word_start { c } else { '*' });
                    at_word_start = false;
                } else {
                    out.push(c);
                    at_word_start = c.is_whitespace();
                }
            }
            out
        }
        Kind::Secret => {
            if value.starts_with("-----BEGIN") {
                // The armour lines say what it is; the body goes.
                let lines: Vec<&str> = value.split('\n').collect();
                let last = lines.len().saturating_sub(1);
                lines
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 || (i == last && l.starts_with("-----END")) {
                            (*l).to_owned()
                        } else {
                            keep_ends(l, 0, 0)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else if value.chars().count() >= 20 {
                // A token's prefix (AKIA, ghp_, sk_live_) names its issuer.
                keep_ends(value, 4, 0)
            } else {
                keep_ends(value, 0, 0)
            }
        }
        Kind::PostalAddress | Kind::DateOfBirth => keep_ends(value, 0, 0),
    }
}

/// [`keep_ends`] for ASCII text (most values), byte by byte.
fn keep_ends_ascii(value: &[u8], front: usize, back: usize) -> String {
    let total = value.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let mut seen = 0;
    value
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() {
                seen += 1;
                if seen > front && seen + back <= total {
                    return '*';
                }
            }
            char::from(b)
        })
        .collect()
}

/// Replaces every alphanumeric character with `*` except the first `front`
/// and the last `back` alphanumeric characters.
fn keep_ends(value: &str, front: usize, back: usize) -> String {
    if value.is_ascii() {
        return keep_ends_ascii(value.as_bytes(), front, back);
    }
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let mut seen = 0;
    value
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                seen += 1;
                if seen <= front || seen + back > total {
                    c
                } else {
                    '*'
                }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_layout_and_a_hint() {
        let cases = [
            (
                Kind::CardNumber,
                "4111 1111 1111 1111",
                "**** **** **** 1111",
            ),
            (
                Kind::Iban,
                "DE89 3704 0044 0532 0130 00",
                "DE** **** **** **** **30 00",
            ),
            (Kind::Ssn, "123-45-6789", "***-**-6789"),
            (Kind::Phone, "+44 20 7946 0958", "+** ** **** **58"),
            (Kind::Email, "ann.lee@example.com", "a**.***@example.com"),
            (Kind::PersonName, "Ann Lee", "A** L**"),
            (Kind::DateOfBirth, "1985-03-12", "****-**-**"),
            (Kind::Secret, "AKIAIOSFODNN7EXAMPLE", "AKIA****************"),
            (Kind::Secret, "hunter22", "********"),
        ];
        for (kind, value, want) in cases {
            assert_eq!(mask(kind, value), want, "{kind} {value}");
            assert_eq!(mask(kind, value).chars().count(), value.chars().count());
        }
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQ==\n-----END PRIVATE KEY-----";
        assert_eq!(
            mask(Kind::Secret, pem),
            "-----BEGIN PRIVATE KEY-----\n******==\n-----END PRIVATE KEY-----"
        );
    }
}
