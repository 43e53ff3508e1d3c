//! Detection of direct identifiers left in a file that should have been pseudonymised.
//!
//! The intake validator uses these checks to refuse an extract before it is stored: a file
//! that still carries NHS numbers, postcodes, names or dates of birth has not been through
//! `svna pseudonymise` (or had a column added afterwards). The checks aim at the mistakes
//! partners actually make (forgetting a column, renaming it, pasting the raw extract) rather
//! than at adversarial hiding, and prefer refusing a file to letting identifiers through.
//!
//! Nothing here ever returns or formats an identifier's value: findings name the kind and
//! the row index, so the validator's report can be shared without becoming personal data.

use std::fmt;

use crate::normalise::nhs_check_digit;

/// What kind of direct identifier a column appears to hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IdentifierKind {
    /// Valid NHS numbers (modulus-11 check passes).
    NhsNumber,
    /// Full UK postcodes (a postcode district such as `SW1A` alone is not flagged).
    Postcode,
}

impl IdentifierKind {
    /// Human-readable name used in messages.
    pub fn describe(self) -> &'static str {
        match self {
            IdentifierKind::NhsNumber => "NHS numbers",
            IdentifierKind::Postcode => "full UK postcodes",
        }
    }
}

impl fmt::Display for IdentifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A column that looks like it holds direct identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentifierFinding {
    /// What was found.
    pub kind: IdentifierKind,
    /// 0-based index, in the scanned iterator, of the first matching value (the caller maps
    /// it to a line number). The value itself is deliberately not kept.
    pub example_row: usize,
    /// How many values matched.
    pub matches: usize,
    /// How many non-empty values were scanned.
    pub non_empty: usize,
    /// A value-free explanation, e.g. "column holds NHS numbers: 3 of 4 non-empty values
    /// pass the modulus-11 check (first at row index 0)".
    pub message: String,
}

