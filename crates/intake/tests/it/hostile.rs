//! Issue 14, the hub's side: nothing a partner's manifest says is believed without a check,
//! one bad upload stops nobody else, resends and reloads are counted once, and concurrent
//! intakes lose nothing.

use crate::common;

use std::path::PathBuf;

use svna_intake::{
    IntakeError, IntakeRecord, IntakeStatus, LoadRequest, RetractTarget, StagedManifest,
    UploadFile, delivery_rows, delivery_status, intake_all, load_extract_for, register_key,
    retract, upload,
};
use svna_storage::{FileEntry, Store};

const FP: &str = "0123456789abcdef";
const OTHER_FP: &str = "fedcba9876543210";
const PERIOD: &str = "2019-01-01..2023-12-31";
const HEADER: &str = "offence_id,person_id,role,age,sex";

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

    /// A police_persons extract of `n` valid rows whose tokens start at `first`.
    fn persons(&self, name: &str, first: u64, n: u64) -> UploadFile {
        let rows: Vec<String> = (first..first + n)
            .map(|i| format!("{:064x},{:064x},victim,20,F", i, i))
            .collect();
        let path: PathBuf = self.dir.path().join(name);
        std::fs::write(&path, format!("{HEADER}\n{}\n", rows.join("\n"))).unwrap();
        UploadFile { path, rows: n }
    }

    /// Uploads `file` as `partner`'s police_persons for `period`, after the offences its rows
    /// point at (a person row must refer to an offence of the same partner and period).
    async fn send(
        &self,
        partner: &str,
        period: &str,
        file: UploadFile,
    ) -> svna_intake::UploadManifest {
        self.send_offences(partner, period, &file.path).await;
        upload(
            &self.store,
            svna_contracts::v1(),
            partner,
            "police_persons",
            period,
            Some(FP.into()),
            &[file],
        )
        .await
        .unwrap()
    }

    async fn send_offences(&self, partner: &str, period: &str, persons: &std::path::Path) {
        common::send_offences(&self.store, partner, period, persons, FP).await;
    }

    /// Writes a manifest as a hostile or careless partner could, bypassing `svna upload`.
    async fn plant(&self, folder: &str, manifest: serde_json::Value) {
        self.store
            .put_json(&format!("{folder}/manifest.json"), &manifest)
            .await
            .unwrap();
    }

    async fn active_rows(&self, dataset: &str) -> u64 {
        StagedManifest::read(&self.store, dataset, 1)
            .await
            .unwrap()
            .active_files()
            .iter()
            .map(|f| f.rows.unwrap_or(0))
            .sum()
    }
}

fn manifest_json(
    upload_id: &str,
    partner: &str,
    period: &str,
    files: &[FileEntry],
) -> serde_json::Value {
    serde_json::json!({
        "upload_id": upload_id,
        "partner": partner,
        "dataset": "police_persons",
        "contract_version": 1,
        "period": period,
        "files": files,
        "key_fingerprint": FP,
        "tool_version": "test",
        "uploaded_at": "2020-01-01T00:00:00Z",
    })
}

fn quarantined<'a>(records: &'a [IntakeRecord], upload: &str) -> &'a str {
    let record = records
        .iter()
        .find(|r| r.upload_id == upload)
        .unwrap_or_else(|| panic!("no intake record for {upload}: {records:#?}"));
    assert_eq!(record.status, IntakeStatus::Quarantined, "{record:#?}");
    record.reason.as_deref().unwrap()
}

