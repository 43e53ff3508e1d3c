use thiserror::Error;

/// Intake failures; each names the file (and line where there is one).
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
    #[error("{file}: cannot read CSV at line {line}: {message}")]
    Csv {
        file: String,
        line: u64,
        message: String,
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
    #[error("{file}: cannot write staged Parquet: {message}")]
    Parquet { file: String, message: String },
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
    #[error("{file}: {message}")]
    Io { file: String, message: String },
}
