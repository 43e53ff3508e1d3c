//! Typed errors. Every failure names the table, cell or identity involved so the
//! caller (the `svna protect` / `svna audit` CLIs) can report it without guessing.

use thiserror::Error;

/// Errors raised while building, protecting or auditing a release.
#[derive(Debug, Error)]
pub enum DisclosureError {
    /// A cell's coordinate list does not match the table's dimensions.
    #[error("table `{table}`: cell has {got} coordinates, table has {expected} dimensions")]
    Arity {
        /// Table name.
        table: String,
        /// Number of dimensions declared.
        expected: usize,
        /// Number of coordinates given.
        got: usize,
    },
    /// A code is neither the root nor a child in the dimension's hierarchy.
    #[error("table `{table}`: code `{code}` is not in the hierarchy of dimension `{dim}`")]
    UnknownCode {
        /// Table name.
        table: String,
        /// Dimension name.
        dim: String,
        /// Offending code.
        code: String,
    },
    /// The child→parent map has a cycle or does not reach the root.
    #[error("dimension `{dim}`: hierarchy is not a tree rooted at `{root}` (at code `{code}`)")]
    BadHierarchy {
        /// Dimension name.
        dim: String,
        /// Declared root.
        root: String,
        /// Code where the walk failed.
        code: String,
    },
    /// Two dimensions of one table share a name.
    #[error("table `{table}`: dimension `{dim}` declared twice")]
    DuplicateDimension {
        /// Table name.
        table: String,
        /// Dimension name.
        dim: String,
    },
    /// The same cell was inserted twice into one table.
    #[error("table `{table}`: duplicate cell {coords:?}")]
    DuplicateCell {
        /// Table name.
        table: String,
        /// Coordinates.
        coords: Vec<String>,
    },
    /// Two tables of a release hold the same quantity with different values.
    #[error(
        "cell {identity} has value {value_a:?} in table `{table_a}` but {value_b:?} in table `{table_b}`"
    )]
    ConflictingValues {
        /// Human-readable identity of the shared quantity.
        identity: String,
        /// First table.
        table_a: String,
        /// Its value (`None` = partner-suppressed).
        value_a: Option<u64>,
        /// Second table.
        table_b: String,
        /// Its value.
        value_b: Option<u64>,
    },
    /// A total does not equal the sum of its parts (or is below the known parts).
    #[error("total {identity} = {total} but its parts sum to {parts} (table `{table}`)")]
    InconsistentTotal {
        /// Identity of the total.
        identity: String,
        /// Table where the relation was declared.
        table: String,
        /// Total's value.
        total: u64,
        /// Sum of the known parts.
        parts: u64,
    },
    /// A forced-withheld cell named by the caller does not exist.
    #[error("forced cell {coords:?} not found in table `{table}`")]
    UnknownForcedCell {
        /// Table name.
        table: String,
        /// Coordinates.
        coords: Vec<String>,
    },
    /// Invalid option (e.g. rounding base 0).
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// CSV input could not be parsed.
    /// The CSV reader's own error (bad quoting, not UTF-8).
    #[error("csv line {line}: {source}")]
    CsvRead {
        /// 1-based line number (0 where the reader knows none).
        line: usize,
        #[source]
        source: csv::Error,
    },
    #[error("csv line {line}: {message}")]
    Csv {
        /// 1-based line number.
        line: usize,
        /// What went wrong.
        message: String,
    },
    /// A dimension's margin (total code) is missing, ambiguous or does not add up.
    #[error("table `{table}`, dimension `{dim}`: {message}")]
    Margin {
        /// Table name.
        table: String,
        /// Dimension name.
        dim: String,
        /// What is wrong, with the evidence.
        message: String,
    },
    /// The LP/MILP solver failed in a way that leaves the result unproven.
    #[error("solver failure: {0}")]
    Solver(String),
    /// The LP/MILP solver refused or failed a problem about one cell.
    #[error("solver failure: {task} of {cell}: {source}")]
    SolverFailed {
        /// What was being solved (`audit`, `repair`).
        task: &'static str,
        /// The identity of the cell the problem was about.
        cell: String,
        /// The solver's error.
        #[source]
        source: microlp::Error,
    },
}

/// Crate result alias.
pub type Result<T> = std::result::Result<T, DisclosureError>;
