//! Pipeline files: the DAG checks give clear errors, and runs obey `needs` and read-only SQL.

use std::path::{Path, PathBuf};

use svna_engine::{
    DisclosurePolicy, EngineError, Pipeline, RunOptions, RunRecord, RunStatus, run_pipeline,
    run_record_path,
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

/// Issue 19: the disclosure spec reads release manifests leniently (the report reads releases
/// of other versions), so the pipeline parser alone must refuse a key nobody defined, nested
/// ones included, rather than let `kk = 5` silently leave `k` unset.
#[test]
fn a_misspelt_disclosure_key_is_refused_when_the_pipeline_is_read() {
    let text = format!(
        "{SOURCES}[[stage]]\nname = \"x\"\nsql = \"SELECT 1\"\nsensitivity = \"aggregate\"\n\
         disclosure = {{ policy = \"threshold\", kk = 5, counts = [\"n\"], dimensions = [\"d\"], \
         rates = [{{ name = \"r\", count = \"n\", denominator = \"p\", pre = 10 }}] }}\n"
    );
    let err = pipeline(&text).unwrap_err();
    assert!(
        matches!(&err, EngineError::DisclosureUnknownKeys { stage, line: 10, .. } if stage == "x"),
        "{err:?}"
    );
    let message = err.to_string();
    for part in ["test.toml", "stage `x`", "`kk`", "`rates.0.pre`"] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
}

/// Issue 19: a misspelt policy passed `svna run` and was refused only at publish.
#[test]
fn a_misspelt_disclosure_policy_is_refused_when_the_pipeline_is_read() {
    let text = format!(
        "{SOURCES}[[stage]]\nname = \"x\"\nsql = \"SELECT 1\"\nsensitivity = \"aggregate\"\n\
         disclosure = {{ policy = \"threshhold\", k = 5, counts = [\"n\"], dimensions = [\"d\"] }}\n"
    );
    let err = pipeline(&text).unwrap_err();
    assert!(
        matches!(&err, EngineError::Disclosure { stage, line: 10, .. } if stage == "x"),
        "{err:?}"
    );
    let message = err.to_string();
    for part in [
        "test.toml",
        "stage `x`",
        "`threshhold`",
        "threshold, nhs, round, midpoint6, open, accounting",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }
    assert!(
        std::error::Error::source(&err).is_some(),
        "keeps the TOML error"
    );
}

#[test]
fn every_disclosure_policy_name_is_read() {
    for policy in DisclosurePolicy::ALL {
        let text = format!(
            "{SOURCES}[[stage]]\nname = \"x\"\nsql = \"SELECT 1\"\nsensitivity = \"aggregate\"\n\
             disclosure = {{ policy = \"{policy}\", counts = [\"n\"], dimensions = [\"d\"] }}\n"
        );
        let p = pipeline(&text).unwrap_or_else(|e| panic!("{policy}: {e}"));
        assert_eq!(p.stages[0].disclosure.as_ref().unwrap().policy, policy);
    }
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

#[test]
fn every_bundled_pipeline_parses_with_valid_stage_names() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
    let mut parsed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Pipeline::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            parsed += 1;
        }
    }
    assert!(parsed >= 2, "sna.toml and open_data.toml");
}

/// Issue 14: a stage named `../../../planted/evil` made the next stage read
/// `<store>/../planted/evil.parquet`, outside the store.
#[test]
fn a_stage_name_that_is_not_one_path_segment_is_refused() {
    for name in ["../../../planted/evil", "a/b", "", "Evil", "_hidden"] {
        let text = format!("{SOURCES}{}", stage(name, "SELECT 1", &[]));
        let err = pipeline(&text).unwrap_err();
        assert!(
            matches!(&err, EngineError::StageName { source, .. } if source.name == name),
            "{name:?}: {err}"
        );
        assert!(err.to_string().contains("stage name"), "{err}");
    }
}

/// Issue 14: `--spill-dir` inside the store (e.g. its `published/`) left spill files with
/// person tokens there when a run was killed.
#[tokio::test]
async fn a_spill_directory_inside_a_local_store_is_refused() {
    let (dir, store) = store_with_codes().await;
    let root = dir.path().join("store");
    let inside = [
        root.join("published"),
        root.join("published/not-yet/created"),
        root.clone(),
        root.join("missing/../published"),
    ];
    for spill in inside {
        let config = svna_engine::EngineConfig {
            spill_dir: Some(spill.clone()),
            ..Default::default()
        };
        let err = config.runtime(&store).unwrap_err();
        assert!(
            matches!(err, EngineError::SpillInsideStore { .. }),
            "{}: {err}",
            spill.display()
        );
        assert!(err.to_string().contains("outside the store"), "{err}");
    }
    let outside = svna_engine::EngineConfig {
        spill_dir: Some(dir.path().join("spill")),
        ..Default::default()
    };
    assert!(outside.runtime(&store).is_ok());
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
        assert!(
            matches!(&err, EngineError::NotAQuery { stage, .. } if stage == "a"),
            "{sql}: {err}"
        );
        assert!(err.to_string().contains("one read-only query"), "{err}");
    }
}

