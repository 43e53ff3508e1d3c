//! svna data contracts: the machine-readable form of the partner data-sharing specification.
//!
//! The contracts live in `contracts/v1.toml` at the repository root and are embedded at build
//! time, so every part of svna (schemas, validation, synthetic data, staging) reads one
//! definition of each dataset. This crate opens no files: it turns contract text into
//! [`Dataset`]s, Arrow schemas, header mappings and typed values, and validates a CSV
//! extract read from any [`std::io::Read`] ([`read_extract`]), the one validation path of
//! `svna validate`, `svna upload` and the hub's intake.

mod dataset;
mod error;
mod extract;
mod formats;
mod header;
mod ho_codes;
mod names;
mod typed_batch;
mod value;

pub use dataset::{
    Column, ColumnType, Contracts, DEFAULT_TEXT_MAX_LEN, Dataset, DatasetKind, MATCH_KEYS_SINCE,
    Order, Reference, Suppression,
};
pub use error::{
    ContractError, HeaderProblem, MAX_ECHO_CHARS, MAX_LISTED_PROBLEMS, PSEUDONYMISE_ADVICE, Rule,
    Violation, clip, describe_header_problems,
};
pub use extract::{
    BadEncoding, ExtractError, ExtractReader, MAX_LINE_BYTES, Rejection, RowCounts, read_extract,
    read_extract_with_rule, validate_extract,
};
pub use header::HeaderMap;
pub use ho_codes::{HO_OFFENCE_CODES_TXT, is_known_ho_code};
pub use names::{MAX_NAME_LEN, NameError, NameKind, check_name};
pub use typed_batch::TypedBatchBuilder;
pub use value::{Value, days_since_epoch};

use std::sync::OnceLock;

/// The contract text shipped with this build of svna.
pub const CONTRACTS_V1_TOML: &str = include_str!("../../../contracts/v1.toml");

/// The version-1 contracts, parsed once. Parsing the embedded text cannot fail at run time
/// because a unit test parses it on every build.
pub fn v1() -> &'static Contracts {
    static CONTRACTS: OnceLock<Contracts> = OnceLock::new();
    CONTRACTS.get_or_init(|| {
        Contracts::from_toml(CONTRACTS_V1_TOML).expect("embedded contracts/v1.toml is valid")
    })
}
