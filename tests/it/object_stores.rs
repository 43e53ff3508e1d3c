//! svna against real object stores: an S3-compatible server that verifies request
//! signatures (s3s-fs) and the Azure Blob emulator (Azurite), both on loopback.
//!
//! `.ci/test-servers.sh start` starts them and prints the environment these tests read:
//! `SVNA_TEST_S3_URL` / `SVNA_TEST_AZURE_URL` (the store root to test under) plus the
//! `AWS_*` / `AZURE_*` variables that `Store::open` hands to the object_store builders.
//! Without a URL a test skips with a message, except under `CI`, where it fails: CI must
//! never pass by skipping.
//!
//! Every test works under its own fresh prefix (`<root>/<test>-<uuid>`), so runs against a
//! long-lived server never see each other's objects (intake skips a file it has loaded before).

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use svna_engine::{Pipeline, RunOptions, RunRecord, RunStatus, run_pipeline, run_record_path};
use svna_storage::object_store::{PutMode, PutOptions, PutPayload};
use svna_storage::{StorageError, Store};

use crate::common::svna_ok;

const S3: &str = "SVNA_TEST_S3_URL";
const AZURE: &str = "SVNA_TEST_AZURE_URL";
/// Set in the child process of a wrong-credential test: which backend to probe.
const PROBE: &str = "SVNA_TEST_WRONG_CREDENTIAL_PROBE";

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The store root URL a test should use, or `None` (skip) outside CI when it is not set.
fn root_url(var: &str) -> Option<String> {
    match std::env::var(var) {
        Ok(url) if !url.trim().is_empty() => Some(url.trim().trim_end_matches('/').to_string()),
        _ if in_ci() => panic!(
            "{var} is not set but CI is: object-store tests must run in CI \
             (start the servers with `eval \"$(.ci/test-servers.sh start)\"`)"
        ),
        _ => {
            eprintln!("skipping: {var} not set");
            None
        }
    }
}

/// A store under a prefix of its own inside the test root.
fn fresh_store(var: &str, test: &str) -> Option<Store> {
    let root = root_url(var)?;
    let location = format!("{root}/{test}-{}", uuid::Uuid::new_v4());
    Some(Store::open(&location).unwrap_or_else(|e| panic!("opening {location}: {e}")))
}

// ---------------------------------------------------------------------------------------
// Basic object operations.