/// Issue 19: errors flattened DataFusion's error into text.
#[tokio::test]
async fn a_sql_error_keeps_the_datafusion_error_as_its_source() {
    let (_dir, store) = store_with_codes().await;
    let text = format!(
        "{SOURCES}{}",
        stage("a", "SELECT no_such_column FROM codes", &["codes"])
    );
    let err = run_as(&store, &text, "run-sql").await.unwrap_err();
    let EngineError::Sql { stage, source, .. } = &err else {
        panic!("expected an SQL error, got {err}");
    };
    assert_eq!(stage, "a");
    assert!(source.to_string().contains("no_such_column"), "{source}");
    assert!(err.to_string().contains(&source.to_string()), "{err}");
    assert!(std::error::Error::source(&err).is_some());
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

/// A store with two police person rows staged (person and offence ids are tokens).
async fn store_with_persons() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
    let a = "a".repeat(64);
    let b = "b".repeat(64);
    // The offences the person rows point at are loaded first, as intake requires.
    let offences = format!(
        "offence_id,recorded_date,offence_date,offence_hour,ho_code,knife_flag,firearm_flag,domestic_flag,lsoa_code,location_type\n\
         {a},2020-01-02,2020-01-01,3,5D,false,false,false,E01000001,street\n\
         {b},2020-01-02,2020-01-01,3,5D,false,false,false,E01000001,street\n"
    );
    store
        .put("landing/offences.csv", offences.into_bytes().into())
        .await
        .unwrap();
    let offences_contract = svna_contracts::v1().dataset("police_offences").unwrap();
    svna_intake::load_extract(&store, offences_contract, 1, "landing/offences.csv")
        .await
        .unwrap();
    let csv =
        format!("offence_id,person_id,role,age,sex\n{a},{b},victim,20,F\n{b},{a},suspect,30,M\n");
    store
        .put("landing/persons.csv", csv.into_bytes().into())
        .await
        .unwrap();
    let dataset = svna_contracts::v1().dataset("police_persons").unwrap();
    svna_intake::load_extract(&store, dataset, 1, "landing/persons.csv")
        .await
        .unwrap();
    (dir, store)
}

/// Issue 14: a threshold table whose dimension is `upper(person_id)`, `'p' || person_id` or
/// `substr(person_id, 1, 63)` published. The run now records, per stage, the output columns
/// computed from a token column (other than by counting), across stages.
#[tokio::test]
async fn a_run_records_which_output_columns_are_computed_from_tokens() {
    let (_dir, store) = store_with_persons().await;
    let cases: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "upper",
            "SELECT upper(person_id) AS who, count(*) AS n FROM persons GROUP BY upper(person_id)",
            &["persons"],
            &["who"],
        ),
        (
            "prefixed",
            "SELECT 'p' || person_id AS who, role FROM persons",
            &["persons"],
            &["who"],
        ),
        (
            "sub",
            "SELECT substr(person_id, 1, 63) AS who, role FROM persons",
            &["persons"],
            &["who"],
        ),
        (
            "downstream",
            "SELECT lower(who) AS w, role FROM sub",
            &["sub"],
            &["w"],
        ),
        (
            "bucket",
            "SELECT length(person_id) % 3 AS b, count(*) AS n FROM persons GROUP BY 1",
            &["persons"],
            &["b"],
        ),
        (
            "maxed",
            "SELECT role, max(offence_id) AS m FROM persons GROUP BY role",
            &["persons"],
            &["m"],
        ),
        (
            "windowed",
            "SELECT role, count(*) OVER (PARTITION BY person_id) AS k, first_value(person_id) OVER (ORDER BY age) AS f FROM persons",
            &["persons"],
            &["f"],
        ),
        (
            "scalar",
            "SELECT role, (SELECT max(person_id) FROM persons) AS m FROM persons",
            &["persons"],
            &["m"],
        ),
        (
            "unioned",
            "SELECT role AS x FROM persons UNION ALL SELECT person_id FROM persons",
            &["persons"],
            &["x"],
        ),
        (
            "cte",
            "WITH p AS (SELECT person_id AS pid, age FROM persons) SELECT concat(pid, 'x') AS c, age FROM p",
            &["persons"],
            &["c"],
        ),
        // Counting, linking and filtering by token are not lineage of a value.
        (
            "counted",
            "SELECT role, count(DISTINCT person_id) AS people, count(offence_id) AS n FROM persons GROUP BY role",
            &["persons"],
            &[],
        ),
        (
            "linked",
            "SELECT a.role, b.age FROM persons AS a JOIN persons AS b ON a.person_id = b.offence_id WHERE a.person_id <> ''",
            &["persons"],
            &[],
        ),
        (
            "cubed",
            "SELECT COALESCE(role, 'Total') AS role, count(*) AS n FROM (SELECT person_id, max(role) AS role FROM persons GROUP BY person_id) AS x GROUP BY CUBE (role)",
            &["persons"],
            &[],
        ),
    ];
    let sources = "name = \"t\"\n[[source]]\nname = \"persons\"\ndataset = \"police_persons\"\n";
    let stages: String = cases
        .iter()
        .map(|(name, sql, needs, _)| stage(name, sql, needs))
        .collect();
    let record = run(&store, &format!("{sources}{stages}")).await.unwrap();
    for (name, _, _, tainted) in cases {
        assert_eq!(
            record.stage(name).unwrap().token_lineage,
            tainted.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            "stage {name}"
        );
    }
}

