//! The release ledger: what every earlier release published, so that a new release is
//! protected and audited jointly with the earlier ones it overlaps. Needs assessments are
//! refreshed every year; without the ledger, a cell one release withholds can be recovered
//! by differencing it against figures an earlier release published.
//!
//! An entry holds, per protected count column, the disclosure table with its true values
//! and the cells withheld. True values of withheld cells are confidential, so the ledger
//! lives in the runs zone (`runs/_ledger/<release>.json`), never in the published zone.
//!
//! Every threshold part of every earlier release joins a new release's model as it was
//! published, whatever its policy or k, and whether or not its figures were revised since
//! (see `svna_disclosure::joint`).

use serde::{Deserialize, Serialize};
use svna_disclosure::{CellValue, Dimension, Policy, Table};
use svna_storage::{Store, Zone};

use crate::error::PublishError;

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

    pub fn table(&self) -> Table {
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

/// Entries are numbered: entry `n` is `runs/_ledger/{n:06}.json`, written only if it does
/// not exist yet. Two publishes that read the same ledger both try to claim the same
/// number, and exactly one succeeds: the other re-reads the ledger (now with the first
/// release in it) and protects again, so no release is ever protected without one that
/// was published before it.
fn slot_path(seq: usize) -> String {
    Zone::Runs.join(&format!("_ledger/{seq:06}.json"))
}

/// Every entry in the ledger, oldest first, with the number the next one must take. An
/// entry whose publish failed before its manifest is kept: it only ever makes later
/// protection more cautious.
pub async fn read_ledger(store: &Store) -> Result<(Vec<LedgerEntry>, usize), PublishError> {
    let mut entries = Vec::new();
    let mut slots = 0;
    for path in store.list(&Zone::Runs.join("_ledger/")).await? {
        if !path.ends_with(".json") {
            continue;
        }
        slots += 1;
        let entry: LedgerEntry = store.get_json(&path, "a release-ledger entry").await?;
        entries.push(entry);
    }
    entries.sort_by(|a, b| (&a.created_at, &a.release).cmp(&(&b.created_at, &b.release)));
    Ok((entries, slots))
}

/// Claims ledger slot `seq` for a release: `Ok(false)` when another publish took it first.
pub async fn claim_entry(
    store: &Store,
    seq: usize,
    entry: &LedgerEntry,
) -> Result<bool, PublishError> {
    match store.put_json_new(&slot_path(seq), entry).await {
        Ok(()) => Ok(true),
        Err(svna_storage::StorageError::AlreadyExists { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
