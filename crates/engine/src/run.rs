//! A run: every planned stage of a pipeline in dependency order, against the staged zone,
//! with its run record written whether it finished or failed. One stage's work is in
//! [`crate::stage`].

use std::collections::BTreeMap;

use svna_records::StagedManifest;
use svna_storage::{FileEntry, Store};

use crate::error::EngineError;
use crate::lineage::KnownTaint;
use crate::pipeline::{Pipeline, Stage};
use crate::session::EngineConfig;
use crate::stage::{StageRun, first_failure, run_stage, test_warnings};
use svna_records::{
    InputRecord, RunRecord, RunStatus, StageRecord, latest_run_path, run_record_path,
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
        let ctx = options.config.session(&runtime)?;
        let known = known_taint(&inputs, &record.stages);
        let run = StageRun {
            store,
            run_id: &record.run_id,
            inputs: &inputs,
            outputs: &outputs,
            known: &known,
            ran_on: options.config.ran_on(),
        };
        let stage_record = run_stage(&ctx, &run, stage).await?;
        outputs.insert(stage.name.clone(), stage_record.output.path.clone());
        let warnings = test_warnings(stage, &stage_record.tests);
        for warning in &warnings {
            progress(&format!("warning: {warning}"));
        }
        record.warnings.extend(warnings);
        let failed = first_failure(stage, &stage_record.tests);
        record.stages.push(stage_record);
        if let Some(error) = failed {
            return Err(error);
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

/// How long to wait for a cluster's scheduler to accept a connection before the run fails.
const CLUSTER_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
