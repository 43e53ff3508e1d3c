//! svna data contracts: the machine-readable form of the partner data-sharing specification.
//!
//! The contracts live in `contracts/v1.toml` at the repository root and are embedded at build
//! time, so every part of svna (schemas, validation, synthetic data, staging) reads one
//! definition of each dataset. This crate does no I/O: it turns contract text into
//! [`Dataset`]s, Arrow schemas, header mappings and typed values.

mod dataset;
mod error;
mod formats;
mod header;
mod names;
mod typed_batch;
mod value;

pub use dataset::{Column, ColumnType, Contracts, Dataset, DatasetKind, Reference, Suppression};
pub use error::{ContractError, HeaderProblem, Rule, Violation};
pub use header::HeaderMap;
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
