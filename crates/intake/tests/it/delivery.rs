//! Partner uploads and the hub's intake: visibility, retries, supersession, refusals.

use crate::common;

use std::path::PathBuf;

use svna_intake::{
    IntakeStatus, StagedManifest, UploadFile, delivery_status, intake_all, register_key, upload,
};
use svna_storage::Store;

const TOKEN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const PERIOD: &str = "2023-01-01..2023-12-31";
/// The partnership's key fingerprint, registered by the coordinator in every hub here.
const FP1: &str = "0123456789abcdef";
const FP2: &str = "fedcba9876543210";

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

    fn extract(&self, name: &str, rows: &[&str]) -> UploadFile {
        let path: PathBuf = self.dir.path().join(name);
        let text = format!("offence_id,person_id,role,age,sex\n{}\n", rows.join("\n"));
        std::fs::write(&path, text).unwrap();
        UploadFile {
            path,
            rows: rows.len() as u64,
        }
    }

    /// Uploads `file` as police's persons for the period, after the offences it points at.
    async fn send(&self, file: UploadFile, fingerprint: &str) -> svna_intake::UploadManifest {
        register_key(&self.store, FP1, false).await.unwrap();
        common::send_offences(&self.store, "police", PERIOD, &file.path, fingerprint).await;
        upload(
            &self.store,
            svna_contracts::v1(),
            "police",
            "police_persons",
            PERIOD,
            Some(fingerprint.into()),
            &[file],
        )
        .await
        .unwrap()
    }

    async fn staged_rows(&self) -> usize {
        let manifest = StagedManifest::read(&self.store, "police_persons", 1)
            .await
            .unwrap();
        manifest
            .active_files()
            .iter()
            .map(|f| f.rows.unwrap_or(0) as usize)
            .sum()
    }
}

fn row(person: &str, sex: &str) -> String {
    format!("{TOKEN_A},{person},victim,20,{sex}")
}

#[tokio::test]
async fn an_upload_is_taken_in_once_with_its_rows_accounted_for() {
    let hub = Hub::new();
    let a = row(TOKEN_A, "F");
    let b = row(TOKEN_B, "Q");
    let manifest = hub.send(hub.extract("p.csv", &[&a, &b]), FP1).await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    // The offences the persons point at are taken in first.
    let datasets: Vec<&str> = records.iter().map(|r| r.dataset.as_str()).collect();
    assert_eq!(datasets, ["police_offences", "police_persons"]);
    let persons = &records[1];
    let file = &persons.files[0];
    assert_eq!(persons.status, IntakeStatus::Staged);
    assert_eq!(
        (file.rows_received, file.rows_staged, file.rows_rejected),
        (2, 1, 1)
    );
    assert_eq!(file.rows_received, file.rows_staged + file.rows_rejected);
    assert_eq!(hub.staged_rows().await, 1);
    // Staged Parquet is partitioned by dataset and period.
    let staged = StagedManifest::read(&hub.store, "police_persons", 1)
        .await
        .unwrap();
    let expected = format!(
        "staged/police_persons/period={}/",
        PERIOD.replace("..", "_")
    );
    assert!(
        staged.active_files()[0].path.starts_with(&expected),
        "{}",
        staged.active_files()[0].path
    );

    // Retrying the same upload lands on the same id and is not taken in again.
    let again = hub.send(hub.extract("p.csv", &[&a, &b]), FP1).await;
    assert_eq!(again.upload_id, manifest.upload_id);
    assert!(
        intake_all(&hub.store, svna_contracts::v1())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(hub.staged_rows().await, 1);
}

#[tokio::test]
async fn an_upload_without_its_manifest_is_invisible() {
    let hub = Hub::new();
    hub.store
        .put(
            "landing/police/police_persons/up-half/p.csv",
            b"offence_id\n".to_vec().into(),
        )
        .await
        .unwrap();
    assert!(
        intake_all(&hub.store, svna_contracts::v1())
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        delivery_status(&hub.store, svna_contracts::v1())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_new_upload_for_the_same_period_supersedes_the_old() {
    let hub = Hub::new();
    let first = hub
        .send(hub.extract("v1.csv", &[&row(TOKEN_A, "F")]), FP1)
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let second = hub
        .send(
            hub.extract("v2.csv", &[&row(TOKEN_A, "F"), &row(TOKEN_B, "M")]),
            FP1,
        )
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    // Only the newest upload is read; the old one is kept and marked.
    assert_eq!(hub.staged_rows().await, 2);
    let status = delivery_status(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    let state = |id: &str| {
        status
            .iter()
            .find(|s| s.upload_id == id)
            .unwrap()
            .state
            .clone()
    };
    assert_eq!(state(&first.upload_id), "superseded");
    assert_eq!(state(&second.upload_id), "staged");
    let manifest = StagedManifest::read(&hub.store, "police_persons", 1)
        .await
        .unwrap();
    assert_eq!(manifest.loads.len(), 2);
}

#[tokio::test]
async fn a_different_linkage_key_is_refused() {
    let hub = Hub::new();
    hub.send(hub.extract("a.csv", &[&row(TOKEN_A, "F")]), FP1)
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let other = upload(
        &hub.store,
        svna_contracts::v1(),
        "youth",
        "police_persons",
        "2022-01-01..2022-12-31",
        Some(FP2.into()),
        &[hub.extract("b.csv", &[&row(TOKEN_B, "M")])],
    )
    .await
    .unwrap();
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert_eq!(records[0].upload_id, other.upload_id);
    assert_eq!(records[0].status, IntakeStatus::Quarantined);
    assert!(
        records[0]
            .reason
            .as_ref()
            .unwrap()
            .contains(&format!("fingerprint {FP2} differs")),
        "{:?}",
        records[0].reason
    );
    assert_eq!(hub.staged_rows().await, 1);
    assert_eq!(
        hub.store
            .list("quarantine/uploads/youth")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_file_changed_after_upload_is_quarantined() {
    let hub = Hub::new();
    let manifest = hub
        .send(hub.extract("a.csv", &[&row(TOKEN_A, "F")]), FP1)
        .await;
    hub.store
        .put(
            &manifest.files[0].path,
            b"offence_id,person_id,role,age,sex\n".to_vec().into(),
        )
        .await
        .unwrap();
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let changed = records
        .iter()
        .find(|r| r.upload_id == manifest.upload_id)
        .unwrap();
    assert_eq!(changed.status, IntakeStatus::Quarantined);
    assert!(
        changed
            .reason
            .as_ref()
            .unwrap()
            .contains("does not match its manifest checksum")
    );
    assert_eq!(hub.staged_rows().await, 0);
}

#[tokio::test]
async fn person_level_data_needs_a_fingerprint() {
    let hub = Hub::new();
    upload(
        &hub.store,
        svna_contracts::v1(),
        "police",
        "police_persons",
        PERIOD,
        None,
        &[hub.extract("a.csv", &[&row(TOKEN_A, "F")])],
    )
    .await
    .unwrap();
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert_eq!(records[0].status, IntakeStatus::Quarantined);
}
