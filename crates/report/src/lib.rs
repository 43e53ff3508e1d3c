//! `svna report`: a static, self-contained HTML summary of a published release for the
//! partnership's Core Priority Group. Built only from the release's own files (manifest and
//! table CSVs, each checked against the manifest's SHA-256), read through the store so an
//! `s3://` release works like a local one. One `index.html`: inline CSS and SVG, no script,
//! no fonts or links to fetch, so it opens offline and can be emailed as it is.

mod diff;
mod districts;
mod error;
mod html;
mod names;
mod open_data;
mod page;
mod release;
mod sections;
mod standardised;
mod success;
mod svg;
mod table;
mod withheld;

use std::path::{Path, PathBuf};

use svna_storage::Store;

pub use diff::{
    ReleaseDiff, TableDiff, diff_releases, diff_releases_across, diff_table, diff_tables,
    previous_release,
};
pub use error::ReportError;
pub use release::read_manifest;
pub use svna_records::{PublishedTable, ReleaseManifest, release_manifest_path};
pub use table::{Cell, PARTNER_SUPPRESSED, SUPPRESSED, Table};

/// What was written (`svna report --json` prints it).
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportSummary {
    /// The report page.
    pub index_html: PathBuf,
    pub release: String,
    /// Section titles, in page order.
    pub sections: Vec<String>,
    /// Tables the report drew on (each checked against the manifest).
    pub tables_used: Vec<String>,
    /// Tables the report would show that this release does not have.
    pub tables_missing: Vec<String>,
    /// Marks drawn as withheld (`[c]`) that stand for a published cell.
    pub suppressed_marks: usize,
}

/// Writes `<out_dir>/index.html` summarising release `release` of `store`.
pub async fn write_report(
    store: &Store,
    release: &str,
    out_dir: &Path,
) -> Result<ReportSummary, ReportError> {
    let manifest = read_manifest(store, release).await?;
    // Every table, not only those the charts draw: the withheld-cells section describes
    // each table's withheld cells, and each is checked against the manifest like the rest.
    let wanted: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    let tables = sections::Tables::new(
        release::read_tables(store, &manifest, &wanted).await?,
        manifest.left_out.iter().map(|l| l.table.clone()),
    );
    let open = open_data::is_open_data(&tables);
    let mut sections = if open {
        open_data::sections(&tables)
    } else {
        build_sections(&manifest, &tables)
    };
    // What changed since the previous release of the same pipeline, if the store has one:
    // after the headline and how to read the page.
    if let Some(previous) = diff::previous_release(store, &manifest).await? {
        let changes = diff::diff_releases(store, &previous, release).await;
        let at = sections.len().min(2);
        sections.insert(at, diff::since_section(&previous, changes));
    }
    let html = page::render(&manifest, &tables, &sections);
    let index_html = write_page(out_dir, &html)?;
    Ok(ReportSummary {
        index_html,
        release: manifest.release.clone(),
        sections: sections.iter().map(|s| s.title.to_string()).collect(),
        tables_used: tables.names().cloned().collect(),
        tables_missing: if open {
            &[open_data::OPEN_TABLE][..]
        } else {
            &sections::TABLES[..]
        }
        .iter()
        .filter(|t| !tables.contains_key(t))
        .map(|t| t.to_string())
        .collect(),
        suppressed_marks: html.matches("class=\"sup\" data-t=").count(),
    })
}

fn build_sections(manifest: &ReleaseManifest, tables: &sections::Tables) -> Vec<sections::Section> {
    let names = names::Names::from_tables(tables.values());
    vec![
        sections::headline(tables),
        success::success_measures(tables, &names),
        page::how_to_read(),
        sections::monthly_trend(tables),
        sections::hour_weekday(tables),
        sections::age_sex(tables),
        sections::places(tables, &names),
        districts::districts(tables, &names),
        standardised::standardised_rates(tables, &names),
        sections::weapons(tables),
        sections::cohort(tables),
        sections::data_quality(tables),
        withheld::withheld(manifest, tables, &names),
    ]
}

/// Writes the page beside its final name, then renames it, so a reader never opens a
/// half-written report.
fn write_page(out_dir: &Path, html: &str) -> Result<PathBuf, ReportError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| ReportError::Write { path, source }
    };
    std::fs::create_dir_all(out_dir).map_err(io(out_dir))?;
    let index = out_dir.join("index.html");
    let partial = out_dir.join(".index.html.partial");
    std::fs::write(&partial, html).map_err(io(&partial))?;
    std::fs::rename(&partial, &index).map_err(io(&index))?;
    Ok(index)
}