/// True for a valid NHS number written as 10 digits, or spaced 3-3-4 with single spaces or
/// single hyphens (`943 476 5919`, `943-476-5919`), ignoring surrounding whitespace, whose
/// modulus-11 check digit is right.
///
/// Stricter about layout than [`crate::normalise()`] (which accepts any spacing) because here a
/// false positive refuses a file: a phone number or free text with stray digits should not
/// match.
pub fn is_valid_nhs_number(s: &str) -> bool {
    let s = s.trim().as_bytes();
    let mut digits = [0u8; 10];
    match s.len() {
        10 => digits.copy_from_slice(s),
        12 => {
            let sep = s[3];
            if !(sep == b' ' || sep == b'-') || s[7] != sep {
                return false;
            }
            digits[..3].copy_from_slice(&s[..3]);
            digits[3..6].copy_from_slice(&s[4..7]);
            digits[6..].copy_from_slice(&s[8..]);
        }
        _ => return false,
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let first_nine: &[u8; 9] = digits[..9].try_into().expect("nine digits");
    nhs_check_digit(first_nine) == Some(digits[9] - b'0')
}

/// True if `s` is exactly 64 lowercase hex characters, the shape of an svna token. Tokens
/// are never identifiers, so scanners skip them.
pub fn looks_like_token(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// True if `s` is shaped like a full UK postcode, in any case, with zero or one space (or
/// any run of whitespace) between outward and inward code, e.g. `SW1A 1AA`, `LN1 3DY`,
/// `PE21 6JY`, `m1 1ae`, `GIR 0AA`.
///
/// Implements the Royal Mail format rules without a regex: outward code `A9`, `A99`, `AA9`,
/// `AA99`, `A9A` or `AA9A`, inward code `9AA`; the first letter is never Q, V or X, the
/// second never I, J or Z, a third-position letter (A9A) is one of ABCDEFGHJKPSTUW, a
/// fourth-position letter (AA9A) one of ABEHMNPRVWXY, and inward letters never C, I, K, M, O
/// or V. These restrictions keep codes such as LSOA or offence codes from matching.
pub fn looks_like_uk_postcode(s: &str) -> bool {
    let trimmed = s.trim();
    if trimmed.len() > 10 || !trimmed.is_ascii() {
        return false;
    }
    let mut buf = [0u8; 8];
    let mut n = 0;
    let mut gaps = 0;
    let mut in_gap = false;
    for b in trimmed.bytes() {
        if b.is_ascii_whitespace() {
            if !in_gap {
                gaps += 1;
                in_gap = true;
            }
            continue;
        }
        in_gap = false;
        if n == buf.len() {
            return false;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    if gaps > 1 || !(5..=7).contains(&n) {
        return false;
    }
    let code = &buf[..n];
    // A space, if present, must sit exactly before the inward code.
    if gaps == 1 {
        let space_at = trimmed
            .bytes()
            .position(|b| b.is_ascii_whitespace())
            .expect("one gap");
        if space_at != n - 3 {
            return false;
        }
    }
    if code == b"GIR0AA" {
        return true;
    }
    let (outward, inward) = code.split_at(n - 3);
    let inward_letter = |b: u8| b.is_ascii_uppercase() && !b"CIKMOV".contains(&b);
    if !(inward[0].is_ascii_digit() && inward_letter(inward[1]) && inward_letter(inward[2])) {
        return false;
    }
    let first = |b: u8| b.is_ascii_uppercase() && !b"QVX".contains(&b);
    let second = |b: u8| b.is_ascii_uppercase() && !b"IJZ".contains(&b);
    let digit = |b: u8| b.is_ascii_digit();
    match *outward {
        [a, d] => first(a) && digit(d),
        [a, d, e] if digit(d) => first(a) && (digit(e) || b"ABCDEFGHJKPSTUW".contains(&e)),
        [a, b, d] => first(a) && second(b) && digit(d),
        [a, b, d, e] => {
            first(a) && second(b) && digit(d) && (digit(e) || b"ABEHMNPRVWXY".contains(&e))
        }
        _ => false,
    }
}

/// Column names that announce a direct identifier, after normalising the name (lower case,
/// camelCase split, spaces/hyphens/dots to `_`), with the reason to give.
const SUSPICIOUS_NAMES: &[(&str, &str)] = &[
    ("name", "personal name"),
    ("names", "personal name"),
    ("forename", "personal name"),
    ("forenames", "personal name"),
    ("surname", "personal name"),
    ("first_name", "personal name"),
    ("firstname", "personal name"),
    ("last_name", "personal name"),
    ("lastname", "personal name"),
    ("middle_name", "personal name"),
    ("given_name", "personal name"),
    ("family_name", "personal name"),
    ("full_name", "personal name"),
    ("fullname", "personal name"),
    ("person_name", "personal name"),
    ("dob", "date of birth"),
    ("date_of_birth", "date of birth"),
    ("birth_date", "date of birth"),
    ("birthdate", "date of birth"),
    ("nhs_number", "NHS number"),
    ("nhs_no", "NHS number"),
    ("nhsnumber", "NHS number"),
    ("nhs", "NHS number"),
    ("pnc_id", "PNC ID"),
    ("pnc_number", "PNC ID"),
    ("postcode", "postcode"),
    ("post_code", "postcode"),
    ("postal_code", "postcode"),
    ("home_postcode", "postcode"),
    ("address", "address"),
    ("home_address", "address"),
    ("street_address", "address"),
    ("email", "contact details"),
    ("email_address", "contact details"),
    ("phone", "contact details"),
    ("phone_number", "contact details"),
    ("telephone", "contact details"),
];

/// If a column name announces a direct identifier (`name`, `forename`, `surname`,
/// `first_name`, `last_name`, `full_name`, `dob`, `date_of_birth`, `birth_date`,
/// `nhs_number`, `postcode`, `address`, `address_line_1`, … in any case or spacing), the
/// reason, e.g. `"personal name"`.
///
/// Names are matched whole after normalisation, not as substrings, so aggregate or coded
/// columns such as `offence_name`, `school_name` or `postcode_district` pass.
pub fn suspicious_column_name(name: &str) -> Option<&'static str> {
    let norm = normalise_column_name(name);
    if let Some((_, reason)) = SUSPICIOUS_NAMES.iter().find(|(n, _)| *n == norm) {
        return Some(reason);
    }
    // address_1, address_line_1, address1, addressline2 …
    let rest = norm.strip_prefix("address")?;
    let rest = rest.trim_start_matches('_');
    let rest = rest
        .strip_prefix("line")
        .unwrap_or(rest)
        .trim_start_matches('_');
    (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())).then_some("address")
}

fn normalise_column_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.trim().trim_start_matches('\u{feff}').chars() {
        if c.is_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        match c {
            ' ' | '-' | '.' | '_' => {
                if !out.ends_with('_') {
                    out.push('_');
                }
            }
            _ => out.extend(c.to_lowercase()),
        }
    }
    out.trim_matches('_').to_string()
}

/// Scans one column's values and reports it if it appears to hold direct identifiers.
///
/// Empty (whitespace-only) values and 64-hex tokens are ignored. The column is reported as
///
/// * **NHS numbers** when at least one value [`is_valid_nhs_number`] *and* valid numbers are
///   at least half of the values shaped like NHS numbers (10 digits, optionally 3-3-4). A
///   column of real NHS numbers passes the check 100% of the time, whereas arbitrary
///   10-digit references pass about 9% of the time, so this refuses even a single leaked
///   NHS number but not, say, a column of 10-digit case numbers.
/// * **postcodes** when at least half of the non-empty values [`looks_like_uk_postcode`].
///
/// NHS numbers are checked first. `None` means nothing was found (or the column is empty).
pub fn scan_column<'a>(values: impl Iterator<Item = &'a str>) -> Option<IdentifierFinding> {
    let mut non_empty = 0usize;
    let mut nhs_shaped = 0usize;
    let mut nhs_valid = 0usize;
    let mut first_nhs = None;
    let mut postcodes = 0usize;
    let mut first_postcode = None;
    for (index, value) in values.enumerate() {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        non_empty += 1;
        if looks_like_token(value) {
            continue;
        }
        if nhs_shaped_value(value) {
            nhs_shaped += 1;
            if is_valid_nhs_number(value) {
                nhs_valid += 1;
                first_nhs.get_or_insert(index);
            }
        } else if looks_like_uk_postcode(value) {
            postcodes += 1;
            first_postcode.get_or_insert(index);
        }
    }
    if let Some(row) = first_nhs
        && nhs_valid * 2 >= nhs_shaped
    {
        return Some(IdentifierFinding {
            kind: IdentifierKind::NhsNumber,
            example_row: row,
            matches: nhs_valid,
            non_empty,
            message: format!(
                "column holds NHS numbers: {nhs_valid} of {non_empty} non-empty values pass \
                 the modulus-11 check (first at row index {row})"
            ),
        });
    }
    if let Some(row) = first_postcode
        && postcodes * 2 >= non_empty
    {
        return Some(IdentifierFinding {
            kind: IdentifierKind::Postcode,
            example_row: row,
            matches: postcodes,
            non_empty,
            message: format!(
                "column holds full UK postcodes: {postcodes} of {non_empty} non-empty values \
                 look like postcodes (first at row index {row})"
            ),
        });
    }
    None
}

