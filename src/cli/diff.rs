//! `svna diff OLD NEW`: what changed between two releases, table by table. The comparison is
//! `svna_report::diff_releases`; this prints it.

use anyhow::{Context, Result};
use clap::Args;
use svna_storage::Store;

use super::Outcome;
use super::args::split_release_url;
use super::output::{print_table, render};

#[derive(Args)]
#[command(
    after_help = "Compares the published figures of two releases, read from their own files (manifest and \
table CSVs, each checked against the manifest's SHA-256). Per table both publish: cells (row and count \
column) whose published figure went up, went down or stayed the same, cells newly withheld (published \
before, [c] now), newly published, and rows added or removed; and the tables only one release has. \
Only figures both releases publish are compared, and only counts of cells are printed: never a figure, \
never anything about a withheld one.\n\n\
Examples:\n  svna diff ./store/published/sna-2025 ./store/published/sna-2026\n  \
svna diff ./store/published/sna-2025 sna-2026        (NEW in the same store)\n  \
svna diff s3://bucket/svna/published/sna-2025 s3://bucket/svna/published/sna-2026 --json\n\n\
Exit 0 when compared (whatever changed), 2 when a release cannot be read or a file does not match its checksum."
)]
pub struct DiffArgs {
    /// The earlier release: `<store>/published/<release>` (a path, or an s3://, az://, gs:// URL).
    pub old: String,
    /// The later release: `<store>/published/<release>`, or a release name in OLD's store.
    pub new: String,
    #[arg(long)]
    pub json: bool,
}

pub async fn diff(args: DiffArgs) -> Result<Outcome> {
    let (old_location, old) = split_release_url(&args.old)?;
    let (new_location, new) = if !args.new.contains('/') && !args.new.is_empty() {
        (old_location.clone(), args.new.clone())
    } else {
        split_release_url(&args.new)?
    };
    let old_store = Store::open(&old_location)?.restricted_to(&[]);
    let new_store = Store::open(&new_location)?.restricted_to(&[]);
    let diff = svna_report::diff_releases_across(&old_store, &old, &new_store, &new)
        .await
        .with_context(|| format!("cannot compare release `{old}` with release `{new}`"))?;
    render(args.json, &diff, print_diff)?;
    Ok(Outcome::Ok)
}

fn print_diff(diff: &svna_report::ReleaseDiff) {
    println!(
        "Changes from release `{}` to release `{}`",
        diff.old, diff.new
    );
    println!(
        "  (published figures only: a cell withheld in either release is counted as newly withheld, newly published or still withheld, never compared)"
    );
    let list = |names: &[String]| {
        if names.is_empty() {
            "none".to_string()
        } else {
            names.join(", ")
        }
    };
    println!("  tables added: {}", list(&diff.tables_added));
    println!("  tables removed: {}", list(&diff.tables_removed));
    let rows: Vec<Vec<String>> = diff
        .tables
        .iter()
        .map(|t| {
            vec![
                t.table.clone(),
                t.up.to_string(),
                t.down.to_string(),
                t.unchanged.to_string(),
                t.newly_withheld.to_string(),
                t.newly_published.to_string(),
                t.still_withheld.to_string(),
                t.rows_added.to_string(),
                t.rows_removed.to_string(),
            ]
        })
        .collect();
    print_table(
        &[
            "table",
            "up",
            "down",
            "unchanged",
            "newly withheld",
            "newly published",
            "still withheld",
            "rows added",
            "rows removed",
        ],
        &rows,
    );
    for t in &diff.tables {
        if !t.columns_added.is_empty() || !t.columns_removed.is_empty() {
            println!(
                "  {}: count columns added: {}; removed: {}",
                t.table,
                list(&t.columns_added),
                list(&t.columns_removed)
            );
        }
    }
    let changed = diff.tables.iter().filter(|t| t.changed()).count();
    println!(
        "  {changed} of {} tables in both releases changed",
        diff.tables.len()
    );
}
