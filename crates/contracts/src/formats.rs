//! Format checks for the code types of the contract. Hand-written rather than regex: they
//! run once per value on every row of every extract, and are simple enough to read.

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// 64 lowercase hex characters: an HMAC-SHA256 token.
pub fn is_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// ONS 2011 LSOA code: `E01` or `W01` followed by six digits.
pub fn is_lsoa_code(s: &str) -> bool {
    s.len() == 9 && (s.starts_with("E01") || s.starts_with("W01")) && all_digits(&s[3..])
}

/// ONS local authority district code: `E06`, `E07`, `E08`, `E09` or `W06` + six digits.
pub fn is_lad_code(s: &str) -> bool {
    s.len() == 9
        && ["E06", "E07", "E08", "E09", "W06"]
            .iter()
            .any(|p| s.starts_with(p))
        && all_digits(&s[3..])
}

/// `YYYY-MM` with a month 01..12.
pub fn is_month(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7
        && all_digits(&s[..4])
        && b[4] == b'-'
        && all_digits(&s[5..])
        && (1..=12).contains(&s[5..].parse::<u32>().unwrap_or(0))
}

/// `YYYY-Qn` with n 1..4.
pub fn is_quarter(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 7 && all_digits(&s[..4]) && &s[4..6] == "-Q" && (b'1'..=b'4').contains(&b[6])
}

/// Home Office offence code: 1-3 digits, up to two capital letters, optionally `/` and a
/// 1-3 digit subcode (`1`, `4/1`, `4/10`, `5D`, `8N`, `34A`, `10A`, `19C`).
pub fn is_ho_code(s: &str) -> bool {
    let (main, sub) = match s.split_once('/') {
        Some((m, sub)) => (m, Some(sub)),
        None => (s, None),
    };
    let digits = main.bytes().take_while(u8::is_ascii_digit).count();
    let letters = &main[digits..];
    (1..=3).contains(&digits)
        && letters.len() <= 2
        && letters.bytes().all(|b| b.is_ascii_uppercase())
        && sub.is_none_or(|sub| (1..=3).contains(&sub.len()) && all_digits(sub))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsoa_codes() {
        assert!(is_lsoa_code("E01026123"));
        assert!(is_lsoa_code("W01000001"));
        assert!(!is_lsoa_code("E02026123"));
        assert!(!is_lsoa_code("E0102612"));
        assert!(!is_lsoa_code("E0102612X"));
        assert!(!is_lsoa_code("e01026123"));
    }

    #[test]
    fn lad_codes() {
        assert!(is_lad_code("E07000138"));
        assert!(is_lad_code("W06000015"));
        assert!(!is_lad_code("E05000138"));
        assert!(!is_lad_code("E0700013"));
    }

    #[test]
    fn months_and_quarters() {
        assert!(is_month("2019-01"));
        assert!(!is_month("2019-13"));
        assert!(!is_month("2019-00"));
        assert!(!is_month("2019/01"));
        assert!(is_quarter("2020-Q4"));
        assert!(!is_quarter("2020-Q5"));
        assert!(!is_quarter("2020Q4"));
    }

    #[test]
    fn ho_codes() {
        for ok in [
            "1", "4/1", "4/10", "2", "5D", "5E", "8N", "8P", "3B", "34A", "10A", "19C",
        ] {
            assert!(is_ho_code(ok), "{ok}");
        }
        for bad in ["", "A", "5d", "1234", "4/", "4/1234", "5DEF", "/1"] {
            assert!(!is_ho_code(bad), "{bad}");
        }
    }

    #[test]
    fn tokens() {
        assert!(is_token(&"ab".repeat(32)));
        assert!(!is_token(&"AB".repeat(32)));
        assert!(!is_token(&"ab".repeat(31)));
        assert!(!is_token(&"zz".repeat(32)));
    }
}
