//! Extracts checked against their contract on the partner's machine, as `svna validate` and
//! `svna upload` report them (the upload rule that follows, nothing invalid leaves, is in
//! [`crate::upload_extracts`]). The checks themselves are [`crate::read_extract`], the one
//! validator partners and the hub share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use svna_contracts::Dataset;

use crate::error::IntakeError;
use crate::extract::{ExtractReader, Rejection, RowCounts, read_extract};

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

#[cfg(test)]
mod tests {
    use super::*;

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
