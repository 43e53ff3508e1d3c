//! Partner deliveries: `upload` (partner side) and `intake` (hub side).
//!
//! An upload is a folder `landing/<partner>/<dataset>/<upload id>/` holding the files and,
//! written last, `manifest.json`. The hub only ever looks at folders with a manifest, so an
//! upload interrupted before its manifest is invisible. The upload id is derived from the
//! period and the files' checksums, so retrying the same upload lands in the same place and is
//! never taken in twice.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use svna_contracts::Contracts;
use svna_storage::{FileEntry, Store, Zone, sha256_hex};

use crate::deliveries::refresh_deliveries;
use crate::error::IntakeError;
use crate::load::{load_delivered_extract, upload_local_file};
use crate::staged::{Delivery, StagedManifest};

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

/// What the hub did with one upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeRecord {
    pub upload_id: String,
    pub partner: String,
    pub dataset: String,
    pub period: String,
    pub status: IntakeStatus,
    pub reason: Option<String>,
    pub files: Vec<IntakeFile>,
    pub taken_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStatus {
    Staged,
    Quarantined,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeFile {
    pub path: String,
    pub rows_received: u64,
    pub rows_staged: u64,
    pub rows_rejected: u64,
    pub refused: Option<String>,
}

/// One file to upload: its local path and its validated row count.
pub struct UploadFile {
    pub path: PathBuf,
    pub rows: u64,
}

/// The partnership's registered linkage-key fingerprint (first upload with one registers it).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Partnership {
    key_fingerprint: String,
    registered_by: String,
}

const PARTNERSHIP: &str = "staged/_partnership.json";

fn intake_record_path(manifest: &UploadManifest) -> String {
    Zone::Staged.join(&format!(
        "_intake/{}/{}/{}.json",
        manifest.partner, manifest.dataset, manifest.upload_id
    ))
}

/// Validates the period text `START..END` (dates) and returns it normalised.
pub fn parse_period(text: &str) -> Result<String, IntakeError> {
    let bad = || IntakeError::Io {
        file: "--period".into(),
        message: format!("`{text}` is not a period YYYY-MM-DD..YYYY-MM-DD"),
    };
    let (start, end) = text.split_once("..").ok_or_else(bad)?;
    let parse = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad());
    if parse(start)? > parse(end)? {
        return Err(bad());
    }
    Ok(format!("{start}..{end}"))
}

/// Uploads already-validated files, then the manifest. Files already present with the same
/// checksum (a retried upload) are not sent again.
pub async fn upload(
    store: &Store,
    contracts: &Contracts,
    partner: &str,
    dataset: &str,
    period: &str,
    key_fingerprint: Option<String>,
    files: &[UploadFile],
) -> Result<UploadManifest, IntakeError> {
    contracts.dataset(dataset)?;
    let mut checksums = Vec::new();
    for file in files {
        let bytes_sha = local_sha256(&file.path)?;
        checksums.push(bytes_sha);
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
        let name = file
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("extract.csv");
        let relative = format!("{folder}/{name}");
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
        period: period.to_string(),
        files: entries,
        key_fingerprint,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        uploaded_at: chrono::Utc::now().to_rfc3339(),
    };
    store.put_json(&manifest_path, &manifest).await?;
    Ok(manifest)
}

fn local_sha256(path: &std::path::Path) -> Result<String, IntakeError> {
    let io = |e: std::io::Error| IntakeError::Io {
        file: path.display().to_string(),
        message: e.to_string(),
    };
    let file = std::fs::File::open(path).map_err(io)?;
    Ok(svna_storage::checksum_reader(file).map_err(io)?.sha256)
}

/// Takes in every upload that has a manifest and no intake record yet, oldest first.
pub async fn intake_all(
    store: &Store,
    contracts: &Contracts,
) -> Result<Vec<IntakeRecord>, IntakeError> {
    let mut manifests = Vec::new();
    for path in store.list(Zone::Landing.prefix()).await? {
        if path.ends_with("/manifest.json") {
            let manifest: UploadManifest = store.get_json(&path, "an upload manifest").await?;
            if !store.exists(&intake_record_path(&manifest)).await? {
                manifests.push(manifest);
            }
        }
    }
    manifests.sort_by(|a, b| {
        a.uploaded_at
            .cmp(&b.uploaded_at)
            .then(a.upload_id.cmp(&b.upload_id))
    });
    let mut records = Vec::new();
    for manifest in manifests {
        records.push(intake_one(store, contracts, &manifest).await?);
    }
    // Pipelines read the deliveries (the data-quality table) as a staged dataset: keep it in
    // step with what was just staged or superseded.
    refresh_deliveries(store, contracts).await?;
    Ok(records)
}

