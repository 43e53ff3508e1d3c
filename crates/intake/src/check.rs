//! Extracts checked against their contract on the partner's machine, as `svna validate` and
//! `svna upload` report them, and the upload rule that follows from it: nothing invalid
//! leaves. The checks themselves are [`crate::read_extract`], the one validator partners and
//! the hub share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use svna_contracts::{Contracts, Dataset, NameKind, check_name};
use svna_storage::{StorageError, Store};

use crate::delivery::{UploadFile, UploadManifest, parse_period, upload};
use crate::error::IntakeError;
use crate::extract::{ExtractReader, Rejection, RowCounts, read_extract};
use crate::keys::check_fingerprint;

/// One file read against its contract, every row accounted for.
#[derive(Debug, Clone)]
pub struct FileCheck {
    pub file: String,
    /// The rows read; `None` when the whole file was refused.
    pub counts: Option<RowCounts>,
    /// Why the whole file was refused (its header, its encoding), if it was.
    pub refused: Option<String>,
    pub rejects: Vec<Rejection>,
}

/// A [`FileCheck`] as it is printed and serialised: at most `max_per_rule` problems listed
/// per column and rule, and how many there are per rule in all. Fields in the order the
/// JSON has always listed them (alphabetical).
#[derive(Debug, Clone, Serialize)]
pub struct FileCheckReport {
    pub file: String,
    pub problems: Vec<Problem>,
    /// `column:rule` → how many rows broke it.
    pub problems_by_rule: BTreeMap<String, usize>,
    pub refused: Option<String>,
    pub rows_invalid: Option<u64>,
    pub rows_received: Option<u64>,
    pub rows_valid: Option<u64>,
    pub valid: bool,
}

/// One listed problem: a rejected row's line, column and rule.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub column: String,
    pub line: u64,
    pub message: String,
    pub rule: String,
}

