//! Canonical forms of identifiers, so that every partner's spelling of the same identifier
//! gives the same token.
//!
//! Partners' systems format identifiers differently (NHS numbers spaced `943 476 5919` in
//! one system and packed in another; PNC IDs upper or lower case, with or without the `/`).
//! Tokens hash bytes, so any difference that survives normalisation silently breaks linkage.
//! Conversely, normalisation must never merge two different identifiers, so it only removes
//! formatting that carries no meaning.
//!
//! | kind    | rule |
//! |---------|------|
//! | `nhs`   | remove ASCII whitespace and `-` anywhere; the rest must be exactly 10 ASCII digits whose 10th digit is the modulus-11 check digit of the first nine (see [`nhs_check_digit`]). Output: the 10 digits. |
//! | `pnc`   | remove ASCII whitespace, `/` and `-` anywhere; the rest must be ASCII letters and digits (at least one); letters are upper-cased. Output e.g. `2001/0012345a` → `20010012345A`. The check character is not validated and short/long year forms are not unified. |
//! | `local` | trim leading and trailing Unicode whitespace; must be valid UTF-8 and non-empty. Case and inner spacing are kept, because local systems may treat them as significant. |
//!
//! Every rule is idempotent: normalising a normalised value returns it unchanged (a property
//! test checks this), so values normalised upstream are safe to normalise again.
//!
//! A value that is empty or only whitespace is [`NormaliseError::Empty`] for every kind; the
//! CSV layer decides whether that is an error or a blank (see
//! [`crate::csv_stream::EmptyPolicy`]). Errors never contain the value.

use std::fmt;
use std::str::FromStr;

/// The kind of a direct identifier, which selects its normalisation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdKind {
    /// NHS number: 10 digits with a modulus-11 check digit.
    Nhs,
    /// Police National Computer ID, e.g. `2001/0012345A`.
    Pnc,
    /// Any other local reference (case number, pupil number, crime reference).
    Local,
}

impl IdKind {
    /// Every kind.
    pub const ALL: [IdKind; 3] = [IdKind::Nhs, IdKind::Pnc, IdKind::Local];

    /// The CLI spelling: `nhs`, `pnc` or `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            IdKind::Nhs => "nhs",
            IdKind::Pnc => "pnc",
            IdKind::Local => "local",
        }
    }

    /// How the kind is named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            IdKind::Nhs => "NHS number",
            IdKind::Pnc => "PNC ID",
            IdKind::Local => "local identifier",
        }
    }
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdKind {
    type Err = ParseIdKindError;

    /// Case-insensitive `nhs`, `pnc` or `local`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseIdKindError(s.to_string()))
    }
}

/// An unknown identifier kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown identifier kind `{0}` (expected `nhs`, `pnc` or `local`)")]
pub struct ParseIdKindError(pub String);

/// Why a value is not a valid identifier of its kind. Deliberately value-free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    /// Empty or only whitespace.
    #[error("empty identifier")]
    Empty,
    /// The bytes are not UTF-8 (tokens hash UTF-8, so another encoding would not link).
    #[error("identifier is not valid UTF-8 (re-save the file as UTF-8)")]
    InvalidUtf8,
    /// Something other than digits, whitespace and `-` in an NHS number.
    #[error("NHS number contains a character other than digits, spaces and hyphens")]
    NhsCharacter,
    /// Not 10 digits.
    #[error("NHS number has {digits} digits, expected 10")]
    NhsLength {
        /// How many digits were found.
        digits: usize,
    },
    /// The modulus-11 check gives 10, which is never issued.
    #[error("not a valid NHS number: its modulus-11 check value is 10, which is never issued")]
    NhsCheckTen,
    /// The 10th digit is not the check digit of the first nine.
    #[error("not a valid NHS number: check digit does not match (modulus 11)")]
    NhsCheckDigit,
    /// Something other than letters, digits, whitespace, `/` and `-` in a PNC ID.
    #[error("PNC ID contains a character other than letters, digits, '/', '-' and spaces")]
    PncCharacter,
    /// Only separators.
    #[error("PNC ID has no letters or digits")]
    PncNothingLeft,
}

/// Normalises `raw` as an identifier of `kind`. See the module docs for the rules.
pub fn normalise(kind: IdKind, raw: &str) -> Result<String, NormaliseError> {
    let mut out = Vec::with_capacity(raw.len());
    normalise_into(kind, raw.as_bytes(), &mut out)?;
    Ok(String::from_utf8(out).expect("normalised identifiers are UTF-8"))
}

/// Normalises the raw bytes of a CSV field into `out` (cleared first), reusing its
/// allocation; on success `out` holds valid UTF-8.
pub fn normalise_into(kind: IdKind, raw: &[u8], out: &mut Vec<u8>) -> Result<(), NormaliseError> {
    out.clear();
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(NormaliseError::Empty);
    }
    match kind {
        IdKind::Nhs => {
            for &b in raw {
                match b {
                    b'0'..=b'9' => out.push(b),
                    b'-' => {}
                    _ if b.is_ascii_whitespace() => {}
                    _ => return Err(NormaliseError::NhsCharacter),
                }
            }
            let digits: &[u8; 10] = out
                .as_slice()
                .try_into()
                .map_err(|_| NormaliseError::NhsLength { digits: out.len() })?;
            let first_nine: &[u8; 9] = digits[..9].try_into().expect("nine digits");
            match nhs_check_digit(first_nine) {
                None => Err(NormaliseError::NhsCheckTen),
                Some(check) if check == digits[9] - b'0' => Ok(()),
                Some(_) => Err(NormaliseError::NhsCheckDigit),
            }
        }
        IdKind::Pnc => {
            for &b in raw {
                match b {
                    b'/' | b'-' => {}
                    _ if b.is_ascii_whitespace() => {}
                    _ if b.is_ascii_alphanumeric() => out.push(b.to_ascii_uppercase()),
                    _ => return Err(NormaliseError::PncCharacter),
                }
            }
            if out.is_empty() {
                Err(NormaliseError::PncNothingLeft)
            } else {
                Ok(())
            }
        }
        IdKind::Local => {
            let text = std::str::from_utf8(raw).map_err(|_| NormaliseError::InvalidUtf8)?;
            let trimmed = text.trim();
            if trimmed.is_empty() {
                // Unicode-only whitespace such as U+00A0.
                return Err(NormaliseError::Empty);
            }
            out.extend_from_slice(trimmed.as_bytes());
            Ok(())
        }
    }
}

