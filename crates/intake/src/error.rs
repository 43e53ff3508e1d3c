use thiserror::Error;

/// Intake failures; each names the file (and line where there is one). A variant with a
/// cause says it in its message and keeps it as its `source()` too, typed, so callers can
/// inspect it; the binary prints each cause once.
#[derive(Debug, Error)]
pub enum IntakeError {
    #[error(transparent)]
    Storage(#[from] svna_storage::StorageError),
    #[error(transparent)]
    Contract(#[from] svna_contracts::ContractError),
    #[error(transparent)]
    Name(#[from] svna_contracts::NameError),
    #[error(
        "`{path}`: gave up committing after {attempts} attempts, each beaten by another command; nothing of this command was committed: run it again"
    )]
    Contention { path: String, attempts: usize },
    #[error(
        "linkage-key fingerprint {fingerprint:?} is not 16 lowercase hex characters; print the right one with `svna key fingerprint KEYFILE`"
    )]
    Fingerprint { fingerprint: String },
    #[error(
        "the partnership's linkage key is already registered as {registered}; to replace it with {requested}, run `svna key register` again with --replace"
    )]
    KeyRegistered {
        registered: String,
        requested: String,
    },
    #[error("{what} `{id}` is not in any staged manifest; `svna status --store S` lists them")]
    NotStaged { what: &'static str, id: String },
    #[error("{file}: cannot read CSV at line {line}: {source}")]
    Csv {
        file: String,
        line: u64,
        #[source]
        source: csv::Error,
    },
    /// A file that cannot be read as lines of text (a wrong encoding, a runaway line): the
    /// validator's own words, with no error beneath them.
    #[error("{file}: cannot read CSV at line {line}: {reason}")]
    Unreadable {
        file: String,
        line: u64,
        reason: String,
    },
    #[error("{file}: the file is empty (no header row)")]
    Empty { file: String },
    #[error("{file}: header does not match contract `{dataset}`: {problems}")]
    Header {
        file: String,
        dataset: String,
        problems: String,
    },
    #[error(
        "{file}: refused: column `{column}` looks like it holds direct identifiers: {reason}. Pseudonymise or remove it before sending (svna pseudonymise)"
    )]
    DirectIdentifier {
        file: String,
        column: String,
        reason: String,
    },
    /// `action` is `read` or `write`.
    #[error("{file}: cannot {action} staged Parquet: {source}")]
    Parquet {
        file: String,
        action: &'static str,
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// The typed rows of a staged Parquet file (`action` `read` or `write`).
    #[error("{file}: cannot {action} staged Parquet: {source}")]
    Arrow {
        file: String,
        action: &'static str,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("staged dataset `{dataset}` (load {load_id}): cannot list it in deliveries: {message}")]
    Deliveries {
        dataset: String,
        load_id: String,
        message: String,
    },
    #[error(
        "period `{period}`: {problem}; write it as YYYY-MM-DD..YYYY-MM-DD, e.g. 2023-01-01..2023-12-31"
    )]
    Period { period: String, problem: String },
    #[error("{file}: not loaded: {missing}")]
    MissingReference {
        file: String,
        missing: crate::cross_file::MissingReference,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A local file's upload into the store, in parts.
    #[error("{file}: {source}")]
    Upload {
        file: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{file}: {source}")]
    RejectsCsv {
        file: String,
        #[source]
        source: csv::Error,
    },
    /// The task reading the extract panicked or was cancelled.
    #[error("{file}: {source}")]
    Reader {
        file: String,
        #[source]
        source: tokio::task::JoinError,
    },
    /// The task writing staged Parquet stopped taking rows (its own error is returned).
    #[error("{file}: Parquet writer stopped")]
    WriterStopped { file: String },
    #[error(
        "{file}: file names may hold only A-Z, a-z, 0-9, '.', '-' and '_' (and not be `manifest.json`): rename the file and upload again"
    )]
    FileName { file: String },
}