/// Issue 17: linkage on match keys, measured against the truth of synthetic partners whose
/// identifiers carry realistic errors (typos, nicknames, changed surnames, swapped day and
/// month, moved postcodes, missing national ids; see `svna_synth::identities`). Each
/// partner's records are pseudonymised as `svna pseudonymise --match-keys` does, on the
/// partner's side with the shared key, and linked by `link_persons` exactly as the
/// `person_links` stage calls it (SQL over several partitions, so partial states merge).
/// Pairwise precision and recall over records of different partners; figures in
/// BENCHMARKS.md (`cargo test --workspace --test it -- linkage_meets --nocapture`).
#[tokio::test]
async fn linkage_meets_its_precision_and_recall_targets_on_realistic_errors() {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use svna_pseudonymise::{
        Domain, Identifier, Identity, KEY_LEN, LinkageKey, MatchKey, MatchKeyTokeniser, Tokeniser,
    };

    let population =
        svna_synth::identities::population(2026, 20_000, &svna_synth::identities::REALISTIC);
    let key = LinkageKey::from_bytes([0x5a; KEY_LEN]);
    let (person, matcher) = (Tokeniser::new(&key), MatchKeyTokeniser::new(&key));
    // node (person token) -> (partner, truth); edges (node, key token, strength).
    let mut truth: HashMap<String, (&str, usize)> = HashMap::new();
    let mut edges: Vec<(String, String, i64)> = Vec::new();
    for r in &population.records {
        let node = person.token(Domain::Person, &r.local_id);
        let mut id = Identity::default();
        for (identifier, raw) in [
            (Identifier::Forename, &r.forename),
            (Identifier::Surname, &r.surname),
            (Identifier::Dob, &r.dob),
            (Identifier::Sex, &r.sex),
            (Identifier::Postcode, &r.postcode),
            (Identifier::Nhs, &r.nhs),
            (Identifier::Pnc, &r.pnc),
            (Identifier::Upn, &r.upn),
        ] {
            id.set(identifier, raw).unwrap();
        }
        for (strength, k) in MatchKey::ALL.into_iter().enumerate() {
            if let Some(token) = matcher.token_for(k, &id) {
                edges.push((node.clone(), token, strength as i64 + 1));
            }
        }
        truth.insert(node, (r.partner, r.truth));
    }

    // Link through SQL, as the stage does, over four partitions.
    let store = Store::open("memory:///").unwrap();
    let config = svna_engine::EngineConfig {
        target_partitions: Some(4),
        ..Default::default()
    };
    let runtime = config.runtime(&store).unwrap();
    let ctx = config.session(&runtime).unwrap();
    let schema = Arc::new(Schema::new(vec![
        Field::new("node", DataType::Utf8, false),
        Field::new("match_key", DataType::Utf8, false),
        Field::new("strength", DataType::Int64, false),
    ]));
    let partitions: Vec<Vec<RecordBatch>> = edges
        .chunks(edges.len().div_ceil(4))
        .map(|chunk| {
            let columns: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|e| &e.0))),
                Arc::new(StringArray::from_iter_values(chunk.iter().map(|e| &e.1))),
                Arc::new(Int64Array::from_iter_values(chunk.iter().map(|e| e.2))),
            ];
            vec![RecordBatch::try_new(schema.clone(), columns).unwrap()]
        })
        .collect();
    ctx.register_table(
        "edges",
        Arc::new(MemTable::try_new(schema, partitions).unwrap()),
    )
    .unwrap();
    let batches = ctx
        .sql(
            "SELECT split_part(link, '|', 1) AS node, split_part(link, '|', 2) AS label \
             FROM (SELECT unnest(link_persons(node, match_key, strength, 50)) AS link FROM edges)",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let mut label: HashMap<String, String> = HashMap::new();
    for batch in &batches {
        let nodes = batch
            .column(0)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        let labels = batch
            .column(1)
            .as_any()
            .downcast_ref::<StringArray>()
            .unwrap();
        for i in 0..batch.num_rows() {
            label.insert(nodes.value(i).to_string(), labels.value(i).to_string());
        }
    }
    // The SQL path gives exactly what the function gives.
    let direct = svna_engine::link(&edges, 50);
    assert_eq!(direct.len(), label.len());
    assert!(direct.iter().all(|l| label[&l.node] == l.label));

    // Pairs of records of different partners: linked (same label) vs truly one person.
    let cluster_pairs = |groups: BTreeMap<String, Vec<&str>>| -> BTreeSet<(String, String)> {
        let mut pairs = BTreeSet::new();
        for members in groups.values() {
            for (i, a) in members.iter().enumerate() {
                for b in &members[i + 1..] {
                    if truth[*a].0 != truth[*b].0 {
                        let (a, b) = if a < b { (a, b) } else { (b, a) };
                        pairs.insert((a.to_string(), b.to_string()));
                    }
                }
            }
        }
        pairs
    };
    let mut predicted_groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut true_groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (node, (_, person)) in &truth {
        let l = label.get(node).cloned().unwrap_or_else(|| node.clone());
        predicted_groups.entry(l).or_default().push(node);
        true_groups
            .entry(format!("{person:08}"))
            .or_default()
            .push(node);
    }
    let predicted = cluster_pairs(predicted_groups.clone());
    let actual = cluster_pairs(true_groups.clone());
    let true_positives = predicted.intersection(&actual).count() as f64;
    let precision = true_positives / predicted.len() as f64;
    let recall = true_positives / actual.len() as f64;

    // Per key: the pairs sharing that key directly.
    let mut by_key: BTreeMap<(i64, &str), Vec<&str>> = BTreeMap::new();
    for (node, token, strength) in &edges {
        by_key.entry((*strength, token)).or_default().push(node);
    }
    println!(
        "linkage on {} true people, {} records: {} cross-partner true pairs",
        population.people.len(),
        population.records.len(),
        actual.len()
    );
    println!("| key | pairs sharing it | precision | recall |");
    println!("|---|---|---|---|");
    for (strength, k) in MatchKey::ALL.into_iter().enumerate() {
        let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for ((s, token), nodes) in &by_key {
            if *s == strength as i64 + 1 {
                groups.insert(token.to_string(), nodes.clone());
            }
        }
        let pairs = cluster_pairs(groups);
        let tp = pairs.intersection(&actual).count() as f64;
        println!(
            "| {} | {} | {:.2} % | {:.2} % |",
            k.column(),
            pairs.len(),
            100.0 * tp / (pairs.len().max(1)) as f64,
            100.0 * tp / actual.len() as f64
        );
    }
    println!(
        "| all keys, linked | {} | {:.2} % | {:.2} % |",
        predicted.len(),
        100.0 * precision,
        100.0 * recall
    );
    println!(
        "persons: {} true (with records at several partners: {}), {} linked",
        true_groups.len(),
        true_groups.values().filter(|m| m.len() > 1).count(),
        predicted_groups.len()
    );
    assert!(recall >= 0.95, "recall {recall}");
    assert!(precision >= 0.99, "precision {precision}");
}

