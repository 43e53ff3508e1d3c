use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use svna_storage::{FileEntry, Store, Zone};

use crate::error::IntakeError;

/// The staged zone's commit point for one dataset: the loads whose Parquet files pipelines
/// may read. Written last, after the files it lists.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StagedManifest {
    pub dataset: String,
    pub contract_version: u32,
    pub loads: Vec<LoadRecord>,
}

/// One extract taken in: where it came from, what was staged, what was rejected and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadRecord {
    pub load_id: String,
    pub source: FileEntry,
    /// The typed Parquet file, absent when no row was accepted or the file was refused.
    pub staged: Option<FileEntry>,
    pub rows_received: u64,
    pub rows_staged: u64,
    pub rows_rejected: u64,
    pub rejected_by_rule: BTreeMap<String, u64>,
    /// Quarantine file listing each rejected row (line, column, rule, reason).
    pub rejects_path: Option<String>,
    /// Why the whole file was refused (e.g. its header), if it was.
    pub refused: Option<String>,
    pub loaded_at: String,
}

pub fn staged_manifest_path(dataset: &str) -> String {
    Zone::Staged.join(&format!("{dataset}/_manifest.json"))
}

impl StagedManifest {
    /// The manifest of a dataset, or an empty one if nothing was staged yet.
    pub async fn read(
        store: &Store,
        dataset: &str,
        contract_version: u32,
    ) -> Result<Self, IntakeError> {
        let path = staged_manifest_path(dataset);
        if store.exists(&path).await? {
            Ok(store.get_json(&path, "a staged-dataset manifest").await?)
        } else {
            Ok(StagedManifest {
                dataset: dataset.to_string(),
                contract_version,
                loads: Vec::new(),
            })
        }
    }

    pub async fn commit(&self, store: &Store) -> Result<(), IntakeError> {
        Ok(store
            .put_json(&staged_manifest_path(&self.dataset), self)
            .await?)
    }

    /// Staged Parquet files a pipeline reads for this dataset.
    pub fn active_files(&self) -> Vec<&FileEntry> {
        self.loads
            .iter()
            .filter_map(|l| l.staged.as_ref())
            .collect()
    }

    pub fn find_by_source_checksum(&self, sha256: &str) -> Option<&LoadRecord> {
        self.loads.iter().find(|l| l.source.sha256 == sha256)
    }
}
