//! Reading a release from the store: the manifest, then each table's CSV, checked against
//! the manifest's SHA-256 before a single number from it is used.
//!
//! The manifest is the one type publish commits, `svna_records::ReleaseManifest`, read
//! leniently (unknown fields ignored, later fields defaulted) so releases of other svna
//! versions still read; svna-records links neither the disclosure solver nor DataFusion, so
//! a reader of published JSON and CSV stays quick to build.

use std::collections::BTreeMap;

use svna_records::{PublishedTable, ReleaseManifest, release_manifest_path};
use svna_storage::{Store, sha256_hex};

use crate::error::ReportError;
use crate::table::Table;

/// Reads and parses a release's manifest.
pub async fn read_manifest(store: &Store, release: &str) -> Result<ReleaseManifest, ReportError> {
    let path = release_manifest_path(release);
    let bytes = store.get(&path).await?;
    serde_json::from_slice(&bytes).map_err(|source| ReportError::Manifest { path, source })
}

/// Reads one table's CSV, refusing it unless it hashes to what the manifest says.
pub async fn read_table(store: &Store, entry: &PublishedTable) -> Result<Table, ReportError> {
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
    manifest: &ReleaseManifest,
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
