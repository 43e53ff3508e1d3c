use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use svna_records::StagedManifest;
use svna_storage::{FileEntry, Store, Zone};

use crate::error::EngineError;
use crate::lineage::{KnownTaint, token_lineage};
use crate::pipeline::{Pipeline, Stage, StageTest};
use crate::session::{EngineConfig, read_only_sql_options};
use crate::tables::register_parquet_files;
use svna_records::Sensitivity;
use svna_records::{
    InputRecord, RunRecord, RunStatus, StageRecord, TestRecord, latest_run_path, run_record_path,
};

/// How to run a pipeline.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Run only this stage and what it needs; all stages when `None`.
    pub target: Option<String>,
    pub config: EngineConfig,
    /// Use this run id instead of a generated one.
    pub run_id: Option<String>,
}

/// Runs a pipeline's stages in dependency order against the staged zone and writes the run
/// record, finished or failed. Row-level stage results go to `work/<run>/`, aggregates to
/// `outputs/<run>/`; nothing reaches `published/` from here.
pub async fn run_pipeline(
    store: &Store,
    pipeline: &Pipeline,
    options: &RunOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<RunRecord, EngineError> {
    let contracts = svna_contracts::v1();
    let run_id = options.run_id.clone().unwrap_or_else(new_run_id);
    let mut record = RunRecord {
        run_id: run_id.clone(),
        pipeline: pipeline.name.clone(),
        pipeline_file: pipeline.file.clone(),
        pipeline_sha256: pipeline.file_sha256.clone(),
        contract_version: contracts.version,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: chrono::Utc::now().to_rfc3339(),
        finished_at: String::new(),
        status: RunStatus::Failed,
        error: None,
        memory_limit_bytes: options.config.memory_limit,
        inputs: Vec::new(),
        stages: Vec::new(),
        warnings: Vec::new(),
    };
    let result = run_stages(store, pipeline, options, &mut record, progress).await;
    record.finished_at = chrono::Utc::now().to_rfc3339();
    match &result {
        Ok(()) => record.status = RunStatus::Finished,
        Err(e) => record.error = Some(e.to_string()),
    }
    store
        .put_json_new(&run_record_path(&run_id), &record)
        .await?;
    result?;
    store
        .put_json(&latest_run_path(), &serde_json::json!({ "run_id": run_id }))
        .await?;
    Ok(record)
}

async fn run_stages(
    store: &Store,
    pipeline: &Pipeline,
    options: &RunOptions,
    record: &mut RunRecord,
    progress: &mut dyn FnMut(&str),
) -> Result<(), EngineError> {
    let stages = pipeline.plan(options.target.as_deref())?;
    if let Some(cluster) = &options.config.cluster {
        cluster.check_reachable(CLUSTER_CONNECT_TIMEOUT)?;
    }
    let runtime = options.config.runtime(store)?;
    let inputs = resolve_inputs(store, pipeline, &stages).await?;
    record.inputs = inputs.values().cloned().collect();
    for input in inputs.values().filter(|i| i.files.is_empty()) {
        let warning = format!(
            "optional source `{}` has no staged data (dataset `{}`): the stages that read it \
             ran on an empty table (for population: counts are published, rates stay empty); \
             load it with svna load --dataset {} to fill them",
            input.source, input.dataset, input.dataset
        );
        progress(&format!("warning: {warning}"));
        record.warnings.push(warning);
    }
    // Where each finished stage's output lives, for the stages that need it.
    let mut outputs: BTreeMap<String, String> = BTreeMap::new();
    for (index, stage) in stages.iter().enumerate() {
        progress(&format!(
            "[{}/{}] stage {}",
            index + 1,
            stages.len(),
            stage.name
        ));
        let started = Instant::now();
        let ctx = options.config.session(&runtime)?;
        register_needs(&ctx, store, stage, &inputs, &outputs).await?;
        check_table_references(&ctx, stage)?;
        let output_path = output_path(&record.run_id, stage);
        let known = known_taint(&inputs, &record.stages);
        let (entry, columns, token_lineage) =
            materialise(&ctx, store, stage, &output_path, &known).await?;
        register_parquet_files(
            &ctx,
            store,
            &stage.name,
            std::slice::from_ref(&output_path),
            None,
        )
        .await?;
        let testing = Instant::now();
        let tests = run_tests(&ctx, stage).await?;
        let tests_ms = testing.elapsed().as_millis();
        outputs.insert(stage.name.clone(), output_path);
        record.stages.push(StageRecord {
            name: stage.name.clone(),
            description: stage.description.clone(),
            sql_file: stage.sql_file.display().to_string(),
            sql_sha256: stage.sql_sha256.clone(),
            needs: stage.needs.clone(),
            sensitivity: stage.sensitivity,
            disclosure: stage.disclosure.clone(),
            output: entry,
            columns,
            token_lineage,
            duration_ms: started.elapsed().as_millis(),
            tests_ms,
            tests: tests.clone(),
            ran_on: options.config.ran_on(),
        });
        for (test, result) in stage.tests.iter().zip(&tests) {
            if test.warn && !result.passed {
                let more = result.failing_rows.saturating_sub(result.examples.len());
                let warning = format!(
                    "stage `{}`: {} ({} row(s){}{})",
                    stage.name,
                    test.name,
                    result.failing_rows,
                    if result.examples.is_empty() { "" } else { ": " },
                    result.examples.join(", ")
                        + &if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                );
                progress(&format!("warning: {warning}"));
                record.warnings.push(warning);
            }
        }
        let warns: std::collections::BTreeSet<&str> = stage
            .tests
            .iter()
            .filter(|t| t.warn)
            .map(|t| t.name.as_str())
            .collect();
        if let Some(failed) = tests
            .iter()
            .find(|t| !t.passed && !warns.contains(t.name.as_str()))
        {
            return Err(EngineError::TestFailed {
                stage: stage.name.clone(),
                test: failed.name.clone(),
                rows: failed.failing_rows,
            });
        }
    }
    Ok(())
}

/// Token-carrying columns of what a stage may read: each source's token columns (its
/// contract) and each earlier stage's recorded token lineage.
fn known_taint(inputs: &BTreeMap<String, InputRecord>, stages: &[StageRecord]) -> KnownTaint {
    let contracts = svna_contracts::v1();
    let mut known = KnownTaint::new();
    for (source, input) in inputs {
        let tokens = contracts
            .dataset(&input.dataset)
            .map(|d| d.token_columns().map(|c| c.name.clone()).collect())
            .unwrap_or_default();
        known.insert(source.clone(), tokens);
    }
    for stage in stages {
        let tainted = stage.token_lineage.iter().cloned().collect();
        known.insert(stage.name.clone(), tainted);
    }
    known
}

fn new_run_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..6];
    format!("run-{now}-{suffix}")
}

