use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use svna_contracts::v1;
use svna_engine::{EngineConfig, RunOptions, parse_byte_size, run_pipeline};
use svna_intake::{
    ExtractReader, LoadOutcome, LoadRequest, Rejection, load_extract_for, read_extract,
    upload_local_file,
};
use svna_publish::{PublishOptions, ReleaseManifest, publish_run, verify_release};
use svna_storage::{Store, Zone};

use crate::Outcome;
use crate::report::{Progress, print_table};

#[derive(Args)]
pub struct SynthArgs {
    /// Directory to write `<dataset>.csv` files into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Volume: 1 is about one county over five years (~1M rows in all).
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Real ONS LSOA->ward->district lookup CSV; without it a county is invented.
    #[arg(long)]
    pub lookup: Option<PathBuf>,
    /// Real IMD 2019 rank CSV (with --lookup).
    #[arg(long)]
    pub imd: Option<PathBuf>,
    /// First year of the period.
    #[arg(long, default_value_t = 2019)]
    pub start_year: i32,
    /// Number of years.
    #[arg(long, default_value_t = 5)]
    pub years: u32,
    /// How unevenly violence falls across the county: 0 (default) today's county; 1-3 a
    /// dense city with sparse rural districts (mostly small counts).
    #[arg(long, default_value_t = 0.0)]
    pub skew: f64,
}

impl SynthArgs {
    pub fn config(&self) -> svna_synth::SynthConfig {
        let geography = match &self.lookup {
            Some(lookup) => svna_synth::Geography::lincolnshire(lookup.clone(), self.imd.clone()),
            None => svna_synth::Geography::Invented,
        };
        svna_synth::SynthConfig {
            seed: self.seed,
            scale: self.scale,
            start_year: self.start_year,
            years: self.years,
            geography,
            skew: self.skew,
        }
    }
}

