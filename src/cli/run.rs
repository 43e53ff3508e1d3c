//! `svna run`: a pipeline's SQL stages against the staged data.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use svna_engine::{ClusterAddress, EngineConfig, RunOptions, parse_byte_size, run_pipeline};
use svna_storage::{Store, Zone};

use super::Outcome;
use super::output::{Progress, print_table, render};

#[derive(Args)]
pub struct RunArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    /// Pipeline file (TOML). Default: pipelines/sna.toml of the current directory if it
    /// has one (a project made by `svna init`), else the standard pipeline built into svna.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
    /// Run only this stage (and the stages it needs).
    #[arg(long)]
    pub stage: Option<String>,
    /// Query memory limit, e.g. 2GiB; beyond it operators spill to disk.
    #[arg(long)]
    pub memory_limit: Option<String>,
    /// Directory for spill files (default: the OS temporary directory).
    #[arg(long)]
    pub spill_dir: Option<PathBuf>,
    /// Use sort-merge joins (which spill) instead of hash joins (whose smaller side must fit
    /// in memory): for joins whose smaller side is larger than the memory limit.
    #[arg(long)]
    pub sort_merge_joins: bool,
    /// Run the stages on a Ballista cluster, df://HOST:PORT (`svna cluster scheduler` and
    /// executors that can reach --store). Outputs and the run record are written by this
    /// process, as in a local run; the record names where each stage ran.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    pub fn options(&self) -> Result<RunOptions> {
        let memory_limit = self
            .memory_limit
            .as_deref()
            .map(parse_byte_size)
            .transpose()?;
        let config = EngineConfig {
            memory_limit,
            spill_dir: self.spill_dir.clone(),
            target_partitions: None,
            sort_merge_joins: self.sort_merge_joins,
            cluster: self
                .cluster
                .as_deref()
                .map(ClusterAddress::parse)
                .transpose()?,
        };
        Ok(RunOptions {
            target: self.stage.clone(),
            config,
            run_id: None,
        })
    }
}

pub async fn run(args: RunArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Work, Zone::Outputs, Zone::Runs]);
    let source = crate::project::pipeline_source(args.pipeline.as_deref());
    let pipeline = crate::project::load_pipeline(&source)?;
    for line in crate::project::stage_missing_references(&args.store, &pipeline).await? {
        eprintln!("{line}");
    }
    let progress = Progress::new(args.json);
    let record = run_pipeline(&store, &pipeline, &args.options()?, &mut |m| {
        progress.step(m)
    })
    .await;
    progress.finish();
    let record = record.map_err(|e| {
        let missing = matches!(e, svna_engine::EngineError::MissingSource { .. });
        let hint = if missing && args.pipeline.is_none() {
            format!(
                "; svna ran {source} because no --pipeline was given: for police open data use \
                 --pipeline pipelines/open_data.toml (svna init writes it)"
            )
        } else {
            String::new()
        };
        anyhow::anyhow!("{e}{hint}")
    })?;
    render(args.json, &record, |record| {
        let on = match record.stages.first() {
            Some(stage) if stage.ran_on != svna_engine::RAN_LOCALLY => {
                format!(" on {}", stage.ran_on)
            }
            _ => String::new(),
        };
        println!(
            "Run {} of pipeline `{}` finished{on}",
            record.run_id, record.pipeline
        );
        let rows: Vec<Vec<String>> = record
            .stages
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    format!("{:?}", s.sensitivity),
                    s.output.rows.unwrap_or(0).to_string(),
                    format!("{} ms", s.duration_ms),
                    s.output.path.clone(),
                ]
            })
            .collect();
        print_table(&["stage", "sensitivity", "rows", "time", "output"], &rows);
        for warning in &record.warnings {
            println!("warning: {warning}");
        }
    })?;
    Ok(Outcome::Ok)
}