fn output_path(run_id: &str, stage: &Stage) -> String {
    let zone = match stage.sensitivity {
        Sensitivity::RowLevel => Zone::Work,
        Sensitivity::Aggregate => Zone::Outputs,
    };
    zone.join(&format!("{run_id}/{}.parquet", stage.name))
}

/// The staged files of every source the planned stages read, from committed manifests.
async fn resolve_inputs(
    store: &Store,
    pipeline: &Pipeline,
    stages: &[&Stage],
) -> Result<BTreeMap<String, InputRecord>, EngineError> {
    let mut inputs = BTreeMap::new();
    for need in stages.iter().flat_map(|s| s.needs.iter()) {
        let Some(source) = pipeline.source(need) else {
            continue;
        };
        if inputs.contains_key(&source.name) {
            continue;
        }
        let version = svna_contracts::v1().version;
        let manifest = StagedManifest::read(store, &source.dataset, version)
            .await
            .map_err(|e| EngineError::StagedManifest {
                source_name: source.name.clone(),
                dataset: source.dataset.clone(),
                source: Box::new(e),
            })?;
        let files: Vec<FileEntry> = manifest.active_files().into_iter().cloned().collect();
        if files.is_empty() && !source.optional {
            return Err(EngineError::MissingSource {
                source_name: source.name.clone(),
                dataset: source.dataset.clone(),
            });
        }
        let input = InputRecord {
            source: source.name.clone(),
            dataset: source.dataset.clone(),
            files,
        };
        inputs.insert(source.name.clone(), input);
    }
    Ok(inputs)
}

async fn register_needs(
    ctx: &SessionContext,
    store: &Store,
    stage: &Stage,
    inputs: &BTreeMap<String, InputRecord>,
    outputs: &BTreeMap<String, String>,
) -> Result<(), EngineError> {
    for need in &stage.needs {
        if let Some(input) = inputs.get(need) {
            let schema = svna_contracts::v1()
                .dataset(&input.dataset)
                .map_err(|source| EngineError::Contract {
                    source_name: need.clone(),
                    source,
                })?
                .arrow_schema();
            // An optional source with nothing staged is a table of its contract with no
            // files: empty, and (unlike an in-memory table) carried by a cluster too.
            let files: Vec<String> = input.files.iter().map(|f| f.path.clone()).collect();
            register_parquet_files(ctx, store, need, &files, Some(schema)).await?;
        } else if let Some(path) = outputs.get(need) {
            register_parquet_files(ctx, store, need, std::slice::from_ref(path), None).await?;
        }
    }
    Ok(())
}