#[tokio::test]
async fn hostile_manifests_are_quarantined_while_a_good_upload_beside_them_is_taken_in() {
    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    let police = hub
        .send("police", PERIOD, hub.persons("police.csv", 0, 10))
        .await;
    let police_file = police.files[0].clone();

    // Finding 1: evil names police's file as its own.
    hub.plant(
        "landing/evil/police_persons/up-steal",
        manifest_json(
            "up-steal",
            "evil",
            PERIOD,
            std::slice::from_ref(&police_file),
        ),
    )
    .await;
    // Finding 1: evil says it is police (with a file of its own, to supersede police's).
    let evil = hub
        .send("evil", PERIOD, hub.persons("evil.csv", 500, 5))
        .await;
    let mut claim = manifest_json("up-claim", "police", PERIOD, &evil.files);
    let claim_file = FileEntry {
        path: "landing/evil/police_persons/up-claim/evil.csv".into(),
        ..evil.files[0].clone()
    };
    hub.store
        .put(
            &claim_file.path,
            hub.store.get(&evil.files[0].path).await.unwrap(),
        )
        .await
        .unwrap();
    claim["files"] = serde_json::json!([claim_file]);
    hub.plant("landing/evil/police_persons/up-claim", claim)
        .await;
    // Finding 1: a file outside landing/ (a staged object) read as the upload's CSV.
    hub.store
        .put(
            "staged/other/secret.parquet",
            b"PAR1 not a csv".to_vec().into(),
        )
        .await
        .unwrap();
    let outside = hub
        .store
        .file_entry("staged/other/secret.parquet", Some(1))
        .await
        .unwrap();
    hub.plant(
        "landing/health/police_persons/up-outside",
        manifest_json("up-outside", "health", PERIOD, &[outside]),
    )
    .await;
    // Finding 1: 999999 rows declared for a 10-row file.
    let liar = hub
        .send(
            "liar",
            "2018-01-01..2018-12-31",
            hub.persons("liar.csv", 900, 10),
        )
        .await;
    let mut lying = serde_json::to_value(&liar).unwrap();
    lying["files"][0]["rows"] = 999_999.into();
    hub.plant(
        &format!("landing/liar/police_persons/{}", liar.upload_id),
        lying,
    )
    .await;
    // Finding 2: a period that is no period, and a manifest that is no JSON.
    let soon = hub
        .send(
            "soon",
            "2018-01-01..2018-12-31",
            hub.persons("soon.csv", 700, 3),
        )
        .await;
    let mut soon_json = serde_json::to_value(&soon).unwrap();
    soon_json["period"] = "soon".into();
    hub.plant(
        &format!("landing/soon/police_persons/{}", soon.upload_id),
        soon_json,
    )
    .await;
    hub.store
        .put(
            "landing/broken/police_persons/up-broken/manifest.json",
            b"{ not json".to_vec().into(),
        )
        .await
        .unwrap();
    // Finding 4: the right fingerprint declared over another key's tokens is flagged below;
    // a wrong fingerprint declared is quarantined.
    let wrong = upload(
        &hub.store,
        svna_contracts::v1(),
        "youth",
        "police_persons",
        "2018-01-01..2018-12-31",
        Some(OTHER_FP.into()),
        &[hub.persons("youth.csv", 800, 2)],
    )
    .await
    .unwrap();
    // Finding 3: partner ids that need percent-encoding are refused at upload...
    for name in ["polícia", "quote\"d", "police#2", "pct%41"] {
        let refused = upload(
            &hub.store,
            svna_contracts::v1(),
            name,
            "police_persons",
            PERIOD,
            Some(FP.into()),
            &[hub.persons("x.csv", 0, 1)],
        )
        .await;
        assert!(
            matches!(refused, Err(IntakeError::Name(_))),
            "{name}: {refused:?}"
        );
        // ... and a folder made under such a name by other means is quarantined at intake.
        hub.store
            .put(
                &format!("landing/{name}/police_persons/up-x/manifest.json"),
                b"{}".to_vec().into(),
            )
            .await
            .unwrap();
    }

    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();

    let good = records
        .iter()
        .find(|r| r.upload_id == police.upload_id)
        .unwrap();
    assert_eq!(good.status, IntakeStatus::Staged, "{good:#?}");
    assert!(quarantined(&records, "up-steal").contains("not a file of this upload"));
    assert!(quarantined(&records, "up-claim").contains("says partner `police`"));
    assert!(quarantined(&records, "up-outside").contains("staged/other/secret.parquet"));
    assert!(quarantined(&records, &liar.upload_id).contains("its manifest says 999999"));
    assert!(quarantined(&records, &soon.upload_id).contains("period `soon`"));
    assert!(quarantined(&records, "up-broken").contains("not a valid upload manifest"));
    assert!(quarantined(&records, &wrong.upload_id).contains(&format!("{OTHER_FP} differs")));
    let bad_names = records
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|r| r.contains("partner id"))
        })
        .count();
    assert_eq!(bad_names, 4, "{records:#?}");
    // evil's own honest upload is taken in; nothing of the liars was.
    assert_eq!(
        records
            .iter()
            .filter(|r| r.status == IntakeStatus::Staged && r.dataset == "police_persons")
            .count(),
        2,
        "{records:#?}"
    );
    assert_eq!(hub.active_rows("police_persons").await, 15);

    // Every quarantined upload shows in status with its reason; police's delivery is staged
    // with its 10 rows, as the pipeline reads it.
    let status = delivery_status(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    let police_line = status
        .iter()
        .find(|s| s.upload_id == police.upload_id)
        .unwrap();
    assert_eq!(
        (police_line.state.as_str(), police_line.rows_staged),
        ("staged", 10)
    );
    assert_eq!(
        status
            .iter()
            .filter(|s| s.state == "quarantined" && s.reason.is_some())
            .count(),
        11,
        "{status:#?}"
    );
    // Nothing stops the next intake or the deliveries table.
    assert!(
        intake_all(&hub.store, svna_contracts::v1())
            .await
            .unwrap()
            .is_empty()
    );
    // The two persons' deliveries taken in (police's and evil's honest one), beside the
    // offences they point at.
    assert_eq!(
        delivery_rows(&hub.store, svna_contracts::v1())
            .await
            .unwrap()
            .iter()
            .filter(|r| r.dataset == "police_persons")
            .count(),
        2
    );
}

