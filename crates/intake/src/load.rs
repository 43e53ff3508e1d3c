use std::collections::BTreeMap;

use bytes::Bytes;
use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use svna_contracts::Dataset;
use svna_storage::{FileEntry, ParquetObject, Store, Zone};
use tokio::io::AsyncReadExt;

use crate::cross_file::{ReferenceCheck, references_rule, staged_reference_checks};
use crate::error::IntakeError;
use crate::extract::{ExtractReader, Rejection, RowCounts};
use crate::period::{Coverage, period_column};
use crate::staged::{Edit, LoadRecord, StagedManifest};

/// Rows per Arrow batch and Parquet write.
const BATCH_ROWS: usize = 65_536;
/// Rejected rows listed one by one; beyond this they are counted by rule only, so a file of
/// garbage cannot exhaust memory.
const MAX_LISTED_REJECTS: usize = 1_000_000;

/// What happened to one extract.
#[derive(Debug, Clone)]
pub struct LoadOutcome {
    pub record: LoadRecord,
    /// True when the same file (same SHA-256) had been loaded before: nothing was staged again.
    pub resend_of: Option<String>,
    /// Loads this one replaced (same partner and dataset, overlapping period).
    pub superseded: Vec<String>,
}

/// Copies a local file into the store (streamed in parts; the object appears only when
/// complete) and returns its entry with checksum and size.
pub async fn upload_local_file(
    store: &Store,
    local: &std::path::Path,
    relative: &str,
) -> Result<FileEntry, IntakeError> {
    let io_error = |source: std::io::Error| IntakeError::Io {
        file: local.display().to_string(),
        source,
    };
    let upload_error = |source: object_store::Error| IntakeError::Upload {
        file: relative.to_string(),
        source,
    };
    store.check_writable(relative)?;
    let mut file = tokio::fs::File::open(local).await.map_err(io_error)?;
    let upload = store
        .object_store()
        .put_multipart(&store.path(relative))
        .await
        .map_err(upload_error)?;
    let mut writer = WriteMultipart::new(upload);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 8 << 20];
    loop {
        let n = file.read(&mut buffer).await.map_err(io_error)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
        writer.wait_for_capacity(4).await.map_err(upload_error)?;
        writer.put(Bytes::copy_from_slice(&buffer[..n]));
    }
    writer.finish().await.map_err(upload_error)?;
    Ok(FileEntry {
        path: relative.to_string(),
        sha256: hex::encode(hasher.finalize()),
        size,
        rows: None,
    })
}

/// How a load is grouped and which period it stands for.
#[derive(Debug, Clone, Default)]
pub struct LoadRequest {
    /// `YYYY-MM-DD..YYYY-MM-DD` (checked with [`crate::parse_period`]); `None`: the months
    /// the file's rows cover for datasets with a period column, else the whole dataset.
    pub period: Option<String>,
    /// Loads of one command share a batch and never supersede each other.
    pub batch: Option<String>,
}

impl LoadRequest {
    /// The request of one command: its files share a fresh batch id.
    pub fn one_command(period: Option<String>) -> Self {
        LoadRequest {
            period,
            batch: Some(format!("batch-{}", uuid::Uuid::new_v4().simple())),
        }
    }
}

/// Validates an extract already in the store (normally under `landing/`) and stages its
/// valid rows as typed Parquet; rejected rows are listed in the quarantine zone. The staged
/// manifest is committed last. A file whose checksum was loaded before is not staged twice.
pub async fn load_extract(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    source: &str,
) -> Result<LoadOutcome, IntakeError> {
    let source_entry = store.file_entry(source, None).await?;
    load_uploaded_extract(store, dataset, contract_version, source_entry).await
}

/// Like [`load_extract`] for a file whose checksum the caller has just computed (an upload)
/// or verified (an upload manifest's entry), so the file is not read twice to hash it.
pub async fn load_uploaded_extract(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    source_entry: FileEntry,
) -> Result<LoadOutcome, IntakeError> {
    load_extract_for(
        store,
        dataset,
        contract_version,
        source_entry,
        &LoadRequest::default(),
    )
    .await
}

