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
    /// The partner upload this file came in, when it came through `svna upload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<Delivery>,
    /// A later upload for the same partner, dataset and period that replaces this one; a
    /// superseded load is kept but no longer read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
}

/// Which upload a load belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub partner: String,
    pub period: String,
    pub upload_id: String,
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
            .filter(|l| l.superseded_by.is_none())
            .filter_map(|l| l.staged.as_ref())
            .collect()
    }

    /// A load of the same bytes that is still in use (a resend is not staged twice).
    pub fn find_by_source_checksum(&self, sha256: &str) -> Option<&LoadRecord> {
        self.loads
            .iter()
            .find(|l| l.source.sha256 == sha256 && l.superseded_by.is_none())
    }

    /// Marks every load of the same partner and period from another upload as replaced by
    /// `upload_id`; returns how many loads it superseded.
    pub fn supersede(&mut self, delivery: &Delivery) -> usize {
        let mut count = 0;
        for load in &mut self.loads {
            let Some(previous) = &load.delivery else {
                continue;
            };
            if previous.partner == delivery.partner
                && previous.period == delivery.period
                && previous.upload_id != delivery.upload_id
                && load.superseded_by.is_none()
            {
                load.superseded_by = Some(delivery.upload_id.clone());
                count += 1;
            }
        }
        count
    }
}
