//! Publishing: each gate refuses with its reason, and what is published obeys the policy.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use svna_publish::{
    PublishError, PublishOptions, publish_run, release_manifest_path, verify_release,
};
use svna_records::{
    DisclosurePolicy, DisclosureSpec, RateSpec, RunRecord, RunStatus, Sensitivity, StageRecord,
    run_record_path,
};
use svna_storage::Store;

fn spec(dims: &[&str], counts: &[&str]) -> DisclosureSpec {
    DisclosureSpec {
        k: Some(5),
        ..DisclosureSpec::new(DisclosurePolicy::Threshold, counts, dims)
    }
}

fn text(values: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(values))
}

fn ints(values: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

/// A 2x2 table with margins: area x sex, one small cell (A,F = 2).
fn small_cell_table() -> RecordBatch {
    RecordBatch::try_from_iter(vec![
        (
            "area",
            text(&["A", "A", "A", "B", "B", "B", "Total", "Total", "Total"]),
        ),
        (
            "sex",
            text(&["F", "M", "Total", "F", "M", "Total", "F", "M", "Total"]),
        ),
        ("n", ints(&[2, 18, 20, 19, 14, 33, 21, 32, 53])),
    ])
    .unwrap()
}

/// Parquet bytes of one batch.
fn parquet_of(batch: &RecordBatch) -> bytes::Bytes {
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    writer.write(batch).unwrap();
    writer.close().unwrap();
    bytes.into()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    /// The stage's recorded token lineage (columns computed from tokens).
    token_lineage: Vec<String>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        Fixture {
            _dir: dir,
            store,
            token_lineage: Vec::new(),
        }
    }

    /// Writes `batch` as the output of stage `t` of run `run-1` and a run record naming it.
    async fn run_with(&self, batch: &RecordBatch, spec: DisclosureSpec, status: RunStatus) {
        self.run_as("run-1", batch, spec, status).await
    }

    /// Writes `batch` as the output of stage `t` of run `run_id` and a run record naming it.
    async fn run_as(
        &self,
        run_id: &str,
        batch: &RecordBatch,
        spec: DisclosureSpec,
        status: RunStatus,
    ) {
        let path = format!("outputs/{run_id}/t.parquet");
        let path = path.as_str();
        self.store.put(path, parquet_of(batch)).await.unwrap();
        let output = self
            .store
            .file_entry(path, Some(batch.num_rows() as u64))
            .await
            .unwrap();
        let record = RunRecord {
            run_id: run_id.into(),
            pipeline: "test".into(),
            pipeline_file: "test.toml".into(),
            pipeline_sha256: "0".repeat(64),
            contract_version: 1,
            tool_version: "test".into(),
            started_at: String::new(),
            finished_at: String::new(),
            status,
            error: None,
            memory_limit_bytes: None,
            inputs: Vec::new(),
            stages: vec![StageRecord {
                name: "t".into(),
                description: "test table".into(),
                sql_file: "t.sql".into(),
                sql_sha256: "0".repeat(64),
                needs: Vec::new(),
                sensitivity: Sensitivity::Aggregate,
                disclosure: Some(spec),
                output,
                columns: Vec::new(),
                token_lineage: self.token_lineage.clone(),
                duration_ms: 0,
                tests_ms: 0,
                tests: Vec::new(),
                ran_on: svna_records::RAN_LOCALLY.into(),
            }],
            warnings: Vec::new(),
        };
        self.store
            .put_json(&run_record_path(run_id), &record)
            .await
            .unwrap();
    }

    async fn publish(&self) -> Result<svna_publish::ReleaseManifest, PublishError> {
        publish_run(
            &self.store,
            &PublishOptions {
                run_id: Some("run-1".into()),
                release: Some("r1".into()),
            },
        )
        .await
    }

    async fn csv(&self) -> String {
        let bytes = self.store.get("published/r1/tables/t.csv").await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    /// The release's data dictionary (CSV).
    async fn dictionary(&self) -> String {
        let bytes = self
            .store
            .get("published/r1/data_dictionary.csv")
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    async fn nothing_published(&self) -> bool {
        !self
            .store
            .exists(&release_manifest_path("r1"))
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_small_cell_and_its_complements_are_withheld() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let manifest = f.publish().await.unwrap();
    let csv = f.csv().await;
    // A-F (2) is primary; in a 2x2 table with margins the cheapest protection withholds the
    // whole rectangle A-F, A-M, B-F, B-M.
    assert_eq!(
        csv,
        "area,sex,n\nA,F,[c]\nA,M,[c]\nA,Total,20\nB,F,[c]\nB,M,[c]\nB,Total,33\nTotal,F,21\nTotal,M,32\nTotal,Total,53\n"
    );
    assert_eq!(manifest.withheld_cells, 4);
    assert_eq!(
        manifest.tables[0].csv.sha256,
        svna_storage::sha256_hex(csv.as_bytes())
    );
    // The public report has no intervals (they rest on true values), no true values and no
    // primary/secondary label.
    let report = String::from_utf8(
        f.store
            .get("published/r1/disclosure_report.json")
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        !report.contains("primary") && !report.contains("secondary"),
        "{report}"
    );
    assert!(
        !report.contains("\"low\"") && !report.contains("\"high\""),
        "{report}"
    );
    assert!(report.contains("\"pass\": true"));
}

#[tokio::test]
async fn publishing_is_deterministic() {
    let a = Fixture::new();
    let b = Fixture::new();
    for f in [&a, &b] {
        f.run_with(
            &small_cell_table(),
            spec(&["area", "sex"], &["n"]),
            RunStatus::Finished,
        )
        .await;
        f.publish().await.unwrap();
    }
    assert_eq!(a.csv().await, b.csv().await);
    let pa = a.store.get("published/r1/tables/t.parquet").await.unwrap();
    let pb = b.store.get("published/r1/tables/t.parquet").await.unwrap();
    assert_eq!(pa, pb);
    // The workbook too: its creation time is the run's, not the clock's.
    let wa = a.store.get("published/r1/release.xlsx").await.unwrap();
    let wb = b.store.get("published/r1/release.xlsx").await.unwrap();
    assert_eq!(wa, wb);
}

#[tokio::test]
async fn an_unfinished_run_is_refused() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Failed,
    )
    .await;
    assert!(matches!(
        f.publish().await,
        Err(PublishError::RunNotFinished { .. })
    ));
    assert!(f.nothing_published().await);
}

#[tokio::test]
async fn token_values_are_refused() {
    let f = Fixture::new();
    let token = "a".repeat(64);
    let batch = RecordBatch::try_from_iter(vec![
        ("who", text(&[&token, "Total"])),
        ("n", ints(&[7, 7])),
    ])
    .unwrap();
    f.run_with(&batch, spec(&["who"], &["n"]), RunStatus::Finished)
        .await;
    assert!(
        matches!(f.publish().await, Err(PublishError::TokenColumn { column, .. }) if column == "who")
    );
    assert!(f.nothing_published().await);
}

#[tokio::test]
async fn a_token_column_name_is_refused() {
    let f = Fixture::new();
    let batch = RecordBatch::try_from_iter(vec![
        ("person_id", text(&["x", "Total"])),
        ("n", ints(&[7, 7])),
    ])
    .unwrap();
    f.run_with(&batch, spec(&["person_id"], &["n"]), RunStatus::Finished)
        .await;
    assert!(matches!(
        f.publish().await,
        Err(PublishError::TokenColumn { .. })
    ));
}

#[tokio::test]
async fn an_undeclared_column_is_refused() {
    let f = Fixture::new();
    let batch = RecordBatch::try_from_iter(vec![
        ("area", text(&["A", "Total"])),
        ("n", ints(&[7, 7])),
        ("note", text(&["x", "y"])),
    ])
    .unwrap();
    f.run_with(&batch, spec(&["area"], &["n"]), RunStatus::Finished)
        .await;
    assert!(
        matches!(f.publish().await, Err(PublishError::UnexpectedColumn { column, .. }) if column == "note")
    );
}

#[tokio::test]
async fn a_changed_output_is_detected() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    // Replace the output after the run recorded its checksum.
    let other = RecordBatch::try_from_iter(vec![
        ("area", text(&["A", "Total"])),
        ("sex", text(&["F", "Total"])),
        ("n", ints(&[9, 9])),
    ])
    .unwrap();
    f.store
        .put("outputs/run-1/t.parquet", parquet_of(&other))
        .await
        .unwrap();
    assert!(matches!(
        f.publish().await,
        Err(PublishError::Tampered { .. })
    ));
    assert!(f.nothing_published().await);
}

