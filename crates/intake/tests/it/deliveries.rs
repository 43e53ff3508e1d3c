//! The staged `deliveries` snapshot: one row per active load, kept in step by intake and
//! load, committed like any staged dataset (file first, then the manifest that lists it).

use crate::common;

use std::path::PathBuf;

use arrow_array::{Array, Int32Array, StringArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use svna_intake::{
    DELIVERIES_DATASET, DeliveryRow, StagedManifest, UploadFile, intake_all, load_extract,
    refresh_deliveries, register_key, upload,
};
use svna_storage::Store;

const TOKEN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const PERIOD: &str = "2023-01-01..2023-12-31";

struct Hub {
    dir: tempfile::TempDir,
    store: Store,
}

impl Hub {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
        Hub { dir, store }
    }

    fn persons(&self, name: &str, rows: &[String]) -> UploadFile {
        let path: PathBuf = self.dir.path().join(name);
        let text = format!("offence_id,person_id,role,age,sex\n{}\n", rows.join("\n"));
        std::fs::write(&path, text).unwrap();
        UploadFile {
            path,
            rows: rows.len() as u64,
        }
    }

    /// Uploads `file` as police's persons for the period, after the offences it points at.
    async fn send(&self, file: UploadFile) {
        register_key(&self.store, "0123456789abcdef", false)
            .await
            .unwrap();
        common::send_offences(
            &self.store,
            "police",
            PERIOD,
            &file.path,
            "0123456789abcdef",
        )
        .await;
        upload(
            &self.store,
            svna_contracts::v1(),
            "police",
            "police_persons",
            PERIOD,
            Some("0123456789abcdef".into()),
            &[file],
        )
        .await
        .unwrap();
    }

    async fn manifest(&self) -> StagedManifest {
        StagedManifest::read(&self.store, DELIVERIES_DATASET, 1)
            .await
            .unwrap()
    }

    /// The rows of the active snapshot, read back from its Parquet file as a pipeline would.
    async fn snapshot(&self) -> Vec<DeliveryRow> {
        let manifest = self.manifest().await;
        let files = manifest.active_files();
        assert_eq!(files.len(), 1, "exactly one active snapshot");
        let bytes = self.store.get(&files[0].path).await.unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        let mut rows = Vec::new();
        for batch in reader {
            let batch = batch.unwrap();
            assert_eq!(
                batch.schema().fields(),
                svna_contracts::v1()
                    .dataset(DELIVERIES_DATASET)
                    .unwrap()
                    .arrow_schema()
                    .fields(),
                "written with the contract schema"
            );
            let text = |name: &str| {
                batch
                    .column_by_name(name)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let int = |name: &str| {
                batch
                    .column_by_name(name)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<Int32Array>()
                    .unwrap()
                    .clone()
            };
            let opt = |a: &StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
            let (partner, dataset, period, start, end, load) = (
                text("partner"),
                text("dataset"),
                text("period"),
                text("period_start"),
                text("period_end"),
                text("load_id"),
            );
            let (received, staged, rejected) = (
                int("rows_received"),
                int("rows_staged"),
                int("rows_rejected"),
            );
            for i in 0..batch.num_rows() {
                rows.push(DeliveryRow {
                    partner: partner.value(i).into(),
                    dataset: dataset.value(i).into(),
                    period: opt(&period, i),
                    period_start: opt(&start, i),
                    period_end: opt(&end, i),
                    load_id: load.value(i).into(),
                    rows_received: received.value(i) as u64,
                    rows_staged: staged.value(i) as u64,
                    rows_rejected: rejected.value(i) as u64,
                });
            }
        }
        rows
    }
}

fn person(offence: &str, sex: &str) -> String {
    format!("{offence},{TOKEN_A},victim,20,{sex}")
}

#[tokio::test]
async fn intake_lists_each_active_load_with_its_partner_period_and_counts() {
    let hub = Hub::new();
    // One valid row and one rejected (sex Q).
    hub.send(hub.persons("v1.csv", &[person(TOKEN_A, "F"), person(TOKEN_B, "Q")]))
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let rows = hub.snapshot().await;
    // The persons' delivery, and the offences they point at (sent first).
    let datasets: Vec<&str> = rows.iter().map(|r| r.dataset.as_str()).collect();
    assert_eq!(datasets, ["police_offences", "police_persons"], "{rows:?}");
    let row = &rows[1];
    assert_eq!(
        (row.partner.as_str(), row.dataset.as_str()),
        ("police", "police_persons")
    );
    assert_eq!(row.period.as_deref(), Some(PERIOD));
    assert_eq!(
        (row.period_start.as_deref(), row.period_end.as_deref()),
        (Some("2023-01"), Some("2023-12"))
    );
    assert_eq!(
        (row.rows_received, row.rows_staged, row.rows_rejected),
        (2, 1, 1)
    );
    let first_load = row.load_id.clone();

    // A new upload for the same period supersedes the old load: only the new one is listed,
    // and the previous snapshot is kept in the manifest but no longer read.
    hub.send(hub.persons("v2.csv", &[person(TOKEN_A, "F"), person(TOKEN_B, "M")]))
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let rows: Vec<_> = hub
        .snapshot()
        .await
        .into_iter()
        .filter(|r| r.dataset == "police_persons")
        .collect();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_ne!(rows[0].load_id, first_load);
    assert_eq!(
        (
            rows[0].rows_received,
            rows[0].rows_staged,
            rows[0].rows_rejected
        ),
        (2, 2, 0)
    );
    let manifest = hub.manifest().await;
    assert_eq!(manifest.loads.len(), 2);
    assert_eq!(
        manifest.loads[0].superseded_by.as_deref(),
        Some(manifest.loads[1].load_id.as_str())
    );

    // Nothing changed: a refresh writes nothing and keeps the snapshot.
    let again = refresh_deliveries(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    assert!(!again.written);
    assert_eq!(hub.manifest().await.loads.len(), 2);
}

#[tokio::test]
async fn a_plain_load_is_listed_under_the_contract_partner_and_definitions_are_not() {
    let hub = Hub::new();
    let contracts = svna_contracts::v1();
    hub.store
        .put(
            "landing/probation/p.csv",
            format!(
                "person_id,start_date,age,sex,index_offence_group,rosh,home_lsoa\n{TOKEN_A},2023-02-01,30,M,robbery,low,\n{TOKEN_B},2023-02-30,30,M,robbery,low,\n"
            )
            .into_bytes()
            .into(),
        )
        .await
        .unwrap();
    hub.store
        .put(
            "landing/age_bands.csv",
            b"age,age_band,under_25\n20,18-24,true\n".to_vec().into(),
        )
        .await
        .unwrap();
    load_extract(
        &hub.store,
        contracts.dataset("probation").unwrap(),
        1,
        "landing/probation/p.csv",
    )
    .await
    .unwrap();
    load_extract(
        &hub.store,
        contracts.dataset("age_bands").unwrap(),
        1,
        "landing/age_bands.csv",
    )
    .await
    .unwrap();
    let snapshot = refresh_deliveries(&hub.store, contracts).await.unwrap();
    assert!(snapshot.written);
    let rows = hub.snapshot().await;
    assert_eq!(rows, snapshot.rows);
    assert_eq!(rows.len(), 1, "reference data is not a delivery: {rows:?}");
    assert_eq!(
        (rows[0].partner.as_str(), rows[0].dataset.as_str()),
        ("probation", "probation")
    );
    assert_eq!(
        (&rows[0].period, &rows[0].period_start, &rows[0].period_end),
        (&None, &None, &None)
    );
    assert_eq!(
        (
            rows[0].rows_received,
            rows[0].rows_staged,
            rows[0].rows_rejected
        ),
        (2, 1, 1)
    );
}