pub fn synth(args: SynthArgs) -> Result<Outcome> {
    let progress = Progress::new(false);
    let summary = svna_synth::write_to_dir(&args.config(), &args.out, &mut |dataset, rows| {
        progress.step(&format!("synth: {dataset} {rows} rows"))
    })
    .with_context(|| format!("writing synthetic extracts to {}", args.out.display()))?;
    progress.finish();
    let rows: Vec<Vec<String>> = summary
        .rows
        .iter()
        .map(|(d, n)| vec![d.clone(), n.to_string()])
        .collect();
    println!("Wrote synthetic extracts to {}", args.out.display());
    print_table(&["dataset", "rows"], &rows);
    Ok(Outcome::Ok)
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Contract dataset the files claim to be (see `svna contracts`).
    #[arg(long)]
    pub dataset: String,
    /// CSV files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Problems listed per rule before only counting them.
    #[arg(long, default_value_t = 10)]
    pub max_per_rule: usize,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub fn validate(args: ValidateArgs) -> Result<Outcome> {
    let dataset = v1().dataset(&args.dataset)?;
    let checks = args
        .files
        .iter()
        .map(|path| FileCheck::run(dataset, path))
        .collect::<Result<Vec<_>>>()?;
    if args.json {
        let reports: Vec<_> = checks
            .iter()
            .map(|c| c.to_json(args.max_per_rule))
            .collect();
        println!("{}", serde_json::to_string_pretty(&reports)?);
    } else {
        checks.iter().for_each(|c| c.print(args.max_per_rule));
    }
    Ok(if checks.iter().all(FileCheck::valid) {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}

/// One file read against its contract, as `validate` and `upload` report it: the one
/// validator partners and the hub share, every row accounted for.
struct FileCheck {
    file: String,
    counts: Option<svna_intake::RowCounts>,
    /// Why the whole file was refused (its header, its encoding), if it was.
    refused: Option<String>,
    rejects: Vec<Rejection>,
}

impl FileCheck {
    fn run(dataset: &svna_contracts::Dataset, path: &Path) -> Result<Self> {
        let file = path.display().to_string();
        let reader = std::fs::File::open(path).with_context(|| format!("cannot open {file}"))?;
        let mut rejects: Vec<Rejection> = Vec::new();
        let options = ExtractReader {
            dataset,
            file: &file,
            batch_rows: 65_536,
        };
        let result = read_extract(
            std::io::BufReader::new(reader),
            &options,
            |_| Ok(()),
            |r| rejects.push(r),
        );
        let (counts, refused) = match result {
            Ok(counts) => (Some(counts), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(FileCheck {
            file,
            counts,
            refused,
            rejects,
        })
    }

    fn valid(&self) -> bool {
        self.refused.is_none() && self.rejects.is_empty()
    }

    fn to_json(&self, max_per_rule: usize) -> serde_json::Value {
        let counts = self.counts.as_ref();
        serde_json::json!({
            "file": self.file,
            "valid": self.valid(),
            "refused": self.refused,
            "rows_received": counts.map(|c| c.received),
            "rows_valid": counts.map(|c| c.accepted),
            "rows_invalid": counts.map(|c| c.rejected),
            "problems": limited(&self.rejects, max_per_rule).iter().map(|r| serde_json::json!({
                "line": r.line, "column": r.column, "rule": r.rule, "message": r.message })).collect::<Vec<_>>(),
            "problems_by_rule": count_by_rule(&self.rejects),
        })
    }

    fn print(&self, max_per_rule: usize) {
        print_validation(
            &self.file,
            self.refused.as_deref(),
            self.counts.as_ref(),
            &self.rejects,
            max_per_rule,
        );
    }
}

fn count_by_rule(rejects: &[Rejection]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for r in rejects {
        *counts
            .entry(format!("{}:{}", r.column, r.rule))
            .or_insert(0) += 1;
    }
    counts
}

fn limited(rejects: &[Rejection], per_rule: usize) -> Vec<&Rejection> {
    let mut seen = std::collections::BTreeMap::new();
    rejects
        .iter()
        .filter(|r| {
            let n = seen
                .entry((r.column.as_str(), r.rule.as_str()))
                .or_insert(0usize);
            *n += 1;
            *n <= per_rule
        })
        .collect()
}

fn print_validation(
    file: &str,
    refused: Option<&str>,
    counts: Option<&svna_intake::RowCounts>,
    rejects: &[Rejection],
    per_rule: usize,
) {
    if let Some(reason) = refused {
        println!("{file}: REFUSED: {reason}");
        return;
    }
    let counts = counts.expect("counts exist when not refused");
    if rejects.is_empty() {
        println!("{file}: valid ({} rows)", counts.received);
        return;
    }
    println!(
        "{file}: {} of {} rows invalid",
        counts.rejected, counts.received
    );
    for r in limited(rejects, per_rule) {
        println!(
            "  {file}:{}: column `{}`: {} [{}]",
            r.line, r.column, r.message, r.rule
        );
    }
    for (rule, n) in count_by_rule(rejects) {
        if n > per_rule {
            println!("  ... {rule}: {n} problems in all");
        }
    }
}

#[derive(Args)]
pub struct LoadArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    /// Contract dataset of the files.
    #[arg(long)]
    pub dataset: String,
    /// The period the files stand for, START..END (e.g. 2023-04-01..2024-03-31). Without it:
    /// the months the rows cover (datasets with a date or month column), else the whole
    /// dataset (reference data). A load replaces earlier loads of the dataset whose period
    /// overlaps it; the files of one command never replace each other.
    #[arg(long)]
    pub period: Option<String>,
    /// CSV extracts to upload and stage.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

/// Uploads a local file to `landing/<dataset>/<name>` and stages it, superseding earlier
/// loads of the dataset for an overlapping period (see [`LoadArgs::period`]).
pub async fn load_one(
    store: &Store,
    dataset: &str,
    path: &Path,
    request: &LoadRequest,
) -> Result<LoadOutcome> {
    let contract = v1().dataset(dataset)?;
    if contract.kind == svna_contracts::DatasetKind::Metadata {
        bail!(
            "`{dataset}` is generated by svna from the staged manifests after every load and intake; it cannot be loaded from a file"
        );
    }
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("file has no name")?;
    let landing = Zone::Landing.join(&format!("{dataset}/{name}"));
    let uploaded = upload_local_file(store, path, &landing).await?;
    Ok(load_extract_for(store, contract, v1().version, uploaded, request).await?)
}

pub async fn load(args: LoadArgs) -> Result<Outcome> {
    let store =
        Store::open(&args.store)?.restricted_to(&[Zone::Landing, Zone::Staged, Zone::Quarantine]);
    // The files of one command are parts of one load: they never replace each other.
    let request = LoadRequest::one_command(
        args.period
            .as_deref()
            .map(svna_intake::parse_period)
            .transpose()?,
    );
    let mut outcomes = Vec::new();
    let converted_dir = tempfile::tempdir().context("creating a temporary directory")?;
    for path in &args.files {
        let path = ons_population_as_contract(&args.dataset, path, converted_dir.path())?;
        outcomes.push(
            load_one(&store, &args.dataset, &path, &request)
                .await
                .with_context(|| format!("loading {}", path.display()))?,
        );
    }
    // The pipeline's data-quality table reads the deliveries as a staged dataset.
    svna_intake::refresh_deliveries(&store, v1()).await?;
    let clean = outcomes
        .iter()
        .all(|o| o.record.rows_rejected == 0 && o.record.refused.is_none());
    if args.json {
        let records: Vec<_> = outcomes
            .iter()
            .map(|o| serde_json::json!({ "record": o.record_json(), "resend_of": o.resend_of, "superseded": o.superseded }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        print_loads(&args.dataset, &outcomes);
    }
    Ok(if clean { Outcome::Ok } else { Outcome::Finding })
}

/// A population file in the ONS layout (single years of age) is converted to the contract's
/// rows first, under the same file name; any other file is loaded as it is.
fn ons_population_as_contract(dataset: &str, path: &Path, dir: &Path) -> Result<PathBuf> {
    if dataset != "population" || !crate::population::is_ons_layout(path)? {
        return Ok(path.to_path_buf());
    }
    let age_bands = std::fs::read_to_string("definitions/age_bands.csv")
        .ok()
        .map(std::borrow::Cow::Owned)
        .or_else(|| crate::project::builtin("definitions/age_bands.csv").map(Into::into))
        .context("no age bands: definitions/age_bands.csv")?;
    let out = dir.join(path.file_name().context("file has no name")?);
    let converted = crate::population::convert(path, &age_bands, &out)?;
    eprintln!(
        "{}: ONS single-year-of-age layout: {} LSOAs banded into {} rows (sex U where the file \
         has no sex column); {} rows that are not LSOAs skipped",
        path.display(),
        converted.lsoas,
        converted.rows_written,
        converted.rows_skipped
    );
    Ok(out)
}

trait RecordJson {
    fn record_json(&self) -> serde_json::Value;
}

impl RecordJson for LoadOutcome {
    fn record_json(&self) -> serde_json::Value {
        serde_json::to_value(&self.record).expect("load records serialise")
    }
}

pub fn print_loads(dataset: &str, outcomes: &[LoadOutcome]) {
    let rows: Vec<Vec<String>> = outcomes
        .iter()
        .map(|o| {
            let r = &o.record;
            let mut note = match (&o.resend_of, &r.refused, &r.rejects_path) {
                (Some(previous), _, _) => format!("resend of {previous}: not staged again"),
                (_, Some(reason), _) => format!("REFUSED: {reason}"),
                (_, _, Some(path)) => format!("rejected rows listed in {path}"),
                _ => String::new(),
            };
            if !o.superseded.is_empty() {
                if !note.is_empty() {
                    note.push_str("; ");
                }
                note.push_str(&format!("replaces {}", o.superseded.join(", ")));
            }
            vec![
                dataset.to_string(),
                r.source.path.clone(),
                r.rows_received.to_string(),
                r.rows_staged.to_string(),
                r.rows_rejected.to_string(),
                note,
            ]
        })
        .collect();
    print_table(
        &[
            "dataset", "source", "received", "staged", "rejected", "note",
        ],
        &rows,
    );
}

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
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!(
            "Run {} of pipeline `{}` finished",
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
    }
    Ok(Outcome::Ok)
}

#[derive(Args)]
pub struct PublishArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    /// Run to publish (default: the latest finished run).
    #[arg(long)]
    pub run: Option<String>,
    /// Release name (default: <pipeline>-<run id>).
    #[arg(long)]
    pub release: Option<String>,
    #[arg(long)]
    pub json: bool,
}

pub async fn publish(args: PublishArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Published, Zone::Runs]);
    // A refused release is an error whose kind makes it a finding: main gives it exit 1.
    let manifest = publish_run(
        &store,
        &PublishOptions {
            run_id: args.run.clone(),
            release: args.release.clone(),
        },
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&manifest)?);
    } else {
        print_release(&store, &manifest);
    }
    Ok(Outcome::Ok)
}

#[derive(Args)]
#[command(
    after_help = "Example:  svna verify ./svna-demo/store/published/sna-run-20261123T101500Z-3f2a1c\n\n\
Exit 0 when every file matches the manifest and no withheld cell can be recomputed, 1 when a\n\
problem is found (each is listed), 2 when the release cannot be read."
)]
pub struct VerifyArgs {
    /// The release: `<store>/published/<release>`, e.g. s3://bucket/svna/published/sna-2026.
    pub release_url: String,
    #[arg(long)]
    pub json: bool,
}

