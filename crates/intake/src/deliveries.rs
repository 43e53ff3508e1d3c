//! The staged `deliveries` dataset: one row per active load of every delivered dataset,
//! so pipelines can report on the data itself (the data-quality table) with plain SQL.
//!
//! It is a snapshot, regenerated from all staged manifests after every intake and load, and
//! staged like any other dataset (a Parquet file, then the `_manifest.json` that lists it), so
//! the engine registers it with its contract schema exactly like a partner source. A new
//! snapshot is written first and the manifest committed after it; the previous snapshot stays
//! in the manifest as a superseded load (kept, no longer read), as a resent upload does.

use bytes::Bytes;
use serde::Serialize;
use svna_contracts::{Contracts, Dataset, TypedBatchBuilder, Value};
use svna_storage::{Store, Zone, sha256_hex};

use crate::error::IntakeError;
use svna_records::{LoadRecord, StagedManifest, period_dates, staged_manifest_prefix};

/// The contract dataset the snapshot is staged as.
pub const DELIVERIES_DATASET: &str = "deliveries";

/// One row of the snapshot, in contract column order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryRow {
    pub partner: String,
    pub dataset: String,
    pub period: Option<String>,
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub load_id: String,
    pub rows_received: u64,
    pub rows_staged: u64,
    pub rows_rejected: u64,
}

/// What a refresh did.
#[derive(Debug, Clone)]
pub struct DeliveriesSnapshot {
    pub rows: Vec<DeliveryRow>,
    /// The load id of the active snapshot.
    pub load_id: String,
    /// False when the active snapshot already held exactly these rows (nothing written).
    pub written: bool,
}

/// Every active load of every delivered dataset (person-level, unidentified, aggregate and
/// open data; not svna's reference definitions or its own metadata), in a stable order.
pub async fn delivery_rows(
    store: &Store,
    contracts: &Contracts,
) -> Result<Vec<DeliveryRow>, IntakeError> {
    let mut rows = Vec::new();
    for dataset in contracts.datasets.iter().filter(|d| d.kind.is_delivered()) {
        let manifest = StagedManifest::read(store, &dataset.name, contracts.version).await?;
        for load in manifest.loads.iter().filter(|l| l.is_active()) {
            rows.push(delivery_row(dataset, load));
        }
    }
    rows.sort_by(|a, b| {
        (&a.dataset, &a.partner, &a.period, &a.load_id)
            .cmp(&(&b.dataset, &b.partner, &b.period, &b.load_id))
    });
    Ok(rows)
}

fn delivery_row(dataset: &Dataset, load: &LoadRecord) -> DeliveryRow {
    let (partner, period) = match &load.delivery {
        Some(d) => (d.partner.clone(), Some(d.period.clone())),
        None => (dataset.partner.clone(), None),
    };
    // Intake quarantines an upload whose period is not `YYYY-MM-DD..YYYY-MM-DD`, so a bad
    // one can only come from an older svna or a hand-edited manifest: its months are left
    // unknown rather than stopping every later intake and load.
    let month = |d: chrono::NaiveDate| d.format("%Y-%m").to_string();
    let months = period.as_deref().and_then(period_dates);
    DeliveryRow {
        partner,
        dataset: dataset.name.clone(),
        period,
        period_start: months.map(|(start, _)| month(start)),
        period_end: months.map(|(_, end)| month(end)),
        load_id: load.load_id.clone(),
        rows_received: load.rows_received,
        rows_staged: load.rows_staged,
        rows_rejected: load.rows_rejected,
    }
}

/// Regenerates the `deliveries` snapshot from every staged manifest. Idempotent: when the
/// active snapshot already holds these rows nothing is written.
pub async fn refresh_deliveries(
    store: &Store,
    contracts: &Contracts,
) -> Result<DeliveriesSnapshot, IntakeError> {
    let contract = contracts.dataset(DELIVERIES_DATASET)?;
    let prefix = staged_manifest_prefix(DELIVERIES_DATASET);
    loop {
        // The snapshot's own manifest is read before the manifests it summarises: if another
        // command commits a snapshot meanwhile, this commit fails and everything is read
        // again, so the snapshot committed last has seen every load committed before it.
        let mut manifest =
            StagedManifest::read(store, DELIVERIES_DATASET, contracts.version).await?;
        let rows = delivery_rows(store, contracts).await?;
        // Named by content, so an unchanged snapshot is recognised and not written again.
        let content = serde_json::to_vec(&rows).expect("delivery rows serialise");
        let load_id = format!("snapshot-{}", &sha256_hex(&content)[..16]);
        let active: Vec<&str> = manifest
            .loads
            .iter()
            .filter(|l| l.is_active())
            .map(|l| l.load_id.as_str())
            .collect();
        if active == [load_id.as_str()] {
            return Ok(DeliveriesSnapshot {
                rows,
                load_id,
                written: false,
            });
        }
        let record = snapshot_record(store, contract, &rows, &load_id, &content).await?;
        for load in &mut manifest.loads {
            if load.is_active() {
                load.superseded_by = Some(load_id.clone());
            }
        }
        manifest.loads.push(record);
        if store
            .create_version(&prefix, manifest.version + 1, &manifest)
            .await?
        {
            return Ok(DeliveriesSnapshot {
                rows,
                load_id,
                written: true,
            });
        }
    }
}