async fn round_trip(var: &str) {
    let Some(store) = fresh_store(var, "round-trip") else {
        return;
    };
    let body = Bytes::from_static(b"ho_code,category\n5D,wounding\n");
    assert!(!store.exists("landing/a.csv").await.unwrap());

    store.put("landing/a.csv", body.clone()).await.unwrap();
    store
        .put("landing/sub/b.csv", Bytes::from_static(b"x\n"))
        .await
        .unwrap();
    store
        .put(
            "staged/c.parquet",
            Bytes::from_static(b"not really parquet"),
        )
        .await
        .unwrap();

    assert!(store.exists("landing/a.csv").await.unwrap());
    assert_eq!(store.get("landing/a.csv").await.unwrap(), body);
    assert_eq!(
        store.list("landing").await.unwrap(),
        ["landing/a.csv", "landing/sub/b.csv"]
    );
    assert_eq!(
        store.list("").await.unwrap(),
        ["landing/a.csv", "landing/sub/b.csv", "staged/c.parquet"]
    );

    let sum = store.checksum("landing/a.csv").await.unwrap();
    assert_eq!(sum.sha256, svna_storage::sha256_hex(&body));
    assert_eq!(sum.size, body.len() as u64);

    // Overwrite with put: readers see the new object whole.
    store
        .put("landing/a.csv", Bytes::from_static(b"new\n"))
        .await
        .unwrap();
    assert_eq!(
        store.get("landing/a.csv").await.unwrap(),
        Bytes::from_static(b"new\n")
    );

    // JSON helpers go through the same calls.
    store
        .put_json("runs/x.json", &serde_json::json!({ "n": 1 }))
        .await
        .unwrap();
    let back: serde_json::Value = store.get_json("runs/x.json", "test record").await.unwrap();
    assert_eq!(back["n"], 1);

    match store.get("landing/missing.csv").await {
        Err(StorageError::NotFound { path }) => assert_eq!(path, "landing/missing.csv"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test]
async fn s3_put_get_list_exists_checksum() {
    round_trip(S3).await;
}

#[tokio::test]
async fn azure_put_get_list_exists_checksum() {
    round_trip(AZURE).await;
}

async fn put_new_refuses_to_overwrite(var: &str) {
    let Some(store) = fresh_store(var, "put-new") else {
        return;
    };
    store
        .put_new("published/r1.json", Bytes::from_static(b"first"))
        .await
        .unwrap();
    let err = store
        .put_new("published/r1.json", Bytes::from_static(b"second"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::AlreadyExists { path } if path == "published/r1.json"),
        "{err}"
    );
    assert_eq!(
        store.get("published/r1.json").await.unwrap(),
        Bytes::from_static(b"first")
    );

    // The server itself enforces create-only puts (If-None-Match: *), not just svna's
    // exists() check in front of it: a racing writer cannot overwrite either.
    let path = store.path("published/r1.json");
    let options = PutOptions {
        mode: PutMode::Create,
        ..Default::default()
    };
    let raced = store
        .object_store()
        .put_opts(&path, PutPayload::from_static(b"racer"), options)
        .await;
    assert!(
        matches!(
            raced,
            Err(svna_storage::object_store::Error::AlreadyExists { .. })
        ),
        "a create-only put over an existing object must fail with AlreadyExists, got {raced:?}"
    );
    assert_eq!(
        store.get("published/r1.json").await.unwrap(),
        Bytes::from_static(b"first")
    );
}

#[tokio::test]
async fn s3_put_new_refuses_to_overwrite() {
    put_new_refuses_to_overwrite(S3).await;
}

#[tokio::test]
async fn azure_put_new_refuses_to_overwrite() {
    put_new_refuses_to_overwrite(AZURE).await;
}

// ---------------------------------------------------------------------------------------
// Intake and a pipeline run, through the store.

/// Parses a pipeline whose stage `sql` fields are the SQL text itself.
fn pipeline(toml: &str) -> Pipeline {
    Pipeline::from_toml(toml, "test.toml", &|sql: &Path| {
        Ok((PathBuf::from("inline.sql"), sql.display().to_string()))
    })
    .unwrap()
}

const PIPELINE: &str = r#"
name = "t"
[[source]]
name = "codes"
dataset = "sv_offence_codes"

[[stage]]
name = "sv"
sql = "SELECT ho_code, category FROM codes WHERE serious_violence"
needs = ["codes"]
sensitivity = "row_level"

[[stage]]
name = "n"
sql = "SELECT COUNT(*) AS n FROM sv"
needs = ["sv"]
sensitivity = "row_level"
"#;

async fn intake_and_pipeline(var: &str) {
    let Some(store) = fresh_store(var, "intake") else {
        return;
    };
    // Four rows, one bad: `maybe` is not a bool.
    let csv = "ho_code,category,serious_violence,exclude_if_domestic\n\
               5D,wounding,true,false\n\
               8N,assault,true,true\n\
               9A,robbery,maybe,false\n\
               19C,other,false,false\n";
    store
        .put("landing/codes.csv", Bytes::from(csv))
        .await
        .unwrap();

    let dataset = svna_contracts::v1().dataset("sv_offence_codes").unwrap();
    let outcome = svna_intake::load_extract(&store, dataset, 1, "landing/codes.csv")
        .await
        .unwrap();
    let record = &outcome.record;
    assert!(outcome.resend_of.is_none());
    assert_eq!(record.refused, None);
    assert_eq!(
        (
            record.rows_received,
            record.rows_staged,
            record.rows_rejected
        ),
        (4, 3, 1),
        "{record:?}"
    );
    assert_eq!(
        record.rows_received,
        record.rows_staged + record.rows_rejected
    );
    assert_eq!(
        record.rejected_by_rule.values().sum::<u64>(),
        1,
        "{:?}",
        record.rejected_by_rule
    );
    assert_eq!(
        record.source.sha256,
        svna_storage::sha256_hex(csv.as_bytes())
    );

    // What the record points at is really in the store, with the recorded checksums.
    let staged = record.staged.as_ref().expect("a staged file");
    assert_eq!(staged.rows, Some(3));
    assert_eq!(
        store.checksum(&staged.path).await.unwrap().sha256,
        staged.sha256
    );
    let rejects = record.rejects_path.as_ref().expect("a rejects file");
    assert!(store.exists(rejects).await.unwrap(), "{rejects} is missing");
    // The manifest is committed as a numbered version created conditionally in this store.
    let manifest = svna_intake::StagedManifest::read(&store, "sv_offence_codes", 1)
        .await
        .unwrap();
    assert!(manifest.version >= 1);
    assert!(manifest.loads.iter().any(|l| l.load_id == record.load_id));

    // The same file again is recognised, not staged twice.
    let again = svna_intake::load_extract(&store, dataset, 1, "landing/codes.csv")
        .await
        .unwrap();
    assert_eq!(again.resend_of.as_deref(), Some(record.load_id.as_str()));

    // A pipeline over the staged data: DataFusion reads and writes Parquet in the store.
    let options = RunOptions {
        run_id: Some("run-os".into()),
        ..Default::default()
    };
    let run = run_pipeline(&store, &pipeline(PIPELINE), &options, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Finished, "{:?}", run.error);
    assert_eq!(run.stage("sv").unwrap().output.rows, Some(2));
    assert_eq!(run.stage("n").unwrap().output.rows, Some(1));
    assert_eq!(run.inputs.len(), 1);
    assert_eq!(run.inputs[0].files, std::slice::from_ref(staged));
    for stage in &run.stages {
        let output = &stage.output;
        let sum = store.checksum(&output.path).await.unwrap();
        assert_eq!(
            (sum.sha256.as_str(), sum.size),
            (output.sha256.as_str(), output.size),
            "{}",
            output.path
        );
    }
    let saved: RunRecord = store
        .get_json(&run_record_path("run-os"), "run record")
        .await
        .unwrap();
    assert_eq!(saved.status, RunStatus::Finished);
    assert_eq!(saved.stages.len(), 2);
    let work = store.list("work/run-os").await.unwrap();
    assert_eq!(work, ["work/run-os/n.parquet", "work/run-os/sv.parquet"]);
}

#[tokio::test]
async fn s3_intake_accounts_for_every_row_and_a_pipeline_runs() {
    intake_and_pipeline(S3).await;
}

#[tokio::test]
async fn azure_intake_accounts_for_every_row_and_a_pipeline_runs() {
    intake_and_pipeline(AZURE).await;
}

// ---------------------------------------------------------------------------------------
// Wrong credentials: the server refuses the signature, and svna's error says so.
//
// The builders read credentials from the environment when a store is opened, and the
// environment cannot safely be changed inside this multi-threaded test process, so the
// probe runs in a child process of this same test binary with a wrong key in its
// environment.

/// Runs the probe for `backend` in a child with `env` overridden; returns the error messages
/// it printed.
fn probe_with(backend: &str, env: &[(&str, &str)]) -> Vec<String> {
    let exe = std::env::current_exe().unwrap();
    let output = Command::new(exe)
        .args([
            // The test's full name in the one test binary (tests/it/main.rs).
            "object_stores::wrong_credential_probe",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().copied())
        .env(PROBE, backend)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "probe failed:\n{stdout}\n{stderr}");
    // libtest may print `test wrong_credential_probe ... ` on the same line as the first.
    let errors: Vec<String> = stdout
        .lines()
        .filter_map(|l| {
            l.split_once("PROBE ERROR: ")
                .map(|(_, message)| message.to_string())
        })
        .collect();
    assert_eq!(errors.len(), 3, "probe printed:\n{stdout}\n{stderr}");
    errors
}

#[tokio::test]
async fn s3_wrong_secret_fails_with_a_clear_error() {
    let Some(_) = root_url(S3) else { return };
    for message in probe_with("s3", &[("AWS_SECRET_ACCESS_KEY", "not-the-secret")]) {
        assert!(message.contains("403"), "{message}");
        assert!(
            message.contains("lacked the necessary privileges"),
            "{message}"
        );
        if !message.starts_with("inspect") {
            // Answers to PUT and GET (not HEAD) have a body: S3's error code names the cause.
            assert!(message.contains("SignatureDoesNotMatch"), "{message}");
        }
    }
}

#[tokio::test]
async fn azure_wrong_key_fails_with_a_clear_error() {
    let Some(_) = root_url(AZURE) else { return };
    // Valid base64, wrong key.
    let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
    for message in probe_with(
        "azure",
        &[
            ("AZURE_STORAGE_ACCOUNT_KEY", wrong),
            ("AZURE_STORAGE_ACCESS_KEY", wrong),
        ],
    ) {
        assert!(message.contains("403"), "{message}");
        assert!(
            message.contains("lacked the necessary privileges"),
            "{message}"
        );
        if !message.starts_with("inspect") {
            assert!(
                message.contains("AuthorizationFailure")
                    || message.contains("AuthenticationFailed"),
                "{message}"
            );
        }
    }
}

/// Not a test on its own: run by the wrong-credential tests in a child process.
#[tokio::test]
#[ignore = "run in a child process by the wrong-credential tests"]
async fn wrong_credential_probe() {
    let var = match std::env::var(PROBE).as_deref() {
        Ok("s3") => S3,
        Ok("azure") => AZURE,
        _ => {
            eprintln!(
                "skipping: {PROBE} not set (this probe runs only as a child of the wrong-credential tests)"
            );
            return;
        }
    };
    let root = std::env::var(var).unwrap_or_else(|_| panic!("{var} is not set"));
    let store = Store::open(&format!("{}/wrong-credential", root.trim_end_matches('/'))).unwrap();
    let errors = [
        store
            .put("landing/x.csv", Bytes::from_static(b"x\n"))
            .await
            .unwrap_err(),
        store.get("landing/x.csv").await.unwrap_err(),
        store.exists("landing/x.csv").await.unwrap_err(),
    ];
    for err in errors {
        // One line each, whatever the server put in its body.
        println!(
            "PROBE ERROR: {}",
            err.to_string().replace(['\n', '\r'], " ")
        );
    }
}

// ---------------------------------------------------------------------------------------
// A Ballista cluster on loopback (issue 18): a scheduler and two executors started from the
// svna binary, running the standard pipeline against the S3 server; every stage output must
// hold exactly the rows of a local run of the same staged data.

/// A started process, stopped when the test ends, pass or fail.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn svna_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_svna"));
    command.args(args);
    command
}

fn start(args: &[&str], log: &Path) -> Running {
    let log = std::fs::File::create(log).unwrap();
    let child = svna_command(args)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("svna starts");
    Running(child)
}

/// A port nothing listens on now, with the next one free too (an executor binds both).
fn free_ports() -> u16 {
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

fn wait_for_listener(port: u16, what: &str, process: &mut Running, log: &Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!(
                "{what} exited {status}:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!(
        "{what} is not listening on port {port} after 60 s:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

/// A Parquet object's columns (name and type, string views read as strings) and rows (each
/// row as its values' text), rows sorted: a stage's result is a set of rows, and a cluster
/// may return them in another order.
async fn parquet_rows(store: &Store, path: &str) -> (Vec<String>, Vec<String>) {
    parquet_bytes_rows(store.get(path).await.unwrap())
}

fn parquet_bytes_rows(bytes: Bytes) -> (Vec<String>, Vec<String>) {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let mut columns = Vec::new();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        columns = batch
            .schema()
            .fields()
            .iter()
            // Ballista turns DataFusion's string views off (its Arrow Flight frames), so a
            // cluster writes Utf8 where a local run writes Utf8View: the same values.
            .map(|f| format!("{}: {}", f.name(), f.data_type()).replace("View", ""))
            .collect();
        for row in 0..batch.num_rows() {
            let values: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| arrow_cast::display::array_value_to_string(c, row).unwrap())
                .collect();
            rows.push(values.join("\u{1f}"));
        }
    }
    rows.sort();
    (columns, rows)
}

fn load_all(url: &str, dir: &Path) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    for file in files {
        let dataset = file.file_stem().unwrap().to_str().unwrap().to_string();
        svna_ok(&[
            "load",
            "--store",
            url,
            "--dataset",
            &dataset,
            file.to_str().unwrap(),
        ]);
    }
}

fn run_id(json: &str) -> String {
    let record: serde_json::Value = serde_json::from_str(json).expect("svna run --json");
    record["run_id"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_a_ballista_cluster_runs_every_stage_as_a_local_run() {
    let Some(store) = fresh_store(S3, "cluster") else {
        return;
    };
    let url = store.location().to_string();
    let dir = tempfile::tempdir().unwrap();

    // Partners' extracts and svna's definitions, loaded into the S3 store.
    let extracts = dir.path().join("extracts");
    svna_ok(&[
        "synth",
        "--out",
        extracts.to_str().unwrap(),
        "--scale",
        "0.02",
        "--seed",
        "18",
    ]);
    load_all(&url, &extracts);
    load_all(
        &url,
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("definitions")
            .as_path(),
    );

    // The cluster: one scheduler, two executors, all the svna binary.
    let scheduler_port = free_ports();
    let scheduler_log = dir.path().join("scheduler.log");
    let bind = format!("127.0.0.1:{scheduler_port}");
    let mut scheduler = start(&["cluster", "scheduler", "--bind", &bind], &scheduler_log);
    wait_for_listener(
        scheduler_port,
        "the scheduler",
        &mut scheduler,
        &scheduler_log,
    );
    let mut executors = Vec::new();
    let mut work_dirs = Vec::new();
    for n in 0..2 {
        let port = free_ports();
        let log = dir.path().join(format!("executor-{n}.log"));
        let work = dir.path().join(format!("executor-{n}"));
        let mut executor = start(
            &[
                "cluster",
                "executor",
                "--scheduler",
                &bind,
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--cores",
                "2",
                "--work-dir",
                work.to_str().unwrap(),
            ],
            &log,
        );
        wait_for_listener(port + 1, "an executor", &mut executor, &log);
        executors.push(executor);
        work_dirs.push(work);
    }

    let local = run_id(&svna_ok(&["run", "--store", &url, "--json"]));
    let cluster = format!("df://127.0.0.1:{scheduler_port}");
    let distributed = run_id(&svna_ok(&[
        "run",
        "--store",
        &url,
        "--cluster",
        &cluster,
        "--json",
    ]));

    let local: RunRecord = store
        .get_json(&run_record_path(&local), "run record")
        .await
        .unwrap();
    let distributed: RunRecord = store
        .get_json(&run_record_path(&distributed), "run record")
        .await
        .unwrap();
    assert_eq!(distributed.status, RunStatus::Finished);
    let names = |r: &RunRecord| r.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&local), names(&distributed));
    assert!(local.stages.len() > 10, "{:?}", names(&local));
    let mut rows_compared = 0;
    for (here, there) in local.stages.iter().zip(&distributed.stages) {
        assert_eq!(here.ran_on, "local");
        assert_eq!(
            there.ran_on,
            format!("ballista {cluster}"),
            "{}",
            there.name
        );
        let (here_columns, here_rows) = parquet_rows(&store, &here.output.path).await;
        let (there_columns, there_rows) = parquet_rows(&store, &there.output.path).await;
        assert_eq!(here_columns, there_columns, "stage {}", here.name);
        assert_eq!(
            here_rows.len(),
            there_rows.len(),
            "stage {}: rows locally and on the cluster",
            here.name
        );
        assert!(
            here_rows == there_rows,
            "stage {}: the cluster's rows differ from the local run's",
            here.name
        );
        let tests = |s: &svna_engine::StageRecord| {
            s.tests
                .iter()
                .map(|t| (t.name.clone(), t.failing_rows))
                .collect::<Vec<_>>()
        };
        assert_eq!(tests(here), tests(there), "stage {}", here.name);
        rows_compared += here_rows.len();
    }
    assert!(rows_compared > 1000, "{rows_compared} rows compared");
    // The executors really ran the tasks: their working directories hold the jobs' files.
    let ran = work_dirs
        .iter()
        .filter(|d| std::fs::read_dir(d).is_ok_and(|mut e| e.next().is_some()))
        .count();
    assert!(ran >= 1, "no executor wrote any task output");
    drop(executors);
    drop(scheduler);

    // And the same release: each run published alone gives the same files, byte for byte
    // (Parquet tables: the same columns and rows), but the manifest (which names the run and the time) and the workbook (whose document
    // properties carry the run's finish time; its sheets are the CSVs, tests/demo.rs).
    let from_local = publish_alone(&store, &url, &local.run_id).await;
    let from_cluster = publish_alone(&store, &url, &distributed.run_id).await;
    assert!(from_local.len() > 20, "{:?}", from_local.keys());
    assert_eq!(
        from_local.keys().collect::<Vec<_>>(),
        from_cluster.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &from_local {
        if path.ends_with(".parquet") {
            // Publish keeps the stage's string type in context columns: compare the rows.
            assert_eq!(
                parquet_bytes_rows(bytes.clone()),
                parquet_bytes_rows(from_cluster[path].clone()),
                "{path}"
            );
            continue;
        }
        assert!(
            from_cluster[path] == *bytes,
            "{path} differs between the local run's release and the cluster run's"
        );
    }
}

/// Publishes a run as release `same` in a store with no other release, returns every file
/// of the release but its manifest and workbook, then removes the release and its ledger entry so the
/// next publish is alone too (a second release would be linked to the first).
async fn publish_alone(
    store: &Store,
    url: &str,
    run_id: &str,
) -> std::collections::BTreeMap<String, Bytes> {
    svna_ok(&[
        "publish",
        "--store",
        url,
        "--run",
        run_id,
        "--release",
        "same",
    ]);
    let mut files = std::collections::BTreeMap::new();
    for path in store.list("published/same").await.unwrap() {
        if !path.ends_with("/manifest.json") && !path.ends_with("/release.xlsx") {
            files.insert(path.clone(), store.get(&path).await.unwrap());
        }
        store.delete(&path).await.unwrap();
    }
    for path in store.list("runs/_ledger").await.unwrap() {
        store.delete(&path).await.unwrap();
    }
    files
}