/// Issue 17: a store staged before contract version 2 holds person-level Parquet without the
/// match-key columns. Read with the version-2 schema, its keys are NULL (so `person_links`
/// does not list its tokens and the cohort keeps token linkage), not an error.
#[tokio::test]
async fn person_data_staged_before_version_2_reads_with_empty_match_keys() {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int32Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::parquet::arrow::ArrowWriter;

    let v1 = Arc::new(Schema::new(vec![
        Field::new("offence_id", DataType::Utf8, false),
        Field::new("person_id", DataType::Utf8, false),
        Field::new("role", DataType::Utf8, false),
        Field::new("age", DataType::Int32, true),
        Field::new("sex", DataType::Utf8, false),
    ]));
    let token = "ab".repeat(32);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![token.as_str()])),
        Arc::new(StringArray::from(vec![token.as_str()])),
        Arc::new(StringArray::from(vec!["victim"])),
        Arc::new(Int32Array::from(vec![Some(20)])),
        Arc::new(StringArray::from(vec!["F"])),
    ];
    let batch = RecordBatch::try_new(v1.clone(), columns).unwrap();
    let mut bytes = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut bytes, v1, None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    store
        .put("staged/police_persons/old.parquet", bytes.into())
        .await
        .unwrap();
    let config = svna_engine::EngineConfig::default();
    let runtime = config.runtime(&store).unwrap();
    let ctx = config.session(&runtime).unwrap();
    let schema = svna_contracts::v1()
        .dataset("police_persons")
        .unwrap()
        .arrow_schema();
    svna_engine::register_parquet_files(
        &ctx,
        &store,
        "police_persons",
        &["staged/police_persons/old.parquet".to_string()],
        Some(schema),
    )
    .await
    .unwrap();
    let batches = ctx
        .sql(
            "SELECT person_id, count(mk_nhs) AS keys, count(*) AS n FROM police_persons \
             GROUP BY person_id",
        )
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert!(text.contains(&format!("| {token} | 0    | 1 |")), "{text}");
}

/// Synthetic partners for the end-to-end linkage tests (issue 17): every record of
/// `svna_synth::identities` as a row of its partner's person-level dataset, with the
/// partner's identifiers in clear (as the partner holds them, before pseudonymisation).
mod partners {
    use chrono::{Datelike, NaiveDate};
    use svna_synth::identities::{PartnerRecord, Population};

    /// The dataset a partner's person records go to.
    pub fn dataset(partner: &str) -> &'static str {
        match partner {
            "police" => "police_persons",
            "youth_justice" => "youth_justice",
            "probation" => "probation",
            _ => "school_suspensions",
        }
    }

    /// A police record is a victim's (outside the police cohort) for one record in five.
    pub fn is_police_victim(r: &PartnerRecord) -> bool {
        r.local_id.ends_with(['0', '5'])
    }

    /// Age on the (fixed) event date, within the range the partner's contract allows.
    pub fn age(population: &Population, r: &PartnerRecord) -> i32 {
        let dob = population.people[r.truth].dob;
        let at = NaiveDate::from_ymd_opt(2024, 6, 30).unwrap();
        let mut age = at.year() - dob.year();
        if (at.month(), at.day()) < (dob.month(), dob.day()) {
            age -= 1;
        }
        match r.partner {
            "youth_justice" => age.clamp(10, 17),
            "probation" => age.max(18),
            "education" => age.clamp(4, 19),
            _ => age,
        }
    }

    /// The identifying columns every partner's raw file carries, and how `--match-keys` maps
    /// them.
    pub const IDENTIFYING: &str = "Ref,Forename,Surname,DOB,Gender,Postcode,NHS,PNC,UPN";
    pub const MATCH_KEYS: &str = "forename=Forename,surname=Surname,dob=DOB,sex=Gender,\
                                  postcode=Postcode,nhs=NHS,pnc=PNC,upn=UPN";

    fn quoted(value: &str) -> String {
        if value.contains([',', '"']) {
            format!("\"{}\"", value.replace('"', "\"\""))
        } else {
            value.to_string()
        }
    }

    /// The raw (identifying) person file of one partner, and for police the raw offences
    /// file its records point at (`crime_ref`, one serious-violence offence per record).
    pub fn raw_files(population: &Population, partner: &str) -> (String, Option<String>) {
        let columns = match partner {
            "police" => "crime_ref,role,age,sex",
            "youth_justice" => {
                "event_date,age,sex,offence_group,outcome,first_time_entrant,home_lsoa"
            }
            "probation" => "start_date,age,sex,index_offence_group,rosh,home_lsoa",
            _ => "event_date,type,reason,age,sex,home_lsoa,school_lad",
        };
        let mut persons = format!("{IDENTIFYING},{columns}\n");
        let mut offences = String::from(
            "crime_ref,recorded_date,offence_date,offence_hour,ho_code,knife_flag,firearm_flag,domestic_flag,lsoa_code,location_type\n",
        );
        for r in population.records.iter().filter(|r| r.partner == partner) {
            let sex = match r.sex.as_str() {
                "M" | "Male" => "M",
                "F" | "Female" => "F",
                _ => "U",
            };
            let age = age(population, r);
            let rest = match partner {
                "police" => {
                    let role = if is_police_victim(r) {
                        "victim"
                    } else {
                        "suspect"
                    };
                    offences.push_str(&format!(
                        "crime-{},2024-06-02,2024-06-01,3,5D,false,false,false,E01000001,street\n",
                        r.local_id
                    ));
                    format!("crime-{},{role},{age},{sex}", r.local_id)
                }
                "youth_justice" => {
                    format!("2024-06-01,{age},{sex},violence_against_person,referral_order,true,")
                }
                "probation" => format!("2024-06-01,{age},{sex},robbery,medium,"),
                _ => format!("2024-06-01,suspension,PA,{age},{sex},,E07000001"),
            };
            let identifying = [
                &r.local_id,
                &r.forename,
                &r.surname,
                &r.dob,
                &r.sex,
                &r.postcode,
                &r.nhs,
                &r.pnc,
                &r.upn,
            ]
            .map(|v| quoted(v))
            .join(",");
            persons.push_str(&format!("{identifying},{rest}\n"));
        }
        (persons, (partner == "police").then_some(offences))
    }
}