/// Splits `<store>/published/<release>` into the store location and the release name.
pub(crate) fn split_release_url(url: &str) -> Result<(String, String)> {
    let marker = "/published/";
    // A relative path that starts in the published zone lies in the current directory's store.
    let relative = format!("./{url}");
    let url = if url.starts_with("published/") {
        relative.as_str()
    } else {
        url
    };
    let trimmed = url.trim_end_matches('/');
    let at = trimmed.rfind(marker).with_context(|| {
        format!("`{url}` is not a release URL: expected <store>/published/<release>")
    })?;
    let release = &trimmed[at + marker.len()..];
    if release.is_empty() || release.contains('/') {
        anyhow::bail!("`{url}` is not a release URL: expected <store>/published/<release>");
    }
    let store = &trimmed[..at];
    let store = if store.is_empty() { "/" } else { store };
    Ok((store.to_string(), release.to_string()))
}

pub async fn verify(args: VerifyArgs) -> Result<Outcome> {
    let (location, release) = split_release_url(&args.release_url)?;
    let store = Store::open(&location)?.restricted_to(&[]);
    let report = verify_release(&store, &release).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "Release `{}`: {} files checked against the manifest, {} withheld cells audited as an outsider",
            report.release, report.files_checked, report.withheld_cells_checked
        );
        if !report.rounded_not_reaudited.is_empty() {
            println!(
                "  rounded tables (checksums checked; rounded totals need not add up, so not re-audited): {}",
                report.rounded_not_reaudited.join(", ")
            );
        }
        if !report.unproven.is_empty() {
            println!(
                "  {} withheld cells the outsider's audit could not settle exactly within its limits (LP relaxation only: neither shown recomputable nor shown safe by this check)",
                report.unproven.len()
            );
        }
        for problem in &report.problems {
            println!("  problem: {problem}");
        }
        if report.problems.is_empty() {
            println!(
                "  verified: every file matches its checksum and no withheld cell was found recomputable"
            );
        }
    }
    Ok(if report.problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}

