//! The Home Office offence codes a `ho_code` column accepts.
//!
//! The format check ([`crate::formats::is_ho_code`]) lets `8Z` through; only the list says it
//! is no code. The list is a file beside the contract, embedded at build time like the
//! contract itself, so the validator on a partner's machine and at the hub agree.

use std::collections::HashSet;
use std::sync::OnceLock;

/// `contracts/ho_offence_codes.txt`: one code per line, `#` comments.
pub const HO_OFFENCE_CODES_TXT: &str = include_str!("../../../contracts/ho_offence_codes.txt");

fn known() -> &'static HashSet<&'static str> {
    static CODES: OnceLock<HashSet<&'static str>> = OnceLock::new();
    CODES.get_or_init(|| {
        HO_OFFENCE_CODES_TXT
            .lines()
            .map(|line| line.split('#').next().unwrap_or("").trim())
            .filter(|code| !code.is_empty())
            .collect()
    })
}

/// True if `code` is in the Home Office offence code list.
pub fn is_known_ho_code(code: &str) -> bool {
    known().contains(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::is_ho_code;

    #[test]
    fn every_listed_code_has_the_code_format() {
        assert!(known().len() > 100);
        for code in known() {
            assert!(is_ho_code(code), "{code}");
        }
    }

    #[test]
    fn codes_of_the_right_shape_but_not_listed_are_unknown() {
        for ok in ["1", "4/1", "5D", "8N", "34A", "10A", "49", "105A"] {
            assert!(is_known_ho_code(ok), "{ok}");
        }
        for unknown in ["8Z", "4/99", "999", "34Z"] {
            assert!(
                is_ho_code(unknown) && !is_known_ho_code(unknown),
                "{unknown}"
            );
        }
    }

    /// The SQL's serious-violence definitions select offences by code: a code there that
    /// the validator refuses would make its category silently empty.
    #[test]
    fn every_serious_violence_definition_code_is_known() {
        let definitions = include_str!("../../../definitions/sv_offence_codes.csv");
        for line in definitions.lines().skip(1).filter(|l| !l.trim().is_empty()) {
            let code = line.split(',').next().unwrap();
            assert!(
                is_known_ho_code(code),
                "definitions code {code} is not listed"
            );
        }
    }
}