/// Pseudonymises a partner's raw person file as `svna pseudonymise --token Ref=person_id
/// [--token crime_ref=offence_id:local:offence] --match-keys …` does (the same library call
/// the command makes, on a file), and its offences file (police) with the offence token.
fn pseudonymise_partner(
    dir: &Path,
    key: &svna_pseudonymise::LinkageKey,
    partner: &str,
    persons: &str,
    offences: Option<&str>,
) -> (Vec<u8>, Option<Vec<u8>>) {
    use svna_pseudonymise::{Options, pseudonymise_file};
    let run = |name: &str, raw: &str, tokens: &[&str], match_keys: Option<&str>| {
        let (input, output) = (
            dir.join(format!("{partner}-{name}.raw.csv")),
            dir.join(format!("{partner}-{name}.csv")),
        );
        std::fs::write(&input, raw).unwrap();
        let specs: Vec<_> = tokens.iter().map(|t| t.parse().unwrap()).collect();
        let options = Options {
            match_keys: match_keys.map(|m| m.parse().unwrap()),
            ..Options::default()
        };
        pseudonymise_file(&input, &output, key, &specs, &options).unwrap();
        std::fs::read(&output).unwrap()
    };
    let mut tokens = vec!["Ref=person_id"];
    if offences.is_some() {
        tokens.push("crime_ref=offence_id:local:offence");
    }
    let persons = run("persons", persons, &tokens, Some(partners::MATCH_KEYS));
    let offences = offences.map(|raw| {
        run(
            "offences",
            raw,
            &["crime_ref=offence_id:local:offence"],
            None,
        )
    });
    (persons, offences)
}

/// Stages one CSV through the real intake path.
async fn stage_csv(store: &Store, dataset: &str, name: &str, bytes: Vec<u8>) {
    let path = format!("landing/{name}.csv");
    store.put(&path, bytes.into()).await.unwrap();
    let contracts = svna_contracts::v1();
    let outcome = svna_intake::load_extract(
        store,
        contracts.dataset(dataset).unwrap(),
        contracts.version,
        &path,
    )
    .await
    .unwrap_or_else(|e| panic!("{dataset}: {e}"));
    let r = &outcome.record;
    assert!(
        r.refused.is_none() && r.rows_rejected == 0 && r.rows_staged == r.rows_received,
        "{dataset}: {:?} {:?}",
        r.refused,
        r.rejected_by_rule
    );
}

/// A partner, its pseudonymised person file and (police) its pseudonymised offences file.
type PartnerFiles = (&'static str, Vec<u8>, Option<Vec<u8>>);

/// A store with the definitions the cohort stages read, one LSOA, and every partner's
/// pseudonymised files.
async fn store_with_partners(files: &[PartnerFiles]) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
    let definitions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../definitions");
    for (dataset, file) in [
        ("sv_offence_codes", "sv_offence_codes.csv"),
        ("age_bands", "age_bands.csv"),
    ] {
        stage_csv(
            &store,
            dataset,
            dataset,
            std::fs::read(definitions.join(file)).unwrap(),
        )
        .await;
    }
    stage_csv(
        &store,
        "lsoa_lookup",
        "lsoa_lookup",
        b"lsoa_code,lsoa_name,ward_code,ward_name,lad_code,lad_name\n\
          E01000001,Somewhere 001A,E05000001,Ward,E07000001,District\n"
            .to_vec(),
    )
    .await;
    for (partner, persons, offences) in files {
        if let Some(offences) = offences {
            stage_csv(
                &store,
                "police_offences",
                "police_offences",
                offences.clone(),
            )
            .await;
        }
        stage_csv(&store, partners::dataset(partner), partner, persons.clone()).await;
    }
    (dir, store)
}

/// Every partner's raw files of `population`, pseudonymised with the key `key_of` gives that
/// partner, staged with the definitions.
async fn store_with_pseudonymised_partners(
    population: &svna_synth::identities::Population,
    key_of: &dyn Fn(&str) -> svna_pseudonymise::LinkageKey,
) -> (tempfile::TempDir, Store) {
    let work = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for partner in svna_synth::identities::PARTNERS {
        let (persons, offences) = partners::raw_files(population, partner);
        let (persons, offences) = pseudonymise_partner(
            work.path(),
            &key_of(partner),
            partner,
            &persons,
            offences.as_deref(),
        );
        files.push((partner, persons, offences));
    }
    store_with_partners(&files).await
}

/// Runs the shipped pipeline up to `target` (its real stage SQL).
async fn run_shipped(store: &Store, target: &str) -> RunRecord {
    let p = Pipeline::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines/sna.toml"))
        .unwrap();
    let options = RunOptions {
        target: Some(target.into()),
        run_id: Some(format!("run-{target}")),
        ..Default::default()
    };
    run_pipeline(store, &p, &options, &mut |_| {})
        .await
        .unwrap()
}

/// The rows of a stage's output, each column as text.
async fn stage_rows(store: &Store, record: &RunRecord, stage: &str) -> Vec<Vec<String>> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let bytes = store
        .get(&record.stage(stage).unwrap().output.path)
        .await
        .unwrap();
    let mut rows = Vec::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap()
    {
        let batch = batch.unwrap();
        let options = FormatOptions::default();
        let columns: Vec<ArrayFormatter> = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap())
            .collect();
        for row in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c.value(row).to_string()).collect());
        }
    }
    rows
}

