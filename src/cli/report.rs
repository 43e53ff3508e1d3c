//! `svna report`: the release summary for the Core Priority Group, as one self-contained
//! HTML page written from a published release's files alone.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use svna_storage::Store;

use super::Outcome;
use super::args::split_release_url;
use super::output::{Progress, render};

#[derive(Args)]
#[command(
    // The variant's doc line in main.rs is the short help; a doc comment there would also
    // replace a `long_about` here, so the teaching text lives in `after_help`.
    after_help = "The page is built only from the release's published files: the manifest and the table \
CSVs, each checked against the manifest's SHA-256 first (a changed file is refused). It shows the \
headline measures with their trend, charts (monthly trend, hour x weekday, victims and suspects by \
age and sex, the wards with the highest rates, each district by year and category, weapon mix, \
cohort overlap across agencies), the data-quality table and every withheld cell in words. Areas \
are named as the release names them. A withheld cell is drawn as a hatched mark labelled [c], \
never as 0; a chart withheld in every cell is a note saying so; sections whose table the release \
lacks (or withheld whole) say so. Everything is inline (CSS, SVG charts; no script, fonts or \
links to fetch), so DIR/index.html opens offline and can be sent on as a single file.\n\n\
Examples:\n  svna report ./svna-demo/store/published/demo-run-20261123T101500Z -o ./cpg-report\n  \
svna report s3://bucket/svna/published/sna-2026 -o ./cpg-report\n\n\
Exit 0 when the report was written, 2 when the release cannot be read or a file does not match its checksum."
)]
pub struct ReportArgs {
    /// The release: `<store>/published/<release>` (a path, or an s3://, az://, gs:// URL).
    pub release_url: String,
    /// Directory to write `index.html` into (created if absent; an existing report is replaced).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Machine-readable output: what was written (the page, its sections, the tables used
    /// and missing, the withheld marks drawn).
    #[arg(long)]
    pub json: bool,
}

pub async fn report(args: ReportArgs) -> Result<Outcome> {
    let (location, release) = split_release_url(&args.release_url)?;
    let store = Store::open(&location)?.restricted_to(&[]);
    let progress = Progress::new(args.json);
    progress.step(&format!("Writing the report of release `{release}`..."));
    let summary = svna_report::write_report(&store, &release, &args.out)
        .await
        .with_context(|| format!("cannot report release `{release}`"))?;
    progress.finish();
    render(args.json, &summary, print_summary)?;
    Ok(Outcome::Ok)
}

fn print_summary(summary: &svna_report::ReportSummary) {
    println!(
        "Report of release `{}`: {} sections from {} tables, {} withheld cells shown as [c] (or [p], withheld by the partner)",
        summary.release,
        summary.sections.len(),
        summary.tables_used.len(),
        summary.suppressed_marks
    );
    if !summary.tables_missing.is_empty() {
        println!(
            "  not in this release (noted in the report): {}",
            summary.tables_missing.join(", ")
        );
    }
    println!("{}", summary.index_html.display());
}