pub fn print_release(store: &Store, manifest: &ReleaseManifest) {
    println!(
        "Release `{}` published from run {}",
        manifest.release, manifest.run_id
    );
    println!(
        "  at {}",
        store.url_of(&Zone::Published.join(&manifest.release))
    );
    let rows: Vec<Vec<String>> = manifest
        .tables
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                t.disclosure.policy.to_string(),
                t.cells.to_string(),
                t.withheld.to_string(),
                t.csv.path.clone(),
            ]
        })
        .collect();
    print_table(&["table", "policy", "cells", "withheld", "csv"], &rows);
    let protected = manifest
        .tables
        .iter()
        .any(|t| !t.disclosure.policy.is_published_as_is());
    println!(
        "  {} cells published, {} withheld ({})",
        manifest.published_cells,
        manifest.withheld_cells,
        if protected {
            "primary and secondary suppression, protected jointly with every earlier release; every withheld count proven by certificates"
        } else {
            "open data only: published as it is"
        }
    );
    if !manifest.linked_releases.is_empty() {
        println!(
            "  protected together with earlier releases: {}",
            manifest.linked_releases.join(", ")
        );
    }
    for left in &manifest.left_out {
        println!("  withheld whole: {} ({})", left.table, left.reason);
    }
}

#[derive(Args)]
pub struct KeygenArgs {
    /// Where to write the key (must not exist; created owner-only).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn keygen(args: KeygenArgs) -> Result<Outcome> {
    let key = svna_pseudonymise::generate_key_file(&args.out)?;
    println!("Wrote a new linkage key to {}", args.out.display());
    println!("fingerprint: {}", svna_pseudonymise::fingerprint(&key));
    println!(
        "Share the key only with partners, never with the hub; share the fingerprint with anyone."
    );
    Ok(Outcome::Ok)
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Print a key's fingerprint (one-way; equal keys give equal fingerprints).
    Fingerprint {
        /// Key file.
        file: PathBuf,
    },
    /// Coordinator: register the partnership key's fingerprint in the store. Intake takes in
    /// person-level data only when it declares this fingerprint.
    Register {
        /// Store (directory path or URL).
        #[arg(long)]
        store: String,
        /// The fingerprint, 16 lowercase hex characters (`svna key fingerprint KEYFILE`).
        #[arg(long)]
        fingerprint: String,
        /// Replace a different fingerprint registered before (a key rotation).
        #[arg(long)]
        replace: bool,
    },
}

