//! `svna upload`: the partner side: validate extracts, then upload them with a manifest.
//! The rule (nothing invalid leaves) is `svna_intake::upload_extracts`; this prints it.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;
use svna_contracts::v1;
use svna_intake::{FileCheckReport, UploadManifest, UploadOutcome, UploadRequest};
use svna_storage::{Store, Zone};

use super::Outcome;
use super::output::render;
use super::validate::print_check;

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

/// Problems listed per rule for a refused file.
const LISTED_PER_RULE: usize = 10;

/// `svna upload --json`: `uploaded`, and the manifest sent or every file's check.
#[derive(Serialize)]
struct UploadReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<Vec<FileCheckReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    manifest: Option<UploadManifest>,
    uploaded: bool,
}

pub async fn upload(args: UploadArgs) -> Result<Outcome> {
    let request = UploadRequest {
        partner: &args.partner,
        dataset: &args.dataset,
        period: &args.period,
        key_fingerprint: args.key_fingerprint.clone(),
        files: &args.files,
    };
    let open_store = || Ok(Store::open(&args.store)?.restricted_to(&[Zone::Landing]));
    match svna_intake::upload_extracts(open_store, v1(), &request).await? {
        UploadOutcome::Refused(checks) => {
            let report = UploadReport {
                files: Some(checks.iter().map(|c| c.report(LISTED_PER_RULE)).collect()),
                manifest: None,
                uploaded: false,
            };
            render(args.json, &report, |_| {
                checks
                    .iter()
                    .filter(|c| !c.valid())
                    .for_each(|c| print_check(c, LISTED_PER_RULE));
                println!("Nothing was uploaded: fix the files above and upload again.");
            })?;
            Ok(Outcome::Finding)
        }
        UploadOutcome::Uploaded(manifest) => {
            let report = UploadReport {
                files: None,
                manifest: Some(manifest),
                uploaded: true,
            };
            render(args.json, &report, |report| {
                let manifest = report.manifest.as_ref().expect("uploaded");
                println!(
                    "Uploaded {} file(s) as {} ({} rows) for {} / {} / {}",
                    manifest.files.len(),
                    manifest.upload_id,
                    manifest.files.iter().filter_map(|f| f.rows).sum::<u64>(),
                    manifest.partner,
                    manifest.dataset,
                    manifest.period
                );
            })?;
            Ok(Outcome::Ok)
        }
    }
}
