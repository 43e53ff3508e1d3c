//! What changed between two releases, table by table: published figures that went up, went
//! down or stayed the same, figures newly withheld or newly published, rows added or removed,
//! and tables added or removed.
//!
//! Only what both releases publish is compared: a withheld cell (`[c]`) is "withheld" and
//! nothing more, so a difference never involves a withheld value, and the result holds counts
//! of cells only, never a figure. It is built from the releases'
//! own files (manifests and table CSVs, each checked against its manifest's SHA-256), like the
//! report.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use svna_storage::Store;

use crate::error::ReportError;
use crate::release::{read_manifest, read_tables};
use crate::table::{Cell, Table};
use svna_records::ReleaseManifest;

/// The changes from one release to another.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReleaseDiff {
    pub old: String,
    pub new: String,
    /// Tables the new release publishes and the old one did not.
    pub tables_added: Vec<String>,
    /// Tables the old release published and the new one does not.
    pub tables_removed: Vec<String>,
    /// Every table both publish, by name.
    pub tables: Vec<TableDiff>,
}

/// The changes in one table both releases publish. A cell is a row (its dimension values)
/// and a count column; rows only one release has are counted as rows added or removed and
/// their cells are not compared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableDiff {
    pub table: String,
    /// Published in both, higher in the new release.
    pub up: usize,
    /// Published in both, lower in the new release.
    pub down: usize,
    /// Published in both, the same.
    pub unchanged: usize,
    /// Published in the old release, withheld in the new one.
    pub newly_withheld: usize,
    /// Withheld in the old release, published in the new one.
    pub newly_published: usize,
    /// Withheld in both.
    pub still_withheld: usize,
    pub rows_added: usize,
    pub rows_removed: usize,
    /// Count columns only one release has (compared as neither).
    pub columns_added: Vec<String>,
    pub columns_removed: Vec<String>,
}

impl TableDiff {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.up + self.down + self.newly_withheld + self.newly_published > 0
            || self.rows_added + self.rows_removed > 0
            || !self.columns_added.is_empty()
            || !self.columns_removed.is_empty()
    }
}

/// The state of a cell as a reader of the CSV sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seen {
    Published(f64),
    Withheld,
    /// Empty or not a number: neither published nor withheld (compared as nothing).
    Blank,
}

fn seen(cell: Cell) -> Seen {
    match cell {
        Cell::Value(v) => Seen::Published(v),
        Cell::Suppressed => Seen::Withheld,
        Cell::Blank => Seen::Blank,
    }
}

/// Per row key, the cells of each count column.
fn cells(table: &Table, columns: &[String]) -> BTreeMap<String, Vec<Seen>> {
    table
        .rows()
        .map(|row| {
            let cells = columns.iter().map(|c| seen(row.cell(c))).collect();
            (row.key(), cells)
        })
        .collect()
}

/// Compares one table of two releases.
pub fn diff_table(old: &Table, new: &Table) -> TableDiff {
    let mut diff = TableDiff {
        table: new.name.clone(),
        ..TableDiff::default()
    };
    let old_counts: BTreeSet<&String> = old.spec.counts.iter().collect();
    let new_counts: BTreeSet<&String> = new.spec.counts.iter().collect();
    let both: Vec<String> = new
        .spec
        .counts
        .iter()
        .filter(|c| old_counts.contains(c) && old.has(c) && new.has(c))
        .cloned()
        .collect();
    diff.columns_added = new_counts
        .difference(&old_counts)
        .map(|c| c.to_string())
        .collect();
    diff.columns_removed = old_counts
        .difference(&new_counts)
        .map(|c| c.to_string())
        .collect();
    // Rows are identified by their dimension values; a change of dimensions makes every row
    // new (and every old row removed).
    let same_dimensions = old.spec.dimensions == new.spec.dimensions;
    let old_cells = cells(old, &both);
    let new_cells = cells(new, &both);
    for (key, after) in &new_cells {
        let Some(before) = old_cells.get(key).filter(|_| same_dimensions) else {
            diff.rows_added += 1;
            continue;
        };
        for (b, a) in before.iter().zip(after) {
            match (b, a) {
                (Seen::Published(b), Seen::Published(a)) if a > b => diff.up += 1,
                (Seen::Published(b), Seen::Published(a)) if a < b => diff.down += 1,
                (Seen::Published(_), Seen::Published(_)) => diff.unchanged += 1,
                (Seen::Published(_), Seen::Withheld) => diff.newly_withheld += 1,
                (Seen::Withheld, Seen::Published(_)) => diff.newly_published += 1,
                (Seen::Withheld, Seen::Withheld) => diff.still_withheld += 1,
                _ => {}
            }
        }
    }
    diff.rows_removed = if same_dimensions {
        old_cells
            .keys()
            .filter(|k| !new_cells.contains_key(*k))
            .count()
    } else {
        old_cells.len()
    };
    diff
}

