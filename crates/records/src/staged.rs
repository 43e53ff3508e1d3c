//! A dataset's staged manifest: which loads pipelines read. Intake commits it (each load,
//! supersession and retraction a new numbered version); the engine reads it to find a run's
//! inputs. It lives here, below both, so the engine needs nothing of intake.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use svna_storage::{FileEntry, StorageError, Store, Zone};

/// The staged zone's commit point for one dataset: the loads whose Parquet files pipelines
/// may read. Written last, after the files it lists, as a new numbered version (see
/// [`StagedManifest::update`]); the newest version is the manifest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StagedManifest {
    pub dataset: String,
    pub contract_version: u32,
    pub loads: Vec<LoadRecord>,
    /// The version this manifest was read at (0: none committed yet); not stored.
    #[serde(skip)]
    pub version: u64,
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
    /// The period this load stands for, `YYYY-MM-DD..YYYY-MM-DD`: a delivery's declared
    /// period, `svna load --period`, or the months its rows cover. `None`: the whole dataset
    /// (reference data, or data without a period column), which a new load replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// Loads of one `svna load` command (or one upload) never supersede each other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// A later load or upload of the same partner and dataset for an overlapping period that
    /// replaces this one; a superseded load is kept but no longer read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// Taken back by `svna retract`: kept, no longer read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retracted: Option<Retraction>,
}

/// Which upload a load belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub partner: String,
    pub period: String,
    pub upload_id: String,
}

/// When and why a load was retracted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retraction {
    pub at: String,
    pub reason: String,
}

/// A commit that kept losing to other commands: every attempt found the next version taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitContention {
    pub path: String,
    pub attempts: usize,
}

/// What a change to a manifest decided: write a new version, or leave it as it is.
pub enum Edit<R> {
    Write(R),
    Keep(R),
}

/// Attempts at a conditional commit before giving up. Each failed attempt means another
/// command committed in between, so this bounds only a pathological pile-up.
const MAX_COMMIT_ATTEMPTS: usize = 1_000;

/// Where the numbered versions of a dataset's staged manifest live.
pub fn staged_manifest_prefix(dataset: &str) -> String {
    Zone::Staged.join(&format!("{dataset}/_manifest"))
}

impl LoadRecord {
    /// Read by pipelines: neither superseded nor retracted.
    pub fn is_active(&self) -> bool {
        self.superseded_by.is_none() && self.retracted.is_none()
    }

    /// The partner the load is from: the upload's landing prefix, else the contract's.
    pub fn partner<'a>(&'a self, contract_partner: &'a str) -> &'a str {
        self.delivery
            .as_ref()
            .map_or(contract_partner, |d| d.partner.as_str())
    }

    /// The period the load stands for (older records kept it only on the delivery).
    pub fn period(&self) -> Option<&str> {
        self.period
            .as_deref()
            .or(self.delivery.as_ref().map(|d| d.period.as_str()))
    }

    /// What groups this load with others that must not supersede each other.
    fn group(&self) -> &str {
        match (&self.delivery, &self.batch) {
            (Some(d), _) => &d.upload_id,
            (None, Some(batch)) => batch,
            (None, None) => &self.load_id,
        }
    }

    /// What a superseded load names as its replacement.
    fn replacement_id(&self) -> &str {
        match &self.delivery {
            Some(d) => &d.upload_id,
            None => &self.load_id,
        }
    }
}

/// Whether two periods share a day; `None` (the whole dataset) overlaps everything, and a
/// period that cannot be read is taken as overlapping (replacing is safer than counting twice).
pub fn periods_overlap(a: Option<&str>, b: Option<&str>) -> bool {
    let (Some(a), Some(b)) = (a, b) else {
        return true;
    };
    match (period_dates(a), period_dates(b)) {
        (Some((a0, a1)), Some((b0, b1))) => a0 <= b1 && b0 <= a1,
        _ => true,
    }
}

/// The first and last day of a `YYYY-MM-DD..YYYY-MM-DD` period.
pub fn period_dates(period: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (start, end) = period.split_once("..")?;
    let date = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok();
    Some((date(start)?, date(end)?))
}

impl StagedManifest {
    fn empty(dataset: &str, contract_version: u32) -> Self {
        StagedManifest {
            dataset: dataset.to_string(),
            contract_version,
            loads: Vec::new(),
            version: 0,
        }
    }

    /// The newest committed manifest of a dataset, or an empty one if nothing was staged.
    pub async fn read(
        store: &Store,
        dataset: &str,
        contract_version: u32,
    ) -> Result<Self, StorageError> {
        let prefix = staged_manifest_prefix(dataset);
        Ok(
            match store
                .latest_version::<StagedManifest>(&prefix, "a staged-dataset manifest")
                .await?
            {
                Some(found) => StagedManifest {
                    version: found.number,
                    ..found.value
                },
                None => Self::legacy(store, dataset)
                    .await?
                    .unwrap_or_else(|| Self::empty(dataset, contract_version)),
            },
        )
    }