/// The NHS number check digit of the first nine ASCII digits, or `None` when the modulus-11
/// algorithm gives 10 (such numbers are never issued).
///
/// Algorithm (NHS Data Dictionary): multiply digits 1–9 by weights 10 down to 2, sum, take
/// the remainder modulo 11 and subtract it from 11; a result of 11 becomes 0.
///
/// # Panics
///
/// Debug builds assert that every byte is an ASCII digit.
pub fn nhs_check_digit(first_nine: &[u8; 9]) -> Option<u8> {
    debug_assert!(first_nine.iter().all(u8::is_ascii_digit));
    let sum: u32 = first_nine
        .iter()
        .zip((2..=10u32).rev())
        .map(|(&d, w)| u32::from(d - b'0') * w)
        .sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        check => Some(check as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_valid_forms_normalise_to_ten_digits() {
        for raw in [
            "9434765919",
            "943 476 5919",
            "943-476-5919",
            " 9434765919 ",
            "943\t476 5919",
        ] {
            assert_eq!(
                normalise(IdKind::Nhs, raw).unwrap(),
                "9434765919",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn nhs_invalid_forms_are_rejected_with_reason() {
        assert_eq!(
            normalise(IdKind::Nhs, "9434765918"),
            Err(NormaliseError::NhsCheckDigit)
        );
        // 9,4,3,4,7,6,5,9,6 weighted 10..2 sums to 309 ≡ 1 (mod 11): check value 10.
        assert_eq!(
            normalise(IdKind::Nhs, "9434765960"),
            Err(NormaliseError::NhsCheckTen)
        );
        assert_eq!(
            normalise(IdKind::Nhs, "943476591"),
            Err(NormaliseError::NhsLength { digits: 9 })
        );
        assert_eq!(
            normalise(IdKind::Nhs, "94347659190"),
            Err(NormaliseError::NhsLength { digits: 11 })
        );
        assert_eq!(
            normalise(IdKind::Nhs, "9434765919.0"),
            Err(NormaliseError::NhsCharacter)
        );
        assert_eq!(normalise(IdKind::Nhs, "  "), Err(NormaliseError::Empty));
        assert_eq!(normalise(IdKind::Nhs, ""), Err(NormaliseError::Empty));
    }

    #[test]
    fn nhs_check_digit_algorithm() {
        assert_eq!(nhs_check_digit(b"943476591"), Some(9));
        assert_eq!(nhs_check_digit(b"943476596"), None);
        // Remainder 0 gives check 11, which becomes 0.
        assert_eq!(nhs_check_digit(b"000000000"), Some(0));
        // Another published example.
        assert_eq!(nhs_check_digit(b"401023213"), Some(7));
    }

    #[test]
    fn pnc_normalisation() {
        assert_eq!(
            normalise(IdKind::Pnc, "2001/0012345a").unwrap(),
            "20010012345A"
        );
        assert_eq!(normalise(IdKind::Pnc, " 01-12345 z ").unwrap(), "0112345Z");
        assert_eq!(normalise(IdKind::Pnc, "01/12345Z").unwrap(), "0112345Z");
        assert_eq!(
            normalise(IdKind::Pnc, "01/123*45Z"),
            Err(NormaliseError::PncCharacter)
        );
        assert_eq!(
            normalise(IdKind::Pnc, "01/12345É"),
            Err(NormaliseError::PncCharacter)
        );
        assert_eq!(
            normalise(IdKind::Pnc, "//"),
            Err(NormaliseError::PncNothingLeft)
        );
    }

    #[test]
    fn local_normalisation() {
        assert_eq!(normalise(IdKind::Local, "  CR 123 ").unwrap(), "CR 123");
        assert_eq!(normalise(IdKind::Local, "cr 123").unwrap(), "cr 123");
        assert_eq!(normalise(IdKind::Local, "Zoë-7").unwrap(), "Zoë-7");
        assert_eq!(
            normalise(IdKind::Local, "\u{a0}\t"),
            Err(NormaliseError::Empty)
        );
        let mut out = Vec::new();
        assert_eq!(
            normalise_into(IdKind::Local, b"caf\xe9", &mut out),
            Err(NormaliseError::InvalidUtf8)
        );
    }

    #[test]
    fn kind_parses_case_insensitively() {
        assert_eq!("nhs".parse::<IdKind>().unwrap(), IdKind::Nhs);
        assert_eq!("PNC".parse::<IdKind>().unwrap(), IdKind::Pnc);
        assert_eq!("Local".parse::<IdKind>().unwrap(), IdKind::Local);
        assert!("passport".parse::<IdKind>().is_err());
    }

    #[test]
    fn errors_do_not_contain_values() {
        let err = normalise(IdKind::Nhs, "9434765918").unwrap_err();
        assert!(!err.to_string().contains("9434765918"));
    }
}