#[tokio::test]
async fn a_release_is_never_overwritten() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let first = f.publish().await.unwrap();
    assert!(matches!(f.publish().await, Err(PublishError::ReleaseExists { name }) if name == "r1"));
    let manifest: svna_publish::ReleaseManifest = f
        .store
        .get_json(&release_manifest_path("r1"), "manifest")
        .await
        .unwrap();
    assert_eq!(manifest.created_at, first.created_at);
}

#[tokio::test]
async fn rates_come_from_protected_counts() {
    let f = Fixture::new();
    let batch = RecordBatch::try_from_iter(vec![
        ("area", text(&["A", "B", "C", "Total"])),
        ("residents", ints(&[1000, 2000, 500, 3500])),
        ("n", ints(&[3, 40, 30, 73])),
    ])
    .unwrap();
    let mut s = spec(&["area"], &["n"]);
    s.context = vec!["residents".into()];
    s.rates = vec![RateSpec {
        name: "rate".into(),
        count: "n".into(),
        denominator: "residents".into(),
        per: 1000.0,
        decimals: 1,
    }];
    f.run_with(&batch, s, RunStatus::Finished).await;
    f.publish().await.unwrap();
    let csv = f.csv().await;
    // A (3) is primary; the cheapest complement is C (30); both rates are withheld too.
    assert_eq!(
        csv,
        "area,residents,n,rate\nA,1000,[c],[c]\nB,2000,40,20.0\nC,500,[c],[c]\nTotal,3500,73,20.9\n"
    );
}

#[tokio::test]
async fn hierarchies_protect_a_small_area_from_its_parent() {
    let f = Fixture::new();
    // District D = wards W1 + W2; W1 = LSOAs L1 + L2. L1 (2) is small.
    let batch = RecordBatch::try_from_iter(vec![
        ("area", text(&["L1", "L2", "W1", "W2", "D", "Total"])),
        ("parent", text(&["W1", "W1", "D", "D", "Total", ""])),
        ("n", ints(&[2, 30, 32, 40, 72, 72])),
    ])
    .unwrap();
    let mut s = spec(&["area"], &["n"]);
    s.parents = BTreeMap::from([("area".to_string(), "parent".to_string())]);
    f.run_with(&batch, s, RunStatus::Finished).await;
    let manifest = f.publish().await.unwrap();
    let csv = f.csv().await;
    assert!(csv.contains("L1,W1,[c]"), "{csv}");
    // L2 alone with W1 published would give L1 away: the complement must be withheld too.
    assert!(
        csv.contains("L2,W1,[c]") || csv.contains("W1,D,[c]"),
        "{csv}"
    );
    assert!(manifest.withheld_cells >= 2);
}

#[tokio::test]
async fn combinations_sql_left_out_are_published_as_zeros() {
    let f = Fixture::new();
    // No row for (B, M): SQL's GROUP BY has no row for a zero count.
    let batch = RecordBatch::try_from_iter(vec![
        (
            "area",
            text(&["A", "A", "A", "B", "B", "Total", "Total", "Total"]),
        ),
        (
            "sex",
            text(&["F", "M", "Total", "F", "Total", "F", "M", "Total"]),
        ),
        ("n", ints(&[10, 20, 30, 15, 15, 25, 20, 45])),
    ])
    .unwrap();
    f.run_with(&batch, spec(&["area", "sex"], &["n"]), RunStatus::Finished)
        .await;
    f.publish().await.unwrap();
    assert_eq!(
        f.csv().await,
        "area,sex,n\nA,F,10\nA,M,20\nA,Total,30\nB,F,15\nB,M,0\nB,Total,15\nTotal,F,25\nTotal,M,20\nTotal,Total,45\n"
    );
}

#[tokio::test]
async fn a_published_release_verifies() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let manifest = f.publish().await.unwrap();
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.withheld_cells_checked, manifest.withheld_cells);
    // Parquet and CSV of the table, the public disclosure report(s), the data dictionary and
    // the workbook.
    assert_eq!(
        report.files_checked,
        2 + manifest.disclosure_report.len() + manifest.data_dictionary.len() + 1
    );
    assert!(manifest.workbook.is_some());
}

#[tokio::test]
async fn a_tampered_byte_is_detected_by_verify() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    f.publish().await.unwrap();
    let tampered = f.csv().await.replacen("53", "54", 1);
    f.store
        .put("published/r1/tables/t.csv", tampered.into())
        .await
        .unwrap();
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(
        report.problems[0].starts_with("published/r1/tables/t.csv has changed"),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn verify_recomputes_a_cell_withheld_without_its_complements() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    f.publish().await.unwrap();
    // Someone replaces the Parquet with one that withholds only the small cell: 20 - 18 = 2.
    let table = small_cell_table();
    let mut counts: Vec<Option<i64>> = table
        .column_by_name("n")
        .unwrap()
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .iter()
        .collect();
    counts[0] = None; // A-F
    let leaky = RecordBatch::try_from_iter(vec![
        ("area", Arc::clone(table.column_by_name("area").unwrap())),
        ("sex", Arc::clone(table.column_by_name("sex").unwrap())),
        ("n", Arc::new(Int64Array::from(counts)) as ArrayRef),
    ])
    .unwrap();
    f.store
        .put("published/r1/tables/t.parquet", parquet_of(&leaky))
        .await
        .unwrap();
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("can be recomputed") && p.contains("[2, 2]")),
        "{:?}",
        report.problems
    );
}