/// Stages one extract as a load of the dataset's contract partner: earlier loads and
/// deliveries of that partner and dataset whose period overlaps this one's are superseded
/// (kept, no longer read) in the same commit, so a corrected or re-encoded file replaces the
/// old one instead of being counted beside it.
pub async fn load_extract_for(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    source_entry: FileEntry,
    request: &LoadRequest,
) -> Result<LoadOutcome, IntakeError> {
    // The same bytes for the same period, still active: nothing to stage. (A file's own
    // period is a function of its bytes, so with no --period the bytes decide alone.)
    let manifest = StagedManifest::read(store, &dataset.name, contract_version).await?;
    let previous = match &request.period {
        Some(period) => manifest.find_resend(&source_entry.sha256, Some(period)),
        None => manifest.find_by_source_checksum(&source_entry.sha256),
    };
    if let Some(previous) = previous {
        return Ok(LoadOutcome {
            record: previous.clone(),
            resend_of: Some(previous.load_id.clone()),
            superseded: Vec::new(),
        });
    }
    // A row pointing into another extract (a person's offence) is checked against the
    // partner's staged loads of it: those must be loaded first.
    let checks = staged_reference_checks(
        store,
        dataset,
        contract_version,
        &dataset.partner,
        request.period.as_deref(),
    )
    .await?
    .map_err(|missing| IntakeError::MissingReference {
        file: source_entry.path.clone(),
        missing,
    })?;
    let load_id = format!("load-{}", &source_entry.sha256[..16]);
    let mut record = stage_file(store, dataset, source_entry, load_id, "", checks).await?;
    if request.period.is_some() {
        record.period = request.period.clone();
    }
    record.batch = request.batch.clone();
    let mut committed = commit_loads(store, dataset, contract_version, vec![record]).await?;
    Ok(committed.remove(0))
}

/// Validates one extract and writes its accepted rows as a new staged Parquet file (and its
/// rejected rows to the quarantine zone), without committing anything: the returned record
/// is read by nobody until [`commit_loads`] lists it. Its `period` is the months the rows
/// cover, for datasets with a period column. A row breaking one of `checks` (a reference
/// into another extract) is rejected like any other invalid row.
pub(crate) async fn stage_file(
    store: &Store,
    dataset: &Dataset,
    source_entry: FileEntry,
    load_id: String,
    partition: &str,
    checks: Vec<ReferenceCheck>,
) -> Result<LoadRecord, IntakeError> {
    let source = source_entry.path.clone();
    let source = source.as_str();
    // A fresh name per attempt: two commands staging the same file at once each write their
    // own object, and only the one whose manifest commit wins is ever listed.
    let attempt = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let staged_path = Zone::Staged.join(&format!(
        "{}/{partition}{load_id}-{attempt}.parquet",
        dataset.name
    ));

    let (counts, rejects, staged, refused, covered) =
        match stage_rows(store, dataset, source, &staged_path, checks).await {
            Ok((counts, rejects, staged, covered)) => (counts, rejects, staged, None, covered),
            Err(
                e @ (IntakeError::Header { .. }
                | IntakeError::Empty { .. }
                | IntakeError::Csv { .. }
                | IntakeError::Unreadable { .. }),
            ) => (
                RowCounts::default(),
                Vec::new(),
                None,
                Some(e.to_string()),
                None,
            ),
            Err(e) => return Err(e),
        };
    let rejects_path = write_rejects(store, &dataset.name, &load_id, &rejects).await?;
    let mut rejected_by_rule = BTreeMap::new();
    for r in &rejects {
        *rejected_by_rule.entry(r.rule.clone()).or_insert(0u64) += 1;
    }
    if let Some(reason) = &refused {
        let path = Zone::Quarantine.join(&format!("{}/{load_id}/refused.json", dataset.name));
        store
            .put_json(
                &path,
                &serde_json::json!({ "source": source, "reason": reason }),
            )
            .await?;
    }
    Ok(LoadRecord {
        load_id,
        source: source_entry,
        staged,
        rows_received: counts.received,
        rows_staged: counts.accepted,
        rows_rejected: counts.rejected,
        rejected_by_rule,
        rejects_path,
        refused,
        loaded_at: chrono::Utc::now().to_rfc3339(),
        delivery: None,
        period: covered.and_then(|c| c.period()),
        batch: None,
        superseded_by: None,
        retracted: None,
    })
}

