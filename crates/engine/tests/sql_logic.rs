//! Runs every `sql/*.slt` file against svna's own session configuration.
//!
//! Why not the `datafusion-sqllogictest` crate: it enables DataFusion's default features
//! (and avro and spark functions), which would build DataFusion a second time with different
//! features and double CI's cold build. This harness uses the same `sqllogictest` runner it
//! does, over our configured session, with one extension:
//!
//! * Every contract dataset exists as an empty table with its contract schema, so fixtures
//!   are written as `INSERT INTO police_offences VALUES (...)` and typed exactly as staged
//!   data is.
//! * `RUN STAGE <name>` runs `sql/<name>.sql` — the stage's real SQL text, under the same
//!   read-only rules as a pipeline run — and registers its result as table `<name>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use svna_engine::{EngineConfig, read_only_sql_options};
use svna_storage::Store;

#[derive(Debug)]
struct HarnessError(String);

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessError {}

fn error(e: impl std::fmt::Display) -> HarnessError {
    HarnessError(e.to_string())
}

struct StageDb {
    ctx: SessionContext,
    sql_dir: PathBuf,
}

impl StageDb {
    fn new(sql_dir: &Path) -> Result<Self, HarnessError> {
        let store = Store::open("memory:///").map_err(error)?;
        let config = EngineConfig {
            target_partitions: Some(2),
            ..Default::default()
        };
        let runtime = config.runtime(&store).map_err(error)?;
        let ctx = config.session(&runtime).map_err(error)?;
        for dataset in &svna_contracts::v1().datasets {
            let table = MemTable::try_new(dataset.arrow_schema(), vec![vec![]]).map_err(error)?;
            ctx.register_table(&dataset.name, Arc::new(table))
                .map_err(error)?;
        }
        Ok(StageDb {
            ctx,
            sql_dir: sql_dir.to_path_buf(),
        })
    }

    async fn run_stage(
        &mut self,
        stage: &str,
    ) -> Result<DBOutput<DefaultColumnType>, HarnessError> {
        let path = self.sql_dir.join(format!("{stage}.sql"));
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("{}: {e}", path.display())))?;
        let df = self
            .ctx
            .sql_with_options(&sql, read_only_sql_options())
            .await
            .map_err(error)?;
        let schema = Arc::new(df.schema().as_arrow().clone());
        let batches = df.collect().await.map_err(error)?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let table = MemTable::try_new(schema, vec![batches]).map_err(error)?;
        self.ctx.deregister_table(stage).map_err(error)?;
        self.ctx
            .register_table(stage, Arc::new(table))
            .map_err(error)?;
        Ok(DBOutput::StatementComplete(rows as u64))
    }
}

#[async_trait]
impl AsyncDB for StageDb {
    type Error = HarnessError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Self::ColumnType>, Self::Error> {
        let trimmed = sql.trim();
        if let Some(stage) = trimmed.strip_prefix("RUN STAGE ") {
            return self.run_stage(stage.trim()).await;
        }
        let df = self.ctx.sql(trimmed).await.map_err(error)?;
        let is_statement = ["INSERT", "CREATE", "DROP"]
            .iter()
            .any(|k| trimmed.to_ascii_uppercase().starts_with(k));
        let types = df
            .schema()
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let batches = df.collect().await.map_err(error)?;
        if is_statement {
            return Ok(DBOutput::StatementComplete(0));
        }
        Ok(DBOutput::Rows {
            types,
            rows: format_rows(&batches)?,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "svna-datafusion"
    }
}

fn column_type(ty: &DataType) -> DefaultColumnType {
    if ty.is_integer() {
        DefaultColumnType::Integer
    } else if ty.is_floating() {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

fn format_rows(batches: &[RecordBatch]) -> Result<Vec<Vec<String>>, HarnessError> {
    let options = FormatOptions::default().with_null("NULL");
    let mut rows = Vec::new();
    for batch in batches {
        let formatters = batch
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
            .collect::<Result<Vec<_>, _>>()
            .map_err(error)?;
        for row in 0..batch.num_rows() {
            rows.push(
                formatters
                    .iter()
                    .map(|f| f.value(row).to_string())
                    .collect(),
            );
        }
    }
    Ok(rows)
}

#[tokio::test]
async fn stage_sql_logic_tests() {
    let sql_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&sql_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", sql_dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let dir = sql_dir.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let dir = dir.clone();
            async move { StageDb::new(&dir) }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
        println!("ran {}", file.display());
    }
    assert!(
        failures.is_empty(),
        "{} .slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The harness itself must be able to fail: a wrong expectation is reported.
#[tokio::test]
async fn a_wrong_expectation_fails() {
    let dir = tempfile::tempdir().unwrap();
    let slt = dir.path().join("wrong.slt");
    std::fs::write(&slt, "query I\nSELECT 1 + 1\n----\n3\n").unwrap();
    let sql_dir = dir.path().to_path_buf();
    let mut runner = sqllogictest::Runner::new(move || {
        let dir = sql_dir.clone();
        async move { StageDb::new(&dir) }
    });
    assert!(runner.run_file_async(&slt).await.is_err());
}
