use thiserror::Error;

/// Storage failures, each naming the store location involved.
#[derive(Debug, Error)]
pub enum StorageError {
    #[error("`{location}` is not a usable store location: {reason}")]
    InvalidLocation { location: String, reason: String },
    /// The location parses but object_store cannot open it (unknown scheme, a builder
    /// refusing its URL or environment).
    #[error("`{location}` is not a usable store location: {source}")]
    UnusableLocation {
        location: String,
        #[source]
        source: object_store::Error,
    },
    #[error("`{location}` is not a usable store location: {action}: {source}")]
    LocalDirectory {
        location: String,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{op} `{path}` failed: {source}")]
    ObjectStore {
        op: &'static str,
        path: String,
        #[source]
        source: object_store::Error,
    },
    /// A local file being copied into the store could not be read.
    #[error("{}: {source}", file.display())]
    LocalFile {
        file: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` does not exist in the store")]
    NotFound { path: String },
    #[error("refusing to write `{path}`: this command writes only under {allowed}")]
    OutsideZone { path: String, allowed: String },
    #[error("`{path}` already exists; svna never overwrites it")]
    AlreadyExists { path: String },
    #[error("cannot write Parquet `{path}`: {source}")]
    Parquet {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("`{path}` is not valid JSON for {what}: {source}")]
    Json {
        path: String,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl StorageError {
    pub(crate) fn from_store(op: &'static str, path: &str, source: object_store::Error) -> Self {
        match source {
            object_store::Error::NotFound { .. } => StorageError::NotFound {
                path: path.to_string(),
            },
            object_store::Error::AlreadyExists { .. } => StorageError::AlreadyExists {
                path: path.to_string(),
            },
            source => StorageError::ObjectStore {
                op,
                path: path.to_string(),
                source,
            },
        }
    }
}
