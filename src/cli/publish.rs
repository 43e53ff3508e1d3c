//! `svna publish`: a finished run's aggregates as a disclosure-controlled release.

use anyhow::Result;
use clap::Args;
use svna_publish::{PublishOptions, ReleaseManifest, publish_run};
use svna_storage::{Store, Zone};

use super::Outcome;
use super::output::{print_table, render};

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
    render(args.json, &manifest, |manifest| {
        print_release(&store, manifest)
    })?;
    Ok(Outcome::Ok)
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