/// Rewrites run-1's record so that stage `t` reads one source of the given dataset.
async fn reads_source(f: &Fixture, dataset: &str) {
    let path = run_record_path("run-1");
    let mut record: RunRecord = f.store.get_json(&path, "run record").await.unwrap();
    record.stages[0].needs = vec!["source".into()];
    record.inputs = vec![svna_records::InputRecord {
        source: "source".into(),
        dataset: dataset.into(),
        files: Vec::new(),
    }];
    f.store.put_json(&path, &record).await.unwrap();
}

fn open_spec() -> DisclosureSpec {
    DisclosureSpec {
        policy: DisclosurePolicy::Open,
        k: None,
        ..spec(&["area", "sex"], &["n"])
    }
}

#[tokio::test]
async fn the_open_policy_publishes_counts_from_open_data_as_they_are() {
    let f = Fixture::new();
    f.run_with(&small_cell_table(), open_spec(), RunStatus::Finished)
        .await;
    reads_source(&f, "police_open_data").await;
    let manifest = f.publish().await.unwrap();
    assert_eq!(manifest.withheld_cells, 0);
    assert!(f.csv().await.starts_with("area,sex,n\nA,F,2\n"));
}

#[tokio::test]
async fn the_open_policy_is_refused_for_a_table_computed_from_partner_data() {
    let f = Fixture::new();
    f.run_with(&small_cell_table(), open_spec(), RunStatus::Finished)
        .await;
    reads_source(&f, "police_offences").await;
    let error = f.publish().await.unwrap_err();
    assert!(
        matches!(&error, PublishError::OpenPolicyOnPartnerData { stage, dataset, .. }
            if stage == "t" && dataset == "police_offences"),
        "{error}"
    );
    assert!(f.nothing_published().await);
}

/// Offences by area x month, with margins, from per-month columns of area A and B.
fn area_month(months: &[&str], a: &[i64], b: &[i64]) -> RecordBatch {
    let (mut area, mut month, mut n) = (Vec::new(), Vec::new(), Vec::new());
    let columns = months.iter().copied().chain(["Total"]);
    for (name, values) in [("A", a), ("B", b)] {
        for (m, v) in columns
            .clone()
            .zip(values.iter().copied().chain([values.iter().sum()]))
        {
            area.push(name);
            month.push(m);
            n.push(v);
        }
    }
    for (i, m) in columns.enumerate() {
        let total = if i < months.len() {
            a[i] + b[i]
        } else {
            a.iter().sum::<i64>() + b.iter().sum::<i64>()
        };
        area.push("Total");
        month.push(m);
        n.push(total);
    }
    RecordBatch::try_from_iter(vec![
        ("area", text(&area)),
        ("month", text(&month)),
        ("n", ints(&n)),
    ])
    .unwrap()
}

/// Published cells of a release's CSV: (area, month) -> figure, None when withheld.
async fn published_cells(store: &Store, release: &str) -> BTreeMap<(String, String), Option<i64>> {
    let csv = store
        .get(&format!("published/{release}/tables/t.csv"))
        .await
        .unwrap();
    let text = String::from_utf8(csv.to_vec()).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            ((f[0].to_string(), f[1].to_string()), f[2].parse().ok())
        })
        .collect()
}

/// What an outsider holding both releases recovers for area A in the new month: A's total
/// in release 2 minus A's other months, each read from whichever release published it.
fn recover_a(
    r1: &BTreeMap<(String, String), Option<i64>>,
    r2: &BTreeMap<(String, String), Option<i64>>,
    months: &[&str],
    target: &str,
) -> Option<i64> {
    let mut value = r2[&("A".into(), "Total".into())]?;
    for m in months.iter().filter(|m| **m != target) {
        let key = ("A".to_string(), m.to_string());
        value -= r2[&key].or_else(|| r1.get(&key).copied().flatten())?;
    }
    Some(value)
}

/// Two consecutive releases: the second adds a month in which area A has 2 offences. On
/// its own, the second release hides that cell behind the cheapest complements, which are
/// the first release's published months; differencing against the first release recovers
/// it. With the ledger, the first release's figures are fixed and the second release
/// protects the cell with complements an outsider cannot read from either release.
#[tokio::test]
async fn the_ledger_stops_differencing_between_consecutive_releases() {
    let months1 = ["2019-01", "2019-02"];
    let months2 = ["2019-01", "2019-02", "2019-03"];
    let first = area_month(&months1, &[6, 30], &[7, 40]);
    let second = area_month(&months2, &[6, 30, 2], &[7, 40, 9]);
    let spec = || spec(&["area", "month"], &["n"]);
    let publish = |f: &Fixture, run: &str, release: &str| {
        let (store, run, release) = (f.store.clone(), run.to_string(), release.to_string());
        async move {
            publish_run(
                &store,
                &PublishOptions {
                    run_id: Some(run),
                    release: Some(release),
                },
            )
            .await
        }
    };

    // Without a ledger (the second release published on its own): the leak is real.
    let alone = Fixture::new();
    alone
        .run_as("run-1", &first, spec(), RunStatus::Finished)
        .await;
    publish(&alone, "run-1", "r1").await.unwrap();
    let r1_alone = published_cells(&alone.store, "r1").await;
    let lone = Fixture::new();
    lone.run_as("run-2", &second, spec(), RunStatus::Finished)
        .await;
    publish(&lone, "run-2", "r2").await.unwrap();
    let r2_alone = published_cells(&lone.store, "r2").await;
    assert_eq!(r2_alone[&("A".into(), "2019-03".into())], None);
    assert_eq!(
        recover_a(&r1_alone, &r2_alone, &months2, "2019-03"),
        Some(2),
        "differencing recovers the withheld cell when releases are protected separately"
    );

    // With the ledger (both releases in one store): the cell stays protected.
    let f = Fixture::new();
    f.run_as("run-1", &first, spec(), RunStatus::Finished).await;
    publish(&f, "run-1", "r1").await.unwrap();
    f.run_as("run-2", &second, spec(), RunStatus::Finished)
        .await;
    let manifest = publish(&f, "run-2", "r2").await.unwrap();
    assert_eq!(manifest.linked_releases, vec!["r1".to_string()]);
    let r1 = published_cells(&f.store, "r1").await;
    let r2 = published_cells(&f.store, "r2").await;
    assert_eq!(r2[&("A".into(), "2019-03".into())], None);
    assert_eq!(recover_a(&r1, &r2, &months2, "2019-03"), None);
    // No figure the first release published is withheld as a complement in the second.
    for (key, value) in &r1 {
        if value.is_some() && key.1 != "Total" {
            assert!(r2[key].is_some(), "{key:?} was public already");
        }
    }
    // And the release's own audit covered both (it passed, or publish would have refused).
    let report = verify_release(&f.store, "r2").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

#[tokio::test]
async fn the_data_dictionary_says_what_each_table_counts_and_how_it_is_protected() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    reads_source(&f, "police_offences").await;
    let manifest = f.publish().await.unwrap();
    assert_eq!(manifest.data_dictionary.len(), 2);
    let csv = f.dictionary().await;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 3, "a header and one row per column: {csv}");
    assert!(
        lines[1].starts_with("t,test table,t,\"threshold k=5: counts 1 to 4 withheld"),
        "{csv}"
    );
    assert!(lines[1].contains("police_offences (police)"), "{csv}");
    assert!(lines[3].contains(",n,count,"), "{csv}");
}