/// Compares the tables of two releases.
pub fn diff_tables(
    old_name: &str,
    new_name: &str,
    old: &BTreeMap<String, Table>,
    new: &BTreeMap<String, Table>,
) -> ReleaseDiff {
    ReleaseDiff {
        old: old_name.to_string(),
        new: new_name.to_string(),
        tables_added: new
            .keys()
            .filter(|t| !old.contains_key(*t))
            .cloned()
            .collect(),
        tables_removed: old
            .keys()
            .filter(|t| !new.contains_key(*t))
            .cloned()
            .collect(),
        tables: new
            .iter()
            .filter_map(|(name, table)| old.get(name).map(|o| diff_table(o, table)))
            .collect(),
    }
}

async fn all_tables(
    store: &Store,
    manifest: &ReleaseManifest,
) -> Result<BTreeMap<String, Table>, ReportError> {
    let names: Vec<&str> = manifest.tables.iter().map(|t| t.name.as_str()).collect();
    read_tables(store, manifest, &names).await
}

/// Compares release `old` with release `new`, both in `store` (each table checked against its
/// manifest first).
pub async fn diff_releases(
    store: &Store,
    old: &str,
    new: &str,
) -> Result<ReleaseDiff, ReportError> {
    diff_releases_across(store, old, store, new).await
}

/// Compares release `old` of `old_store` with release `new` of `new_store`.
pub async fn diff_releases_across(
    old_store: &Store,
    old: &str,
    new_store: &Store,
    new: &str,
) -> Result<ReleaseDiff, ReportError> {
    let old_manifest = read_manifest(old_store, old).await?;
    let new_manifest = read_manifest(new_store, new).await?;
    let old_tables = all_tables(old_store, &old_manifest).await?;
    let new_tables = all_tables(new_store, &new_manifest).await?;
    Ok(diff_tables(
        &old_manifest.release,
        &new_manifest.release,
        &old_tables,
        &new_tables,
    ))
}

/// The release of the same pipeline published last before `manifest`'s in its store (by
/// publication time), if any: a committed release is one with a manifest.
pub async fn previous_release(
    store: &Store,
    manifest: &ReleaseManifest,
) -> Result<Option<String>, ReportError> {
    let mut best: Option<(String, String)> = None;
    for path in store.list("published/").await? {
        let parts: Vec<&str> = path.split('/').collect();
        let [_, release, "manifest.json"] = parts[..] else {
            continue;
        };
        if release == manifest.release {
            continue;
        }
        let Ok(other) = read_manifest(store, release).await else {
            continue;
        };
        if other.pipeline != manifest.pipeline || other.created_at >= manifest.created_at {
            continue;
        }
        let candidate = (other.created_at.clone(), other.release.clone());
        if best.as_ref().is_none_or(|b| candidate > *b) {
            best = Some(candidate);
        }
    }
    Ok(best.map(|(_, release)| release))
}

