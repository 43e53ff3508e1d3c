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
/// BENCHMARKS.md (`cargo test --workspace --test pipeline -- linkage_meets --nocapture`).
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
