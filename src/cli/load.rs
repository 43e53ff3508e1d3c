//! `svna load`: upload extracts to the landing zone and stage them in one step.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;
use svna_contracts::v1;
use svna_intake::{LoadOutcome, LoadRequest};
use svna_storage::{Store, Zone};

use super::Outcome;
use super::output::{print_table, render};

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

/// Loads one local file with svna's contracts: `svna_intake::load_local_file`.
pub async fn load_one(
    store: &Store,
    dataset: &str,
    path: &Path,
    request: &LoadRequest,
) -> Result<LoadOutcome> {
    Ok(svna_intake::load_local_file(store, v1(), dataset, path, request).await?)
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
    render(args.json, &outcomes, |outcomes| {
        print_loads(&args.dataset, outcomes)
    })?;
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