/// Issue 17, end to end: the cohort overlap table recovers the true cohort. One table of
/// true people (`svna_synth::identities`, 5,000 people, `REALISTIC` errors) is seen by
/// police, youth justice, probation and schools; each partner's raw file (names, dates of
/// birth in its own layout, sex, postcode, the national ids it holds) is pseudonymised with
/// match keys by the code `svna pseudonymise --match-keys` runs, staged by intake as the
/// person-level datasets (police records point at serious-violence offences; one police
/// record in five is a victim's, outside the police cohort), and the shipped pipeline runs
/// `person_links` and `cohort_overlap_by_age` on it.
///
/// What is measured. A *stage person* is what the stage counts: the appearances (records
/// that put a person in the cohort) whose tokens `person_links` joins into one person; a
/// *true person* is the appearances of one person of the truth. Every cell of the table
/// (the agencies that saw the person × age band) counts stage persons; the truth gives the
/// true count of each cell. A stage person is *correct* when its appearances are exactly the
/// appearances of one true person (then it is in that person's cell, with that person's
/// age). Per cell, precision = correct stage persons / stage persons in the cell, and recall
/// = correct stage persons / true persons in the cell; the test asserts both over the
/// *overlap* (every cell of persons seen by two or more agencies: the cells linkage makes),
/// and over each pair of agencies (both 'yes', the others either). Over the whole table the
/// exact-person precision is shown, not asserted (a missed link leaves fragments of a true
/// person in cells of fewer agencies, each a wrong person there, so it counts missed links a
/// second time); the whole table is asserted pairwise instead: over pairs of appearances at
/// two different agencies, precision = pairs one stage person holds that are one true
/// person / pairs one stage person holds, recall = the same / pairs one true person holds.
/// The stage persons are rebuilt here from the stage's own `person_links` output, and the
/// test first checks that they give exactly the counts the stage wrote in every cell.
/// Figures in BENCHMARKS.md (`cargo test --workspace --test it --
/// overlap_tables_recover --nocapture`).
#[tokio::test]
async fn overlap_tables_recover_the_true_cohort_end_to_end() {
    use std::collections::{BTreeMap, BTreeSet, HashMap};
    use svna_pseudonymise::{Domain, KEY_LEN, LinkageKey, Tokeniser};
    use svna_synth::identities::{REALISTIC, population};

    let population = population(2027, 5_000, &REALISTIC);
    let key = LinkageKey::from_bytes([0x5a; KEY_LEN]);
    let (_dir, store) = store_with_pseudonymised_partners(&population, &|_| key.clone()).await;
    let record = run_shipped(&store, "cohort_overlap_by_age").await;
    assert_eq!(record.status, RunStatus::Finished);
    // Every partner's delivery links: no warning about one that links with nobody.
    let quality = run_shipped(&store, "linkage_quality").await;
    assert_eq!(quality.status, RunStatus::Finished);
    assert!(quality.warnings.is_empty(), "{:?}", quality.warnings);
    let links: HashMap<String, String> = stage_rows(&store, &record, "person_links")
        .await
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    // (police, youth justice, probation, school, band) -> persons, from the stage.
    type Cell = (bool, bool, bool, bool, String);
    let yes = |v: &str| v == "yes";
    let mut stage_counts: BTreeMap<Cell, u64> = BTreeMap::new();
    for r in stage_rows(&store, &record, "cohort_overlap_by_age").await {
        if r[..5].iter().all(|v| v != "Total") {
            let cell = (yes(&r[0]), yes(&r[1]), yes(&r[2]), yes(&r[3]), r[4].clone());
            stage_counts.insert(cell, r[5].parse().unwrap());
        }
    }
    let bands: HashMap<i32, String> = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../definitions/age_bands.csv"),
    )
    .unwrap()
    .lines()
    .skip(1)
    .map(|l| {
        let mut f = l.split(',');
        (
            f.next().unwrap().parse().unwrap(),
            f.next().unwrap().to_string(),
        )
    })
    .collect();

    // Appearances (record index), grouped by stage person and by true person.
    let tokeniser = Tokeniser::new(&key);
    let mut by_stage: BTreeMap<String, BTreeSet<usize>> = BTreeMap::new();
    let mut by_truth: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
    for (i, r) in population.records.iter().enumerate() {
        if r.partner == "police" && partners::is_police_victim(r) {
            continue;
        }
        let token = tokeniser.token(Domain::Person, &r.local_id);
        let person = links.get(&token).cloned().unwrap_or(token);
        by_stage.entry(person).or_default().insert(i);
        by_truth.entry(r.truth).or_default().insert(i);
    }
    let cell = |appearances: &BTreeSet<usize>| -> Cell {
        let seen = |p: &str| {
            appearances
                .iter()
                .any(|&i| population.records[i].partner == p)
        };
        let age = appearances
            .iter()
            .map(|&i| partners::age(&population, &population.records[i]))
            .min()
            .unwrap();
        (
            seen("police"),
            seen("youth_justice"),
            seen("probation"),
            seen("education"),
            bands[&age].clone(),
        )
    };
    let true_sets: BTreeSet<&BTreeSet<usize>> = by_truth.values().collect();
    let mut rebuilt: BTreeMap<Cell, u64> = BTreeMap::new();
    let mut truth: BTreeMap<Cell, u64> = BTreeMap::new();
    let mut correct: BTreeMap<Cell, u64> = BTreeMap::new();
    for appearances in by_stage.values() {
        let c = cell(appearances);
        *rebuilt.entry(c.clone()).or_default() += 1;
        if true_sets.contains(appearances) {
            *correct.entry(c).or_default() += 1;
        }
    }
    for appearances in by_truth.values() {
        *truth.entry(cell(appearances)).or_default() += 1;
    }
    // The persons rebuilt from person_links are exactly the ones the stage counted.
    assert_eq!(rebuilt, stage_counts);

    let agencies = |c: &Cell| [c.0, c.1, c.2, c.3];
    let measure = |name: &str, select: &dyn Fn(&Cell) -> bool| -> (f64, f64) {
        let sum = |m: &BTreeMap<Cell, u64>| {
            m.iter()
                .filter(|(c, _)| select(c))
                .map(|(_, n)| n)
                .sum::<u64>()
        };
        let (s, t, ok) = (sum(&stage_counts), sum(&truth), sum(&correct));
        let (precision, recall) = (ok as f64 / s as f64, ok as f64 / t as f64);
        println!(
            "| {name} | {t} | {s} | {ok} | {:.2} % | {:.2} % |",
            100.0 * precision,
            100.0 * recall
        );
        (precision, recall)
    };
    println!(
        "{} true people, {} records; police cohort = suspects (4 records in 5)",
        population.people.len(),
        population.records.len()
    );
    println!("| cells | true persons | stage persons | correct | precision | recall |");
    println!("|---|---|---|---|---|---|");
    let mut measured = vec![(
        "overlap (seen by 2+ agencies)".to_string(),
        measure("overlap (seen by 2+ agencies)", &|c| {
            agencies(c).iter().filter(|&&a| a).count() >= 2
        }),
    )];
    let names = ["police", "youth justice", "probation", "school"];
    for a in 0..4 {
        for b in a + 1..4 {
            let name = format!("{} and {}", names[a], names[b]);
            let m = measure(&name, &|c| agencies(c)[a] && agencies(c)[b]);
            measured.push((name, m));
        }
    }
    // The whole table, exact persons: a missed link splits a true person into fragments in
    // cells of fewer agencies, each wrong, so this precision counts missed links again.
    // Shown, not asserted; the whole table is asserted pairwise below.
    measure("whole table (exact persons)", &|_| true);
    // Pairwise over the whole table: pairs of appearances at different agencies, one stage
    // person (linked) vs one true person.
    let pairs = |groups: &mut dyn Iterator<Item = &BTreeSet<usize>>| {
        let mut out = BTreeSet::new();
        for members in groups {
            for &a in members {
                for &b in members.range(a + 1..) {
                    if population.records[a].partner != population.records[b].partner {
                        out.insert((a, b));
                    }
                }
            }
        }
        out
    };
    let linked = pairs(&mut by_stage.values());
    let actual = pairs(&mut by_truth.values());
    let both = linked.intersection(&actual).count();
    let (precision, recall) = (
        both as f64 / linked.len() as f64,
        both as f64 / actual.len() as f64,
    );
    println!(
        "| whole table, pairwise (appearances at two agencies) | {} pairs | {} pairs | {both} | {:.2} % | {:.2} % |",
        actual.len(),
        linked.len(),
        100.0 * precision,
        100.0 * recall
    );
    measured.push(("whole table, pairwise".to_string(), (precision, recall)));
    for (name, (precision, recall)) in measured {
        assert!(recall >= 0.95, "{name}: recall {recall}");
        assert!(precision >= 0.99, "{name}: precision {precision}");
    }
}