/// Refuses SQL that reads a table the stage did not declare, before running anything.
fn check_table_references(ctx: &SessionContext, stage: &Stage) -> Result<(), EngineError> {
    let state = ctx.state();
    let statement = state
        .sql_to_statement(&stage.sql, &datafusion::config::Dialect::Generic)
        .map_err(|e| sql_error(stage, e))?;
    if !is_query(&statement) {
        let kind = stage
            .sql
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        return Err(EngineError::NotAQuery {
            stage: stage.name.clone(),
            file: stage.sql_file.display().to_string(),
            kind,
        });
    }
    let references = state
        .resolve_table_references(&statement)
        .map_err(|e| sql_error(stage, e))?;
    for table in references {
        let name = table.table().to_string();
        if !stage.needs.contains(&name) {
            return Err(EngineError::UnknownTable {
                stage: stage.name.clone(),
                file: stage.sql_file.display().to_string(),
                table: table.to_string(),
                needs: stage.needs.join(", "),
            });
        }
    }
    Ok(())
}

fn is_query(statement: &datafusion::sql::parser::Statement) -> bool {
    use datafusion::sql::parser::Statement as DfStatement;
    use datafusion::sql::sqlparser::ast::Statement;
    matches!(statement, DfStatement::Statement(s) if matches!(s.as_ref(), Statement::Query(_)))
}

fn sql_error(stage: &Stage, source: DataFusionError) -> EngineError {
    EngineError::Sql {
        stage: stage.name.clone(),
        file: stage.sql_file.display().to_string(),
        source,
    }
}

fn test_error(stage: &Stage, test: &StageTest, source: DataFusionError) -> EngineError {
    EngineError::TestSql {
        stage: stage.name.clone(),
        file: stage.sql_file.display().to_string(),
        test: test.name.clone(),
        source,
    }
}

/// Executes the stage and streams its result into one Parquet object; the object becomes
/// visible only when complete (multipart upload / rename), so no reader sees half a file.
async fn materialise(
    ctx: &SessionContext,
    store: &Store,
    stage: &Stage,
    path: &str,
    known: &KnownTaint,
) -> Result<(FileEntry, Vec<String>, Vec<String>), EngineError> {
    let df: DataFrame = ctx
        .sql_with_options(&stage.sql, read_only_sql_options())
        .await
        .map_err(|e| sql_error(stage, e))?;
    let tainted = token_lineage(df.logical_plan(), known);
    let schema = Arc::new(df.schema().as_arrow().clone());
    let columns = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut stream = df.execute_stream().await.map_err(|e| sql_error(stage, e))?;
    let mut object = store.parquet_writer(path, schema)?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| sql_error(stage, e))?;
        object.write(&batch).await?;
    }
    Ok((object.finish().await?, columns, tainted))
}

/// How long to wait for a cluster's scheduler to accept a connection before the run fails.
const CLUSTER_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How many rows of a warning test its record names.
const WARNING_EXAMPLES: usize = 50;

/// The first column's values of the first `limit` rows, as text.
fn first_values(
    batches: &[datafusion::arrow::record_batch::RecordBatch],
    limit: usize,
) -> Vec<String> {
    let mut out = Vec::new();
    for batch in batches {
        if batch.num_columns() == 0 {
            continue;
        }
        let column = batch.column(0);
        for row in 0..batch.num_rows() {
            if out.len() == limit {
                return out;
            }
            out.push(
                datafusion::arrow::util::display::array_value_to_string(column, row)
                    .unwrap_or_default(),
            );
        }
    }
    out
}

async fn run_tests(ctx: &SessionContext, stage: &Stage) -> Result<Vec<TestRecord>, EngineError> {
    let mut results = Vec::new();
    for test in &stage.tests {
        let df = ctx
            .sql_with_options(&test.sql, read_only_sql_options())
            .await
            .map_err(|e| test_error(stage, test, e))?;
        let batches = df.collect().await.map_err(|e| test_error(stage, test, e))?;
        let failing_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let examples = if test.warn {
            first_values(&batches, WARNING_EXAMPLES)
        } else {
            Vec::new()
        };
        results.push(TestRecord {
            name: test.name.clone(),
            passed: failing_rows == 0,
            failing_rows,
            examples,
        });
    }
    Ok(results)
}
