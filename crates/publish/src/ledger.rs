//! The release ledger: what every earlier release published, so that a new release is
//! protected and audited jointly with the earlier ones it overlaps. Needs assessments are
//! refreshed every year; without the ledger, a cell one release withholds can be recovered
//! by differencing it against figures an earlier release published.
//!
//! An entry holds, per protected count column, the disclosure table with its true values
//! and the cells withheld. True values of withheld cells are confidential, so the ledger
//! lives in the runs zone (`runs/_ledger/<release>.json`), never in the published zone.
//!
//! How an earlier table joins a new release's problem:
//! * Where a dimension's codes differ from the new release's (an earlier run of months),
//!   its margins ("Total" over that dimension) summed something else, so they are renamed
//!   `Total@<release>`: distinct quantities. Where the codes agree, margins are the same
//!   quantity and stay linked, like inner cells.
//! * Linking an inner cell to the new release's cell with the same identity is safe even
//!   when the two differ in scope, as long as their values agree: it can only make the
//!   modelled attacker stronger. Where values differ (revised data), the earlier table is
//!   left out of the problem and the release records it as revised, not linked.
//! * Cells withheld earlier stay withheld (forced); cells published earlier are public and
//!   are never chosen as complements (fixed). The joint audit then checks every withheld
//!   cell of the new release against the new and the earlier figures together.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use svna_disclosure::{CellValue, Dimension, Hierarchy, Policy, Table};
use svna_storage::{Store, Zone};

use crate::error::PublishError;
use crate::release::release_manifest_path;

/// What one release published for each protected count column.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerEntry {
    pub release: String,
    pub run_id: String,
    pub created_at: String,
    pub parts: Vec<LedgerPart>,
}

/// One protected count column of a release: its table (true values) and withheld cells.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LedgerPart {
    pub policy: Policy,
    pub name: String,
    pub measure: String,
    pub dims: Vec<Dimension>,
    /// Every cell: coordinates, true count (None for a partner-withheld cell) and, for
    /// those, whether the partner said it is non-empty.
    pub cells: Vec<(Vec<String>, Option<u64>, bool)>,
    pub withheld: Vec<Vec<String>>,
}

impl LedgerPart {
    pub fn new(policy: Policy, table: &Table, withheld: Vec<Vec<String>>) -> Self {
        LedgerPart {
            policy,
            name: table.name.clone(),
            measure: table.measure.clone(),
            dims: table.dims.clone(),
            cells: table
                .cells()
                .map(|(c, v)| match v {
                    CellValue::Count(n) => (c.clone(), Some(*n), false),
                    CellValue::Partner { nonempty } => (c.clone(), None, *nonempty),
                })
                .collect(),
            withheld,
        }
    }

    fn table(&self) -> Table {
        let mut table = Table::new(&self.name, &self.measure, self.dims.clone());
        for (coords, count, nonempty) in &self.cells {
            let value = match count {
                Some(n) => CellValue::Count(*n),
                None => CellValue::Partner {
                    nonempty: *nonempty,
                },
            };
            table
                .insert(coords.clone(), value)
                .expect("a ledger part holds the cells of a valid table");
        }
        table
    }
}

/// An earlier release's table as it joins a new problem (margins renamed).
#[derive(Debug, Clone)]
pub struct EarlierPart {
    pub release: String,
    pub table: Table,
    pub withheld: BTreeSet<Vec<String>>,
}

fn entry_path(release: &str) -> String {
    Zone::Runs.join(&format!("_ledger/{release}.json"))
}

/// Every entry of a release that was actually published (an entry written by a publish
/// that failed before its manifest is ignored), oldest first.
pub async fn read_ledger(store: &Store) -> Result<Vec<LedgerEntry>, PublishError> {
    let mut entries = Vec::new();
    for path in store.list(&Zone::Runs.join("_ledger/")).await? {
        if !path.ends_with(".json") {
            continue;
        }
        let entry: LedgerEntry = store.get_json(&path, "a release-ledger entry").await?;
        if store.exists(&release_manifest_path(&entry.release)).await? {
            entries.push(entry);
        }
    }
    entries.sort_by(|a, b| (&a.created_at, &a.release).cmp(&(&b.created_at, &b.release)));
    Ok(entries)
}

/// Records a release in the ledger. Written before the release manifest: a crash in
/// between leaves an entry that `read_ledger` ignores, never a release without an entry.
pub async fn write_entry(store: &Store, entry: &LedgerEntry) -> Result<(), PublishError> {
    store.put_json(&entry_path(&entry.release), entry).await?;
    Ok(())
}

