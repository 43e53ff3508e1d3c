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
//!   read-only rules as a pipeline run — and registers its result as table `<name>`. The
//!   stage runs in a session that holds only what its pipeline declares it `needs` (the
//!   sources and stages of `pipelines/*.toml`), as in a run: SQL reading a table it does
//!   not declare fails here too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::datasource::MemTable;
use datafusion::execution::runtime_env::RuntimeEnv;
use datafusion::prelude::SessionContext;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType};
use svna_engine::{EngineConfig, Pipeline, read_only_sql_options};
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
    config: EngineConfig,
    runtime: Arc<RuntimeEnv>,
    sql_dir: PathBuf,
    /// What each stage of the repository's pipelines needs, as (table, contract dataset or
    /// stage it reads); `None` where no pipeline was given (the harness's own tests).
    needs: Option<BTreeMap<String, Vec<(String, String)>>>,
}

/// Each stage's needs in the pipelines under `pipelines`, with the dataset or stage each
/// named table is.
fn declared_needs(
    pipelines: &Path,
) -> Result<BTreeMap<String, Vec<(String, String)>>, HarnessError> {
    let mut needs = BTreeMap::new();
    for entry in std::fs::read_dir(pipelines).map_err(error)? {
        let path = entry.map_err(error)?.path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let pipeline = Pipeline::load(&path).map_err(error)?;
        for stage in &pipeline.stages {
            let tables = stage
                .needs
                .iter()
                .map(|need| {
                    let read = pipeline
                        .source(need)
                        .map_or(need.clone(), |source| source.dataset.clone());
                    (need.clone(), read)
                })
                .collect();
            needs.insert(stage.name.clone(), tables);
        }
    }
    Ok(needs)
}

impl StageDb {
    fn new(sql_dir: &Path, pipelines: Option<&Path>) -> Result<Self, HarnessError> {
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
            config,
            runtime,
            sql_dir: sql_dir.to_path_buf(),
            needs: pipelines.map(declared_needs).transpose()?,
        })
    }

    /// The session a stage runs in: only the tables it needs, where its pipeline says.
    async fn stage_session(&self, stage: &str) -> Result<SessionContext, HarnessError> {
        let Some(needs) = &self.needs else {
            return Ok(self.ctx.clone());
        };
        let tables = needs.get(stage).ok_or_else(|| {
            error(format!(
                "stage `{stage}` is in no pipeline under pipelines/: declare it (and its needs) there"
            ))
        })?;
        let ctx = self.config.session(&self.runtime).map_err(error)?;
        for (name, read) in tables {
            let table = self.ctx.table_provider(read.as_str()).await.map_err(|e| {
                error(format!(
                    "stage `{stage}` needs `{name}`, which this file has not made (RUN STAGE it first): {e}"
                ))
            })?;
            ctx.register_table(name.as_str(), table).map_err(error)?;
        }
        Ok(ctx)
    }

    async fn run_stage(
        &mut self,
        stage: &str,
    ) -> Result<DBOutput<DefaultColumnType>, HarnessError> {
        let path = self.sql_dir.join(format!("{stage}.sql"));
        let sql = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("{}: {e}", path.display())))?;
        let df = self
            .stage_session(stage)
            .await?
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
    let pipelines = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
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
        let pipelines = pipelines.clone();
        let mut runner = sqllogictest::Runner::new(move || {
            let dir = dir.clone();
            let pipelines = pipelines.clone();
            async move { StageDb::new(&dir, Some(&pipelines)) }
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
        async move { StageDb::new(&dir, None) }
    });
    assert!(runner.run_file_async(&slt).await.is_err());
}

/// A stage reads only what its pipeline declares it needs: SQL naming a table outside its
/// `needs` fails in the harness as in a run.
#[tokio::test]
async fn a_stage_reading_a_table_it_does_not_need_fails() {
    let dir = tempfile::tempdir().unwrap();
    let sql_dir = dir.path().join("sql");
    let pipelines = dir.path().join("pipelines");
    std::fs::create_dir_all(&sql_dir).unwrap();
    std::fs::create_dir_all(&pipelines).unwrap();
    std::fs::write(
        sql_dir.join("codes.sql"),
        "SELECT COUNT(*) AS n FROM sv_offence_codes",
    )
    .unwrap();
    std::fs::write(
        sql_dir.join("sneaky.sql"),
        "SELECT COUNT(*) AS n FROM sv_offence_codes CROSS JOIN age_bands",
    )
    .unwrap();
    std::fs::write(sql_dir.join("undeclared.sql"), "SELECT 1 AS n").unwrap();
    std::fs::write(
        pipelines.join("p.toml"),
        r#"
name = "p"
description = "harness test"

[[source]]
name = "sv_offence_codes"
dataset = "sv_offence_codes"

[[stage]]
name = "codes"
description = "reads what it needs"
sql = "../sql/codes.sql"
needs = ["sv_offence_codes"]
sensitivity = "row_level"

[[stage]]
name = "sneaky"
description = "reads age_bands without needing it"
sql = "../sql/sneaky.sql"
needs = ["sv_offence_codes"]
sensitivity = "row_level"
"#,
    )
    .unwrap();
    let mut db = StageDb::new(&sql_dir, Some(&pipelines)).unwrap();
    db.run_stage("codes").await.unwrap();
    let failure = |result: Result<DBOutput<DefaultColumnType>, HarnessError>| match result {
        Ok(_) => panic!("the stage ran"),
        Err(e) => e.to_string(),
    };
    let err = failure(db.run_stage("sneaky").await);
    assert!(err.contains("age_bands"), "{err}");
    let err = failure(db.run_stage("undeclared").await);
    assert!(err.contains("in no pipeline"), "{err}");
}
