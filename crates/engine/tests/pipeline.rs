//! Pipeline files: the DAG checks give clear errors, and runs obey `needs` and read-only SQL.

use std::path::{Path, PathBuf};

use svna_engine::{
    EngineError, Pipeline, RunOptions, RunRecord, RunStatus, run_pipeline, run_record_path,
};
use svna_storage::Store;

/// Parses a pipeline whose stage `sql` fields are the SQL text itself.
fn pipeline(toml: &str) -> Result<Pipeline, EngineError> {
    Pipeline::from_toml(toml, "test.toml", &|sql: &Path| {
        Ok((PathBuf::from("inline.sql"), sql.display().to_string()))
    })
}

const SOURCES: &str = r#"
name = "t"
[[source]]
name = "codes"
dataset = "sv_offence_codes"
"#;

fn stage(name: &str, sql: &str, needs: &[&str]) -> String {
    let needs: Vec<String> = needs.iter().map(|n| format!("\"{n}\"")).collect();
    format!(
        "[[stage]]\nname = \"{name}\"\nsql = \"{sql}\"\nneeds = [{}]\nsensitivity = \"row_level\"\n",
        needs.join(", ")
    )
}

#[test]
fn stages_are_ordered_by_what_they_need() {
    let text = format!(
        "{SOURCES}{}{}{}",
        stage("c", "SELECT * FROM b", &["b"]),
        stage("a", "SELECT * FROM codes", &["codes"]),
        stage("b", "SELECT * FROM a", &["a"])
    );
    let p = pipeline(&text).unwrap();
    let order: Vec<&str> = p.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(order, ["a", "b", "c"]);
    let plan: Vec<&str> = p
        .plan(Some("b"))
        .unwrap()
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(plan, ["a", "b"]);
}

#[test]
fn a_missing_need_names_the_stage_and_the_table() {
    let text = format!("{SOURCES}{}", stage("a", "SELECT 1", &["codes", "nowhere"]));
    let err = pipeline(&text).unwrap_err();
    assert!(
        matches!(&err, EngineError::UnknownNeed { stage, need, .. } if stage == "a" && need == "nowhere"),
        "{err}"
    );
    assert!(
        err.to_string().contains("stage `a` needs `nowhere`"),
        "{err}"
    );
}

#[test]
fn a_cycle_is_reported_as_its_path() {
    let text = format!(
        "{SOURCES}{}{}{}",
        stage("a", "SELECT 1", &["c"]),
        stage("b", "SELECT 1", &["a"]),
        stage("c", "SELECT 1", &["b"])
    );
    match pipeline(&text).unwrap_err() {
        EngineError::Cycle { cycle, .. } => assert_eq!(cycle, "a -> c -> b -> a"),
        other => panic!("expected a cycle, got {other}"),
    }
}

#[test]
fn names_are_unique_across_sources_and_stages() {
    let text = format!("{SOURCES}{}", stage("codes", "SELECT 1", &[]));
    assert!(
        matches!(pipeline(&text).unwrap_err(), EngineError::DuplicateName { name, .. } if name == "codes")
    );
}

#[test]
fn an_aggregate_needs_a_disclosure_policy() {
    let text = format!(
        "{SOURCES}[[stage]]\nname = \"x\"\nsql = \"SELECT 1\"\nsensitivity = \"aggregate\"\n"
    );
    let err = pipeline(&text).unwrap_err();
    assert!(
        err.to_string().contains("without a `disclosure` policy"),
        "{err}"
    );
}

#[test]
fn unknown_keys_in_a_pipeline_file_are_errors() {
    let text = format!(
        "{SOURCES}[[stage]]\nname = \"x\"\nsql = \"SELECT 1\"\nsensitivity = \"row_level\"\nneds = []\n"
    );
    let err = pipeline(&text).unwrap_err();
    assert!(err.to_string().contains("neds"), "{err}");
}

#[test]
fn the_shipped_pipeline_parses() {
    let p = Pipeline::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/sna.toml"))
        .unwrap();
    assert!(p.stages.len() >= 4);
    assert!(p.stages.iter().any(|s| s.disclosure.is_some()));
}