/// The earlier parts of `measure` under `policy`, ready to join the new parts' problem.
/// A dimension whose codes differ from the new parts' codes for it (say months 1-6 then
/// 1-7) has margins over a different extent: they are renamed per release. Where the codes
/// agree the margins are the same quantity and stay linked.
pub fn earlier_parts(
    ledger: &[LedgerEntry],
    measure: &str,
    policy: &Policy,
    new_parts: &[Table],
) -> Vec<EarlierPart> {
    let mut new_codes: BTreeMap<&str, Vec<BTreeSet<String>>> = BTreeMap::new();
    for part in new_parts {
        for (d, dim) in part.dims.iter().enumerate() {
            new_codes
                .entry(dim.name.as_str())
                .or_default()
                .push(codes_of(part, d));
        }
    }
    ledger
        .iter()
        .flat_map(|entry| {
            entry
                .parts
                .iter()
                .filter(|p| p.measure == measure && &p.policy == policy)
                .map(|p| (entry.release.clone(), p))
        })
        .map(|(release, p)| {
            let table = p.table();
            let renamed: Vec<bool> = (0..table.dims.len())
                .map(|d| {
                    let codes = codes_of(&table, d);
                    !new_codes
                        .get(table.dims[d].name.as_str())
                        .is_some_and(|sets| sets.iter().all(|s| *s == codes))
                })
                .collect();
            EarlierPart {
                table: qualify_margins(&table, &release, &renamed),
                withheld: p
                    .withheld
                    .iter()
                    .map(|coords| qualify_coords(&table, coords, &release, &renamed))
                    .collect(),
                release,
            }
        })
        .collect()
}

fn codes_of(table: &Table, d: usize) -> BTreeSet<String> {
    table.cells().map(|(coords, _)| coords[d].clone()).collect()
}

fn qualified(root: &str, release: &str) -> String {
    format!("{root}@{release}")
}

fn qualify_coords(
    table: &Table,
    coords: &[String],
    release: &str,
    renamed: &[bool],
) -> Vec<String> {
    table
        .dims
        .iter()
        .zip(coords)
        .zip(renamed)
        .map(|((d, code), &renamed)| {
            if renamed && code == d.hierarchy.root() {
                qualified(code, release)
            } else {
                code.clone()
            }
        })
        .collect()
}

/// The same table with the root total `T` of each renamed dimension replaced by
/// `T@release`, a child of a new (absent) root `T`: those margins become ordinary,
/// release-specific cells.
fn qualify_margins(table: &Table, release: &str, renamed: &[bool]) -> Table {
    let dims = table
        .dims
        .iter()
        .enumerate()
        .map(|(position, d)| {
            if !renamed[position] {
                return d.clone();
            }
            let root = d.hierarchy.root().to_string();
            let inner = qualified(&root, release);
            let mut edges: Vec<(String, String)> = codes_of(table, position)
                .into_iter()
                .filter(|c| *c != root)
                .map(|c| {
                    let parent = match d.hierarchy.parent(&c) {
                        Some(p) if p != root => p.to_string(),
                        _ => inner.clone(),
                    };
                    (c, parent)
                })
                .collect();
            edges.push((inner, root.clone()));
            Dimension::new(d.name.clone(), Hierarchy::new(root, edges))
        })
        .collect();
    let mut out = Table::new(
        format!("{}@{release}", table.name),
        table.measure.clone(),
        dims,
    );
    for (coords, value) in table.cells() {
        out.insert(qualify_coords(table, coords, release, renamed), *value)
            .expect("renamed codes are in the renamed hierarchy");
    }
    out
}

/// Whether an earlier part agrees with the new parts on every quantity they share (same
/// identity, same value). A disagreement means the data were revised in between.
pub fn agrees_with(earlier: &Table, new_parts: &[Table]) -> bool {
    let values = |t: &Table| -> BTreeMap<Vec<(String, String)>, CellValue> {
        t.cells()
            .map(|(coords, v)| (t.identity_coords(coords), *v))
            .collect()
    };
    let old = values(earlier);
    new_parts.iter().all(|t| {
        values(t).iter().all(|(id, v)| match (old.get(id), v) {
            (Some(CellValue::Count(a)), CellValue::Count(b)) => a == b,
            _ => true,
        })
    })
}