pub async fn key(command: KeyCommand) -> Result<Outcome> {
    match command {
        KeyCommand::Register {
            store,
            fingerprint,
            replace,
        } => {
            let store = Store::open(&store)?.restricted_to(&[Zone::Staged]);
            match svna_intake::register_key(&store, &fingerprint, replace).await? {
                svna_intake::KeyRegistered::New => {
                    println!("Registered the partnership's key fingerprint {fingerprint}")
                }
                svna_intake::KeyRegistered::Unchanged => {
                    println!("The partnership's key fingerprint is already {fingerprint}")
                }
                svna_intake::KeyRegistered::Replaced { previous } => println!(
                    "Registered the partnership's key fingerprint {fingerprint} (replaces {previous}; deliveries already staged are unchanged)"
                ),
            }
            Ok(Outcome::Ok)
        }
        KeyCommand::Fingerprint { file } => {
            let key = svna_pseudonymise::load_key(&file)?;
            if let Some(mode) = svna_pseudonymise::insecure_permissions(&file)? {
                eprintln!(
                    "warning: {} is readable by others (mode {mode:o}); run chmod 600",
                    file.display()
                );
            }
            println!("{}", svna_pseudonymise::fingerprint(&key));
            Ok(Outcome::Ok)
        }
    }
}

#[derive(Args)]
pub struct PseudonymiseArgs {
    /// Partnership linkage key file (from `svna keygen`).
    #[arg(long)]
    pub key: PathBuf,
    /// Contract dataset the output must conform to (checked after tokenising).
    #[arg(long)]
    pub dataset: Option<String>,
    /// SRC=DEST[:KIND[:DOMAIN]]: replace column SRC by tokens in column DEST. KIND: nhs, pnc,
    /// local (default). DOMAIN: person (default) or offence. Repeatable.
    #[arg(long = "token", required_unless_present = "match_keys")]
    pub tokens: Vec<String>,
    /// IDENTIFIER=COLUMN,…: the columns holding a person's identifiers, for match keys
    /// (contract version 2). IDENTIFIER: nhs, pnc, upn, forename, surname, dob, sex, postcode.
    /// Writes one `mk_*` token column per key the mapped identifiers make (empty where a
    /// record lacks an input) and drops the mapped columns, e.g.
    /// `forename=FirstName,surname=LastName,dob=DOB,sex=Sex,postcode=Postcode,nhs=NHSNumber`.
    #[arg(long = "match-keys")]
    pub match_keys: Option<String>,
    /// Input CSV with identifiers in clear.
    pub input: PathBuf,
    /// Output CSV (written atomically).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn pseudonymise(args: PseudonymiseArgs) -> Result<Outcome> {
    let key = svna_pseudonymise::load_key(&args.key)?;
    let specs = args
        .tokens
        .iter()
        .map(|t| {
            t.parse::<svna_pseudonymise::TokenSpec>()
                .with_context(|| format!("--token {t}"))
        })
        .collect::<Result<Vec<_>>>()?;
    let match_keys = args
        .match_keys
        .as_deref()
        .map(|m| {
            m.parse::<svna_pseudonymise::MatchKeySpec>()
                .with_context(|| format!("--match-keys {m}"))
        })
        .transpose()?;
    let options = svna_pseudonymise::Options {
        match_keys,
        ..Default::default()
    };
    // Errors name the file, line and column, never a value.
    let stats =
        svna_pseudonymise::pseudonymise_file(&args.input, &args.output, &key, &specs, &options)
            .with_context(|| format!("pseudonymising {}", args.input.display()))?;
    println!(
        "Pseudonymised {} rows ({} tokens, {} match-key tokens) into {}",
        stats.rows,
        stats.tokens,
        stats.match_keys,
        args.output.display()
    );
    if let Some(dataset) = args.dataset {
        return validate(ValidateArgs {
            dataset,
            files: vec![args.output],
            max_per_rule: 10,
            json: false,
        });
    }
    Ok(Outcome::Ok)
}