#[tokio::test]
async fn without_a_registered_key_person_data_waits_for_the_coordinator() {
    let hub = Hub::new();
    let sent = hub.send("police", PERIOD, hub.persons("p.csv", 0, 3)).await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert!(quarantined(&records, &sent.upload_id).contains("svna key register"));
    // The first uploader's fingerprint does not become the partnership's.
    assert!(
        svna_intake::registered_key(&hub.store)
            .await
            .unwrap()
            .is_none()
    );
    // A different key replaces a registered one only on purpose.
    register_key(&hub.store, FP, false).await.unwrap();
    assert!(matches!(
        register_key(&hub.store, OTHER_FP, false).await,
        Err(IntakeError::KeyRegistered { .. })
    ));
    assert!(matches!(
        register_key(&hub.store, "fp1", false).await,
        Err(IntakeError::Fingerprint { .. })
    ));
}

#[tokio::test]
async fn tokens_that_link_with_nobody_are_flagged() {
    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    hub.send("police", PERIOD, hub.persons("police.csv", 0, 10))
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    // Half of its people are police's: linked. Another key's tokens: linked with nobody.
    let linked = hub
        .send("youth", PERIOD, hub.persons("youth.csv", 5, 10))
        .await;
    let unlinked = hub
        .send("probation", PERIOD, hub.persons("probation.csv", 1000, 4))
        .await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let record = |id: &str| records.iter().find(|r| r.upload_id == id).unwrap();
    let youth = record(&linked.upload_id);
    let police = youth
        .linkage
        .iter()
        .find(|l| l.partner == "police")
        .unwrap();
    assert_eq!((police.tokens, police.found), (10, 5));
    assert!(youth.linkage_warning.is_none());
    let probation = record(&unlinked.upload_id);
    assert_eq!(probation.status, IntakeStatus::Staged);
    assert!(
        probation
            .linkage_warning
            .as_deref()
            .unwrap()
            .contains("another key")
    );
    let status = delivery_status(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    let line = status
        .iter()
        .find(|s| s.upload_id == unlinked.upload_id)
        .unwrap();
    assert!(
        line.linkage.as_deref().unwrap().starts_with("WARNING"),
        "{line:?}"
    );
}

/// Issue 17: partners that share no identifier have different person tokens for one
/// person; their match keys link them, so the delivery is not flagged.
#[tokio::test]
async fn match_keys_link_partners_whose_person_tokens_differ() {
    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    // Person i of a partner: its own token (offset per partner), name key 0xabc000 + i.
    let keyed = |name: &str, offset: u64, first: u64, n: u64| {
        let rows: Vec<String> = (first..first + n)
            .map(|i| {
                format!(
                    "{:064x},{:064x},victim,20,F,{:064x}",
                    offset + i,
                    offset + i,
                    0xabc000 + i
                )
            })
            .collect();
        let path: PathBuf = hub.dir.path().join(name);
        std::fs::write(
            &path,
            format!("{HEADER},mk_name_dob_sex\n{}\n", rows.join("\n")),
        )
        .unwrap();
        UploadFile { path, rows: n }
    };
    hub.send("police", PERIOD, keyed("police.csv", 0, 0, 10))
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let youth = hub
        .send("youth", PERIOD, keyed("youth.csv", 5000, 5, 10))
        .await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let record = records
        .iter()
        .find(|r| r.upload_id == youth.upload_id)
        .unwrap();
    assert_eq!(record.status, IntakeStatus::Staged);
    let police = record
        .linkage
        .iter()
        .find(|l| l.partner == "police")
        .unwrap();
    // No person token in common, five people linked by their match key.
    assert_eq!((police.tokens, police.found), (10, 5));
    assert!(record.linkage_warning.is_none());
}

#[tokio::test]
async fn overlapping_resends_and_repeated_loads_are_counted_once() {
    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    // A refreshed extract for an overlapping, longer period replaces the original.
    let first = hub
        .send("police", PERIOD, hub.persons("v1.csv", 0, 10))
        .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    hub.send(
        "police",
        "2019-01-01..2024-03-31",
        hub.persons("v2.csv", 0, 12),
    )
    .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert_eq!(hub.active_rows("police_persons").await, 12);
    // A delivery for a period that does not overlap stands beside it.
    hub.send(
        "police",
        "2018-01-01..2018-12-31",
        hub.persons("v0.csv", 100, 3),
    )
    .await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert_eq!(hub.active_rows("police_persons").await, 15);

    // svna load of reference data: a corrected file, then the same file with CRLF endings.
    let load = |name: &str, dataset: &'static str, text: String| {
        let store = hub.store.clone();
        let path = format!("landing/{dataset}/{name}");
        async move {
            store.put(&path, text.into_bytes().into()).await.unwrap();
            let entry = store.file_entry(&path, None).await.unwrap();
            let contract = svna_contracts::v1().dataset(dataset).unwrap();
            load_extract_for(&store, contract, 1, entry, &LoadRequest::one_command(None))
                .await
                .unwrap()
        }
    };
    let bands = |n: u32, eol: &str| {
        let mut text = format!("age,age_band,under_25{eol}");
        for age in 0..n {
            text.push_str(&format!("{age},0-9,true{eol}"));
        }
        text
    };
    load("age_bands.csv", "age_bands", bands(10, "\n")).await;
    load("age_bands.csv", "age_bands", bands(11, "\n")).await;
    assert_eq!(hub.active_rows("age_bands").await, 11);
    let crlf = load("age_bands.csv", "age_bands", bands(11, "\r\n")).await;
    assert_eq!(crlf.superseded.len(), 1);
    assert_eq!(hub.active_rows("age_bands").await, 11);
    // The same bytes again: recognised, nothing staged.
    assert!(
        load("age_bands.csv", "age_bands", bands(11, "\r\n"))
            .await
            .resend_of
            .is_some()
    );

    // Police open data month by month; a revised February replaces February only.
    let month = |m: &str, n: usize| {
        let mut text = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n".to_string();
        for _ in 0..n {
            text.push_str(&format!(",{m},Force,Force,,,,,,Robbery,,\n"));
        }
        text
    };
    load("2023-01.csv", "police_open_data", month("2023-01", 4)).await;
    load("2023-02.csv", "police_open_data", month("2023-02", 5)).await;
    let revised = load(
        "2023-02-revised.csv",
        "police_open_data",
        month("2023-02", 6),
    )
    .await;
    assert_eq!(
        revised.record.period.as_deref(),
        Some("2023-02-01..2023-02-28")
    );
    assert_eq!(hub.active_rows("police_open_data").await, 10);

    // Retracting the revision: kept and recorded, no longer read, shown in status.
    let retracted = retract(
        &hub.store,
        svna_contracts::v1(),
        &RetractTarget::Load(revised.record.load_id.clone()),
        "sent by mistake",
    )
    .await
    .unwrap();
    assert_eq!(retracted.len(), 1);
    assert_eq!(hub.active_rows("police_open_data").await, 4);
    let retracted_delivery = retract(
        &hub.store,
        svna_contracts::v1(),
        &RetractTarget::Delivery(first.upload_id.clone()),
        "superseded anyway",
    )
    .await
    .unwrap();
    assert_eq!(retracted_delivery.len(), 1);
    let status = delivery_status(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    let line = status
        .iter()
        .find(|s| s.upload_id == revised.record.load_id)
        .unwrap();
    assert_eq!(
        (line.kind.as_str(), line.state.as_str()),
        ("load", "retracted")
    );
    assert!(line.reason.as_deref().unwrap().contains("sent by mistake"));
    // Status and the pipeline read the same state: staged rows shown = rows read.
    for dataset in ["police_persons", "age_bands", "police_open_data"] {
        let shown: u64 = status
            .iter()
            .filter(|s| s.dataset == dataset && s.state == "staged")
            .map(|s| s.rows_staged)
            .sum();
        assert_eq!(
            shown,
            hub.active_rows(dataset).await,
            "{dataset}: {status:#?}"
        );
    }
    assert!(matches!(
        retract(
            &hub.store,
            svna_contracts::v1(),
            &RetractTarget::Load("load-none".into()),
            "x"
        )
        .await,
        Err(IntakeError::NotStaged { .. })
    ));
}

/// A store with the registered key and ten uploads of police_persons waiting for intake:
/// eight for eight months, and two for 2022, the second replacing the first. Returns the
/// uploads that must end up active: the eight and the second.
async fn uploads_waiting() -> (Hub, Vec<String>) {
    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    let mut uploads = Vec::new();
    for month in 1..=8u64 {
        let period = format!("2023-{month:02}-01..2023-{month:02}-28");
        let file = hub.persons(&format!("m{month}.csv"), month * 100, 2);
        uploads.push(hub.send("police", &period, file).await.upload_id);
    }
    let mut last = String::new();
    for resend in 1..=2u64 {
        let file = hub.persons(&format!("r{resend}.csv"), 5000, resend);
        last = hub
            .send("police", "2022-01-01..2022-12-31", file)
            .await
            .upload_id;
    }
    uploads.push(last);
    uploads.sort();
    (hub, uploads)
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The waiting uploads (a fresh copy of `template`) taken in by `intakes` intakes at once;
/// says what was lost, doubled, or left active when it should have been replaced.
async fn concurrent_try(template: &Hub, uploads: &[String], intakes: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(
        &template.dir.path().join("store"),
        &dir.path().join("store"),
    );
    let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
    let tasks: Vec<_> = (0..intakes)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { intake_all(&store, svna_contracts::v1()).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().map_err(|e| e.to_string())?;
    }
    let manifest = StagedManifest::read(&store, "police_persons", 1)
        .await
        .unwrap();
    let mut active: Vec<String> = manifest
        .loads
        .iter()
        .filter(|l| l.is_active())
        .map(|l| l.delivery.as_ref().unwrap().upload_id.clone())
        .collect();
    active.sort();
    if active != uploads {
        return Err(format!(
            "active deliveries {active:?}, expected {uploads:?}"
        ));
    }
    // The deliveries snapshot committed last saw every delivery: the nine of persons and
    // the nine of the offences they point at.
    let snapshot = StagedManifest::read(&store, svna_intake::DELIVERIES_DATASET, 1)
        .await
        .unwrap();
    let listed = snapshot.active_files().first().and_then(|f| f.rows);
    if listed != Some(18) {
        return Err(format!(
            "the deliveries snapshot lists {listed:?} loads, not 18"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_and_three_concurrent_intakes_lose_nothing() {
    let (template, uploads) = uploads_waiting().await;
    let mut failures = Vec::new();
    for intakes in [2, 3] {
        // Four tries (four stores) at a time: more interleavings, and the test keeps to
        // about a minute in debug on a busy machine.
        for first in (0..100).step_by(4) {
            let tries = (first..first + 4).map(|attempt| {
                let (template, uploads) = (&template, &uploads);
                async move { (attempt, concurrent_try(template, uploads, intakes).await) }
            });
            for (attempt, result) in futures::future::join_all(tries).await {
                if let Err(e) = result {
                    failures.push(format!("{intakes} intakes, try {attempt}: {e}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} tries lost work:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_store_staged_by_an_earlier_svna_is_read_and_carried_on() {
    let hub = Hub::new();
    // What an earlier svna left: one overwritten-in-place manifest.
    let legacy = serde_json::json!({
        "dataset": "age_bands", "contract_version": 1,
        "loads": [{
            "load_id": "load-old", "source": {"path": "landing/age_bands/a.csv", "sha256": "00", "size": 1},
            "staged": {"path": "staged/age_bands/load-old.parquet", "sha256": "00", "size": 1, "rows": 7},
            "rows_received": 7, "rows_staged": 7, "rows_rejected": 0, "rejected_by_rule": {},
            "rejects_path": null, "refused": null, "loaded_at": "2026-01-01T00:00:00Z"
        }]
    });
    hub.store
        .put_json("staged/age_bands/_manifest.json", &legacy)
        .await
        .unwrap();
    assert_eq!(hub.active_rows("age_bands").await, 7);
    let path = "landing/age_bands/b.csv";
    hub.store
        .put(path, b"age,age_band,under_25\n1,0-9,true\n".to_vec().into())
        .await
        .unwrap();
    let entry = hub.store.file_entry(path, None).await.unwrap();
    let contract = svna_contracts::v1().dataset("age_bands").unwrap();
    let outcome = load_extract_for(&hub.store, contract, 1, entry, &LoadRequest::default())
        .await
        .unwrap();
    // Reference data is replaced whole; the old load is kept, marked, in version 1.
    assert_eq!(outcome.superseded, vec!["load-old".to_string()]);
    let manifest = StagedManifest::read(&hub.store, "age_bands", 1)
        .await
        .unwrap();
    assert_eq!((manifest.version, manifest.loads.len()), (1, 2));
    assert_eq!(hub.active_rows("age_bands").await, 1);
}

/// `n` loads of different months committed at once into one fresh store; says which were
/// lost. Every load reads the staged manifest and commits its own addition: a plain put
/// here loses whichever addition is overwritten (each intake commits the same way).
async fn concurrent_loads(n: u32) -> Result<(), String> {
    let hub = Hub::new();
    let contract = svna_contracts::v1().dataset("police_open_data").unwrap();
    let mut entries = Vec::new();
    for m in 1..=n {
        let path = format!("landing/police_open_data/2023-{m:02}.csv");
        let text = format!(
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n,2023-{m:02},F,F,,,,,,Robbery,,\n"
        );
        hub.store
            .put(&path, text.into_bytes().into())
            .await
            .unwrap();
        entries.push(hub.store.file_entry(&path, None).await.unwrap());
    }
    let tasks: Vec<_> = entries
        .into_iter()
        .map(|entry| {
            let store = hub.store.clone();
            tokio::spawn(async move {
                load_extract_for(&store, contract, 1, entry, &LoadRequest::one_command(None)).await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().map_err(|e| e.to_string())?;
    }
    let active = hub.active_rows("police_open_data").await;
    if active != u64::from(n) {
        return Err(format!(
            "{active} of {n} concurrent loads are in the staged manifest"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_and_three_concurrent_loads_lose_nothing() {
    let mut failures = Vec::new();
    for n in [2, 3] {
        for attempt in 0..100 {
            if let Err(e) = concurrent_loads(n).await {
                failures.push(format!("{n} loads, try {attempt}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} tries lost work:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The commit point itself, with nothing around it to spread the writers apart: `n` tasks
/// each add one load to the same staged manifest at once. (Staging takes far longer than a
/// commit, so in the tests above concurrent commits rarely meet; here they always do.)
async fn concurrent_commits(n: usize) -> Result<(), String> {
    let hub = Hub::new();
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = hub.store.clone();
            let record: svna_intake::LoadRecord = serde_json::from_value(serde_json::json!({
                "load_id": format!("load-{i}"),
                "source": {"path": format!("landing/x/{i}.csv"), "sha256": format!("{i:064x}"), "size": 1},
                "staged": {"path": format!("staged/age_bands/{i}.parquet"), "sha256": "00", "size": 1, "rows": 1},
                "rows_received": 1, "rows_staged": 1, "rows_rejected": 0, "rejected_by_rule": {},
                "rejects_path": null, "refused": null, "loaded_at": "2026-01-01T00:00:00Z",
                "batch": "one-batch"
            }))
            .unwrap();
            tokio::spawn(async move {
                StagedManifest::update(&store, "age_bands", 1, |manifest| -> Result<_, svna_intake::IntakeError> {
                    manifest.loads.push(record.clone());
                    Ok(svna_intake::Edit::Write(()))
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().map_err(|e| e.to_string())?;
    }
    let listed = StagedManifest::read(&hub.store, "age_bands", 1)
        .await
        .unwrap()
        .loads
        .len();
    if listed != n {
        return Err(format!(
            "{listed} of {n} concurrent commits are in the manifest"
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_and_three_concurrent_commits_lose_nothing() {
    let mut failures = Vec::new();
    for n in [2, 3] {
        for attempt in 0..100 {
            if let Err(e) = concurrent_commits(n).await {
                failures.push(format!("{n} commits, try {attempt}: {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} tries lost work:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Issue 14, cross-file rule: a person row's offence must exist in that partner's offences of
/// the period. Persons sent before their offences wait (unrecorded, taken in by a later
/// intake); persons sent after them in one batch are taken in after them whatever the order
/// of upload; rows pointing at no offence are rejected with the reference rule.
#[tokio::test]
async fn person_rows_must_point_at_the_partners_offences_of_the_period() {
    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    let send_persons_only = |partner: &'static str, file: UploadFile| {
        let store = hub.store.clone();
        async move {
            upload(
                &store,
                svna_contracts::v1(),
                partner,
                "police_persons",
                PERIOD,
                Some(FP.into()),
                &[file],
            )
            .await
            .unwrap()
        }
    };
    // police: persons arrive alone, and wait.
    let persons = hub.persons("police.csv", 0, 4);
    let persons_path = persons.path.clone();
    let early = send_persons_only("police", persons).await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].status, IntakeStatus::Waiting);
    let reason = records[0].reason.as_deref().unwrap();
    assert!(
        reason.contains("police_offences") && reason.contains("partner `police`"),
        "{reason}"
    );
    assert_eq!(hub.active_rows("police_persons").await, 0);
    let status = delivery_status(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    assert!(
        status
            .iter()
            .any(|l| l.upload_id == early.upload_id && l.state == "waiting"),
        "{status:#?}"
    );
    // Its offences arrive, but one of its four offences is missing: three rows are staged,
    // one is rejected as an orphan, and nothing waits any more.
    let offences = persons_path.with_file_name("three.csv");
    let three: String = std::fs::read_to_string(&persons_path)
        .unwrap()
        .lines()
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&offences, format!("{three}\n")).unwrap();
    hub.send_offences("police", PERIOD, &offences).await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let taken: Vec<_> = records
        .iter()
        .map(|r| (r.dataset.as_str(), r.status))
        .collect();
    assert_eq!(
        taken,
        [
            ("police_offences", IntakeStatus::Staged),
            ("police_persons", IntakeStatus::Staged)
        ]
    );
    let files = &records[1].files[0];
    assert_eq!(
        (files.rows_received, files.rows_staged, files.rows_rejected),
        (4, 3, 1)
    );
    assert_eq!(hub.active_rows("police_persons").await, 3);
    assert!(
        intake_all(&hub.store, svna_contracts::v1())
            .await
            .unwrap()
            .is_empty()
    );

    // youth: persons uploaded before their offences in one batch: offences first all the same.
    let persons = hub.persons("youth.csv", 100, 5);
    let path = persons.path.clone();
    send_persons_only("youth", persons).await;
    hub.send_offences("youth", PERIOD, &path).await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    assert!(
        records.iter().all(|r| r.status == IntakeStatus::Staged),
        "{records:#?}"
    );
    assert_eq!(hub.active_rows("police_persons").await, 8);

    // Another partner's offences do not count: probation's persons point at police's
    // offences, which probation never sent.
    let stray = hub.persons("stray.csv", 0, 2);
    let records = {
        send_persons_only("probation", stray).await;
        intake_all(&hub.store, svna_contracts::v1()).await.unwrap()
    };
    assert_eq!(records[0].status, IntakeStatus::Waiting, "{records:#?}");
}

/// `svna load` of persons with no offences loaded is refused with what to do, and stages
/// nothing; once the offences are loaded, orphan rows are rejected with the reference rule.
#[tokio::test]
async fn a_load_of_persons_needs_their_offences_loaded_first() {
    let hub = Hub::new();
    let contract = svna_contracts::v1().dataset("police_persons").unwrap();
    let persons = hub.persons("p.csv", 0, 3);
    let put = |path: &std::path::Path, name: &str| {
        let store = hub.store.clone();
        let bytes = std::fs::read(path).unwrap();
        let name = format!("landing/{name}");
        async move {
            store.put(&name, bytes.into()).await.unwrap();
            store.file_entry(&name, None).await.unwrap()
        }
    };
    let entry = put(&persons.path, "p.csv").await;
    let refused = load_extract_for(
        &hub.store,
        contract,
        1,
        entry.clone(),
        &LoadRequest::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, IntakeError::MissingReference { .. }));
    let message = refused.to_string();
    assert!(
        message.contains("landing/p.csv")
            && message.contains("send (or load) `police_offences` first"),
        "{message}"
    );
    assert_eq!(hub.active_rows("police_persons").await, 0);

    // Offences for the first two persons only.
    let two = hub.persons("two.csv", 0, 2);
    let offences = common::offences_beside(&two.path, "2020-05-01");
    let offences_entry = put(&offences.path, "offences.csv").await;
    let offences_contract = svna_contracts::v1().dataset("police_offences").unwrap();
    load_extract_for(
        &hub.store,
        offences_contract,
        1,
        offences_entry,
        &LoadRequest::default(),
    )
    .await
    .unwrap();
    let loaded = load_extract_for(&hub.store, contract, 1, entry, &LoadRequest::default())
        .await
        .unwrap();
    let r = &loaded.record;
    assert_eq!((r.rows_received, r.rows_staged, r.rows_rejected), (3, 2, 1));
    assert_eq!(r.rejected_by_rule.get("reference"), Some(&1));
}

/// Issue 17: a partner that pseudonymises with another key sends match keys that meet
/// nobody's. Three partners hold the same ten people under their own local references (no
/// person token in common) and send police_persons extracts pseudonymised with match keys
/// by `svna_pseudonymise` (as `svna pseudonymise --match-keys` does): youth justice with
/// the partnership key links by match keys with police, probation with its own key links
/// with nobody, and intake flags probation's delivery alone.
#[tokio::test]
async fn a_delivery_whose_match_keys_were_made_with_another_key_is_flagged() {
    use svna_pseudonymise::{KEY_LEN, LinkageKey, Options, pseudonymise_csv_with};

    let hub = Hub::new();
    register_key(&hub.store, FP, false).await.unwrap();
    let (right, wrong) = (
        LinkageKey::from_bytes([0x5a; KEY_LEN]),
        LinkageKey::from_bytes([0xa5; KEY_LEN]),
    );
    let people = [
        ("William", "O'Neill", (2005, 3, 7), "M", "LN1 3DY"),
        ("Chloe", "Patel", (2006, 11, 21), "F", "LN2 4AB"),
        ("Kai", "Nguyen", (2004, 1, 30), "M", "LN3 9XZ"),
        ("Zuzanna", "Wójcik", (2007, 5, 2), "F", "LN4 1QT"),
        ("Reece", "Smith", (2003, 8, 15), "M", "LN5 6PP"),
        ("Megan", "Hughes-Jones", (2005, 12, 1), "F", "LN6 2RS"),
        ("Mohammed", "Khan", (2006, 6, 9), "M", "LN7 7LN"),
        ("Amber", "Walsh", (2004, 10, 28), "F", "LN8 8DD"),
        ("Jacob", "Mc Laughlin", (2007, 2, 14), "M", "LN9 5HG"),
        ("Isla", "Begum", (2003, 4, 3), "F", "LN10 1AA"),
    ];
    // A partner's raw extract of people[range] (its own references, names as it writes
    // them), pseudonymised with `key`.
    let send = |partner: &'static str,
                range: std::ops::Range<usize>,
                key: LinkageKey,
                upper: bool| {
        let mut raw =
            String::from("crime_ref,Ref,role,age,sex,Forename,Surname,DOB,Gender,Postcode\n");
        for (i, (forename, surname, (y, m, d), sex, postcode)) in
            people[range.clone()].iter().enumerate()
        {
            let surname = if upper {
                surname.to_uppercase()
            } else {
                surname.to_string()
            };
            let dob = if upper {
                format!("{d:02}/{m:02}/{y}")
            } else {
                format!("{y}-{m:02}-{d:02}")
            };
            raw.push_str(&format!(
                "{partner}-c{i},{partner}-p{i},suspect,17,{sex},{forename},{surname},{dob},{sex},{postcode}\n"
            ));
        }
        let specs = [
            "crime_ref=offence_id:local:offence".parse().unwrap(),
            "Ref=person_id".parse().unwrap(),
        ];
        let options = Options {
            match_keys: Some(
                "forename=Forename,surname=Surname,dob=DOB,sex=Gender,postcode=Postcode"
                    .parse()
                    .unwrap(),
            ),
            ..Options::default()
        };
        let mut out = Vec::new();
        let stats =
            pseudonymise_csv_with(raw.as_bytes(), &mut out, &key, &specs, &options).unwrap();
        let path: PathBuf = hub.dir.path().join(format!("{partner}.csv"));
        std::fs::write(&path, out).unwrap();
        (
            partner,
            UploadFile {
                path,
                rows: stats.rows,
            },
        )
    };
    let (partner, file) = send("police", 0..10, right.clone(), true);
    hub.send(partner, PERIOD, file).await;
    intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let (partner, file) = send("youth", 5..10, right, false);
    let youth = hub.send(partner, PERIOD, file).await;
    let (partner, file) = send("probation", 0..10, wrong, false);
    let probation = hub.send(partner, PERIOD, file).await;
    let records = intake_all(&hub.store, svna_contracts::v1()).await.unwrap();
    let record = |id: &str| records.iter().find(|r| r.upload_id == id).unwrap();

    let youth = record(&youth.upload_id);
    assert_eq!(youth.status, IntakeStatus::Staged);
    let with_police = youth
        .linkage
        .iter()
        .find(|l| l.partner == "police")
        .unwrap();
    assert_eq!((with_police.tokens, with_police.found), (5, 5));
    assert!(youth.linkage_warning.is_none());

    let probation_record = record(&probation.upload_id);
    assert_eq!(probation_record.status, IntakeStatus::Staged);
    assert!(
        probation_record.linkage.iter().all(|l| l.found == 0),
        "{:?}",
        probation_record.linkage
    );
    assert!(
        probation_record
            .linkage
            .iter()
            .any(|l| l.partner == "police" && l.tokens == 10)
    );
    assert!(
        probation_record
            .linkage_warning
            .as_deref()
            .unwrap()
            .contains("another key")
    );
    let status = delivery_status(&hub.store, svna_contracts::v1())
        .await
        .unwrap();
    let flagged: Vec<&str> = status
        .iter()
        .filter(|s| {
            s.linkage
                .as_deref()
                .is_some_and(|l| l.starts_with("WARNING"))
        })
        .map(|s| s.partner.as_str())
        .collect();
    assert_eq!(flagged, ["probation"]);
}
