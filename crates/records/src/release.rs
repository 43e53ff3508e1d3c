//! The release manifest, committed by publish (written last, so a release without one does
//! not exist) and read by the report, `svna diff`, `svna verify` and every later publish.
//! Read leniently, as the report always read releases: unknown fields are ignored, and only
//! what names the release and its tables is required (release, time, run, pipeline, tables,
//! each table's name, declaration and CSV). Anything else missing reads as empty, so a
//! release of another svna version, or one made by hand, still reads; `svna verify` then
//! finds a file entry that is missing (an empty path) and says so.

use serde::{Deserialize, Serialize};
use svna_storage::{FileEntry, Zone};

use crate::record::InputRecord;
use crate::spec::DisclosureSpec;

/// The release manifest: every published file with its checksum, and where every number
/// came from (run record, staged inputs, SQL, policies).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReleaseManifest {
    pub release: String,
    pub created_at: String,
    #[serde(default)]
    pub tool_version: String,
    pub run_id: String,
    #[serde(default)]
    pub run_record: FileEntry,
    pub pipeline: String,
    #[serde(default)]
    pub pipeline_sha256: String,
    #[serde(default)]
    pub contract_version: u32,
    #[serde(default)]
    pub inputs: Vec<InputRecord>,
    #[serde(default)]
    pub sql: Vec<SqlHash>,
    pub tables: Vec<PublishedTable>,
    #[serde(default)]
    pub disclosure_report: Vec<FileEntry>,
    /// What each table counts, from which sources and definitions, under which policy.
    #[serde(default)]
    pub data_dictionary: Vec<FileEntry>,
    /// Every table, the contents and the data dictionary as one Excel workbook
    /// (`release.xlsx`); absent in releases made before there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workbook: Option<FileEntry>,
    #[serde(default)]
    pub withheld_cells: usize,
    #[serde(default)]
    pub published_cells: usize,
    /// Earlier releases (from the ledger) protected and audited jointly with this one.
    #[serde(default)]
    pub linked_releases: Vec<String>,
    /// Of the linked releases, those whose figures were revised since (still protected
    /// jointly: each shared figure may be assumed to change the way the data changed).
    #[serde(default)]
    pub revised_releases: Vec<String>,
    /// Tables of the run that are not published, and why.
    #[serde(default)]
    pub left_out: Vec<LeftOut>,
}

/// One stage's SQL file and its checksum when the run ran it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SqlHash {
    pub stage: String,
    pub sql_file: String,
    pub sql_sha256: String,
}

/// One published table: its declaration, its files and how many of its cells are withheld.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedTable {
    pub name: String,
    pub disclosure: DisclosureSpec,
    #[serde(default)]
    pub parquet: FileEntry,
    pub csv: FileEntry,
    #[serde(default)]
    pub cells: usize,
    /// Cells published without a figure: withheld by svna (`[c]`) or by the partner (`[p]`).
    #[serde(default)]
    pub withheld: usize,
    /// Of the withheld cells, those the partner withheld before sharing (`[p]`).
    #[serde(default)]
    pub partner_withheld: usize,
    /// Figures that are lower bounds (they include parts the partner withheld), published
    /// or withheld by svna.
    #[serde(default)]
    pub lower_bounds: usize,
}

/// The name of a release's manifest inside its folder.
pub const RELEASE_MANIFEST: &str = "manifest.json";

/// A release's folder in the published zone, ending in `/`.
pub fn release_prefix(release: &str) -> String {
    Zone::Published.join(&format!("{release}/"))
}

/// Where a release's manifest lies: written last, it is the release's commit point.
pub fn release_manifest_path(release: &str) -> String {
    format!("{}{RELEASE_MANIFEST}", release_prefix(release))
}

/// A table, or one count column of it (`table.column`), that a release leaves out whole
/// because nothing of it could be published safely, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    pub table: String,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A release made by hand, or by another svna version, reads with only its names and
    /// tables; what it lacks is empty. A manifest without its tables is no release.
    #[test]
    fn a_manifest_needs_its_names_and_tables_and_nothing_else() {
        let table = serde_json::json!({
            "name": "t",
            "disclosure": {"policy": "threshold", "k": 5, "counts": ["n"], "dimensions": ["area"]},
            "csv": {"path": "published/r/tables/t.csv", "sha256": "0", "size": 0},
            "added_by_a_later_version": true,
        });
        let mut manifest = serde_json::json!({
            "release": "r", "created_at": "2026-01-31T09:00:00Z", "run_id": "run",
            "pipeline": "sna", "tables": [table],
        });
        let read: ReleaseManifest = serde_json::from_value(manifest.clone()).unwrap();
        assert_eq!(read.tables[0].parquet.path, "");
        assert!(read.disclosure_report.is_empty() && read.sql.is_empty());
        manifest.as_object_mut().unwrap().remove("tables");
        let error = serde_json::from_value::<ReleaseManifest>(manifest).unwrap_err();
        assert!(
            error.to_string().contains("missing field `tables`"),
            "{error}"
        );
    }
}
