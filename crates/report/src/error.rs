use thiserror::Error;

/// Why a report could not be written. Each names the release or file involved.
#[derive(Debug, Error)]
pub enum ReportError {
    #[error("reading the release: {0}")]
    Storage(#[from] svna_storage::StorageError),
    #[error("`{path}` is not a valid release manifest: {source}")]
    Manifest {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "`{path}` does not match the release manifest (expected SHA-256 {expected}, found {actual}): refusing to report from a changed file"
    )]
    Tampered {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("`{path}` is not a readable published CSV table: {source}")]
    Table {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error(
        "`{path}` is not a readable published CSV table: dimension column `{column}` named by the manifest is missing"
    )]
    MissingDimension { path: String, column: String },
    #[error("writing `{path}`: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