/// Lists staged records in the dataset's manifest in one conditional commit, each
/// superseding the active loads of its partner whose period overlaps its own; a record whose
/// bytes are already active for the same period (a resend, or another command that took the
/// same upload in first) is not listed twice. On a conflicting commit the decision is made
/// again on the newer manifest, so concurrent loads and intakes all land.
pub(crate) async fn commit_loads(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    records: Vec<LoadRecord>,
) -> Result<Vec<LoadOutcome>, IntakeError> {
    StagedManifest::update(store, &dataset.name, contract_version, |manifest| {
        let mut outcomes = Vec::new();
        let mut changed = false;
        for record in &records {
            let taken_in = record
                .delivery
                .as_ref()
                .and_then(|d| manifest.find_delivered(d, &record.source.sha256));
            if let Some(previous) =
                taken_in.or_else(|| manifest.find_resend(&record.source.sha256, record.period()))
            {
                outcomes.push(LoadOutcome {
                    record: previous.clone(),
                    resend_of: Some(previous.load_id.clone()),
                    superseded: Vec::new(),
                });
                continue;
            }
            let superseded = manifest.supersede(record, &dataset.partner);
            manifest.loads.push(record.clone());
            changed = true;
            outcomes.push(LoadOutcome {
                record: record.clone(),
                resend_of: None,
                superseded,
            });
        }
        Ok(if changed {
            Edit::Write(outcomes)
        } else {
            Edit::Keep(outcomes)
        })
    })
    .await
}

/// Streams the source through the contract reader on a blocking thread and writes accepted
/// batches to Parquet as they come, so memory stays bounded by a few batches.
async fn stage_rows(
    store: &Store,
    dataset: &Dataset,
    source: &str,
    staged_path: &str,
    checks: Vec<ReferenceCheck>,
) -> Result<
    (
        RowCounts,
        Vec<Rejection>,
        Option<FileEntry>,
        Option<Coverage>,
    ),
    IntakeError,
> {
    let reader = store.open_read(source).await?.into_blocking_reader();
    let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
    let dataset_for_reader = dataset.clone();
    let file = source.to_string();
    let reading = tokio::task::spawn_blocking(move || {
        let mut rejects = Vec::new();
        let options = ExtractReader {
            dataset: &dataset_for_reader,
            file: &file,
            batch_rows: BATCH_ROWS,
        };
        let rule = references_rule(&dataset_for_reader, &checks)?;
        let counts = svna_contracts::read_extract_with_rule(
            reader,
            &options,
            rule,
            |batch| {
                sender
                    .blocking_send(batch)
                    .map_err(|_| IntakeError::WriterStopped { file: file.clone() })
            },
            |reject| {
                if rejects.len() < MAX_LISTED_REJECTS {
                    rejects.push(reject)
                }
            },
        )?;
        Ok::<_, IntakeError>((counts, rejects))
    });

    let mut writer: Option<ParquetObject> = None;
    let period_column = period_column(dataset);
    let mut covered: Option<Coverage> = None;
    while let Some(batch) = receiver.recv().await {
        if let Some(column) = period_column {
            Coverage::extend(&mut covered, &batch, column);
        }
        if writer.is_none() {
            writer = Some(store.parquet_writer(staged_path, dataset.arrow_schema())?);
        }
        writer.as_mut().expect("just created").write(&batch).await?;
    }
    let (counts, rejects) = reading.await.map_err(|e| IntakeError::Reader {
        file: source.to_string(),
        source: e,
    })??;
    let staged = match writer {
        Some(writer) => Some(writer.finish().await?),
        None => None,
    };
    Ok((counts, rejects, staged, covered))
}

async fn write_rejects(
    store: &Store,
    dataset: &str,
    load_id: &str,
    rejects: &[Rejection],
) -> Result<Option<String>, IntakeError> {
    if rejects.is_empty() {
        return Ok(None);
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    let io = |source: csv::Error| IntakeError::RejectsCsv {
        file: load_id.to_string(),
        source,
    };
    csv.write_record(["line", "column", "rule", "reason"])
        .map_err(io)?;
    for r in rejects {
        csv.write_record([r.line.to_string().as_str(), &r.column, &r.rule, &r.message])
            .map_err(io)?;
    }
    let bytes = csv.into_inner().map_err(|e| IntakeError::Io {
        file: load_id.to_string(),
        source: e.into_error(),
    })?;
    let path = Zone::Quarantine.join(&format!("{dataset}/{load_id}/rejected_rows.csv"));
    store.put(&path, Bytes::from(bytes)).await?;
    Ok(Some(path))
}