#[tokio::test]
async fn a_rounded_release_verifies_though_its_totals_do_not_add_up() {
    let f = Fixture::new();
    let rounded = DisclosureSpec {
        policy: DisclosurePolicy::Round,
        k: None,
        base: Some(5),
        ..spec(&["area", "sex"], &["n"])
    };
    f.run_with(&small_cell_table(), rounded, RunStatus::Finished)
        .await;
    f.publish().await.unwrap();
    // 2 + 18 = 20 is published as 0 + 20 = 20, but 19 + 14 = 33 as 20 + 15 = 35.
    assert!(f.csv().await.contains("B,Total,35\n"), "{}", f.csv().await);
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.rounded_not_reaudited, vec!["t".to_string()]);
}

// What can reach the published zone (issue 14)

/// The text of a published file of release r1.
async fn published_text(f: &Fixture, name: &str) -> String {
    let bytes = f.store.get(&format!("published/r1/{name}")).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Issue 14: a partner id `@SUM(1+1)`, a ward code `+cmd|' /C calc'!A0` and an age band
/// `=1+2` were written verbatim into published CSVs, where a spreadsheet runs them.
#[tokio::test]
async fn text_cells_that_start_a_formula_are_neutralised_in_every_published_csv() {
    let f = Fixture::new();
    let batch = RecordBatch::try_from_iter(vec![
        (
            "area",
            text(&["@SUM(1+1)", "+cmd|' /C calc'!A0", "=1+2", "-x", "Total"]),
        ),
        ("change", ints(&[-3, 4, -5, 6, 2])),
        ("n", ints(&[2, 30, 40, 50, 122])),
    ])
    .unwrap();
    let mut s = spec(&["area"], &["n"]);
    s.context = vec!["change".into()];
    s.measure = Some("=HYPERLINK(\"x\")".into());
    f.run_with(&batch, s, RunStatus::Finished).await;
    let manifest = f.publish().await.unwrap();
    let csv = f.csv().await;
    for line in [
        "'@SUM(1+1),-3,[c]",
        "'+cmd|' /C calc'!A0,4,",
        "'=1+2,-5,",
        "'-x,6,",
        "Total,2,122",
    ] {
        assert!(csv.contains(line), "{line:?} not in\n{csv}");
    }
    // Parquet keeps the values as they are: it is not opened as a spreadsheet.
    let parquet = f.store.get("published/r1/tables/t.parquet").await.unwrap();
    let table = svna_publish::OutputTable::from_published_parquet(
        "t",
        &manifest.tables[0].disclosure,
        parquet,
    )
    .unwrap();
    assert!(table.dims[0].contains(&"@SUM(1+1)".to_string()));
    // The dictionary's measure and the report's quantities (named by measure) too.
    let dictionary = published_text(&f, "data_dictionary.csv").await;
    assert!(
        dictionary.contains(",\"'=HYPERLINK(\"\"x\"\")\",") && !dictionary.contains(",=HYPERLINK"),
        "{dictionary}"
    );
    let report = published_text(&f, "disclosure_report.csv").await;
    assert!(report.starts_with("quantity,tables\n"), "{report}");
    assert!(
        report
            .lines()
            .skip(1)
            .all(|l| l.starts_with("'=") || l.starts_with("\"'=")),
        "{report}"
    );
    // Every cell of every published CSV: none starts a formula.
    for name in [
        "tables/t.csv",
        "data_dictionary.csv",
        "disclosure_report.csv",
    ] {
        let text = published_text(&f, name).await;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        for record in reader.records() {
            for cell in record.unwrap().iter() {
                let formula = cell.starts_with(['=', '+', '@', '\t', '\r'])
                    || (cell.starts_with('-') && cell.parse::<f64>().is_err());
                assert!(!formula, "{name}: {cell:?}");
            }
        }
    }
}

/// A one-dimension table whose codes are `codes` (plus Total), every count publishable.
fn codes_table(codes: &[&str]) -> RecordBatch {
    let mut all: Vec<&str> = codes.to_vec();
    all.push("Total");
    let mut counts = vec![10; codes.len()];
    counts.push(10 * codes.len() as i64);
    RecordBatch::try_from_iter(vec![("who", text(&all)), ("n", ints(&counts))]).unwrap()
}

/// Issue 14: only exact 64-character lowercase hex was refused, so `upper(person_id)`,
/// `'p' || person_id` and `substr(person_id, 1, 63)` published and verified.
#[tokio::test]
async fn a_value_holding_a_run_of_16_hex_characters_is_refused() {
    let token = "0123456789abcdef".repeat(4);
    for value in [
        token.to_uppercase(),
        format!("p{token}"),
        token[..63].to_string(),
        token[..16].to_string(),
        format!("x-{}-y", &token[10..26].to_uppercase()),
    ] {
        let f = Fixture::new();
        f.run_with(
            &codes_table(&[&value, "other"]),
            spec(&["who"], &["n"]),
            RunStatus::Finished,
        )
        .await;
        let refused = f.publish().await;
        assert!(
            matches!(&refused, Err(PublishError::TokenColumn { column, .. }) if column == "who"),
            "{value}: {refused:?}"
        );
        assert!(refused.unwrap_err().is_finding());
        assert!(f.nothing_published().await, "{value}");
    }
}

#[tokio::test]
async fn token_shaped_parents_and_context_are_refused_too() {
    let token = "ABCDEF0123456789";
    let f = Fixture::new();
    let batch = RecordBatch::try_from_iter(vec![
        ("area", text(&["A", "Total"])),
        ("parent", text(&[&format!("p{token}"), ""])),
        ("n", ints(&[10, 10])),
    ])
    .unwrap();
    let mut s = spec(&["area"], &["n"]);
    s.parents = BTreeMap::from([("area".to_string(), "parent".to_string())]);
    f.run_with(&batch, s, RunStatus::Finished).await;
    let refused = f.publish().await;
    assert!(
        matches!(&refused, Err(PublishError::TokenColumn { column, .. }) if column == "parent"),
        "{refused:?}"
    );

    let f = Fixture::new();
    let batch = RecordBatch::try_from_iter(vec![
        ("area", text(&["A", "Total"])),
        ("note", text(&[token, "x"])),
        ("n", ints(&[10, 10])),
    ])
    .unwrap();
    let mut s = spec(&["area"], &["n"]);
    s.context = vec!["note".into()];
    f.run_with(&batch, s, RunStatus::Finished).await;
    let refused = f.publish().await;
    assert!(
        matches!(&refused, Err(PublishError::TokenColumn { column, .. }) if column == "note"),
        "{refused:?}"
    );
}

/// The hex-run rule must not trip on what tables legitimately hold.
#[tokio::test]
async fn ordinary_codes_are_not_taken_for_tokens() {
    let f = Fixture::new();
    f.run_with(
        &codes_table(&[
            "E01026359",
            "E05010123",
            "E07000136",
            "2023-01",
            "2019-01-01..2023-12-31",
            "Outside area",
            "deadbeef-cafe",
            "0123456789abcde",
        ]),
        spec(&["who"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    f.publish().await.unwrap();
}

/// A column the run recorded as computed from a token column is refused whatever its
/// values look like (e.g. `length(person_id) % 3`).
#[tokio::test]
async fn a_column_whose_lineage_reaches_a_token_is_refused() {
    let mut f = Fixture::new();
    f.token_lineage = vec!["who".into()];
    f.run_with(
        &codes_table(&["1", "2"]),
        spec(&["who"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let refused = f.publish().await;
    assert!(
        matches!(&refused, Err(PublishError::TokenColumn { column, reason, .. })
            if column == "who" && reason.contains("lineage")),
        "{refused:?}"
    );
    assert!(f.nothing_published().await);
}

async fn publish_as(
    f: &Fixture,
    release: &str,
) -> Result<svna_publish::ReleaseManifest, PublishError> {
    publish_run(
        &f.store,
        &PublishOptions {
            run_id: Some("run-1".into()),
            release: Some(release.into()),
        },
    )
    .await
}

/// Issue 14: `../escape`, `/abs/rel` and the empty name were accepted; the empty one wrote
/// `published/manifest.json` at the zone root.
#[tokio::test]
async fn a_release_name_that_is_not_one_path_segment_is_refused() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    for name in ["../escape", "/abs/rel", "", "a/b", "R1", "_incoming"] {
        let refused = publish_as(&f, name).await;
        assert!(
            matches!(&refused, Err(PublishError::Name(e)) if e.name == name),
            "{name:?}: {refused:?}"
        );
        let verified = verify_release(&f.store, name).await;
        assert!(matches!(verified, Err(PublishError::Name(_))), "{name:?}");
    }
    assert!(f.store.list("published/").await.unwrap().is_empty());
    assert!(f.store.list("escape").await.unwrap().is_empty());
    // The default name (`<pipeline>-<run id>`) is a valid name even for a run id with
    // capitals.
    f.run_as(
        "run-20261127T120000Z-abc123",
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let manifest = publish_run(
        &f.store,
        &PublishOptions {
            run_id: Some("run-20261127T120000Z-abc123".into()),
            release: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(manifest.release, "test-run-20261127t120000z-abc123");
}

/// The files of the store's local directory under `relative`, recursively, as paths
/// relative to the store (object_store's temporaries included).
fn files_on_disk(f: &Fixture, relative: &str) -> Vec<String> {
    let root = f.store.local_root().unwrap();
    let mut out = Vec::new();
    let mut pending = vec![root.join(relative)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.push(format!("{}/", path.strip_prefix(&root).unwrap().display()));
                pending.push(path);
            } else {
                out.push(path.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

/// What a publish killed at each point leaves: a release folder with table files and no
/// manifest, an object_store temporary `…csv#1`, a staging prefix and a claim.
async fn leave_a_killed_publish(f: &Fixture) {
    let store = &f.store;
    store
        .put("published/r0/tables/t.csv", "area,n\nA,1\n".into())
        .await
        .unwrap();
    store
        .put("published/r0/tables/t.parquet", "x".into())
        .await
        .unwrap();
    let root = store.local_root().unwrap();
    std::fs::write(root.join("published/r0/tables/t.csv#1"), "half").unwrap();
    std::fs::create_dir_all(root.join("published/empty/tables")).unwrap();
    store
        .put("runs/_incoming/r0/1000-abcdef/tables/t.csv", "x".into())
        .await
        .unwrap();
    store
        .put_json(
            "runs/_incoming/r0.claim.json",
            &serde_json::json!({ "publish_id": "1000-abcdef", "claimed_at": "1970-01-01T00:16:40+00:00" }),
        )
        .await
        .unwrap();
}

/// Issue 14: a publish killed mid-way left `published/<release>/` with table files and no
/// manifest (and an object_store temporary), which copying the zone took along.
#[tokio::test]
async fn the_next_publish_removes_what_a_killed_publish_left() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    leave_a_killed_publish(&f).await;
    // verify refuses the uncommitted folder rather than reading it as a release.
    let refused = verify_release(&f.store, "r0").await;
    assert!(
        matches!(refused, Err(PublishError::ReleaseNotCommitted { ref name }) if name == "r0"),
        "{refused:?}"
    );
    f.publish().await.unwrap();
    let published = files_on_disk(&f, "published");
    assert!(
        published.iter().all(|p| p.starts_with("published/r1/")),
        "{published:#?}"
    );
    assert!(published.contains(&"published/r1/manifest.json".to_string()));
    assert!(published.iter().all(|p| !p.contains('#')), "{published:#?}");
    // Staging and claims are gone: this publish's and the killed one's.
    let incoming = f.store.list("runs/_incoming/").await.unwrap();
    assert!(incoming.is_empty(), "{incoming:?}");
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

/// A publish `kill -9`ed while copying leaves a fresh claim. On the same machine its process
/// is seen gone, so publishing again works at once instead of after 30 minutes; a claim
/// whose process lives (this test's own) still holds the name.
#[tokio::test]
async fn a_claim_left_by_a_killed_publish_on_this_machine_is_taken_over_at_once() {
    let Ok(boot_id) = std::fs::read_to_string("/proc/sys/kernel/random/boot_id") else {
        return; // no boot id to tell processes apart: claims expire by age only
    };
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let claim = |release: &str, pid: u32| {
        let store = f.store.clone();
        let now = chrono::Utc::now().to_rfc3339();
        let path = format!("runs/_incoming/{release}.claim.json");
        let claim = serde_json::json!({
            "publish_id": "killed",
            "claimed_at": now,
            "holder": { "boot_id": boot_id.trim(), "pid": pid },
        });
        async move { store.put_json(&path, &claim).await.unwrap() }
    };
    claim("r3", gone_pid).await;
    f.store
        .put("published/r3/tables/t.csv", "half copied".into())
        .await
        .unwrap();
    publish_as(&f, "r3").await.unwrap();
    assert!(f.store.exists("published/r3/manifest.json").await.unwrap());
    assert_eq!(
        verify_release(&f.store, "r3").await.unwrap().problems,
        Vec::<String>::new()
    );

    claim("r4", std::process::id()).await;
    let busy = publish_as(&f, "r4").await;
    assert!(
        matches!(busy, Err(PublishError::ReleaseBusy { ref name, .. }) if name == "r4"),
        "{busy:?}"
    );
}

/// A release that a publish is still writing (a live claim) is left alone by the cleanup,
/// and a second publish of the same name is refused while it is.
#[tokio::test]
async fn a_release_claimed_by_a_live_publish_is_left_alone() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    f.store
        .put("published/r2/tables/t.csv", "being copied".into())
        .await
        .unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    f.store
        .put_json(
            "runs/_incoming/r2.claim.json",
            &serde_json::json!({ "publish_id": "x", "claimed_at": now }),
        )
        .await
        .unwrap();
    f.publish().await.unwrap();
    assert!(f.store.exists("published/r2/tables/t.csv").await.unwrap());
    let busy = publish_as(&f, "r2").await;
    assert!(
        matches!(busy, Err(PublishError::ReleaseBusy { ref name, .. }) if name == "r2"),
        "{busy:?}"
    );
    assert!(f.store.exists("published/r2/tables/t.csv").await.unwrap());
}

/// Nothing is written into the published zone before the release is complete: a publish
/// refused at its last step (the name was committed meanwhile) leaves the committed
/// release as it was and none of its own files.
#[tokio::test]
async fn two_publishes_of_one_name_never_mix_their_files() {
    let f = Fixture::new();
    f.run_with(
        &small_cell_table(),
        spec(&["area", "sex"], &["n"]),
        RunStatus::Finished,
    )
    .await;
    let (a, b) = tokio::join!(publish_as(&f, "same"), publish_as(&f, "same"));
    let winners = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{a:?}\n{b:?}");
    for loser in [&a, &b].into_iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                loser,
                Err(PublishError::ReleaseExists { .. } | PublishError::ReleaseBusy { .. })
            ),
            "{loser:?}"
        );
    }
    let report = verify_release(&f.store, "same").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    let published = files_on_disk(&f, "published");
    assert!(
        published.iter().all(|p| p.starts_with("published/same")),
        "{published:#?}"
    );
}

/// A table of partner-suppressed data as its stage writes it: A,F was withheld by the partner
/// (no shared part: NULL), so A,Total, Total,F and Total,Total include it and count the
/// shared parts only (flagged, with counts); `small` is A,M.
fn partner_table(small: i64) -> RecordBatch {
    let nullable =
        |values: &[Option<i64>]| -> ArrayRef { Arc::new(Int64Array::from(values.to_vec())) };
    RecordBatch::try_from_iter(vec![
        (
            "area",
            text(&["A", "A", "A", "B", "B", "B", "Total", "Total", "Total"]),
        ),
        (
            "sex",
            text(&["F", "M", "Total", "F", "M", "Total", "F", "M", "Total"]),
        ),
        (
            "n",
            nullable(&[
                None,
                Some(small),
                Some(small),
                Some(19),
                Some(14),
                Some(33),
                Some(19),
                Some(small + 14),
                Some(small + 33),
            ]),
        ),
        (
            "suppressed",
            Arc::new(arrow_array::BooleanArray::from(vec![
                true, false, true, false, false, false, true, false, true,
            ])) as ArrayRef,
        ),
    ])
    .unwrap()
}

/// A published table's CSV as (area, sex) -> the row's cells by column name.
fn csv_rows(csv: &str) -> BTreeMap<(String, String), BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let row: BTreeMap<String, String> = header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect();
            ((row["area"].clone(), row["sex"].clone()), row)
        })
        .collect()
}

/// A published Parquet table's boolean column.
async fn bool_column(store: &Store, path: &str, column: &str) -> Vec<bool> {
    let bytes = store.get(path).await.unwrap();
    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap()
        .flat_map(|b| {
            let b = b.unwrap();
            let flags = b
                .column_by_name(column)
                .unwrap_or_else(|| panic!("{column} is published"))
                .as_any()
                .downcast_ref::<arrow_array::BooleanArray>()
                .unwrap()
                .clone();
            flags.iter().map(|v| v.unwrap()).collect::<Vec<_>>()
        })
        .collect()
}

/// Issue 16: a figure the partner withheld before sharing is published as `[p]`, told apart
/// from svna's own `[c]`; a total that includes it is published as a lower bound (the sum of
/// the shared parts), flagged, never blanked and never reconstructed. Parquet keeps the
/// partner's flag and a lower_bound column; the dictionary explains them; verify passes.
#[tokio::test]
async fn partner_suppressed_cells_are_published_as_such() {
    let f = Fixture::new();
    let mut spec = spec(&["area", "sex"], &["n"]);
    spec.partner_suppressed = Some("suppressed".into());
    f.run_with(&partner_table(18), spec, RunStatus::Finished)
        .await;
    let manifest = f.publish().await.unwrap();

    let csv = f.csv().await;
    let rows = csv_rows(&csv);
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "area,sex,suppressed,lower_bound,n", "{csv}");
    let expected = [
        ("A", "F", "[p]", "true", "false"),
        ("A", "M", "18", "false", "false"),
        ("A", "Total", "18", "true", "true"),
        ("B", "F", "19", "false", "false"),
        ("B", "M", "14", "false", "false"),
        ("B", "Total", "33", "false", "false"),
        ("Total", "F", "19", "true", "true"),
        ("Total", "M", "32", "false", "false"),
        ("Total", "Total", "51", "true", "true"),
    ];
    for (area, sex, n, flag, bound) in expected {
        let row = &rows[&(area.to_string(), sex.to_string())];
        assert_eq!(
            (
                row["n"].as_str(),
                row["suppressed"].as_str(),
                row["lower_bound"].as_str()
            ),
            (n, flag, bound),
            "{area},{sex}\n{csv}"
        );
    }
    assert!(
        !csv.contains("[c]"),
        "nothing here is svna's to withhold:\n{csv}"
    );

    let parquet = "published/r1/tables/t.parquet";
    let flags = bool_column(&f.store, parquet, "suppressed").await;
    let bounds = bool_column(&f.store, parquet, "lower_bound").await;
    assert_eq!(
        flags,
        expected.iter().map(|e| e.3 == "true").collect::<Vec<_>>()
    );
    assert_eq!(
        bounds,
        expected.iter().map(|e| e.4 == "true").collect::<Vec<_>>()
    );
    let table = &manifest.tables[0];
    assert_eq!(
        (table.withheld, table.partner_withheld, table.lower_bounds),
        (1, 1, 3)
    );

    let dictionary = f.dictionary().await;
    for needle in [
        "`[c]`",
        "`[p]`",
        "lower_bound,lower-bound flag",
        "lower bound",
    ] {
        assert!(dictionary.contains(needle), "{needle}\n{dictionary}");
    }
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

/// A lower bound that is itself small is withheld by svna like any small count (`[c]`, still
/// flagged as a lower bound), and what protects it is proven against an outsider who knows
/// each lower bound is the sum of the shared parts: verify finds nothing recomputable.
#[tokio::test]
async fn a_small_lower_bound_is_withheld_and_protected() {
    let f = Fixture::new();
    let mut spec = spec(&["area", "sex"], &["n"]);
    spec.partner_suppressed = Some("suppressed".into());
    f.run_with(&partner_table(3), spec, RunStatus::Finished)
        .await;
    f.publish().await.unwrap();

    let csv = f.csv().await;
    let rows = csv_rows(&csv);
    let a_m = &rows[&("A".into(), "M".into())];
    let a_total = &rows[&("A".into(), "Total".into())];
    assert_eq!(a_m["n"], "[c]", "{csv}");
    assert_eq!(
        (a_total["n"].as_str(), a_total["lower_bound"].as_str()),
        ("[c]", "true"),
        "the lower bound A,Total equals A,M: withheld with it\n{csv}"
    );
    assert_eq!(rows[&("A".into(), "F".into())]["n"], "[p]", "{csv}");
    // Total,M = A,M + B,M: something else in the M column and its rows must go too.
    assert!(
        ["B,M", "Total,M"].iter().any(|k| {
            let (a, s) = k.split_once(',').unwrap();
            rows[&(a.to_string(), s.to_string())]["n"] == "[c]"
        }),
        "{csv}"
    );
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
    assert!(report.withheld_cells_checked >= 2, "{report:?}");
}

/// A table that puts a partner's counts beside others gives each count its own partner flag
/// (`partner_flags`), and each count its own lower-bound column: the under-25 figure of a
/// cell can be withheld by the partner (`[p]`) where the all-ages figure is a lower bound.
/// Each figure's state is read back from the release as it was published.
#[tokio::test]
async fn each_count_with_its_own_partner_flag_has_its_own_lower_bound() {
    let f = Fixture::new();
    let mut spec = spec(&["area", "sex"], &["all", "u25"]);
    spec.nested.insert("u25".into(), "all".into());
    spec.partner_flags
        .insert("all".into(), "all_suppressed".into());
    spec.partner_flags
        .insert("u25".into(), "u25_suppressed".into());
    // The partner withheld A,F's under-25 part: A,F's under-25 figure has no shared part,
    // its all-ages figure (12, the 25-and-over part) and every total over A,F are lower
    // bounds.
    let flagged = [true, false, true, false, false, false, true, false, true];
    let batch = RecordBatch::try_from_iter(vec![
        (
            "area",
            text(&["A", "A", "A", "B", "B", "B", "Total", "Total", "Total"]),
        ),
        (
            "sex",
            text(&["F", "M", "Total", "F", "M", "Total", "F", "M", "Total"]),
        ),
        ("all", ints(&[12, 20, 32, 18, 19, 37, 30, 39, 69])),
        (
            "u25",
            Arc::new(Int64Array::from(vec![
                None,
                Some(7),
                Some(7),
                Some(8),
                Some(9),
                Some(17),
                Some(8),
                Some(16),
                Some(24),
            ])) as ArrayRef,
        ),
        (
            "all_suppressed",
            Arc::new(arrow_array::BooleanArray::from(flagged.to_vec())) as ArrayRef,
        ),
        (
            "u25_suppressed",
            Arc::new(arrow_array::BooleanArray::from(flagged.to_vec())) as ArrayRef,
        ),
    ])
    .unwrap();
    f.run_with(&batch, spec.clone(), RunStatus::Finished).await;
    let manifest = f.publish().await.unwrap();

    let csv = f.csv().await;
    assert_eq!(
        csv.lines().next().unwrap(),
        "area,sex,all_suppressed,u25_suppressed,all_lower_bound,u25_lower_bound,all,u25",
        "{csv}"
    );
    let rows = csv_rows(&csv);
    let cell = |area: &str, sex: &str| {
        let row = &rows[&(area.to_string(), sex.to_string())];
        [
            row["all"].clone(),
            row["all_lower_bound"].clone(),
            row["u25"].clone(),
            row["u25_lower_bound"].clone(),
        ]
        .join(" ")
    };
    assert_eq!(cell("A", "F"), "12 true [p] false", "{csv}");
    assert_eq!(cell("A", "Total"), "32 true 7 true", "{csv}");
    assert_eq!(cell("Total", "Total"), "69 true 24 true", "{csv}");
    assert_eq!(cell("B", "M"), "19 false 9 false", "{csv}");
    let table = &manifest.tables[0];
    assert_eq!(
        (table.withheld, table.partner_withheld, table.lower_bounds),
        (1, 1, 7)
    );

    // Read back as published: each figure's state from its own columns.
    let parquet = f.store.get("published/r1/tables/t.parquet").await.unwrap();
    let published = svna_publish::OutputTable::from_published_parquet("t", &spec, parquet).unwrap();
    use svna_publish::PartnerMark::{LowerBound, None as Untouched, Withheld};
    assert_eq!(
        published.partner,
        vec![
            vec![
                LowerBound, Untouched, LowerBound, Untouched, Untouched, Untouched, LowerBound,
                Untouched, LowerBound
            ],
            vec![
                Withheld, Untouched, LowerBound, Untouched, Untouched, Untouched, LowerBound,
                Untouched, LowerBound
            ],
        ]
    );
    let dictionary = f.dictionary().await;
    for needle in [
        "u25_lower_bound,lower-bound flag",
        "all_lower_bound,lower-bound flag",
        "u25_suppressed,partner flag",
    ] {
        assert!(dictionary.contains(needle), "{needle}\n{dictionary}");
    }
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());
}

/// Publishes area x age band with an ESP 2013 standardised rate, B's 18-24 count being
/// `b_young`, and returns the CSV as (area, band) -> (count, standardised rate).
async fn standardised_release(
    b_young: i64,
) -> (
    BTreeMap<(String, String), (String, String)>,
    String,
    Fixture,
) {
    let f = Fixture::new();
    let mut spec = spec(&["area", "age_band"], &["n"]);
    spec.context = vec!["py".into()];
    spec.standardised = vec![svna_records::StandardisedRateSpec {
        name: "n_per_100k_esp2013".into(),
        count: "n".into(),
        denominator: "py".into(),
        by: "age_band".into(),
        standard: svna_records::StandardPopulation::Esp2013,
        per: 100_000.0,
        decimals: 1,
    }];
    let areas = [
        "A", "A", "A", "A", "B", "B", "B", "B", "Total", "Total", "Total", "Total",
    ];
    let bands = ["0-9", "18-24", "Total", "unknown"].repeat(3);
    let py: Vec<Option<f64>> = [
        [Some(1000.0), Some(1000.0), Some(2000.0), None],
        [Some(2000.0), Some(500.0), Some(2500.0), None],
        [Some(3000.0), Some(1500.0), Some(4500.0), None],
    ]
    .concat();
    let b = b_young;
    let batch = RecordBatch::try_from_iter(vec![
        ("area", text(&areas)),
        ("age_band", text(&bands)),
        (
            "n",
            ints(&[10, 30, 45, 5, 20, b, 26 + b, 6, 30, 30 + b, 71 + b, 11]),
        ),
        (
            "py",
            Arc::new(arrow_array::Float64Array::from(py)) as ArrayRef,
        ),
    ])
    .unwrap();
    f.run_with(&batch, spec, RunStatus::Finished).await;
    f.publish().await.unwrap();
    let csv = f.csv().await;
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        ["area", "age_band", "py", "n", "n_per_100k_esp2013"]
    );
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                (r[0].to_string(), r[1].to_string()),
                (r[3].to_string(), r[4].to_string()),
            )
        })
        .collect();
    (rows, csv, f)
}

