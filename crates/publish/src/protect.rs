//! Builds the disclosure-control problems from the run's aggregate outputs and maps the
//! outcome back to rows. Tables with the same measure (and policy) are protected jointly,
//! since their shared margins are one quantity; each count column is its own table, measured
//! as `<measure>.<count>`. Two tables with one measure but different policies are refused by
//! the check in `protect_outputs`.

use std::collections::{BTreeMap, BTreeSet};

use svna_disclosure::{
    AuditReport, CellOutcome, CellRef, CellValue, Dimension, Hierarchy, Policy, ProtectOptions,
    ProtectedTable, Release, Table, audit, protect,
};

use crate::error::PublishError;
use crate::ledger::{EarlierPart, LedgerEntry, LedgerPart, agrees_with, earlier_parts};
use crate::output_table::OutputTable;

/// Outcomes per table, per count column, per row; plus one audit per policy group.
pub struct Protected {
    pub outcomes: Vec<Vec<Vec<CellOutcome>>>,
    pub audits: Vec<(Policy, AuditReport)>,
    /// What this release publishes, for the ledger.
    pub ledger_parts: Vec<LedgerPart>,
    /// Earlier releases protected and audited jointly with this one.
    pub linked: BTreeSet<String>,
    /// Earlier releases of a shared measure whose figures were revised since: not linked.
    pub revised: BTreeSet<String>,
}

/// The policy of a table built only from data that is already public (data.police.uk street
/// level crime, reference data): its figures are published as they are. Publish refuses it
/// for any table whose lineage includes partner data (see `gate::check_open_lineage`).
pub const OPEN_POLICY: &str = "open";

pub fn is_open(table: &OutputTable) -> bool {
    table.spec.policy == OPEN_POLICY
}

/// An open table's outcomes: every figure published; a cell its source already withheld
/// stays withheld.
fn open_outcomes(table: &OutputTable) -> Vec<Vec<CellOutcome>> {
    table
        .counts
        .iter()
        .map(|column| {
            column
                .iter()
                .map(|value| match value {
                    Some(value) => CellOutcome::Published { value: *value },
                    None => CellOutcome::Withheld {
                        class: svna_disclosure::ValueClass::Partner,
                    },
                })
                .collect()
        })
        .collect()
}

/// The disclosure policy an output declares (not for open tables, which have none).
pub fn policy_of(table: &OutputTable) -> Result<Policy, PublishError> {
    let spec = &table.spec;
    match spec.policy.as_str() {
        "threshold" => Ok(Policy::threshold(spec.k.unwrap_or(5))),
        "nhs" => Ok(Policy::NhsSmallNumbers),
        "round" => Ok(Policy::Rounding {
            base: spec.base.unwrap_or(5),
        }),
        "midpoint6" => Ok(Policy::Midpoint6),
        other => Err(PublishError::UnknownPolicy {
            table: table.name.clone(),
            policy: other.to_string(),
        }),
    }
}

fn part_name(table: &OutputTable, count: &str) -> String {
    format!("{}.{count}", table.name)
}