#[derive(Args)]
pub struct ContractsArgs {
    /// Show this dataset's columns.
    pub dataset: Option<String>,
}

pub fn contracts(args: ContractsArgs) -> Result<Outcome> {
    let contracts = v1();
    match args.dataset {
        None => {
            println!("Data contracts, version {}", contracts.version);
            let rows: Vec<Vec<String>> = contracts
                .datasets
                .iter()
                .map(|d| {
                    vec![
                        d.name.clone(),
                        format!("{:?}", d.kind),
                        d.partner.clone(),
                        d.description.clone(),
                    ]
                })
                .collect();
            print_table(&["dataset", "kind", "from", "description"], &rows);
        }
        Some(name) => {
            let d = contracts.dataset(&name)?;
            println!(
                "{} ({:?}, from {}): {}",
                d.name, d.kind, d.partner, d.description
            );
            let rows: Vec<Vec<String>> = d
                .columns
                .iter()
                .map(|c| {
                    let mut rule = format!("{:?}", c.ty).to_lowercase();
                    if !c.values.is_empty() {
                        rule = format!("one of {}", c.values.join(", "));
                    }
                    if c.min.is_some() || c.max.is_some() {
                        rule = format!(
                            "{rule} {}..={}",
                            c.min.map_or(String::new(), |v| v.to_string()),
                            c.max.map_or(String::new(), |v| v.to_string())
                        );
                    }
                    vec![
                        c.name.clone(),
                        if c.required {
                            "yes".into()
                        } else {
                            "no".into()
                        },
                        rule,
                        c.description.clone(),
                    ]
                })
                .collect();
            print_table(&["column", "required", "rule", "notes"], &rows);
        }
    }
    Ok(Outcome::Ok)
}

/// Fails unless every loaded file was fully staged (used by the demo, whose data is clean).
pub fn ensure_clean(outcomes: &[LoadOutcome]) -> Result<()> {
    for o in outcomes {
        if let Some(reason) = &o.record.refused {
            bail!("{} was refused: {reason}", o.record.source.path);
        }
        if o.record.rows_rejected > 0 {
            bail!(
                "{}: {} rows rejected (see {:?})",
                o.record.source.path,
                o.record.rows_rejected,
                o.record.rejects_path
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct UploadArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    /// Your partner id, e.g. `lincs-police`.
    #[arg(long)]
    pub partner: String,
    /// Contract dataset of the files.
    #[arg(long)]
    pub dataset: String,
    /// Reporting period START..END, e.g. 2023-04-01..2024-03-31.
    #[arg(long)]
    pub period: String,
    /// Fingerprint of the linkage key used (`svna key fingerprint KEY`); required for
    /// person-level data.
    #[arg(long)]
    pub key_fingerprint: Option<String>,
    /// CSV extracts.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Machine-readable output: the upload manifest, or each file's problems.
    #[arg(long)]
    pub json: bool,
}

pub async fn upload(args: UploadArgs) -> Result<Outcome> {
    // Refused before any file is read: the partner id becomes a path segment of the store.
    svna_contracts::check_name(svna_contracts::NameKind::Partner, &args.partner)?;
    if let Some(fingerprint) = &args.key_fingerprint {
        svna_intake::check_fingerprint(fingerprint)?;
    }
    let period = svna_intake::parse_period(&args.period)?;
    let dataset = v1().dataset(&args.dataset)?;
    // Nothing invalid leaves the partner's machine: every file is checked before any is sent.
    let checks = args
        .files
        .iter()
        .map(|path| FileCheck::run(dataset, path))
        .collect::<Result<Vec<_>>>()?;
    const LISTED_PER_RULE: usize = 10;
    if !checks.iter().all(FileCheck::valid) {
        if args.json {
            let files: Vec<_> = checks.iter().map(|c| c.to_json(LISTED_PER_RULE)).collect();
            let report = serde_json::json!({ "uploaded": false, "files": files });
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            checks
                .iter()
                .filter(|c| !c.valid())
                .for_each(|c| c.print(LISTED_PER_RULE));
            println!("Nothing was uploaded: fix the files above and upload again.");
        }
        return Ok(Outcome::Finding);
    }
    let files: Vec<_> = args
        .files
        .iter()
        .zip(&checks)
        .map(|(path, check)| svna_intake::UploadFile {
            path: path.clone(),
            rows: check.counts.as_ref().map_or(0, |c| c.received),
        })
        .collect();
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Landing]);
    let manifest = svna_intake::upload(
        &store,
        v1(),
        &args.partner,
        &args.dataset,
        &period,
        args.key_fingerprint.clone(),
        &files,
    )
    .await?;
    if args.json {
        let report = serde_json::json!({ "uploaded": true, "manifest": manifest });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "Uploaded {} file(s) as {} ({} rows) for {} / {} / {}",
            manifest.files.len(),
            manifest.upload_id,
            manifest.files.iter().filter_map(|f| f.rows).sum::<u64>(),
            manifest.partner,
            manifest.dataset,
            manifest.period
        );
    }
    Ok(Outcome::Ok)
}

