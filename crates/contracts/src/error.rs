use thiserror::Error;

/// Errors in the contract definitions themselves (not in data).
#[derive(Debug, Error)]
pub enum ContractError {
    #[error("contract file is not valid TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("contract dataset `{dataset}`: {message}")]
    Invalid { dataset: String, message: String },
    #[error("unknown dataset `{name}`; known datasets: {known}")]
    UnknownDataset { name: String, known: String },
}

/// The rule a value broke. Stable, machine-readable names (used in `--json` output and
/// rejection files), so they are part of svna's interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    Required,
    Token,
    Date,
    Timestamp,
    Integer,
    Float,
    Boolean,
    Range,
    Enum,
    LsoaCode,
    LadCode,
    Month,
    Quarter,
    HoCode,
    Unique,
    Reference,
    SuppressionFlag,
    /// A value that looks like a direct identifier (NHS number, postcode): refuses the file.
    Identifier,
    /// A value longer than its column allows.
    Length,
    /// A cross-field rule `earlier <= later` broken within a row.
    Order,
    /// A line break, tab or other control character inside a text value.
    ControlCharacter,
}

impl Rule {
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Required => "required",
            Rule::Token => "token",
            Rule::Date => "date",
            Rule::Timestamp => "timestamp",
            Rule::Integer => "integer",
            Rule::Float => "float",
            Rule::Boolean => "boolean",
            Rule::Range => "range",
            Rule::Enum => "enum",
            Rule::LsoaCode => "lsoa_code",
            Rule::LadCode => "lad_code",
            Rule::Month => "month",
            Rule::Quarter => "quarter",
            Rule::HoCode => "ho_code",
            Rule::Unique => "unique",
            Rule::Reference => "reference",
            Rule::SuppressionFlag => "suppression_flag",
            Rule::Identifier => "identifier",
            Rule::Length => "length",
            Rule::Order => "order",
            Rule::ControlCharacter => "control_character",
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One value that broke one rule. The caller adds file and line; the column is known here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub column: String,
    pub rule: Rule,
    pub message: String,
}

/// A problem with a file's header row, found before any data row is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderProblem {
    Missing { column: String },
    Unknown { column: String },
    Duplicate { column: String },
}

impl std::fmt::Display for HeaderProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderProblem::Missing { column } => write!(f, "missing column `{column}`"),
            HeaderProblem::Unknown { column } => {
                write!(
                    f,
                    "unknown column `{}` (extra columns are refused, not dropped)",
                    clip(column)
                )
            }
            HeaderProblem::Duplicate { column } => {
                write!(f, "column `{}` appears twice", clip(column))
            }
        }
    }
}

/// What to do about a direct identifier, ending every message that reports one.
pub const PSEUDONYMISE_ADVICE: &str =
    "a direct identifier: pseudonymise or remove it before sending (svna pseudonymise)";

/// The most header problems spelled out in one message; the rest are counted. A header of
/// thousands of stray columns must not make a message of thousands of lines.
pub const MAX_LISTED_PROBLEMS: usize = 6;

/// The header problems as one `; `-separated list, at most [`MAX_LISTED_PROBLEMS`] of them.
pub fn describe_header_problems(problems: &[HeaderProblem]) -> String {
    let mut listed: Vec<String> = problems
        .iter()
        .take(MAX_LISTED_PROBLEMS)
        .map(|p| p.to_string())
        .collect();
    if problems.len() > MAX_LISTED_PROBLEMS {
        listed.push(format!("and {} more", problems.len() - MAX_LISTED_PROBLEMS));
    }
    listed.join("; ")
}

/// The most characters of a partner's value (or header name) echoed in a message. Messages
/// are stored in manifests and rejection files and re-read by every later command, so a
/// 100 MB field must not become a 100 MB reason.
pub const MAX_ECHO_CHARS: usize = 80;

/// `text` cut to [`MAX_ECHO_CHARS`] characters, with `…` where it was cut.
pub fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_character() {
        assert_eq!(clip("site"), "site");
        let exact = "é".repeat(MAX_ECHO_CHARS);
        assert_eq!(clip(&exact), exact);
        let long = "é".repeat(MAX_ECHO_CHARS + 1);
        let cut = clip(&long);
        assert_eq!(cut.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
