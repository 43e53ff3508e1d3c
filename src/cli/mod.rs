//! The command line: the clap definition of every command and the dispatch to its file.
//! Each command lives in a file of its own here (its arguments, its handler and its human
//! output); [`output`] prints every command's report, as text or as `--json`.

mod args;
mod audit;
mod cluster;
mod contracts;
mod demo;
mod diff;
mod init;
mod intake;
mod key;
mod keygen;
mod load;
mod output;
mod protect;
mod pseudonymise;
mod publish;
mod report;
mod retract;
mod run;
mod status;
mod synth;
mod upload;
mod validate;
mod verify;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// One file loaded as `svna load` loads it, which `project.rs` (reference data a pipeline
/// needs and the store lacks) shares with `svna load` and `svna demo`.
pub(crate) use load::{ensure_clean, load_one};

/// How a command that ran to its end came out: exit code 0 ok, 1 a finding (e.g. data
/// rejected by validation). A command that fails returns an error instead, whose exit code
/// `exit_code` in main.rs derives from its kind.
pub enum Outcome {
    Ok,
    Finding,
}

#[derive(Parser)]
#[command(
    name = "svna",
    version,
    about = "Serious Violence strategic needs assessment: pseudonymise, validate, stage, aggregate, protect, publish.",
    long_about = "svna brings partner data together for a Serious Violence Duty needs assessment.\n\n\
Partners pseudonymise and validate their extracts on their own machine (keygen, pseudonymise, validate).\n\
The hub loads them into a store (load), analysts run the SQL pipeline (run), and the coordinator publishes\n\
only disclosure-controlled aggregates (publish). `svna demo` does all of it on synthetic data.\n\n\
A STORE is a directory path (the default, local) or a URL: s3://bucket/prefix, az://container/prefix,\n\
gs://bucket/prefix (credentials from the environment, as AWS_*, AZURE_*, GOOGLE_* variables).\n\n\
Exit codes: 0 ok, 1 a finding (data rejected, check failed, release refused), 2 an error (I/O, storage, configuration).",
    after_help = "Start with:  svna demo        (a full run on synthetic data in ./svna-demo)"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the whole pipeline on synthetic data: synth -> load -> run -> publish.
    Demo(demo::DemoArgs),
    /// Start a partnership's project: pipelines, SQL and definitions to edit, with its
    /// districts resolved from the ONS lookup built into svna.
    Init(init::InitArgs),
    /// Write synthetic, contract-conforming partner extracts (deterministic for a seed).
    Synth(synth::SynthArgs),
    /// Check extracts against their data contract; print every problem with file, line and column.
    Validate(validate::ValidateArgs),
    /// Partner side: validate extracts, then upload them with a manifest (nothing invalid leaves).
    Upload(upload::UploadArgs),
    /// Hub side: take in every new upload (checksums, key fingerprint, validation, staging).
    Intake(args::StoreArgs),
    /// Which partner delivered which dataset for which period; what is quarantined and why.
    Status(args::StoreArgs),
    /// Take a delivery or load back: kept and recorded with the reason, no longer read by runs.
    Retract(retract::RetractArgs),
    /// Upload extracts into a store's landing zone and stage their valid rows as typed Parquet
    /// in one step (for reference data and single-machine use).
    Load(load::LoadArgs),
    /// Run a pipeline's SQL stages against the staged data; writes a run record.
    Run(run::RunArgs),
    /// Start a Ballista scheduler or executor (same binary) to run stages on several machines
    /// (`svna run --cluster df://HOST:PORT`).
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Publish a finished run's aggregates as a disclosure-controlled release.
    Publish(publish::PublishArgs),
    /// Re-check a published release as an outsider: checksums, and an audit of the published tables alone.
    Verify(verify::VerifyArgs),
    /// What changed between two releases, table by table: cells up, down, newly withheld or
    /// published, rows and tables added or removed (published figures only).
    Diff(diff::DiffArgs),
    /// Write a self-contained HTML summary of a published release (charts, [c] for withheld cells).
    Report(report::ReportArgs),
    /// Protect any table (CSV, one row per cell incl. totals): primary and secondary suppression, audit.
    Protect(protect::ProtectArgs),
    /// Re-check a published table as an outsider: can any withheld `[c]` cell be recomputed?
    Audit(audit::AuditArgs),
    /// Create a new partnership linkage key (32 random bytes, owner-only file).
    Keygen(keygen::KeygenArgs),
    /// Linkage-key tools.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Replace identifier columns of a CSV extract by keyed tokens (HMAC-SHA256).
    Pseudonymise(pseudonymise::PseudonymiseArgs),
    /// List the data contracts, or show one dataset's columns and rules.
    Contracts(contracts::ContractsArgs),
}

/// Runs the command the arguments name.
pub async fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        Command::Demo(args) => demo::run(args).await,
        Command::Init(args) => init::run(args),
        Command::Synth(args) => synth::synth(args),
        Command::Validate(args) => validate::validate(args),
        Command::Load(args) => load::load(args).await,
        Command::Upload(args) => upload::upload(args).await,
        Command::Intake(args) => intake::intake(args).await,
        Command::Status(args) => status::status(args).await,
        Command::Retract(args) => retract::retract(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Cluster(cmd) => cluster::cluster(cmd).await,
        Command::Publish(args) => publish::publish(args).await,
        Command::Verify(args) => verify::verify(args).await,
        Command::Diff(args) => diff::diff(args).await,
        Command::Report(args) => report::report(args).await,
        Command::Protect(args) => protect::protect_table(args),
        Command::Audit(args) => audit::audit_table(args),
        Command::Keygen(args) => keygen::keygen(args),
        Command::Key(cmd) => key::key(cmd).await,
        Command::Pseudonymise(args) => pseudonymise::pseudonymise(args),
        Command::Contracts(args) => contracts::contracts(args),
    }
}
