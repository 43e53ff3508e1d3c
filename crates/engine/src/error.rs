use thiserror::Error;

/// Engine failures, each naming the pipeline file, stage or table involved. A variant with
/// a cause says it in its message (the run record keeps only the message) and keeps it as its
/// `source()` too, so callers can inspect it; the binary prints each cause once.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("pipeline file {file}: {source}")]
    PipelineRead {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline file {file}: {source}")]
    PipelineToml {
        file: String,
        /// Boxed, as in `Disclosure`.
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("pipeline file {file}: stage `{stage}`: cannot read SQL file {}: {source}", sql_file.display())]
    SqlFile {
        file: String,
        stage: String,
        sql_file: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "pipeline file {file}: stage `{stage}` is an aggregate output without a `disclosure` policy"
    )]
    NoDisclosure { file: String, stage: String },
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
    #[error("stage `{stage}` ({file}): {source}")]
    Sql {
        stage: String,
        file: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error(
        "stage `{stage}` ({file}): stage SQL must be one read-only query (SELECT or WITH), not `{kind} ...`"
    )]
    NotAQuery {
        stage: String,
        file: String,
        kind: String,
    },
    #[error("stage `{stage}` ({file}): test `{test}`: {source}")]
    TestSql {
        stage: String,
        file: String,
        test: String,
        #[source]
        source: datafusion::error::DataFusionError,
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
    #[error(
        "pipeline file {file}, line {line}: stage `{stage}`'s `disclosure` has `{keys}`, which no disclosure setting is called; check the spelling against README's pipeline reference"
    )]
    DisclosureUnknownKeys {
        file: String,
        stage: String,
        line: usize,
        keys: String,
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
    #[error("source `{source_name}`: cannot read the staged manifest of `{dataset}`: {source}")]
    StagedManifest {
        source_name: String,
        dataset: String,
        /// Boxed: storage errors are large, and every engine result carries this enum.
        #[source]
        source: Box<svna_storage::StorageError>,
    },
    #[error("source `{source_name}`: {source}")]
    Contract {
        source_name: String,
        #[source]
        source: svna_contracts::ContractError,
    },
    #[error("table `{table}`: {source}")]
    Table {
        table: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("cannot start the query runtime: {source}")]
    Runtime {
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error("a DATAFUSION_* environment variable is invalid: {source}")]
    Environment {
        #[source]
        source: datafusion::error::DataFusionError,
    },
    #[error(transparent)]
    Storage(#[from] svna_storage::StorageError),
    /// A setting given as text that is not valid (a memory limit): there is no cause beyond it.
    #[error("{0}")]
    Config(String),
    #[error("`{address}` is not a cluster address: {reason}")]
    ClusterAddress { address: String, reason: String },
    #[error(
        "no Ballista scheduler answers at {address} ({source}): start one with `svna cluster \
         scheduler` and at least one `svna cluster executor`, or run without --cluster"
    )]
    ClusterUnreachable {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open a session on the cluster at {address}: {source}")]
    Cluster {
        address: String,
        #[source]
        source: datafusion::error::DataFusionError,
    },
}