/// The report's "Since the last release" section: per table, how many published figures went
/// up or down and how many were newly withheld or newly published since `previous`. Counts of
/// cells only, as `svna diff` prints them.
pub(crate) fn since_section(
    previous: &str,
    diff: Result<ReleaseDiff, ReportError>,
) -> crate::sections::Section {
    use crate::html::{esc, fmt_count};
    let mut body = format!(
        "<p>Compared with the previous release of this pipeline, <code>{}</code>: for each table both publish, how many figures went up or down, and how many were newly withheld ([c] now, published then) or newly published. Only figures both releases publish are compared; a withheld figure is never compared. <code>svna diff</code> gives the same comparison.</p>\n",
        esc(previous)
    );
    match diff {
        Err(e) => body.push_str(&format!(
            "<p class=\"note\">The previous release could not be compared: {}</p>\n",
            esc(&e.to_string())
        )),
        Ok(diff) => {
            for (label, names) in [
                ("New tables", &diff.tables_added),
                ("Tables no longer published", &diff.tables_removed),
            ] {
                if !names.is_empty() {
                    let names: Vec<String> = names
                        .iter()
                        .map(|n| format!("<code>{}</code>", esc(n)))
                        .collect();
                    body.push_str(&format!("<p>{label}: {}.</p>\n", names.join(", ")));
                }
            }
            body.push_str(
                "<table class=\"since\"><thead><tr><th>Table</th><th>Up</th><th>Down</th><th>Unchanged</th><th>Newly withheld</th><th>Newly published</th><th>Rows added</th><th>Rows removed</th></tr></thead><tbody>\n",
            );
            for t in &diff.tables {
                let cells = [
                    t.up,
                    t.down,
                    t.unchanged,
                    t.newly_withheld,
                    t.newly_published,
                    t.rows_added,
                    t.rows_removed,
                ]
                .map(|n| format!("<td class=\"num\">{}</td>", fmt_count(n as f64)))
                .join("");
                body.push_str(&format!(
                    "<tr><td><code>{}</code></td>{cells}</tr>\n",
                    esc(&t.table)
                ));
            }
            body.push_str("</tbody></table>\n");
        }
    }
    crate::sections::Section {
        id: "since",
        title: "Since the last release",
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use svna_records::PublishedTable;
    use svna_storage::FileEntry;

    fn table(name: &str, counts: &[&str], csv: &str) -> Table {
        let entry = PublishedTable {
            name: name.into(),
            disclosure: svna_records::DisclosureSpec {
                k: Some(5),
                ..svna_records::DisclosureSpec::new(
                    svna_records::DisclosurePolicy::Threshold,
                    counts,
                    &["area", "year"],
                )
            },
            csv: FileEntry {
                path: format!("published/r/tables/{name}.csv"),
                sha256: String::new(),
                size: csv.len() as u64,
                rows: None,
            },
            parquet: svna_storage::FileEntry::default(),
            cells: 0,
            withheld: 0,
            partner_withheld: 0,
            lower_bounds: 0,
        };
        Table::parse(&entry, csv.as_bytes()).unwrap()
    }

    fn release(tables: Vec<Table>) -> BTreeMap<String, Table> {
        tables.into_iter().map(|t| (t.name.clone(), t)).collect()
    }

    #[test]
    fn two_tiny_releases_are_compared_cell_by_cell() {
        let old = release(vec![
            table(
                "offences",
                &["n"],
                "area,year,n\nA,2023,10\nB,2023,[c]\nC,2023,7\nD,2023,[c]\nE,2023,9\nF,2023,12\n",
            ),
            table("gone", &["n"], "area,year,n\nA,2023,5\n"),
        ]);
        let new = release(vec![
            table(
                "offences",
                &["n"],
                "area,year,n\nA,2023,12\nB,2023,8\nC,2023,[c]\nD,2023,[c]\nE,2023,9\nF,2023,6\nG,2023,5\n",
            ),
            table("added", &["n"], "area,year,n\nA,2023,5\n"),
        ]);
        let diff = diff_tables("r1", "r2", &old, &new);
        assert_eq!(diff.tables_added, vec!["added".to_string()]);
        assert_eq!(diff.tables_removed, vec!["gone".to_string()]);
        assert_eq!(
            diff.tables,
            vec![TableDiff {
                table: "offences".into(),
                up: 1,
                down: 1,
                unchanged: 1,
                newly_withheld: 1,
                newly_published: 1,
                still_withheld: 1,
                rows_added: 1,
                rows_removed: 0,
                columns_added: vec![],
                columns_removed: vec![],
            }]
        );
        // Counts of cells only: no published or withheld figure is in the result.
        let json = serde_json::to_string(&diff).unwrap();
        for figure in ["12", "10", "\"8\"", "[c]"] {
            assert!(!json.contains(figure), "{figure} in {json}");
        }
    }

    #[test]
    fn rows_removed_and_columns_changed_are_counted() {
        let old = release(vec![table(
            "t",
            &["n", "m"],
            "area,year,n,m\nA,2023,10,5\nB,2023,6,5\n",
        )]);
        let new = release(vec![table(
            "t",
            &["n", "k"],
            "area,year,n,k\nA,2023,10,7\n",
        )]);
        let diff = diff_tables("r1", "r2", &old, &new);
        let t = &diff.tables[0];
        assert_eq!((t.unchanged, t.rows_removed, t.rows_added), (1, 1, 0));
        assert_eq!(t.columns_added, vec!["k".to_string()]);
        assert_eq!(t.columns_removed, vec!["m".to_string()]);
        assert!(t.changed());
    }
}