/// A store with the offence-code definitions staged through the real intake path.
async fn store_with_codes() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
    let csv = "ho_code,category,serious_violence,exclude_if_domestic\n5D,wounding,true,false\n8N,assault,true,true\n19C,other,false,false\n";
    store
        .put("landing/codes.csv", csv.as_bytes().to_vec().into())
        .await
        .unwrap();
    let dataset = svna_contracts::v1().dataset("sv_offence_codes").unwrap();
    let outcome = svna_intake::load_extract(&store, dataset, 1, "landing/codes.csv")
        .await
        .unwrap();
    assert_eq!(outcome.record.rows_staged, 3);
    (dir, store)
}

async fn run(store: &Store, text: &str) -> Result<RunRecord, EngineError> {
    run_as(store, text, "run-test").await
}

async fn run_as(store: &Store, text: &str, run_id: &str) -> Result<RunRecord, EngineError> {
    let p = pipeline(text)?;
    let options = RunOptions {
        run_id: Some(run_id.into()),
        ..Default::default()
    };
    run_pipeline(store, &p, &options, &mut |_| {}).await
}

#[tokio::test]
async fn a_run_materialises_stages_and_records_what_it_read() {
    let (_dir, store) = store_with_codes().await;
    let text = format!(
        "{SOURCES}{}{}",
        stage(
            "sv",
            "SELECT ho_code FROM codes WHERE serious_violence",
            &["codes"]
        ),
        stage("n", "SELECT COUNT(*) AS n FROM sv", &["sv"])
    );
    let record = run(&store, &text).await.unwrap();
    assert_eq!(record.status, RunStatus::Finished);
    assert_eq!(record.stage("sv").unwrap().output.rows, Some(2));
    assert_eq!(record.stage("n").unwrap().output.rows, Some(1));
    assert_eq!(
        record.stage("sv").unwrap().output.path,
        "work/run-test/sv.parquet"
    );
    let input = &record.inputs[0];
    assert_eq!(input.dataset, "sv_offence_codes");
    let staged = store.checksum(&input.files[0].path).await.unwrap();
    assert_eq!(staged.sha256, input.files[0].sha256);
    let sql_hash = svna_storage::sha256_hex(b"SELECT ho_code FROM codes WHERE serious_violence");
    assert_eq!(record.stage("sv").unwrap().sql_sha256, sql_hash);
    let saved: RunRecord = store
        .get_json(&run_record_path("run-test"), "run record")
        .await
        .unwrap();
    assert_eq!(saved.stages.len(), 2);
}

#[tokio::test]
async fn sql_may_only_read_what_the_stage_needs() {
    let (_dir, store) = store_with_codes().await;
    let text = format!(
        "{SOURCES}{}{}",
        stage("a", "SELECT * FROM codes", &["codes"]),
        stage("b", "SELECT * FROM codes", &["a"])
    );
    let err = run(&store, &text).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::UnknownTable { stage, table, .. } if stage == "b" && table == "codes"),
        "{err}"
    );
    let saved: RunRecord = store
        .get_json(&run_record_path("run-test"), "run record")
        .await
        .unwrap();
    assert_eq!(saved.status, RunStatus::Failed);
    assert!(saved.error.unwrap().contains("not in its `needs`"));
}

#[tokio::test]
async fn stage_sql_is_read_only() {
    let (_dir, store) = store_with_codes().await;
    let statements = [
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO codes VALUES ('1', 'x', true, false)",
        "SET datafusion.execution.batch_size = 1",
    ];
    for (i, sql) in statements.iter().enumerate() {
        let text = format!("{SOURCES}{}", stage("a", sql, &["codes"]));
        let err = run_as(&store, &text, &format!("run-{i}"))
            .await
            .unwrap_err();
        assert!(matches!(err, EngineError::Sql { .. }), "{sql}: {err}");
    }
}

#[tokio::test]
async fn a_failing_stage_test_fails_the_run() {
    let (_dir, store) = store_with_codes().await;
    let text = format!(
        "{SOURCES}{}[[stage.test]]\nname = \"no other codes\"\nsql = \"SELECT * FROM a WHERE category = 'other'\"\n",
        stage("a", "SELECT * FROM codes", &["codes"])
    );
    let err = run(&store, &text).await.unwrap_err();
    assert!(
        matches!(&err, EngineError::TestFailed { test, rows: 1, .. } if test == "no other codes"),
        "{err}"
    );
}

#[tokio::test]
async fn a_source_with_nothing_staged_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let text = format!("{SOURCES}{}", stage("a", "SELECT * FROM codes", &["codes"]));
    let err = run(&store, &text).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("no staged data for dataset `sv_offence_codes`"),
        "{err}"
    );
}