    /// The single `_manifest.json` earlier svna versions overwrote in place, read as version
    /// 0 of a store that has no numbered version yet; the next commit carries its loads on.
    async fn legacy(store: &Store, dataset: &str) -> Result<Option<Self>, StorageError> {
        let path = Zone::Staged.join(&format!("{dataset}/_manifest.json"));
        if !store.exists(&path).await? {
            return Ok(None);
        }
        let manifest: StagedManifest = store.get_json(&path, "a staged-dataset manifest").await?;
        Ok(Some(StagedManifest {
            version: 0,
            ..manifest
        }))
    }

    /// Applies `change` to the newest manifest and commits the result as the next version.
    /// When another command committed first, the manifest is read again and `change` applied
    /// again to what that command left, so neither command's work is lost. `change` must
    /// therefore decide from the manifest it is given, not from an earlier read.
    ///
    /// The caller's error type `E` carries both storage failures and [`CommitContention`].
    pub async fn update<R, E>(
        store: &Store,
        dataset: &str,
        contract_version: u32,
        mut change: impl FnMut(&mut StagedManifest) -> Result<Edit<R>, E>,
    ) -> Result<R, E>
    where
        E: From<StorageError> + From<CommitContention>,
    {
        let prefix = staged_manifest_prefix(dataset);
        for _ in 0..MAX_COMMIT_ATTEMPTS {
            let mut manifest = Self::read(store, dataset, contract_version).await?;
            match change(&mut manifest)? {
                Edit::Keep(result) => return Ok(result),
                Edit::Write(result) => {
                    let next = manifest.version + 1;
                    if store.create_version(&prefix, next, &manifest).await? {
                        return Ok(result);
                    }
                    // Someone else committed version `next`: let them finish, then redo.
                    tokio::task::yield_now().await;
                }
            }
        }
        Err(CommitContention {
            path: prefix,
            attempts: MAX_COMMIT_ATTEMPTS,
        }
        .into())
    }

    /// Staged Parquet files a pipeline reads for this dataset.
    pub fn active_files(&self) -> Vec<&FileEntry> {
        self.loads
            .iter()
            .filter(|l| l.is_active())
            .filter_map(|l| l.staged.as_ref())
            .collect()
    }

    /// An active load of the same bytes standing for the same period: a resend, not staged
    /// (or listed) twice.
    pub fn find_resend(&self, sha256: &str, period: Option<&str>) -> Option<&LoadRecord> {
        self.loads
            .iter()
            .find(|l| l.is_active() && l.source.sha256 == sha256 && l.period() == period)
    }

    /// The load of these bytes from this upload, if the upload was taken in already (by an
    /// intake running at the same time, or one killed before its record): whatever became
    /// of it since (superseded by a newer upload, retracted) stands.
    pub fn find_delivered(&self, delivery: &Delivery, sha256: &str) -> Option<&LoadRecord> {
        self.loads.iter().find(|l| {
            l.source.sha256 == sha256
                && l.delivery
                    .as_ref()
                    .is_some_and(|d| d.upload_id == delivery.upload_id)
        })
    }

    /// An active load of these bytes, whatever period it stands for.
    pub fn find_by_source_checksum(&self, sha256: &str) -> Option<&LoadRecord> {
        self.loads
            .iter()
            .find(|l| l.is_active() && l.source.sha256 == sha256)
    }

    /// Marks every active load of the same partner whose period overlaps `new`'s, from
    /// another upload or load command, as replaced by `new`; returns the ids it superseded.
    pub fn supersede(&mut self, new: &LoadRecord, contract_partner: &str) -> Vec<String> {
        let partner = new.partner(contract_partner).to_string();
        let mut superseded = Vec::new();
        for load in &mut self.loads {
            if load.is_active()
                && load.partner(contract_partner) == partner
                && load.group() != new.group()
                && periods_overlap(load.period(), new.period())
            {
                load.superseded_by = Some(new.replacement_id().to_string());
                superseded.push(load.load_id.clone());
            }
        }
        superseded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_periods() {
        let p = |s| Some(s);
        assert!(periods_overlap(
            p("2019-01-01..2023-12-31"),
            p("2019-01-01..2024-03-31")
        ));
        assert!(periods_overlap(
            p("2023-01-01..2023-01-31"),
            p("2023-01-31..2023-02-28")
        ));
        assert!(!periods_overlap(
            p("2023-01-01..2023-11-30"),
            p("2023-12-01..2023-12-31")
        ));
        assert!(periods_overlap(None, p("2023-12-01..2023-12-31")));
        assert!(periods_overlap(p("soon"), p("2023-12-01..2023-12-31")));
    }
}