/// Issue 17: a delivery pseudonymised with another key carries match keys that link with
/// nobody's. Synthetic partners as in `overlap_tables_recover_the_true_cohort_end_to_end`,
/// every one pseudonymised with the partnership key but probation, which used its own: the
/// shipped `linkage_quality` stage's warn test fires and names probation alone, and the
/// stage counts every probation person under `none` for every other partner.
#[tokio::test]
async fn a_delivery_pseudonymised_with_another_key_is_flagged_by_linkage_quality() {
    use svna_pseudonymise::{KEY_LEN, LinkageKey};
    use svna_synth::identities::{REALISTIC, population};

    let population = population(2028, 1_500, &REALISTIC);
    let (right, wrong) = (
        LinkageKey::from_bytes([0x5a; KEY_LEN]),
        LinkageKey::from_bytes([0xa5; KEY_LEN]),
    );
    let (_dir, store) = store_with_pseudonymised_partners(&population, &|partner| {
        if partner == "probation" {
            wrong.clone()
        } else {
            right.clone()
        }
    })
    .await;
    let record = run_shipped(&store, "linkage_quality").await;
    assert_eq!(record.status, RunStatus::Finished);
    assert_eq!(
        record.warnings,
        [
            "stage `linkage_quality`: a partner whose persons link with nobody's (a wrong key or \
          a broken export) (1 row(s): probation)"
        ],
    );
    let rows = stage_rows(&store, &record, "linkage_quality").await;
    let count = |partner: &str, with: &str, key: &str| -> u64 {
        rows.iter()
            .find(|r| r[0] == partner && r[1] == with && r[2] == key)
            .map_or(0, |r| r[3].parse().unwrap())
    };
    let probation = population
        .records
        .iter()
        .filter(|r| r.partner == "probation")
        .count() as u64;
    assert!(probation > 0);
    for other in ["police", "youth_justice", "education"] {
        assert_eq!(count("probation", other, "none"), probation, "{other}");
        assert_eq!(count("probation", other, "Total"), probation, "{other}");
        // The others still link with each other.
        assert!(
            count(other, "Total", "Total") > count(other, "Total", "none"),
            "{other}"
        );
    }
}