/// Issue 16: an age-standardised rate is computed by publish from the published band counts
/// and the public populations only, on the rows where the age band is the total: the
/// standard-weighted mean of the band rates (unknown ages left out), `[c]` where a band's
/// count is withheld, empty on the band rows.
#[tokio::test]
async fn an_age_standardised_rate_comes_from_the_published_band_counts() {
    let (rows, csv, f) = standardised_release(8).await;
    let at = |area: &str, band: &str| rows[&(area.to_string(), band.to_string())].clone();
    // By hand, ESP 2013 weights 0-9 10,500 and 18-24 8,200 (of 100,000):
    // A: 1,000 and 3,000 per 100,000: (10,500 x 1,000 + 8,200 x 3,000) / 18,700 = 1,877.0;
    // B: 1,000 and 1,600: 1,263.1; all: 1,000 and 2,533.3: 1,672.4 (the crude rates are
    // 2,250, 1,360 and 1,755.6 per 100,000, unknown ages included).
    assert_eq!(at("A", "Total").1, "1877.0", "{csv}");
    assert_eq!(at("B", "Total").1, "1263.1", "{csv}");
    assert_eq!(at("Total", "Total").1, "1672.4", "{csv}");
    for band in ["0-9", "18-24", "unknown"] {
        assert_eq!(at("A", band).1, "", "only band totals have one\n{csv}");
    }
    let dictionary = f.dictionary().await;
    assert!(
        dictionary.contains("n_per_100k_esp2013,age-standardised rate"),
        "{dictionary}"
    );
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(report.problems, Vec::<String>::new());

    // B's 18-24 count of 3 is withheld, and with it every standardised rate that needs a
    // withheld band (whichever cells secondary suppression chose); the others are as above.
    let (rows, csv, _) = standardised_release(3).await;
    assert_eq!(
        rows[&("B".to_string(), "18-24".to_string())].0,
        "[c]",
        "{csv}"
    );
    for area in ["A", "B", "Total"] {
        let band = |b: &str| rows[&(area.to_string(), b.to_string())].0.clone();
        let rate = &rows[&(area.to_string(), "Total".to_string())].1;
        if band("0-9") == "[c]" || band("18-24") == "[c]" {
            assert_eq!(rate, "[c]", "{area}\n{csv}");
        } else {
            assert_ne!(rate, "[c]", "{area}\n{csv}");
            assert!(rate.parse::<f64>().is_ok(), "{area}\n{csv}");
        }
    }
}