impl FileCheck {
    /// Reads `path` against `dataset`. A file the contract refuses whole is a check with
    /// its reason, not an error; only a file that cannot be opened is an error.
    pub fn run(dataset: &Dataset, path: &Path) -> Result<Self, IntakeError> {
        let file = path.display().to_string();
        let reader = std::fs::File::open(path).map_err(|source| IntakeError::Open {
            file: file.clone(),
            source,
        })?;
        let mut rejects: Vec<Rejection> = Vec::new();
        let options = ExtractReader {
            dataset,
            file: &file,
            batch_rows: 65_536,
        };
        let result = read_extract(
            std::io::BufReader::new(reader),
            &options,
            |_| Ok(()),
            |r| rejects.push(r),
        );
        let (counts, refused) = match result {
            Ok(counts) => (Some(counts), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(FileCheck {
            file,
            counts,
            refused,
            rejects,
        })
    }

    pub fn valid(&self) -> bool {
        self.refused.is_none() && self.rejects.is_empty()
    }

    /// The rejections listed when at most `per_rule` are listed per column and rule.
    pub fn listed(&self, per_rule: usize) -> Vec<&Rejection> {
        let mut seen = BTreeMap::new();
        self.rejects
            .iter()
            .filter(|r| {
                let n = seen
                    .entry((r.column.as_str(), r.rule.as_str()))
                    .or_insert(0usize);
                *n += 1;
                *n <= per_rule
            })
            .collect()
    }

    /// `column:rule` → how many rows broke it.
    pub fn problems_by_rule(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.rejects {
            *counts
                .entry(format!("{}:{}", r.column, r.rule))
                .or_insert(0) += 1;
        }
        counts
    }

    pub fn report(&self, max_per_rule: usize) -> FileCheckReport {
        let counts = self.counts.as_ref();
        FileCheckReport {
            file: self.file.clone(),
            problems: self
                .listed(max_per_rule)
                .into_iter()
                .map(|r| Problem {
                    column: r.column.clone(),
                    line: r.line,
                    message: r.message.clone(),
                    rule: r.rule.clone(),
                })
                .collect(),
            problems_by_rule: self.problems_by_rule(),
            refused: self.refused.clone(),
            rows_invalid: counts.map(|c| c.rejected),
            rows_received: counts.map(|c| c.received),
            rows_valid: counts.map(|c| c.accepted),
            valid: self.valid(),
        }
    }
}

/// Checks every file against `dataset`, in order.
pub fn check_files(dataset: &Dataset, files: &[PathBuf]) -> Result<Vec<FileCheck>, IntakeError> {
    files
        .iter()
        .map(|path| FileCheck::run(dataset, path))
        .collect()
}

/// A partner's upload: who sends which dataset for which period, and the local files.
pub struct UploadRequest<'a> {
    pub partner: &'a str,
    pub dataset: &'a str,
    /// `START..END`, checked by [`parse_period`].
    pub period: &'a str,
    pub key_fingerprint: Option<String>,
    pub files: &'a [PathBuf],
}

/// What came of an upload: every file was valid and the upload was sent, or nothing was sent.
#[derive(Debug)]
pub enum UploadOutcome {
    Uploaded(UploadManifest),
    /// Some file was invalid: nothing was sent, and the store was not opened. Every file's
    /// check, valid or not, in the order given.
    Refused(Vec<FileCheck>),
}

/// Nothing invalid leaves the partner's machine: the partner id, fingerprint and period are
/// checked before any file is read, every file is checked before any is sent, and the store
/// is opened (`open_store`) only when all are valid; then the files and their manifest are
/// uploaded ([`upload`]).
pub async fn upload_extracts(
    open_store: impl FnOnce() -> Result<Store, StorageError>,
    contracts: &Contracts,
    request: &UploadRequest<'_>,
) -> Result<UploadOutcome, IntakeError> {
    // The partner id becomes a path segment of the store.
    check_name(NameKind::Partner, request.partner)?;
    if let Some(fingerprint) = &request.key_fingerprint {
        check_fingerprint(fingerprint)?;
    }
    let period = parse_period(request.period)?;
    let dataset = contracts.dataset(request.dataset)?;
    let checks = check_files(dataset, request.files)?;
    if !checks.iter().all(FileCheck::valid) {
        return Ok(UploadOutcome::Refused(checks));
    }
    let files: Vec<_> = request
        .files
        .iter()
        .zip(&checks)
        .map(|(path, check)| UploadFile {
            path: path.clone(),
            rows: check.counts.as_ref().map_or(0, |c| c.received),
        })
        .collect();
    let store = open_store()?;
    let manifest = upload(
        &store,
        contracts,
        request.partner,
        request.dataset,
        &period,
        request.key_fingerprint.clone(),
        &files,
    )
    .await?;
    Ok(UploadOutcome::Uploaded(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "offence_id,person_id,role,age,sex\n";

    fn extract(dir: &Path, name: &str, sex: &str) -> PathBuf {
        let token = "a".repeat(64);
        let path = dir.join(name);
        std::fs::write(&path, format!("{HEADER}{token},{token},victim,20,{sex}\n")).unwrap();
        path
    }

    #[tokio::test]
    async fn nothing_invalid_leaves_and_the_store_is_opened_only_for_valid_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = extract(dir.path(), "good.csv", "F");
        let bad = extract(dir.path(), "bad.csv", "Q");
        let request = |files| UploadRequest {
            partner: "police",
            dataset: "police_persons",
            period: "2023-01-01..2023-12-31",
            key_fingerprint: Some("0123456789abcdef".to_string()),
            files,
        };
        let both = [good.clone(), bad];
        let refused = upload_extracts(
            || panic!("the store is opened only when every file is valid"),
            svna_contracts::v1(),
            &request(&both),
        )
        .await
        .unwrap();
        let UploadOutcome::Refused(checks) = refused else {
            panic!("an invalid file was uploaded: {refused:?}");
        };
        assert!(checks[0].valid() && !checks[1].valid());
        let report = checks[1].report(10);
        assert_eq!(
            (report.rows_received, report.rows_invalid),
            (Some(1), Some(1))
        );
        assert_eq!(
            (report.problems[0].line, report.problems[0].column.as_str()),
            (2, "sex")
        );
        assert_eq!(report.problems_by_rule["sex:enum"], 1);

        let store = dir.path().join("store");
        let only_good = [good];
        let sent = upload_extracts(
            || Store::open(store.to_str().unwrap()),
            svna_contracts::v1(),
            &request(&only_good),
        )
        .await
        .unwrap();
        let UploadOutcome::Uploaded(manifest) = sent else {
            panic!("a valid file was refused: {sent:?}");
        };
        assert_eq!(manifest.files[0].rows, Some(1));
        assert!(store.join("landing/police/police_persons").is_dir());
    }

    #[test]
    fn a_file_that_cannot_be_opened_is_an_error_naming_it() {
        let dataset = svna_contracts::v1().dataset("police_persons").unwrap();
        let error = check_files(dataset, &[PathBuf::from("no/such.csv")]).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot open no/such.csv: "),
            "{error}"
        );
    }
}
