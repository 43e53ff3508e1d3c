//! Partner side of a delivery: `svna upload`.
//!
//! Nothing invalid leaves the partner's machine: every file is checked against its contract
//! ([`crate::check_files`]) before the store is even opened. An upload is then a folder
//! `landing/<partner>/<dataset>/<upload id>/` holding the files and, written last,
//! `manifest.json`. The hub only ever looks at folders with a manifest, so an upload
//! interrupted before its manifest is invisible. The upload id is derived from the period and
//! the files' checksums, so retrying the same upload lands in the same place and is never
//! taken in twice. The hub's side is [`crate::intake_all`].

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use svna_contracts::{Contracts, NameKind, check_name};
use svna_storage::{FileEntry, StorageError, Store, Zone, sha256_hex};

use crate::check::{FileCheck, check_files};
use crate::error::IntakeError;
use crate::keys::check_fingerprint;
use crate::load::upload_local_file;
use crate::period::parse_period;

/// What a partner sent: written last, after the files it lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UploadManifest {
    pub upload_id: String,
    pub partner: String,
    pub dataset: String,
    pub contract_version: u32,
    /// `YYYY-MM-DD..YYYY-MM-DD`.
    pub period: String,
    pub files: Vec<FileEntry>,
    pub key_fingerprint: Option<String>,
    pub tool_version: String,
    pub uploaded_at: String,
}

/// One file to upload: its local path and its validated row count.
pub struct UploadFile {
    pub path: PathBuf,
    pub rows: u64,
}
/// A file name that is one plain path segment, stored and listed under the same spelling
/// by every object store (no percent-encoding, no hidden or relative names).
pub(crate) fn check_file_name(name: &str) -> Result<(), IntakeError> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if plain && name != "manifest.json" {
        Ok(())
    } else {
        Err(IntakeError::FileName {
            file: name.to_string(),
        })
    }
}

/// Uploads already-validated files, then the manifest. Files already present with the same
/// checksum (a retried upload) are not sent again. The partner id becomes a path segment,
/// so it must pass the one name rule: a refused id never reaches the store.
pub async fn upload(
    store: &Store,
    contracts: &Contracts,
    partner: &str,
    dataset: &str,
    period: &str,
    key_fingerprint: Option<String>,
    files: &[UploadFile],
) -> Result<UploadManifest, IntakeError> {
    check_name(NameKind::Partner, partner)?;
    contracts.dataset(dataset)?;
    let period = parse_period(period)?;
    if let Some(fingerprint) = &key_fingerprint {
        check_fingerprint(fingerprint)?;
    }
    let mut checksums = Vec::new();
    for file in files {
        check_file_name(&file_name(&file.path))?;
        checksums.push(local_sha256(&file.path)?);
    }
    let upload_id = format!(
        "up-{}",
        &sha256_hex(format!("{period}|{}", checksums.join(",")).as_bytes())[..16]
    );
    let folder = Zone::Landing.join(&format!("{partner}/{dataset}/{upload_id}"));
    let manifest_path = format!("{folder}/manifest.json");
    if store.exists(&manifest_path).await? {
        return Ok(store.get_json(&manifest_path, "an upload manifest").await?);
    }
    let mut entries = Vec::new();
    for (file, sha) in files.iter().zip(&checksums) {
        let relative = format!("{folder}/{}", file_name(&file.path));
        let present =
            store.exists(&relative).await? && store.checksum(&relative).await?.sha256 == *sha;
        let mut entry = if present {
            store.file_entry(&relative, None).await?
        } else {
            upload_local_file(store, &file.path, &relative).await?
        };
        entry.rows = Some(file.rows);
        entries.push(entry);
    }
    let manifest = UploadManifest {
        upload_id,
        partner: partner.to_string(),
        dataset: dataset.to_string(),
        contract_version: contracts.version,
        period,
        files: entries,
        key_fingerprint,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        uploaded_at: chrono::Utc::now().to_rfc3339(),
    };
    store.put_json(&manifest_path, &manifest).await?;
    Ok(manifest)
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string()
}

fn local_sha256(path: &std::path::Path) -> Result<String, IntakeError> {
    let io = |source: std::io::Error| IntakeError::Io {
        file: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    Ok(svna_storage::checksum_reader(file).map_err(io)?.sha256)
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
    use std::path::Path;

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
}
