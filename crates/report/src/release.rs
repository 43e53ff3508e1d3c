//! Reading a release from the store: the manifest, then each table's CSV, checked against
//! the manifest's SHA-256 before a single number from it is used.
//!
//! The manifest is read through a narrow view of `svna_publish::ReleaseManifest` rather than
//! that type itself: svna-publish links the disclosure solver and Parquet, and a reader of
//! published JSON and CSV should build in seconds. Unknown fields are ignored, so the view
//! keeps working as the manifest grows; the binary's test checks both read the same release.
//! Each table's disclosure spec is the one type, `svna_records::DisclosureSpec`.

use std::collections::BTreeMap;

use serde::Deserialize;
use svna_records::DisclosureSpec;
use svna_storage::{FileEntry, Store, sha256_hex};

use crate::error::ReportError;
use crate::table::Table;

/// The parts of a release manifest the report shows or needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ManifestView {
    pub release: String,
    pub created_at: String,
    #[serde(default)]
    pub tool_version: String,
    pub run_id: String,
    pub pipeline: String,
    pub tables: Vec<TableEntry>,
    #[serde(default)]
    pub withheld_cells: usize,
    #[serde(default)]
    pub published_cells: usize,
    /// Tables (or a table's count column, `table.column`) disclosure control withheld whole.
    #[serde(default)]
    pub left_out: Vec<LeftOutView>,
}

/// A table or column the release left out whole, and why.
#[derive(Debug, Clone, Deserialize)]
pub struct LeftOutView {
    pub table: String,
    #[serde(default)]
    pub reason: String,
}

/// One published table as the manifest lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct TableEntry {
    pub name: String,
    /// Read leniently (unknown keys ignored), so releases of other svna versions still read.
    pub disclosure: DisclosureSpec,
    pub csv: FileEntry,
    #[serde(default)]
    pub cells: usize,
    #[serde(default)]
    pub withheld: usize,
}

/// Where a release's manifest lies in its store.
pub fn manifest_path(release: &str) -> String {
    format!("published/{release}/manifest.json")
}

/// Reads and parses a release's manifest.
pub async fn read_manifest(store: &Store, release: &str) -> Result<ManifestView, ReportError> {
    let path = manifest_path(release);
    let bytes = store.get(&path).await?;
    serde_json::from_slice(&bytes).map_err(|source| ReportError::Manifest { path, source })
}

/// Reads one table's CSV, refusing it unless it hashes to what the manifest says.
pub async fn read_table(store: &Store, entry: &TableEntry) -> Result<Table, ReportError> {
    let bytes = store.get(&entry.csv.path).await?;
    let actual = sha256_hex(&bytes);
    if actual != entry.csv.sha256 {
        return Err(ReportError::Tampered {
            path: entry.csv.path.clone(),
            expected: entry.csv.sha256.clone(),
            actual,
        });
    }
    Table::parse(entry, &bytes)
}

/// Reads the tables the report draws on that the release has; the others are left out and
/// the report says so where it would have shown them.
pub async fn read_tables(
    store: &Store,
    manifest: &ManifestView,
    wanted: &[&str],
) -> Result<BTreeMap<String, Table>, ReportError> {
    let mut tables = BTreeMap::new();
    for entry in manifest
        .tables
        .iter()
        .filter(|t| wanted.contains(&t.name.as_str()))
    {
        tables.insert(entry.name.clone(), read_table(store, entry).await?);
    }
    Ok(tables)
}
