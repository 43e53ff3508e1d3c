use thiserror::Error;

/// Why a release was refused or failed. Each names the run, table, column or file.
#[derive(Debug, Error)]
pub enum PublishError {
    #[error("run `{run_id}` did not finish (status {status}); only finished runs are published")]
    RunNotFinished { run_id: String, status: String },
    #[error(
        "`{path}` no longer matches the run record (expected SHA-256 {expected}, found {actual}): refusing to publish a changed file"
    )]
    Tampered {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("stage `{stage}` is marked row-level; row-level outputs are never published")]
    RowLevel { stage: String },
    #[error(
        "table `{table}`: column `{column}` {reason}; person and offence tokens, and values computed from them, are never published: count them (count(DISTINCT person_id)) instead"
    )]
    TokenColumn {
        table: String,
        column: String,
        reason: String,
    },
    #[error(
        "table `{table}`: column `{column}` is neither a declared dimension nor a protected count; derived values must be computed after protection"
    )]
    UnexpectedColumn { table: String, column: String },
    #[error("table `{table}`: declared column `{column}` is missing from the output")]
    MissingColumn { table: String, column: String },
    #[error("table `{table}`, column `{column}`, row {row}: {message}")]
    BadValue {
        table: String,
        column: String,
        row: usize,
        message: String,
    },
    #[error("table `{table}`, column `{column}`: cannot read as {to}: {source}")]
    Cast {
        table: String,
        column: String,
        to: arrow_schema::DataType,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error(
        "stage `{stage}` declares the `open` policy (no suppression) but reads `{source_name}` (dataset `{dataset}`), which is not public data; only tables computed from open and reference data may be published unsuppressed"
    )]
    OpenPolicyOnPartnerData {
        stage: String,
        source_name: String,
        dataset: String,
    },
    #[error(
        "table `{table}`, column `{column}`: the count {value} would be published but the policy forbids it"
    )]
    ForbiddenCount {
        table: String,
        column: String,
        value: u64,
    },
    #[error(
        "tables `{first}` and `{second}` count the same measure `{measure}` under different disclosure policies; shared cells need one policy"
    )]
    PolicyConflict {
        measure: String,
        first: String,
        second: String,
    },
    #[error(
        "table `{table}` measures count `{count}` as `{measure}`, but it must be a count column of the table measured as `measure.count`: fix `count_measures` in the pipeline file"
    )]
    CountMeasure {
        table: String,
        count: String,
        measure: String,
    },
    #[error(
        "table `{table}` declares the standardised rate `{rate}`, but {problem}: fix `standardised` in the pipeline file"
    )]
    StandardisedRate {
        table: String,
        rate: String,
        problem: String,
    },
    #[error(
        "table `{table}` declares partner flag `{flag}` for `{count}`, but {problem}: each entry of `partner_flags` names a count column of the table and a flag column of its own"
    )]
    PartnerFlag {
        table: String,
        count: String,
        flag: String,
        problem: &'static str,
    },
    #[error(
        "table `{table}` declares `{part}` nested in `{whole}`, but both must be count columns of the table"
    )]
    Nested {
        table: String,
        part: String,
        whole: String,
    },
    #[error(
        "table `{table}` declares `{part}` a part of `{whole}`, but {reason}: fix `part_of` in the pipeline file"
    )]
    PartOf {
        table: String,
        part: String,
        whole: String,
        reason: String,
    },
    #[error(
        "{attempts} other releases were published into this store while this one was being protected; publish again"
    )]
    LedgerBusy { attempts: usize },
    #[error(
        "the disclosure audit failed for {failing} withheld cell(s), e.g. {examples}; the release is not publishable"
    )]
    AuditFailed { failing: usize, examples: String },
    #[error("release `{name}` already exists; releases are never overwritten")]
    ReleaseExists { name: String },
    #[error(transparent)]
    Name(#[from] svna_contracts::NameError),
    #[error(
        "release `{name}` is being published by another publish (claimed {since}); wait for it to finish, or if it was killed, publish again after {stale_after_minutes} minutes or under another name"
    )]
    ReleaseBusy {
        name: String,
        since: String,
        stale_after_minutes: u64,
    },
    #[error(
        "release `{name}` has files but no manifest: its publish was interrupted and it was never committed; publish again (the next publish removes the leftover files)"
    )]
    ReleaseNotCommitted { name: String },
    #[error("cannot remove what an interrupted publish left in `{path}`")]
    Cleanup {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("disclosure control: {0}")]
    Disclosure(#[from] svna_disclosure::DisclosureError),
    #[error(transparent)]
    Storage(#[from] svna_storage::StorageError),
    #[error("cannot write the published CSV `{path}`")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("`{path}`: {source}")]
    Parquet {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("`{path}`: {source}")]
    Arrow {
        path: String,
        #[source]
        source: arrow_schema::ArrowError,
    },
    #[error("the release workbook: {source}")]
    Workbook {
        #[source]
        source: rust_xlsxwriter::XlsxError,
    },
    #[error("`{path}`: {source}")]
    Json {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

impl PublishError {
    /// Whether the release was refused for what it would publish (exit code 1) rather than
    /// failing (exit code 2): a gate found something that must not leave the partnership.
    pub fn is_finding(&self) -> bool {
        matches!(
            self,
            PublishError::RowLevel { .. }
                | PublishError::TokenColumn { .. }
                | PublishError::OpenPolicyOnPartnerData { .. }
                | PublishError::ForbiddenCount { .. }
                | PublishError::AuditFailed { .. }
        )
    }
}