/// Every cell of a workbook sheet from `first_row` on, as the text its CSV would hold:
/// numbers formatted back (compared as numbers by the caller), empty cells as "".
fn sheet_cells(
    workbook: &mut calamine::Xlsx<std::io::Cursor<Vec<u8>>>,
    sheet: &str,
    first_row: u32,
) -> Vec<Vec<calamine::Data>> {
    use calamine::Reader;
    let range = workbook
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("sheet {sheet}: {e}"));
    let (end_row, end_col) = range.end().expect("a sheet with cells");
    (first_row..=end_row)
        .map(|r| {
            (0..=end_col)
                .map(|c| range.get_value((r, c)).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

/// Asserts a sheet's cells equal a CSV's, cell for cell: text as text, numbers as numbers.
fn assert_sheet_is_csv(sheet: &str, cells: &[Vec<calamine::Data>], csv: &str) {
    use calamine::Data;
    let records: Vec<Vec<String>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(cells.len(), records.len(), "{sheet}: rows");
    for (r, (row, record)) in cells.iter().zip(&records).enumerate() {
        let width = row.len().max(record.len());
        for c in 0..width {
            let cell = row.get(c).cloned().unwrap_or_default();
            let text = record.get(c).map_or("", String::as_str);
            let same = match &cell {
                Data::String(s) => s == text,
                Data::Float(f) => text.parse::<f64>().is_ok_and(|t| t == *f),
                Data::Int(i) => text.parse::<f64>().is_ok_and(|t| t == *i as f64),
                Data::Empty => text.is_empty(),
                _ => false,
            };
            assert!(
                same,
                "{sheet} row {r} column {c}: {cell:?} against CSV `{text}`"
            );
        }
    }
}

/// Issue 16: every release carries `release.xlsx`, listed in the manifest with its checksum
/// and checked by verify: a Contents sheet listing every table, one sheet per table whose
/// cells are its CSV's (numbers as numbers, `[c]` and `[p]` as text) below the table's name,
/// description, units and notes, and the data dictionary.
#[tokio::test]
async fn the_workbook_holds_every_table_as_its_csv() {
    use calamine::Reader;
    let f = Fixture::new();
    let mut spec = spec(&["area", "sex"], &["n"]);
    spec.partner_suppressed = Some("suppressed".into());
    f.run_with(&partner_table(3), spec, RunStatus::Finished)
        .await;
    let manifest = f.publish().await.unwrap();
    let entry = manifest
        .workbook
        .clone()
        .expect("the workbook is in the manifest");
    assert_eq!(entry.path, "published/r1/release.xlsx");
    let bytes = f.store.get(&entry.path).await.unwrap();
    assert_eq!(svna_storage::sha256_hex(&bytes), entry.sha256);

    let mut workbook: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        vec!["Contents".to_string(), "t".into(), "Dictionary".into()]
    );
    let csv = f.csv().await;
    assert!(csv.contains("[c]") && csv.contains("[p]"), "{csv}");
    let cells = sheet_cells(&mut workbook, "t", svna_publish::WORKBOOK_HEADER_ROW);
    assert_sheet_is_csv("t", &cells, &csv);
    assert!(
        cells[1..]
            .iter()
            .any(|row| matches!(row[4], calamine::Data::Float(_))),
        "counts are numbers"
    );
    let above = sheet_cells(&mut workbook, "t", 0);
    let text: Vec<String> = above[..svna_publish::WORKBOOK_HEADER_ROW as usize]
        .iter()
        .flatten()
        .map(|c| c.to_string())
        .collect();
    let text = text.join(" ");
    for needle in ["test table", "Units", "[c]:", "[p]:", "lower bound"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }

    let contents = sheet_cells(&mut workbook, "Contents", svna_publish::CONTENTS_HEADER_ROW);
    let listed: Vec<String> = contents[1..]
        .iter()
        .map(|row| row[0].to_string())
        .filter(|t| !t.is_empty() && t != "Data dictionary")
        .collect();
    let tables: Vec<String> = manifest.tables.iter().map(|t| t.name.clone()).collect();
    assert_eq!(listed, tables);

    let dictionary = f.dictionary().await;
    let cells = sheet_cells(&mut workbook, "Dictionary", 0);
    assert_sheet_is_csv("Dictionary", &cells, &dictionary);

    // Verify checks the workbook like every other file.
    let clean = verify_release(&f.store, "r1").await.unwrap();
    assert_eq!(clean.problems, Vec::<String>::new());
    f.store
        .put(&entry.path, bytes::Bytes::from_static(b"not a workbook"))
        .await
        .unwrap();
    let report = verify_release(&f.store, "r1").await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("release.xlsx")),
        "{report:?}"
    );
}