/// Issue 17: no identifying value and no untokenised combination reaches the hub. Every
/// partner's raw file of synthetic people (1,000, `REALISTIC` errors) is pseudonymised with
/// match keys as for the end-to-end test, and its output bytes (what the partner sends) are
/// checked:
///
/// * the header holds no identifying column: `person_id` and `offence_id` where `Ref` and
///   `crime_ref` were, the partner's other columns, then `mk_*` columns;
/// * `person_id`, `offence_id` and every `mk_*` field is a 64-hex token (or empty for a key
///   the record lacks an input of), and every other field is byte for byte the raw file's;
/// * with those tokens blanked, the bytes contain none of the identifying values of any
///   record, nor of the true person behind it: its reference and crime reference, forename,
///   surname (as written, upper and lower case, folded as match keys fold them), date of
///   birth (as written, in twelve layouts, day and month swapped, and normalised), postcode
///   (as written, with and without its space, in either case, and its district), NHS number,
///   PNC ID and UPN (as written and normalised), nor any match key's untokenised value
///   (e.g. `WILLIAM|ONEILL|2005-03-07|M`): as a whole field, and, for values of five
///   characters or more, anywhere (shorter ones such as `Rob` or `LN1` are in words like
///   `robbery` or no sign of a leak). A token cannot hide a value: it is 64 hex digits.
#[test]
fn no_identifying_value_reaches_the_hub() {
    use std::collections::BTreeSet;

    use chrono::{Datelike, NaiveDate};
    use svna_pseudonymise::{Identifier, Identity, KEY_LEN, LinkageKey, MatchKey};
    use svna_synth::identities::{PARTNERS, REALISTIC, population};

    let population = population(2029, 1_000, &REALISTIC);
    let key = LinkageKey::from_bytes([0x5a; KEY_LEN]);
    let work = tempfile::tempdir().unwrap();
    let is_token =
        |f: &str| f.len() == 64 && f.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let identity = |values: [&str; 8]| {
        let mut id = Identity::default();
        for (identifier, raw) in [
            Identifier::Forename,
            Identifier::Surname,
            Identifier::Dob,
            Identifier::Sex,
            Identifier::Postcode,
            Identifier::Nhs,
            Identifier::Pnc,
            Identifier::Upn,
        ]
        .into_iter()
        .zip(values)
        {
            id.set(identifier, raw).unwrap();
        }
        id
    };
    let dob_layouts = [
        "%Y-%m-%d",
        "%d/%m/%Y",
        "%Y%m%d",
        "%d-%b-%Y",
        "%d%m%Y",
        "%d-%m-%Y",
        "%d.%m.%Y",
        "%m/%d/%Y",
        "%Y/%m/%d",
        "%d %b %Y",
        "%-d/%-m/%Y",
        "%d/%m/%y",
    ];
    let mut checked = 0usize;
    for partner in PARTNERS {
        let (raw, offences) = partners::raw_files(&population, partner);
        let (sent, _) = pseudonymise_partner(work.path(), &key, partner, &raw, offences.as_deref());
        let sent = String::from_utf8(sent).unwrap();
        assert!(!sent.contains('"'), "{partner}: nothing needed quoting");
        let raw_lines: Vec<Vec<&str>> = raw.lines().map(|l| l.split(',').collect()).collect();
        let sent_lines: Vec<Vec<&str>> = sent.lines().map(|l| l.split(',').collect()).collect();
        assert_eq!(sent_lines.len(), raw_lines.len(), "{partner}");
        let (raw_header, header) = (&raw_lines[0], &sent_lines[0]);
        let tokenised = |c: &str| c == "person_id" || c == "offence_id" || c.starts_with("mk_");
        let kept: Vec<&str> = raw_header[9..]
            .iter()
            .map(|c| if *c == "crime_ref" { "offence_id" } else { c })
            .collect();
        let expected: Vec<&str> = std::iter::once("person_id").chain(kept).collect();
        assert_eq!(&header[..expected.len()], expected, "{partner}");
        assert!(
            header[expected.len()..]
                .iter()
                .all(|c| c.starts_with("mk_"))
        );
        // The bytes sent, tokens blanked.
        let mut blanked = String::new();
        for (raw_row, row) in raw_lines[1..].iter().zip(&sent_lines[1..]) {
            assert_eq!(row.len(), header.len(), "{partner}");
            let mut fields = Vec::new();
            for (column, field) in header.iter().zip(row) {
                if tokenised(column) {
                    assert!(
                        is_token(field) || (column.starts_with("mk_") && field.is_empty()),
                        "{partner} {column}: {field}"
                    );
                    fields.push("");
                } else {
                    let at = raw_header.iter().position(|c| c == column).unwrap();
                    assert_eq!(*field, raw_row[at], "{partner} {column}");
                    fields.push(field);
                }
            }
            blanked.push_str(&fields.join(","));
            blanked.push('\n');
        }
        let blanked = format!("{}\n{blanked}", header.join(","));
        let whole_fields: BTreeSet<String> = blanked
            .lines()
            .flat_map(|l| l.split(','))
            .map(str::to_lowercase)
            .collect();
        let text = blanked.to_lowercase();
        for r in population.records.iter().filter(|r| r.partner == partner) {
            let person = &population.people[r.truth];
            let mut secrets: BTreeSet<String> = BTreeSet::new();
            let mut add = |v: &str| {
                for form in [
                    v.to_string(),
                    v.replace(' ', ""),
                    v.chars().filter(|c| c.is_alphanumeric()).collect(),
                ] {
                    if form.chars().count() >= 2 {
                        secrets.insert(form.to_lowercase());
                    }
                }
            };
            for v in [
                &r.local_id,
                &format!("crime-{}", r.local_id),
                &r.forename,
                &r.surname,
                &r.dob,
                &r.postcode,
                &r.nhs,
                &r.pnc,
                &r.upn,
                &person.forename,
                &person.surname,
                &person.postcode,
                &person.nhs,
                &person.pnc,
                &person.upn,
            ] {
                add(v);
            }
            let mut dobs = vec![person.dob];
            dobs.extend(NaiveDate::from_ymd_opt(
                person.dob.year(),
                person.dob.day(),
                person.dob.month(),
            ));
            for dob in dobs {
                for layout in dob_layouts {
                    add(&dob.format(layout).to_string());
                }
            }
            for id in [
                identity([
                    &r.forename,
                    &r.surname,
                    &r.dob,
                    &r.sex,
                    &r.postcode,
                    &r.nhs,
                    &r.pnc,
                    &r.upn,
                ]),
                identity([
                    &person.forename,
                    &person.surname,
                    &person.dob.format("%Y-%m-%d").to_string(),
                    person.sex,
                    &person.postcode,
                    &person.nhs,
                    &person.pnc,
                    &person.upn,
                ]),
            ] {
                for v in [
                    &id.nhs,
                    &id.pnc,
                    &id.upn,
                    &id.forename,
                    &id.surname,
                    &id.dob,
                ]
                .into_iter()
                .flatten()
                {
                    add(v);
                }
                if let Some(postcode) = &id.postcode {
                    add(&postcode.full);
                    add(postcode.district());
                }
                for k in MatchKey::ALL {
                    if let Some(v) = k.value(&id) {
                        add(&v);
                    }
                }
            }
            for secret in &secrets {
                assert!(
                    !whole_fields.contains(secret),
                    "{partner} {}: a field is {secret:?}",
                    r.local_id
                );
                assert!(
                    secret.chars().count() < 5 || !text.contains(secret.as_str()),
                    "{partner} {}: {secret:?} is in the file",
                    r.local_id
                );
                checked += 1;
            }
        }
    }
    println!("{checked} identifying values checked");
    assert!(checked > 50_000, "{checked}");
}
