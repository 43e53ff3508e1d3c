//! Names that become parts of object paths: partner ids, release names, stage names.
//!
//! A name is a single path segment an outsider may also read in a published file, so it must
//! not escape its prefix (`..`, `/`), need percent-encoding (which object stores apply
//! differently on write and on read), or start a spreadsheet formula. One rule serves every
//! kind of name so that what `upload` accepts, `intake`, `run` and `publish` accept too.

/// What a name names, for the message that refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Partner,
    Release,
    Stage,
    Dataset,
}

impl NameKind {
    pub fn label(self) -> &'static str {
        match self {
            NameKind::Partner => "partner id",
            NameKind::Release => "release name",
            NameKind::Stage => "stage name",
            NameKind::Dataset => "dataset name",
        }
    }
}

/// The longest name accepted: long enough for `county-sna-2026-q3-revised`, short enough to
/// keep every path well inside object-store key limits.
pub const MAX_NAME_LEN: usize = 64;

/// Why a name was refused, worded as what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{} {name:?} is not allowed: {reason}; use 1 to {MAX_NAME_LEN} characters from a-z, 0-9, \
     '-' and '_', starting with a letter or digit",
    kind.label()
)]
pub struct NameError {
    pub kind: NameKind,
    pub name: String,
    pub reason: &'static str,
}

/// Checks a name against the one rule: lowercase ASCII letters, digits, `-` and `_`, starting
/// with a letter or digit, 1 to [`MAX_NAME_LEN`] characters. Uppercase is refused rather than
/// folded so that `Police` and `police` can never be two partners on a case-insensitive store.
pub fn check_name(kind: NameKind, name: &str) -> Result<(), NameError> {
    let refuse = |reason| {
        Err(NameError {
            kind,
            name: name.chars().take(MAX_NAME_LEN + 8).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return refuse("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return refuse("it is too long");
    }
    if name.contains('/') || name.contains('\\') || name.contains("..") {
        return refuse("it contains a path separator or '..'");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
    {
        return refuse("it contains a character other than a-z, 0-9, '-' or '_'");
    }
    if !name.as_bytes()[0].is_ascii_alphanumeric() {
        return refuse("it does not start with a letter or digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in ["police", "ed", "youth_justice", "sna-2026", "2026q3", "a"] {
            assert_eq!(check_name(NameKind::Partner, name), Ok(()), "{name}");
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        let too_long = "a".repeat(MAX_NAME_LEN + 1);
        for name in [
            "",
            "../escape",
            "/abs/rel",
            "..",
            "a/b",
            "a\\b",
            "polícia",
            "quote\"d",
            "police#2",
            "pct%41",
            "@SUM(1+1)",
            "=1+2",
            "-rf",
            "_hidden",
            "Police",
            "with space",
            "tab\there",
            too_long.as_str(),
        ] {
            let refused = check_name(NameKind::Release, name);
            assert!(refused.is_err(), "{name:?} was accepted");
        }
    }

    #[test]
    fn the_refusal_names_the_kind_and_what_to_do() {
        let message = check_name(NameKind::Stage, "../../planted/evil")
            .unwrap_err()
            .to_string();
        assert!(
            message.starts_with("stage name \"../../planted/evil\""),
            "{message}"
        );
        assert!(message.contains("a-z, 0-9"), "{message}");
    }
}
