//! `svna`: the command line of the Serious Violence needs-assessment pipeline.
//! Thin by design: each command parses arguments and calls one library.

mod commands;
mod demo;
mod diff;
mod html_report;
mod init;
mod population;
mod project;
mod report;
mod sdc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// How a command that ran to its end came out: exit code 0 ok, 1 a finding (e.g. data
/// rejected by validation). A command that fails returns an error instead, whose exit code
/// [`exit_code`] derives from its kind.
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
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole pipeline on synthetic data: synth -> load -> run -> publish.
    Demo(demo::DemoArgs),
    /// Start a partnership's project: pipelines, SQL and definitions to edit, with its
    /// districts resolved from the ONS lookup built into svna.
    Init(init::InitArgs),
    /// Write synthetic, contract-conforming partner extracts (deterministic for a seed).
    Synth(commands::SynthArgs),
    /// Check extracts against their data contract; print every problem with file, line and column.
    Validate(commands::ValidateArgs),
    /// Partner side: validate extracts, then upload them with a manifest (nothing invalid leaves).
    Upload(commands::UploadArgs),
    /// Hub side: take in every new upload (checksums, key fingerprint, validation, staging).
    Intake(commands::StoreArgs),
    /// Which partner delivered which dataset for which period; what is quarantined and why.
    Status(commands::StoreArgs),
    /// Take a delivery or load back: kept and recorded with the reason, no longer read by runs.
    Retract(commands::RetractArgs),
    /// Upload extracts into a store's landing zone and stage their valid rows as typed Parquet
    /// in one step (for reference data and single-machine use).
    Load(commands::LoadArgs),
    /// Run a pipeline's SQL stages against the staged data; writes a run record.
    Run(commands::RunArgs),
    /// Publish a finished run's aggregates as a disclosure-controlled release.
    Publish(commands::PublishArgs),
    /// Re-check a published release as an outsider: checksums, and an audit of the published tables alone.
    Verify(commands::VerifyArgs),
    /// What changed between two releases, table by table: cells up, down, newly withheld or
    /// published, rows and tables added or removed (published figures only).
    Diff(diff::DiffArgs),
    /// Write a self-contained HTML summary of a published release (charts, [c] for withheld cells).
    Report(html_report::ReportArgs),
    /// Protect any table (CSV, one row per cell incl. totals): primary and secondary suppression, audit.
    Protect(sdc::ProtectArgs),
    /// Re-check a published table as an outsider: can any withheld `[c]` cell be recomputed?
    Audit(sdc::AuditArgs),
    /// Create a new partnership linkage key (32 random bytes, owner-only file).
    Keygen(commands::KeygenArgs),
    /// Linkage-key tools.
    #[command(subcommand)]
    Key(commands::KeyCommand),
    /// Replace identifier columns of a CSV extract by keyed tokens (HMAC-SHA256).
    Pseudonymise(commands::PseudonymiseArgs),
    /// List the data contracts, or show one dataset's columns and rules.
    Contracts(commands::ContractsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => demo::run(args).await,
            Command::Init(args) => init::run(args),
            Command::Synth(args) => commands::synth(args),
            Command::Validate(args) => commands::validate(args),
            Command::Load(args) => commands::load(args).await,
            Command::Upload(args) => commands::upload(args).await,
            Command::Intake(args) => commands::intake(args).await,
            Command::Status(args) => commands::status(args).await,
            Command::Retract(args) => commands::retract(args).await,
            Command::Run(args) => commands::run(args).await,
            Command::Publish(args) => commands::publish(args).await,
            Command::Verify(args) => commands::verify(args).await,
            Command::Diff(args) => diff::diff(args).await,
            Command::Report(args) => html_report::report(args).await,
            Command::Protect(args) => sdc::protect_table(args),
            Command::Audit(args) => sdc::audit_table(args),
            Command::Keygen(args) => commands::keygen(args),
            Command::Key(cmd) => commands::key(cmd).await,
            Command::Pseudonymise(args) => commands::pseudonymise(args),
            Command::Contracts(args) => commands::contracts(args),
        }
    });
    match result {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Finding) => ExitCode::from(1),
        Err(e) => {
            let code = exit_code(&e);
            let label = if code == 1 { "refused" } else { "error" };
            eprintln!("{label}: {}", error_text(&e));
            ExitCode::from(code)
        }
    }
}

/// The exit code of a failed command, from the kind of its error: 1 where svna refused
/// something for what it is (a release whose tables must not leave the partnership: a
/// finding about the data, like rows rejected by validation), 2 for every other error
/// (I/O, storage, configuration, arguments), which says nothing about the data. The one
/// place an error becomes an exit code.
fn exit_code(error: &anyhow::Error) -> u8 {
    let finding = error.chain().any(|cause| {
        cause
            .downcast_ref::<svna_publish::PublishError>()
            .is_some_and(svna_publish::PublishError::is_finding)
    });
    if finding { 1 } else { 2 }
}

/// The error and its causes, each said once. svna's library errors name their cause in their
/// own message and also keep it as their `source()`, so that callers can inspect it; anyhow's
/// `{:#}` would print each such cause a second time.
fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}
