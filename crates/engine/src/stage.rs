//! One stage of a run: a session holding only the tables the stage `needs`, its SQL checked
//! to be one query reading nothing else, its result streamed into one Parquet object, then
//! its tests run against that output.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use datafusion::dataframe::DataFrame;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use futures::StreamExt;
use svna_records::{InputRecord, Sensitivity, StageRecord, TestRecord};
use svna_storage::{FileEntry, Store, Zone};

use crate::error::EngineError;
use crate::lineage::{KnownTaint, token_lineage};
use crate::pipeline::{Stage, StageTest};
use crate::session::read_only_sql_options;
use crate::tables::register_parquet_files;

/// What a stage of a run reads besides its own declaration.
pub(crate) struct StageRun<'a> {
    pub store: &'a Store,
    pub run_id: &'a str,
    /// The run's sources, by name.
    pub inputs: &'a BTreeMap<String, InputRecord>,
    /// Where each finished stage's output lives, by stage name.
    pub outputs: &'a BTreeMap<String, String>,
    /// Token-carrying columns of everything the stage may read.
    pub known: &'a KnownTaint,
    pub ran_on: String,
}

/// Runs one stage in `ctx` (a fresh session) and returns its record, tests included; a
/// failed test is in the record, not an error (see [`first_failure`]).
pub(crate) async fn run_stage(
    ctx: &SessionContext,
    run: &StageRun<'_>,
    stage: &Stage,
) -> Result<StageRecord, EngineError> {
    let started = Instant::now();
    register_needs(ctx, run.store, stage, run.inputs, run.outputs).await?;
    check_table_references(ctx, stage)?;
    let output_path = output_path(run.run_id, stage);
    let (entry, columns, token_lineage) =
        materialise(ctx, run.store, stage, &output_path, run.known).await?;
    register_parquet_files(
        ctx,
        run.store,
        &stage.name,
        std::slice::from_ref(&output_path),
        None,
    )
    .await?;
    let testing = Instant::now();
    let tests = run_tests(ctx, stage).await?;
    let tests_ms = testing.elapsed().as_millis();
    Ok(StageRecord {
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
        tests,
        ran_on: run.ran_on.clone(),
    })
}

/// A warning for each failed test the pipeline declares a warning, naming its rows.
pub(crate) fn test_warnings(stage: &Stage, results: &[TestRecord]) -> Vec<String> {
    let mut warnings = Vec::new();
    for (test, result) in stage.tests.iter().zip(results) {
        if test.warn && !result.passed {
            let more = result.failing_rows.saturating_sub(result.examples.len());
            warnings.push(format!(
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
            ));
        }
    }
    warnings
}

/// The error for the first failed test that is not a warning, if any: it stops the run.
pub(crate) fn first_failure(stage: &Stage, results: &[TestRecord]) -> Option<EngineError> {
    let warns: std::collections::BTreeSet<&str> = stage
        .tests
        .iter()
        .filter(|t| t.warn)
        .map(|t| t.name.as_str())
        .collect();
    results
        .iter()
        .find(|t| !t.passed && !warns.contains(t.name.as_str()))
        .map(|failed| EngineError::TestFailed {
            stage: stage.name.clone(),
            test: failed.name.clone(),
            rows: failed.failing_rows,
        })
}

fn output_path(run_id: &str, stage: &Stage) -> String {
    let zone = match stage.sensitivity {
        Sensitivity::RowLevel => Zone::Work,
        Sensitivity::Aggregate => Zone::Outputs,
    };
    zone.join(&format!("{run_id}/{}.parquet", stage.name))
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