#[derive(Args)]
pub struct StoreArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    #[arg(long)]
    pub json: bool,
}

pub async fn intake(args: StoreArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Staged, Zone::Quarantine]);
    let records = svna_intake::intake_all(&store, v1()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else if records.is_empty() {
        println!("No new uploads.");
    } else {
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                let sum = |f: fn(&svna_intake::IntakeFile) -> u64| {
                    r.files.iter().map(f).sum::<u64>().to_string()
                };
                vec![
                    r.partner.clone(),
                    r.dataset.clone(),
                    r.period.clone(),
                    format!("{:?}", r.status).to_lowercase(),
                    sum(|f| f.rows_received),
                    sum(|f| f.rows_staged),
                    sum(|f| f.rows_rejected),
                    r.reason
                        .clone()
                        .or(r.linkage_warning.clone())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        print_table(
            &[
                "partner", "dataset", "period", "outcome", "received", "staged", "rejected",
                "reason",
            ],
            &rows,
        );
    }
    // A quarantined upload, a rejected row or tokens that link with nobody's is a finding
    // (exit 1): the other uploads were taken in all the same.
    let clean = records.iter().all(|r| {
        r.status == svna_intake::IntakeStatus::Staged
            && r.linkage_warning.is_none()
            && r.files
                .iter()
                .all(|f| f.rows_rejected == 0 && f.refused.is_none())
    });
    Ok(if clean { Outcome::Ok } else { Outcome::Finding })
}

pub async fn status(args: StoreArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[]);
    let lines = svna_intake::delivery_status(&store, v1()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
        return Ok(Outcome::Ok);
    }
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.partner.clone(),
                l.dataset.clone(),
                l.period.clone(),
                l.kind.clone(),
                l.upload_id.clone(),
                l.state.clone(),
                l.rows_received.to_string(),
                l.rows_staged.to_string(),
                l.rows_rejected.to_string(),
                l.reason.clone().unwrap_or_default(),
                l.linkage.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_table(
        &[
            "partner", "dataset", "period", "kind", "id", "state", "received", "staged",
            "rejected", "reason", "linkage",
        ],
        &rows,
    );
    Ok(Outcome::Ok)
}

#[derive(Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["delivery", "load"])))]
pub struct RetractArgs {
    /// Store (directory path or URL).
    #[arg(long)]
    pub store: String,
    /// Upload id of a delivery (`svna status` lists them): all its files.
    #[arg(long)]
    pub delivery: Option<String>,
    /// Load id of a `svna load` (`svna status` lists them).
    #[arg(long)]
    pub load: Option<String>,
    /// Why, kept in the staged manifest with the time.
    #[arg(long)]
    pub reason: String,
}

pub async fn retract(args: RetractArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Staged]);
    let target = match (args.delivery, args.load) {
        (Some(id), None) => svna_intake::RetractTarget::Delivery(id),
        (None, Some(id)) => svna_intake::RetractTarget::Load(id),
        _ => bail!("give exactly one of --delivery and --load"),
    };
    let retracted = svna_intake::retract(&store, v1(), &target, &args.reason).await?;
    for r in &retracted {
        if r.already {
            println!(
                "{} / {}: already retracted (the earlier record is kept)",
                r.dataset, r.load_id
            );
        } else {
            println!(
                "{} / {}: retracted; its files are kept, runs no longer read it",
                r.dataset, r.load_id
            );
        }
    }
    Ok(Outcome::Ok)
}
