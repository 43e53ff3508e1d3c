use std::collections::BTreeMap;

use bytes::Bytes;
use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};
use svna_contracts::Dataset;
use svna_storage::{FileEntry, ParquetObject, Store, Zone};
use tokio::io::AsyncReadExt;

use crate::error::IntakeError;
use crate::extract::{ExtractReader, Rejection, RowCounts, read_extract};
use crate::staged::{Delivery, LoadRecord, StagedManifest};

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
}

/// Copies a local file into the store (streamed in parts; the object appears only when
/// complete) and returns its entry with checksum and size.
pub async fn upload_local_file(
    store: &Store,
    local: &std::path::Path,
    relative: &str,
) -> Result<FileEntry, IntakeError> {
    let io_error = |e: std::io::Error| IntakeError::Io {
        file: local.display().to_string(),
        message: e.to_string(),
    };
    store.check_writable(relative)?;
    let mut file = tokio::fs::File::open(local).await.map_err(io_error)?;
    let upload = store
        .object_store()
        .put_multipart(&store.path(relative))
        .await
        .map_err(|e| IntakeError::Io {
            file: relative.to_string(),
            message: e.to_string(),
        })?;
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
        writer
            .wait_for_capacity(4)
            .await
            .map_err(|e| IntakeError::Io {
                file: relative.to_string(),
                message: e.to_string(),
            })?;
        writer.put(Bytes::copy_from_slice(&buffer[..n]));
    }
    writer.finish().await.map_err(|e| IntakeError::Io {
        file: relative.to_string(),
        message: e.to_string(),
    })?;
    Ok(FileEntry {
        path: relative.to_string(),
        sha256: hex::encode(hasher.finalize()),
        size,
        rows: None,
    })
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
    load_delivered_extract(store, dataset, contract_version, source_entry, None).await
}

/// Like [`load_extract`] for a file whose checksum the caller has just computed (an upload)
/// or verified (an upload manifest's entry), so the file is not read twice to hash it.
pub async fn load_uploaded_extract(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    source_entry: FileEntry,
) -> Result<LoadOutcome, IntakeError> {
    load_delivered_extract(store, dataset, contract_version, source_entry, None).await
}

/// Like [`load_uploaded_extract`], for a file of a partner upload: loads of earlier uploads
/// for the same partner, dataset and period are superseded (kept, no longer read) in the
/// same commit.
pub async fn load_delivered_extract(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    source_entry: FileEntry,
    delivery: Option<Delivery>,
) -> Result<LoadOutcome, IntakeError> {
    let source = source_entry.path.clone();
    let source = source.as_str();
    let mut manifest = StagedManifest::read(store, &dataset.name, contract_version).await?;
    if let Some(delivery) = &delivery {
        manifest.supersede(delivery);
    }
    if let Some(previous) = manifest.find_by_source_checksum(&source_entry.sha256) {
        return Ok(LoadOutcome {
            record: previous.clone(),
            resend_of: Some(previous.load_id.clone()),
        });
    }
    let load_id = match &delivery {
        Some(d) => format!("load-{}-{}", d.upload_id, &source_entry.sha256[..12]),
        None => format!("load-{}", &source_entry.sha256[..16]),
    };
    // Partitioned by dataset and, for partner deliveries, by period (Hive style), so a reader
    // or a lifecycle rule can select one period's files by prefix.
    let partition = match &delivery {
        Some(d) => format!("period={}/", d.period.replace("..", "_")),
        None => String::new(),
    };
    let staged_path = Zone::Staged.join(&format!("{}/{partition}{load_id}.parquet", dataset.name));

    let (counts, rejects, staged, refused) = match stage_rows(store, dataset, source, &staged_path)
        .await
    {
        Ok((counts, rejects, staged)) => (counts, rejects, staged, None),
        Err(
            e @ (IntakeError::Header { .. } | IntakeError::Empty { .. } | IntakeError::Csv { .. }),
        ) => (RowCounts::default(), Vec::new(), None, Some(e.to_string())),
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
    let record = LoadRecord {
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
        delivery,
        superseded_by: None,
    };
    manifest.loads.push(record.clone());
    manifest.commit(store).await?;
    Ok(LoadOutcome {
        record,
        resend_of: None,
    })
}

/// Streams the source through the contract reader on a blocking thread and writes accepted
/// batches to Parquet as they come, so memory stays bounded by a few batches.
async fn stage_rows(
    store: &Store,
    dataset: &Dataset,
    source: &str,
    staged_path: &str,
) -> Result<(RowCounts, Vec<Rejection>, Option<FileEntry>), IntakeError> {
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
        let counts = read_extract(
            reader,
            &options,
            |batch| {
                sender.blocking_send(batch).map_err(|_| IntakeError::Io {
                    file: file.clone(),
                    message: "Parquet writer stopped".into(),
                })
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
    while let Some(batch) = receiver.recv().await {
        if writer.is_none() {
            writer = Some(store.parquet_writer(staged_path, dataset.arrow_schema())?);
        }
        writer.as_mut().expect("just created").write(&batch).await?;
    }
    let (counts, rejects) = reading.await.map_err(|e| IntakeError::Io {
        file: source.to_string(),
        message: e.to_string(),
    })??;
    let staged = match writer {
        Some(writer) => Some(writer.finish().await?),
        None => None,
    };
    Ok((counts, rejects, staged))
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
    let io = |e: csv::Error| IntakeError::Io {
        file: load_id.to_string(),
        message: e.to_string(),
    };
    csv.write_record(["line", "column", "rule", "reason"])
        .map_err(io)?;
    for r in rejects {
        csv.write_record([r.line.to_string().as_str(), &r.column, &r.rule, &r.message])
            .map_err(io)?;
    }
    let bytes = csv.into_inner().map_err(|e| IntakeError::Io {
        file: load_id.to_string(),
        message: e.to_string(),
    })?;
    let path = Zone::Quarantine.join(&format!("{dataset}/{load_id}/rejected_rows.csv"));
    store.put(&path, Bytes::from(bytes)).await?;
    Ok(Some(path))
}