/// Protects every count column of every table. Count columns that count the same
/// `<measure>.<count>` (in any table) share cells and are protected together in one release;
/// different measures never share a cell, so they are independent problems, which keeps each
/// problem small enough for the fast methods.
pub fn protect_outputs(
    tables: &[OutputTable],
    ledger: &[LedgerEntry],
) -> Result<Protected, PublishError> {
    check_one_policy_per_measure(tables)?;
    let mut groups: BTreeMap<String, (Policy, Vec<(usize, usize)>)> = BTreeMap::new();
    for (t, table) in tables.iter().enumerate().filter(|(_, t)| !is_open(t)) {
        let policy = policy_of(table)?;
        for (c, count) in table.spec.counts.iter().enumerate() {
            let key = format!(
                "{}|{}",
                serde_json::to_string(&policy).expect("policies serialise"),
                measure_of(table, count)
            );
            groups
                .entry(key)
                .or_insert_with(|| (policy.clone(), Vec::new()))
                .1
                .push((t, c));
        }
    }
    let mut outcomes: Vec<Vec<Vec<CellOutcome>>> = tables
        .iter()
        .map(|t| {
            if is_open(t) {
                open_outcomes(t)
            } else {
                vec![Vec::new(); t.spec.counts.len()]
            }
        })
        .collect();
    let mut audits = Vec::new();
    let (mut ledger_parts, mut linked, mut revised) =
        (Vec::new(), BTreeSet::new(), BTreeSet::new());
    for (policy, members) in groups.into_values() {
        let parts = members
            .iter()
            .map(|&(t, c)| disclosure_table(&tables[t], c))
            .collect::<Result<Vec<_>, _>>()?;
        let options = ProtectOptions::new(policy.clone());
        let mut earlier: Vec<EarlierPart> = Vec::new();
        for candidate in earlier_parts(ledger, &parts[0].measure, &policy, &parts) {
            let known: Vec<Table> = parts
                .iter()
                .cloned()
                .chain(earlier.iter().map(|e| e.table.clone()))
                .collect();
            if agrees_with(&candidate.table, &known) {
                linked.insert(candidate.release.clone());
                earlier.push(candidate);
            } else {
                revised.insert(candidate.release.clone());
            }
        }
        let (protected, audit) = if parts.len() == 1 && earlier.is_empty() {
            let protection = protect(&Release::new(parts.clone()), &options)?;
            (protection.tables, protection.audit)
        } else {
            protect_linked(parts.clone(), &options, &earlier)?
        };
        for (part, outcome) in parts.into_iter().zip(&protected) {
            let withheld = outcome
                .cells
                .iter()
                .filter(|(_, o)| o.value().is_none())
                .map(|(c, _)| c.clone())
                .collect();
            ledger_parts.push(LedgerPart::new(policy.clone(), &part, withheld));
        }
        let by_table: BTreeMap<&str, BTreeMap<&Vec<String>, CellOutcome>> = protected
            .iter()
            .map(|t| {
                (
                    t.name.as_str(),
                    t.cells.iter().map(|(c, o)| (c, *o)).collect(),
                )
            })
            .collect();
        for &(t, c) in &members {
            let table = &tables[t];
            let cells = &by_table[part_name(table, &table.spec.counts[c]).as_str()];
            outcomes[t][c] = (0..table.rows())
                .map(|row| cells[&coords(table, row)])
                .collect();
        }
        audits.push((policy, audit));
    }
    revised.retain(|r| !linked.contains(r));
    Ok(Protected {
        outcomes,
        audits,
        ledger_parts,
        linked,
        revised,
    })
}

/// Linked tables (one measure over different dimensions) share cells, typically margins.
/// Each table is protected on its own, which keeps every problem small; a shared cell
/// withheld in one table is then withheld in every table that shows it (they are re-protected
/// with it forced) until the pattern is consistent. Finally one exact audit covers all the
/// linked tables together, so a pattern that is safe table by table but not jointly is
/// caught, and publication is refused.
/// Above this many withheld cells an exact joint audit of linked tables takes too long;
/// publication is refused with advice instead of hanging.
const JOINT_AUDIT_LIMIT: usize = 1500;