/// 10 digits, or 3-3-4 digits separated by single spaces or hyphens.
fn nhs_shaped_value(s: &str) -> bool {
    let b = s.as_bytes();
    match b.len() {
        10 => b.iter().all(u8::is_ascii_digit),
        12 => b.iter().enumerate().all(|(i, c)| match i {
            3 | 7 => *c == b' ' || *c == b'-',
            _ => c.is_ascii_digit(),
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_number_detection() {
        assert!(is_valid_nhs_number("9434765919"));
        assert!(is_valid_nhs_number("943 476 5919"));
        assert!(is_valid_nhs_number("943-476-5919"));
        assert!(is_valid_nhs_number(" 4010232137 "));
        assert!(!is_valid_nhs_number("9434765918"));
        assert!(!is_valid_nhs_number("9434765960")); // check value 10
        assert!(!is_valid_nhs_number("94347 65919"));
        assert!(!is_valid_nhs_number("943 476-5919"));
        assert!(!is_valid_nhs_number("943476591"));
        assert!(!is_valid_nhs_number("94347659190"));
        assert!(!is_valid_nhs_number("943476591a"));
        assert!(!is_valid_nhs_number(""));
    }

    #[test]
    fn postcode_detection() {
        for yes in [
            "SW1A 1AA",
            "LN1 3DY",
            "PE21 6JY",
            "M1 1AE",
            "B33 8TH",
            "CR2 6XH",
            "DN55 1PT",
            "W1A 0AX",
            "EC1A 1BB",
            "sw1a1aa",
            " pe21  6jy ",
            "GIR 0AA",
        ] {
            assert!(looks_like_uk_postcode(yes), "{yes:?} should match");
        }
        for no in [
            "",
            "SW1A",       // district only
            "E01000001",  // LSOA code
            "E09000033",  // LAD code
            "1AA SW1",    // reversed
            "SW1A 1CA",   // C never in the inward code
            "QA1 1AA",    // Q never first
            "AZ1 1AA",    // Z never second
            "SW1 A1AA",   // space in the wrong place
            "SW1A 1AA X", // trailing junk
            "knife_or_sharp",
            "2024-01-05",
            "9434765919",
        ] {
            assert!(!looks_like_uk_postcode(no), "{no:?} should not match");
        }
    }

    #[test]
    fn suspicious_names() {
        for (name, reason) in [
            ("name", "personal name"),
            ("Forename", "personal name"),
            ("SURNAME", "personal name"),
            ("first_name", "personal name"),
            ("firstName", "personal name"),
            ("Last Name", "personal name"),
            ("full-name", "personal name"),
            ("DOB", "date of birth"),
            ("DateOfBirth", "date of birth"),
            ("birth_date", "date of birth"),
            ("NHS Number", "NHS number"),
            ("nhs_number", "NHS number"),
            ("\u{feff}postcode", "postcode"),
            ("Post Code", "postcode"),
            ("address", "address"),
            ("Address Line 1", "address"),
            ("address2", "address"),
        ] {
            assert_eq!(suspicious_column_name(name), Some(reason), "{name:?}");
        }
        for ok in [
            "person_id",
            "offence_id",
            "offence_name",
            "school_name",
            "postcode_district",
            "home_lsoa",
            "age",
            "addressee_type",
            "date",
        ] {
            assert_eq!(suspicious_column_name(ok), None, "{ok:?}");
        }
    }

    #[test]
    fn scan_flags_nhs_numbers_without_echoing_them() {
        let values = ["", "9434765919", "943 476 5919", "4010232137"];
        let finding = scan_column(values.into_iter()).unwrap();
        assert_eq!(finding.kind, IdentifierKind::NhsNumber);
        assert_eq!(finding.example_row, 1);
        assert_eq!(finding.matches, 3);
        assert_eq!(finding.non_empty, 3);
        assert!(finding.message.contains("NHS numbers"));
        assert!(finding.message.contains("row index 1"));
        assert!(!finding.message.contains("9434765919"));
        assert!(!finding.message.contains("4010232137"));
    }

    #[test]
    fn scan_flags_a_single_leaked_nhs_number_among_text() {
        let values = ["a", "b", "c", "9434765919", "d"];
        let finding = scan_column(values.into_iter()).unwrap();
        assert_eq!(finding.kind, IdentifierKind::NhsNumber);
        assert_eq!(finding.example_row, 3);
    }

    #[test]
    fn scan_ignores_tokens_and_arbitrary_ten_digit_references() {
        let token = "d073d0213d77a36c6e9422f8523982795fe6f4e40062bb7056828ea2d67735dc";
        assert_eq!(scan_column([token, token, ""].into_iter()), None);
        // Ten 10-digit references of which one happens to pass mod 11.
        let refs = [
            "1000000000",
            "1000000001",
            "1000000002",
            "1000000003",
            "1000000004",
            "1000000005",
            "1000000006",
            "1000000007",
            "1000000008",
            "1000000010",
        ];
        let valid = refs.iter().filter(|r| is_valid_nhs_number(r)).count();
        assert!(valid >= 1 && valid * 2 < refs.len(), "valid = {valid}");
        assert_eq!(scan_column(refs.into_iter()), None);
        assert_eq!(scan_column(std::iter::empty()), None);
    }

    #[test]
    fn scan_flags_postcode_columns_by_share() {
        let mostly = ["SW1A 1AA", "LN1 3DY", "", "unknown", "PE21 6JY"];
        let finding = scan_column(mostly.into_iter()).unwrap();
        assert_eq!(finding.kind, IdentifierKind::Postcode);
        assert_eq!(finding.example_row, 0);
        assert_eq!(finding.matches, 3);
        assert_eq!(finding.non_empty, 4);
        assert!(!finding.message.contains("SW1A"));

        let few = ["SW1A 1AA", "street", "home", "school"];
        assert_eq!(scan_column(few.into_iter()), None);
        let districts = ["SW1A", "LN1", "PE21"];
        assert_eq!(scan_column(districts.into_iter()), None);
    }
}
