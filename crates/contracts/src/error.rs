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
                    "unknown column `{column}` (extra columns are refused, not dropped)"
                )
            }
            HeaderProblem::Duplicate { column } => write!(f, "column `{column}` appears twice"),
        }
    }
}