/// Writes the snapshot's Parquet file (under a fresh name, so concurrent refreshes never
/// write the same object) and returns its load record.
async fn snapshot_record(
    store: &Store,
    contract: &Dataset,
    rows: &[DeliveryRow],
    load_id: &str,
    content: &[u8],
) -> Result<LoadRecord, IntakeError> {
    let attempt = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let path = Zone::Staged.join(&format!("{DELIVERIES_DATASET}/{load_id}-{attempt}.parquet"));
    let count = rows.len() as u64;
    // An empty snapshot has no file, like a load with no accepted row: a pipeline that needs
    // `deliveries` then says the source is missing rather than reporting on nothing.
    let staged = if rows.is_empty() {
        None
    } else {
        store
            .put(&path, parquet_bytes(contract, rows, &path)?)
            .await?;
        Some(store.file_entry(&path, Some(count)).await?)
    };
    let source = match &staged {
        Some(entry) => entry.clone(),
        // Nothing was written: the snapshot's "source" is the (empty) row list itself.
        None => svna_storage::FileEntry {
            path: path.clone(),
            sha256: sha256_hex(content),
            size: 0,
            rows: Some(0),
        },
    };
    Ok(LoadRecord {
        load_id: load_id.to_string(),
        // A snapshot has no partner extract behind it: it is generated from the staged
        // manifests, so it is its own source.
        source,
        staged,
        rows_received: count,
        rows_staged: count,
        rows_rejected: 0,
        rejected_by_rule: Default::default(),
        rejects_path: None,
        refused: None,
        loaded_at: chrono::Utc::now().to_rfc3339(),
        delivery: None,
        period: None,
        batch: None,
        superseded_by: None,
        retracted: None,
    })
}

/// The rows as one Parquet file with the contract schema (so the engine reads it typed by
/// the contract, never by inference).
fn parquet_bytes(
    contract: &Dataset,
    rows: &[DeliveryRow],
    path: &str,
) -> Result<Bytes, IntakeError> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Utf8);
    // The contract types counts as `int` (32-bit); a load of more rows cannot be represented.
    let int = |row: &DeliveryRow, n: u64| {
        i32::try_from(n)
            .map(Value::Int)
            .map_err(|_| IntakeError::Deliveries {
                dataset: row.dataset.clone(),
                load_id: row.load_id.clone(),
                message: format!("{n} rows do not fit the contract's int column"),
            })
    };
    // The values below are pushed in this order; a contract that changed its columns must
    // change this function too, which this check says rather than a panic or wrong columns.
    const COLUMNS: [&str; 9] = [
        "partner",
        "dataset",
        "period",
        "period_start",
        "period_end",
        "load_id",
        "rows_received",
        "rows_staged",
        "rows_rejected",
    ];
    if contract.column_names() != COLUMNS {
        return Err(IntakeError::Deliveries {
            dataset: contract.name.clone(),
            load_id: String::new(),
            message: format!(
                "contract columns {:?} are not the ones svna writes ({COLUMNS:?})",
                contract.column_names()
            ),
        });
    }
    let mut builder = TypedBatchBuilder::new(contract, rows.len());
    for row in rows {
        builder.push(&[
            Value::Utf8(row.partner.clone()),
            Value::Utf8(row.dataset.clone()),
            text(&row.period),
            text(&row.period_start),
            text(&row.period_end),
            Value::Utf8(row.load_id.clone()),
            int(row, row.rows_received)?,
            int(row, row.rows_staged)?,
            int(row, row.rows_rejected)?,
        ]);
    }
    let batch = builder.finish().map_err(|source| IntakeError::Arrow {
        file: path.to_string(),
        action: "write",
        source,
    })?;
    Ok(svna_storage::parquet_bytes(
        path,
        contract.arrow_schema(),
        &[batch],
        svna_storage::ParquetReaders::Pipeline,
    )?)
}
