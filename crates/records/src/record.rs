use serde::{Deserialize, Serialize};
use svna_storage::{FileEntry, Zone};

use crate::spec::{DisclosureSpec, Sensitivity};

/// What a run did: written to `runs/<run_id>/run.json` when the run ends, finished or not.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub run_id: String,
    pub pipeline: String,
    pub pipeline_file: String,
    pub pipeline_sha256: String,
    pub contract_version: u32,
    pub tool_version: String,
    pub started_at: String,
    pub finished_at: String,
    pub status: RunStatus,
    pub error: Option<String>,
    pub memory_limit_bytes: Option<usize>,
    /// Staged files each source read, with checksums.
    pub inputs: Vec<InputRecord>,
    pub stages: Vec<StageRecord>,
    /// What a reader of the outputs must know: optional sources that were not staged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Finished,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputRecord {
    pub source: String,
    pub dataset: String,
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StageRecord {
    pub name: String,
    /// What the stage computes, from the pipeline file (the data dictionary shows it).
    #[serde(default)]
    pub description: String,
    pub sql_file: String,
    pub sql_sha256: String,
    pub needs: Vec<String>,
    pub sensitivity: Sensitivity,
    pub disclosure: Option<DisclosureSpec>,
    pub output: FileEntry,
    pub columns: Vec<String>,
    /// Output columns whose values are computed from a person or offence token column
    /// (other than by counting), from the stage's logical plan. Publish refuses them. Empty
    /// in records written before it was recorded.
    #[serde(default)]
    pub token_lineage: Vec<String>,
    pub duration_ms: u128,
    /// Of `duration_ms`, the time spent running the stage's tests on its output.
    #[serde(default)]
    pub tests_ms: u128,
    pub tests: Vec<TestRecord>,
    /// Where the stage's SQL and tests ran: `local` (DataFusion inside the svna process) or
    /// `ballista df://HOST:PORT` (the scheduler of a Ballista cluster). Records written
    /// before clusters existed ran locally.
    #[serde(default = "ran_locally")]
    pub ran_on: String,
}

/// `StageRecord::ran_on` of a stage run by DataFusion inside the svna process.
pub const RAN_LOCALLY: &str = "local";

fn ran_locally() -> String {
    RAN_LOCALLY.to_string()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestRecord {
    pub name: String,
    pub passed: bool,
    pub failing_rows: usize,
    /// For a warning test: the first column of its first rows (e.g. the LSOAs without
    /// population), so the record says which, not only how many.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
}

pub fn run_record_path(run_id: &str) -> String {
    Zone::Runs.join(&format!("{run_id}/run.json"))
}

/// Points at the newest finished run.
pub fn latest_run_path() -> String {
    Zone::Runs.join("latest.json")
}

impl RunRecord {
    pub fn stage(&self, name: &str) -> Option<&StageRecord> {
        self.stages.iter().find(|s| s.name == name)
    }
}
