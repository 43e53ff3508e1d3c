//! `svna demo`: the whole flow on synthetic data in a local store, as a partnership would
//! run it: partners' extracts -> load (validate + stage) -> run the pipeline -> publish.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use svna_engine::{EngineConfig, RunOptions, run_pipeline};
use svna_publish::{PublishOptions, publish_run, verify_release};
use svna_storage::Store;

use super::Outcome;
use super::load::{ensure_clean, load_one, print_loads};
use super::output::Progress;
use super::publish::print_release;
use super::synth::SynthData;

/// Marks a directory the demo created, so a rerun may safely replace it.
const MARKER: &str = ".svna-demo";

#[derive(Args)]
pub struct DemoArgs {
    /// Working directory: extracts/ (partner files) and store/ (the local object store).
    #[arg(long, default_value = "svna-demo")]
    pub dir: PathBuf,
    #[command(flatten)]
    pub data: SynthData,
    /// Pipeline file. Default: pipelines/sna.toml of the current directory if it has one,
    /// else the standard pipeline built into svna.
    #[arg(long)]
    pub pipeline: Option<PathBuf>,
}

pub async fn run(args: DemoArgs) -> Result<Outcome> {
    let started = Instant::now();
    prepare_dir(&args.dir)?;
    let extracts = args.dir.join("extracts");
    let store_dir = args.dir.join("store");
    let store = Store::open(store_dir.to_str().context("demo directory is not UTF-8")?)?;
    let progress = Progress::new(false);

    println!(
        "1/5 Partners: writing synthetic extracts (seed {}, scale {})",
        args.data.seed, args.data.scale
    );
    let summary = svna_synth::write_to_dir(&args.data.config(2019, 5), &extracts, &mut |d, n| {
        progress.step(&format!("synth {d}: {n} rows"))
    })?;
    progress.finish();
    println!(
        "    {} rows in {} files under {}",
        summary.total_rows(),
        summary.rows.len(),
        extracts.display()
    );

    println!("2/5 Hub: validating and staging every extract");
    let mut files: Vec<(String, PathBuf)> = summary
        .rows
        .keys()
        .map(|d| (d.clone(), extracts.join(format!("{d}.csv"))))
        .collect();
    // svna's definitions: every definitions/<dataset>.csv is a reference dataset (the
    // current directory's own, else the built-in ones, written beside the extracts so the
    // loads name a real file).
    for path in definition_files(&args.dir)? {
        let dataset = path
            .file_stem()
            .and_then(|s| s.to_str())
            .context("definition file name")?
            .to_string();
        files.push((dataset, path));
    }
    for (dataset, path) in &files {
        progress.step(&format!("load {dataset}"));
        let outcome = load_one(&store, dataset, path, &Default::default())
            .await
            .with_context(|| format!("loading {}", path.display()))?;
        ensure_clean(std::slice::from_ref(&outcome))?;
        progress.finish();
        print_loads(dataset, std::slice::from_ref(&outcome));
    }
    // What was received, staged and rejected, as a staged dataset the pipeline reads (the
    // data-quality table), as `svna load` and `svna intake` leave it.
    let snapshot = svna_intake::refresh_deliveries(&store, svna_contracts::v1()).await?;
    println!("    deliveries: {} loads listed", snapshot.rows.len());

    let source = crate::project::pipeline_source(args.pipeline.as_deref());
    println!("3/5 Analysts: running pipeline {source}");
    let pipeline = crate::project::load_pipeline(&source)?;
    let options = RunOptions {
        target: None,
        config: EngineConfig::default(),
        run_id: None,
    };
    let progress = Progress::new(false);
    let record = run_pipeline(&store, &pipeline, &options, &mut |m| progress.step(m)).await?;
    progress.finish();
    for stage in &record.stages {
        println!(
            "    {:<32} {:>9} rows  {:>6} ms  {}",
            stage.name,
            stage.output.rows.unwrap_or(0),
            stage.duration_ms,
            stage.output.path
        );
    }

    println!("4/5 Coordinator: publishing disclosure-controlled aggregates");
    let manifest = publish_run(
        &store,
        &PublishOptions {
            run_id: Some(record.run_id.clone()),
            release: Some(format!("demo-{}", record.run_id).to_ascii_lowercase()),
        },
    )
    .await?;
    print_release(&store, &manifest);

    println!("5/5 Core Priority Group: verifying the release and writing its report");
    let verified = verify_release(&store, &manifest.release).await?;
    if !verified.problems.is_empty() {
        anyhow::bail!(
            "the new release does not verify: {}",
            verified.problems.join("; ")
        );
    }
    let report_dir = args.dir.join("report");
    let report = svna_report::write_report(&store, &manifest.release, &report_dir).await?;
    println!(
        "    verified ({} files, {} withheld cells audited as an outsider); report: {}",
        verified.files_checked,
        verified.withheld_cells_checked,
        report.index_html.display()
    );
    println!();
    println!(
        "Done in {:.1} s. Published tables (Parquet and CSV) are under {}",
        started.elapsed().as_secs_f64(),
        store_dir
            .join("published")
            .join(&manifest.release)
            .join("tables")
            .display()
    );
    println!(
        "Run record: {}",
        store_dir
            .join("runs")
            .join(&record.run_id)
            .join("run.json")
            .display()
    );
    Ok(Outcome::Ok)
}

/// Refuses to touch a non-empty directory the demo did not create; clears its own.
fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            bail!(
                "{} exists and was not made by `svna demo`; choose another --dir",
                dir.display()
            );
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(MARKER), "created by svna demo; safe to delete\n")?;
    Ok(())
}

/// The definitions a demo loads: `definitions/*.csv` of the current directory if it has
/// them, else the built-in ones written to `<dir>/definitions/`.
fn definition_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let local = Path::new("definitions");
    let mut files: Vec<PathBuf> = if local.is_dir() {
        std::fs::read_dir(local)
            .context("reading definitions/")?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?
    } else {
        let out = dir.join("definitions");
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        let mut written = Vec::new();
        for (name, text) in crate::project::builtin_under("definitions") {
            let path = dir.join(name);
            std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            written.push(path);
        }
        written
    };
    files.retain(|p| p.extension().is_some_and(|e| e == "csv"));
    files.sort();
    Ok(files)
}