/// With earlier releases (from the ledger), their tables join the problem as they were
/// published: what they withheld stays withheld here, what they published is never a
/// complement here, and the final audit always covers them too.
fn protect_linked(
    parts: Vec<Table>,
    options: &ProtectOptions,
    earlier: &[EarlierPart],
) -> Result<(Vec<ProtectedTable>, AuditReport), PublishError> {
    const MAX_ROUNDS: usize = 20;
    let identities: Vec<BTreeMap<Vec<String>, Identity>> =
        parts.iter().map(identities_of).collect();
    let mut earlier_withheld: BTreeSet<Identity> = BTreeSet::new();
    let mut earlier_published: BTreeSet<Identity> = BTreeSet::new();
    for e in earlier {
        for (coords, _) in e.table.cells() {
            let id = e.table.identity_coords(coords);
            if e.withheld.contains(coords) {
                earlier_withheld.insert(id);
            } else {
                earlier_published.insert(id);
            }
        }
    }
    let matching = |ids: &BTreeMap<Vec<String>, Identity>, set: &BTreeSet<Identity>| {
        ids.iter()
            .filter(|(_, id)| set.contains(*id))
            .map(|(coords, _)| coords.clone())
            .collect::<BTreeSet<_>>()
    };
    let mut forced: Vec<BTreeSet<Vec<String>>> = identities
        .iter()
        .map(|ids| matching(ids, &earlier_withheld))
        .collect();
    let fixed: Vec<BTreeSet<Vec<String>>> = identities
        .iter()
        .zip(&forced)
        .map(|(ids, forced)| &matching(ids, &earlier_published) - forced)
        .collect();
    for _ in 0..MAX_ROUNDS {
        let mut protected = Vec::new();
        let mut audits = Vec::new();
        for ((part, forced), fixed) in parts.iter().zip(&forced).zip(&fixed) {
            let mut options = options.clone();
            options.forced = forced
                .iter()
                .map(|coords| CellRef::new(&part.name, coords.clone()))
                .collect();
            options.fixed = fixed
                .iter()
                .map(|coords| CellRef::new(&part.name, coords.clone()))
                .collect();
            let mut protection = protect(&Release::new(vec![part.clone()]), &options)?;
            protected.push(protection.tables.remove(0));
            audits.push(protection.audit);
        }
        let withheld: BTreeSet<&Identity> = protected
            .iter()
            .zip(&identities)
            .flat_map(|(t, ids)| {
                t.cells
                    .iter()
                    .filter(|(_, o)| o.value().is_none())
                    .map(move |(c, _)| &ids[c])
            })
            .collect();
        let mut changed = false;
        for ((t, ids), forced) in protected.iter().zip(&identities).zip(forced.iter_mut()) {
            for (coords, outcome) in &t.cells {
                if outcome.value().is_some() && withheld.contains(&ids[coords]) {
                    changed |= forced.insert(coords.clone());
                }
            }
        }
        if !changed {
            // When every cell the tables share is published, the tables only meet in known
            // constants: the joint feasible region is the product of the tables' own regions,
            // so the per-table audits are exact for the release. Otherwise audit jointly.
            let mut seen_in: BTreeMap<&Identity, usize> = BTreeMap::new();
            for ids in &identities {
                for id in ids.values() {
                    *seen_in.entry(id).or_insert(0) += 1;
                }
            }
            if earlier.is_empty()
                && !withheld
                    .iter()
                    .any(|id| seen_in.get(id).is_some_and(|&n| n > 1))
            {
                return Ok((protected, merge_audits(audits)));
            }
            let withheld_count: usize = protected
                .iter()
                .map(|t| t.cells.iter().filter(|(_, o)| o.value().is_none()).count())
                .sum::<usize>()
                + earlier.iter().map(|e| e.withheld.len()).sum::<usize>();
            if withheld_count > JOINT_AUDIT_LIMIT {
                return Err(PublishError::LinkedTooSparse {
                    tables: protected
                        .iter()
                        .map(|t| t.name.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                    withheld: withheld_count,
                });
            }
            let withheld_cells: Vec<CellRef> = protected
                .iter()
                .flat_map(|t| {
                    t.cells
                        .iter()
                        .filter(|(_, o)| o.value().is_none())
                        .map(move |(c, _)| CellRef::new(&t.name, c.clone()))
                })
                .chain(earlier.iter().flat_map(|e| {
                    e.withheld
                        .iter()
                        .map(|c| CellRef::new(&e.table.name, c.clone()))
                }))
                .collect();
            let joint = parts
                .into_iter()
                .chain(earlier.iter().map(|e| e.table.clone()))
                .collect();
            let audit = audit(&Release::new(joint), options, &withheld_cells)?;
            return Ok((protected, audit));
        }
    }
    Err(PublishError::Disclosure(
        svna_disclosure::DisclosureError::InvalidOption(format!(
            "linked tables did not reach a consistent suppression pattern in {MAX_ROUNDS} rounds"
        )),
    ))
}

fn merge_audits(audits: Vec<AuditReport>) -> AuditReport {
    let mut merged = audits[0].clone();
    merged.cells.clear();
    merged.pass = true;
    (
        merged.published,
        merged.primary,
        merged.secondary,
        merged.partner,
        merged.failing,
    ) = (0, 0, 0, 0, 0);
    for audit in audits {
        merged.pass &= audit.pass;
        merged.published += audit.published;
        merged.primary += audit.primary;
        merged.secondary += audit.secondary;
        merged.partner += audit.partner;
        merged.failing += audit.failing;
        if audit.method == svna_disclosure::AuditMethod::Certificate {
            merged.method = audit.method;
        }
        merged.cells.extend(audit.cells);
    }
    merged
}

/// A cell's identity across linked tables: its non-total coordinates by dimension name.
type Identity = Vec<(String, String)>;

fn identities_of(part: &Table) -> BTreeMap<Vec<String>, Identity> {
    part.cells()
        .map(|(coords, _)| (coords.clone(), part.identity_coords(coords)))
        .collect()
}

fn measure_of(table: &OutputTable, count: &str) -> String {
    format!(
        "{}.{count}",
        table.spec.measure.as_deref().unwrap_or(&table.name)
    )
}

fn check_one_policy_per_measure(tables: &[OutputTable]) -> Result<(), PublishError> {
    let mut seen: BTreeMap<String, (Option<Policy>, &str)> = BTreeMap::new();
    for table in tables {
        let measure = table
            .spec
            .measure
            .clone()
            .unwrap_or_else(|| table.name.clone());
        let policy = if is_open(table) {
            None
        } else {
            Some(policy_of(table)?)
        };
        match seen.get(&measure) {
            Some((other, first)) if *other != policy => {
                return Err(PublishError::PolicyConflict {
                    measure,
                    first: first.to_string(),
                    second: table.name.clone(),
                });
            }
            _ => {
                seen.insert(measure, (policy, &table.name));
            }
        }
    }
    Ok(())
}

fn coords(table: &OutputTable, row: usize) -> Vec<String> {
    table.dims.iter().map(|d| d[row].clone()).collect()
}

fn disclosure_table(table: &OutputTable, c: usize) -> Result<Table, PublishError> {
    let count = &table.spec.counts[c];
    let total = &table.spec.total;
    let dims = table
        .spec
        .dimensions
        .iter()
        .zip(&table.dims)
        .zip(&table.parents)
        .map(|((name, codes), parents)| match parents {
            Some(parents) => {
                let edges: BTreeSet<(&String, &String)> = codes
                    .iter()
                    .zip(parents)
                    .filter(|(code, parent)| *code != total && !parent.is_empty())
                    .collect();
                Dimension::new(
                    name.clone(),
                    Hierarchy::new(
                        total.clone(),
                        edges.into_iter().map(|(c, p)| (c.clone(), p.clone())),
                    ),
                )
            }
            None => {
                let leaves: BTreeSet<&String> =
                    codes.iter().filter(|code| *code != total).collect();
                Dimension::new(
                    name.clone(),
                    Hierarchy::flat(total.clone(), leaves.into_iter().cloned()),
                )
            }
        })
        .collect();
    let mut part = Table::new(part_name(table, count), measure_of(table, count), dims);
    for row in 0..table.rows() {
        let value = match table.counts[c][row] {
            Some(v) => CellValue::Count(v),
            None => CellValue::Partner { nonempty: false },
        };
        part.insert(coords(table, row), value)?;
    }
    Ok(part)
}

/// The outsider's audit of a published release: withheld cells are unknowns, and each
/// measure (its linked tables together, as in `protect_outputs`) is checked for withheld cells
/// that the published cells determine too closely.
/// Whether a table's figures are rounded (policies nhs, round, midpoint6): its totals need
/// not equal the sum of its published parts, so the exact outsider's model does not apply
/// and only the publisher's audit covers it.
pub fn is_rounded(table: &OutputTable) -> Result<bool, PublishError> {
    Ok(!is_open(table) && !matches!(policy_of(table)?, Policy::Threshold { .. }))
}

/// Only threshold tables are re-audited (see `is_rounded`).
pub fn outsider_audit(tables: &[OutputTable]) -> Result<Vec<(String, AuditReport)>, PublishError> {
    let mut groups: BTreeMap<String, (Policy, Vec<Table>)> = BTreeMap::new();
    for table in tables.iter().filter(|t| !is_open(t)) {
        if is_rounded(table)? {
            continue;
        }
        let policy = policy_of(table)?;
        for (c, count) in table.spec.counts.iter().enumerate() {
            groups
                .entry(measure_of(table, count))
                .or_insert_with(|| (policy.clone(), Vec::new()))
                .1
                .push(disclosure_table(table, c)?);
        }
    }
    let mut reports = Vec::new();
    for (measure, (policy, parts)) in groups {
        let report = audit(&Release::new(parts), &ProtectOptions::new(policy), &[])?;
        reports.push((measure, report));
    }
    Ok(reports)
}
