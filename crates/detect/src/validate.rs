//! Checksums and number-range rules. Inputs are digit values (0..=9), not
//! ASCII bytes.

/// The ASCII digits of `s` as values, separators dropped.
pub(crate) fn digits(s: &[u8]) -> Vec<u8> {
    s.iter()
        .filter(|b| b.is_ascii_digit())
        .map(|b| b - b'0')
        .collect()
}

fn prefix(d: &[u8], n: usize) -> u32 {
    d.iter()
        .take(n)
        .fold(0u32, |acc, &x| acc * 10 + u32::from(x))
}

/// The Luhn (mod 10) check used by payment cards and Canadian SINs.
pub fn luhn(d: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &x)| {
            let x = u32::from(x);
            if i % 2 == 1 {
                let y = x * 2;
                if y > 9 { y - 9 } else { y }
            } else {
                x
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The card network whose issuer range and length `d` falls in.
pub fn card_network(d: &[u8]) -> Option<&'static str> {
    let len = d.len();
    let (p1, p2, p3, p4, p6) = (
        prefix(d, 1),
        prefix(d, 2),
        prefix(d, 3),
        prefix(d, 4),
        prefix(d, 6),
    );
    if p1 == 4 && matches!(len, 13 | 16 | 19) {
        Some("visa")
    } else if ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16 {
        Some("mastercard")
    } else if matches!(p2, 34 | 37) && len == 15 {
        Some("amex")
    } else if (p4 == 6011
        || (644..=649).contains(&p3)
        || p2 == 65
        || (622_126..=622_925).contains(&p6))
        && (16..=19).contains(&len)
    {
        Some("discover")
    } else if (3528..=3589).contains(&p4) && (16..=19).contains(&len) {
        Some("jcb")
    } else if ((300..=305).contains(&p3) || p4 == 3095 || matches!(p2, 36 | 38 | 39))
        && (14..=19).contains(&len)
    {
        Some("diners")
    } else if p2 == 62 && (16..=19).contains(&len) {
        Some("unionpay")
    } else {
        None
    }
}

/// A US ABA routing number: the 3-7-1 weighted checksum and a Federal
/// Reserve routing symbol (01-12, 21-32, 61-72, 80).
pub fn aba(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let p2 = prefix(d, 2);
    if !((1..=12).contains(&p2) || (21..=32).contains(&p2) || (61..=72).contains(&p2) || p2 == 80) {
        return false;
    }
    let w = [3u32, 7, 1];
    let sum: u32 = d
        .iter()
        .enumerate()
        .map(|(i, &x)| w[i % 3] * u32::from(x))
        .sum();
    sum.is_multiple_of(10)
}

/// A US SSN that could have been issued: area not 000, 666 or 900-999,
/// group not 00, serial not 0000, and not the famous 078-05-1120.
pub fn ssn(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let area = prefix(d, 3);
    let group = prefix(&d[3..], 2);
    let serial = prefix(&d[5..], 4);
    area != 0
        && area != 666
        && area < 900
        && group != 0
        && serial != 0
        && !(area == 78 && group == 5 && serial == 1120)
}

/// A Canadian SIN: Luhn, and a first digit that a province issues (not 0 or 8).
pub fn sin(d: &[u8]) -> bool {
    d.len() == 9 && d[0] != 0 && d[0] != 8 && luhn(d)
}

/// The two-letter prefix of a UK National Insurance number is not one of
/// the never-issued combinations.
pub fn nino_prefix(p: &[u8]) -> bool {
    !matches!(p, b"BG" | b"GB" | b"NK" | b"KN" | b"TN" | b"NT" | b"ZZ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums() {
        assert!(luhn(&digits(b"4111 1111 1111 1111")));
        assert!(!luhn(&digits(b"4111 1111 1111 1112")));
        assert_eq!(
            card_network(&digits(b"5500000000000004")),
            Some("mastercard")
        );
        assert_eq!(
            card_network(&digits(b"2221000000000009")),
            Some("mastercard")
        );
        assert_eq!(card_network(&digits(b"378282246310005")), Some("amex"));
        assert_eq!(card_network(&digits(b"9780306406157")), None);
        assert!(aba(&digits(b"011000015")));
        assert!(aba(&digits(b"021000021")));
        assert!(!aba(&digits(b"021000022")));
        assert!(!aba(&digits(b"991000021")));
        assert!(ssn(&digits(b"123-45-6789")));
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-12-3456",
            "123-00-4567",
            "123-45-0000",
        ] {
            assert!(!ssn(&digits(bad.as_bytes())), "{bad}");
        }
        assert!(sin(&digits(b"130 692 544")));
        assert!(!sin(&digits(b"130 692 545")));
        assert!(!nino_prefix(b"GB"));
    }
}
