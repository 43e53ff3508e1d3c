use thiserror::Error;

/// Engine failures, each naming the pipeline file, stage or table involved.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("pipeline file {file}: {message}")]
    Pipeline { file: String, message: String },
    #[error(
        "pipeline `{pipeline}`: stage `{stage}` needs `{need}`, which is neither a source nor a stage of the pipeline"
    )]
    UnknownNeed {
        pipeline: String,
        stage: String,
        need: String,
    },
    #[error("pipeline `{pipeline}`: stages depend on each other in a cycle: {cycle}")]
    Cycle { pipeline: String, cycle: String },
    #[error(
        "pipeline `{pipeline}`: the name `{name}` is used twice (sources and stages share one namespace)"
    )]
    DuplicateName { pipeline: String, name: String },
    #[error("pipeline `{pipeline}`: no stage named `{stage}`")]
    UnknownStage { pipeline: String, stage: String },
    #[error(
        "stage `{stage}` ({file}) reads `{table}`, which is not in its `needs` ({needs}); add it to `needs` or fix the SQL"
    )]
    UnknownTable {
        stage: String,
        file: String,
        table: String,
        needs: String,
    },
    #[error("stage `{stage}` ({file}): {message}")]
    Sql {
        stage: String,
        file: String,
        message: String,
    },
    #[error(
        "source `{source_name}`: no staged data for dataset `{dataset}`; load it first (svna load)"
    )]
    MissingSource {
        source_name: String,
        dataset: String,
    },
    #[error("stage `{stage}`: test `{test}` failed: it returned {rows} row(s), expected none")]
    TestFailed {
        stage: String,
        test: String,
        rows: usize,
    },
    #[error(
        "pipeline file {file}, line {line}: stage `{stage}` has an invalid `disclosure`: {source}"
    )]
    Disclosure {
        file: String,
        stage: String,
        line: usize,
        /// Boxed: a TOML error is large, and every engine result carries this enum.
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("pipeline file {file}: {source}")]
    StageName {
        file: String,
        #[source]
        source: svna_contracts::NameError,
    },
    #[error(
        "the spill directory {} lies inside the local store {}: spill files hold row-level data (person tokens) and would be left there if the run is killed; use a directory outside the store (e.g. the default, the OS temporary directory)",
        spill_dir.display(),
        store_root.display()
    )]
    SpillInsideStore {
        spill_dir: std::path::PathBuf,
        store_root: std::path::PathBuf,
    },
    #[error("cannot check the spill directory {}", spill_dir.display())]
    SpillDir {
        spill_dir: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Storage(#[from] svna_storage::StorageError),
    #[error("{0}")]
    Config(String),
}