async fn intake_one(
    store: &Store,
    contracts: &Contracts,
    manifest: &UploadManifest,
) -> Result<IntakeRecord, IntakeError> {
    let mut record = IntakeRecord {
        upload_id: manifest.upload_id.clone(),
        partner: manifest.partner.clone(),
        dataset: manifest.dataset.clone(),
        period: manifest.period.clone(),
        status: IntakeStatus::Quarantined,
        reason: None,
        files: Vec::new(),
        taken_at: chrono::Utc::now().to_rfc3339(),
    };
    match check_upload(store, contracts, manifest).await? {
        Some(reason) => {
            let path = Zone::Quarantine.join(&format!(
                "uploads/{}/{}.json",
                manifest.partner, manifest.upload_id
            ));
            store
                .put_json(
                    &path,
                    &serde_json::json!({ "upload": manifest, "reason": reason }),
                )
                .await?;
            record.reason = Some(reason);
        }
        None => {
            let dataset = contracts.dataset(&manifest.dataset)?;
            let delivery = Delivery {
                partner: manifest.partner.clone(),
                period: manifest.period.clone(),
                upload_id: manifest.upload_id.clone(),
            };
            for file in &manifest.files {
                // check_upload verified this checksum against the stored file just now.
                let source = FileEntry {
                    path: file.path.clone(),
                    sha256: file.sha256.clone(),
                    size: file.size,
                    rows: None,
                };
                let outcome = load_delivered_extract(
                    store,
                    dataset,
                    contracts.version,
                    source,
                    Some(delivery.clone()),
                )
                .await?;
                let r = &outcome.record;
                record.files.push(IntakeFile {
                    path: file.path.clone(),
                    rows_received: r.rows_received,
                    rows_staged: r.rows_staged,
                    rows_rejected: r.rows_rejected,
                    refused: r.refused.clone(),
                });
            }
            record.status = IntakeStatus::Staged;
        }
    }
    store
        .put_json(&intake_record_path(manifest), &record)
        .await?;
    Ok(record)
}

/// Why an upload cannot be taken in: unknown dataset, changed files, or a linkage key other
/// than the partnership's (which would make linkage silently fail).
async fn check_upload(
    store: &Store,
    contracts: &Contracts,
    manifest: &UploadManifest,
) -> Result<Option<String>, IntakeError> {
    if contracts.dataset(&manifest.dataset).is_err() {
        return Ok(Some(format!("unknown dataset `{}`", manifest.dataset)));
    }
    if manifest.contract_version != contracts.version {
        return Ok(Some(format!(
            "contract version {} is not the hub's {}",
            manifest.contract_version, contracts.version
        )));
    }
    for file in &manifest.files {
        if !store.exists(&file.path).await? {
            return Ok(Some(format!("{} is listed but missing", file.path)));
        }
        let actual = store.checksum(&file.path).await?.sha256;
        if actual != file.sha256 {
            return Ok(Some(format!(
                "{} does not match its manifest checksum (expected {}, found {actual})",
                file.path, file.sha256
            )));
        }
    }
    let has_tokens = contracts
        .dataset(&manifest.dataset)?
        .token_columns()
        .next()
        .is_some();
    match (&manifest.key_fingerprint, has_tokens) {
        (None, true) => {
            return Ok(Some(
                "person-level data without a linkage-key fingerprint".into(),
            ));
        }
        (Some(fingerprint), _) => {
            if store.exists(PARTNERSHIP).await? {
                let registered: Partnership = store
                    .get_json(PARTNERSHIP, "the partnership record")
                    .await?;
                if registered.key_fingerprint != *fingerprint {
                    return Ok(Some(format!(
                        "linkage-key fingerprint {fingerprint} differs from the partnership's {} (registered by {}); tokens would not link",
                        registered.key_fingerprint, registered.registered_by
                    )));
                }
            } else {
                let partnership = Partnership {
                    key_fingerprint: fingerprint.clone(),
                    registered_by: manifest.partner.clone(),
                };
                store.put_json_new(PARTNERSHIP, &partnership).await?;
            }
        }
        (None, false) => {}
    }
    Ok(None)
}

/// One line of `svna status`: a partner's delivery of a dataset for a period.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryStatus {
    pub partner: String,
    pub dataset: String,
    pub period: String,
    pub upload_id: String,
    pub state: String,
    pub rows_received: u64,
    pub rows_staged: u64,
    pub rows_rejected: u64,
    pub reason: Option<String>,
}

/// Every upload the hub has seen, with what became of it.
pub async fn delivery_status(
    store: &Store,
    contracts: &Contracts,
) -> Result<Vec<DeliveryStatus>, IntakeError> {
    let mut superseded: BTreeMap<String, String> = BTreeMap::new();
    for dataset in &contracts.datasets {
        let manifest = StagedManifest::read(store, &dataset.name, contracts.version).await?;
        for load in &manifest.loads {
            if let (Some(d), Some(by)) = (&load.delivery, &load.superseded_by) {
                superseded.insert(d.upload_id.clone(), by.clone());
            }
        }
    }
    let mut lines = Vec::new();
    for path in store.list(Zone::Landing.prefix()).await? {
        if !path.ends_with("/manifest.json") {
            continue;
        }
        let manifest: UploadManifest = store.get_json(&path, "an upload manifest").await?;
        let record_path = intake_record_path(&manifest);
        let record: Option<IntakeRecord> = if store.exists(&record_path).await? {
            Some(store.get_json(&record_path, "an intake record").await?)
        } else {
            None
        };
        let (state, reason) = match (&record, superseded.get(&manifest.upload_id)) {
            (None, _) => ("waiting".to_string(), None),
            (Some(r), _) if r.status == IntakeStatus::Quarantined => {
                ("quarantined".to_string(), r.reason.clone())
            }
            (Some(_), Some(by)) => ("superseded".to_string(), Some(format!("replaced by {by}"))),
            (Some(_), None) => ("staged".to_string(), None),
        };
        let files = record.as_ref().map(|r| r.files.clone()).unwrap_or_default();
        lines.push(DeliveryStatus {
            partner: manifest.partner,
            dataset: manifest.dataset,
            period: manifest.period,
            upload_id: manifest.upload_id,
            state,
            rows_received: files.iter().map(|f| f.rows_received).sum(),
            rows_staged: files.iter().map(|f| f.rows_staged).sum(),
            rows_rejected: files.iter().map(|f| f.rows_rejected).sum(),
            reason,
        });
    }
    lines.sort_by(|a, b| {
        (&a.partner, &a.dataset, &a.period).cmp(&(&b.partner, &b.dataset, &b.period))
    });
    Ok(lines)
}
