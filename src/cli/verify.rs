//! `svna verify`: a published release re-checked as an outsider.

use anyhow::Result;
use clap::Args;
use svna_publish::verify_release;
use svna_storage::Store;

use super::Outcome;
use super::args::split_release_url;
use super::output::render;

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

pub async fn verify(args: VerifyArgs) -> Result<Outcome> {
    let (location, release) = split_release_url(&args.release_url)?;
    let store = Store::open(&location)?.restricted_to(&[]);
    let report = verify_release(&store, &release).await?;
    render(args.json, &report, |report| {
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
    })?;
    Ok(if report.problems.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Finding
    })
}
