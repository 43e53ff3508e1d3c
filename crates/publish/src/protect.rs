//! Builds the disclosure-control problems from the run's aggregate outputs and maps the
//! outcome back to rows. Tables with the same measure (and policy) are protected jointly,
//! since their shared margins are one quantity; each count column is its own table, measured
//! as `<measure>.<count>`. Two tables with one measure but different policies are refused by
//! the check in `protect_outputs`.

use std::collections::{BTreeMap, BTreeSet};

use svna_disclosure::{
    AuditReport, CellOutcome, CellValue, Dimension, Hierarchy, Policy, ProtectOptions, Release,
    Table, protect,
};

use crate::error::PublishError;
use crate::output_table::OutputTable;

/// Outcomes per table, per count column, per row; plus one audit per policy group.
pub struct Protected {
    pub outcomes: Vec<Vec<Vec<CellOutcome>>>,
    pub audits: Vec<(Policy, AuditReport)>,
}

/// The disclosure policy an output declares.
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
pub fn protect_outputs(tables: &[OutputTable]) -> Result<Protected, PublishError> {
    check_one_policy_per_measure(tables)?;
    let mut groups: BTreeMap<String, (Policy, Vec<(usize, usize)>)> = BTreeMap::new();
    for (t, table) in tables.iter().enumerate() {
        let policy = policy_of(table)?;
        for (c, count) in table.spec.counts.iter().enumerate() {
            let key = format!("{}|{}", serde_json::to_string(&policy).expect("policies serialise"), measure_of(table, count));
            groups.entry(key).or_insert_with(|| (policy.clone(), Vec::new())).1.push((t, c));
        }
    }
    let mut outcomes: Vec<Vec<Vec<CellOutcome>>> = tables.iter().map(|t| vec![Vec::new(); t.spec.counts.len()]).collect();
    let mut audits = Vec::new();
    for (policy, members) in groups.into_values() {
        let parts = members.iter().map(|&(t, c)| disclosure_table(&tables[t], c)).collect::<Result<Vec<_>, _>>()?;
        let protection = protect(&Release::new(parts), &ProtectOptions::new(policy.clone()))?;
        let by_table: BTreeMap<&str, BTreeMap<&Vec<String>, CellOutcome>> = protection
            .tables
            .iter()
            .map(|t| (t.name.as_str(), t.cells.iter().map(|(c, o)| (c, *o)).collect()))
            .collect();
        for &(t, c) in &members {
            let table = &tables[t];
            let cells = &by_table[part_name(table, &table.spec.counts[c]).as_str()];
            outcomes[t][c] = (0..table.rows()).map(|row| cells[&coords(table, row)]).collect();
        }
        audits.push((policy, protection.audit));
    }
    Ok(Protected { outcomes, audits })
}

fn measure_of(table: &OutputTable, count: &str) -> String {
    format!("{}.{count}", table.spec.measure.as_deref().unwrap_or(&table.name))
}

fn check_one_policy_per_measure(tables: &[OutputTable]) -> Result<(), PublishError> {
    let mut seen: BTreeMap<String, (Policy, &str)> = BTreeMap::new();
    for table in tables {
        let measure = table.spec.measure.clone().unwrap_or_else(|| table.name.clone());
        let policy = policy_of(table)?;
        match seen.get(&measure) {
            Some((other, first)) if *other != policy => {
                return Err(PublishError::PolicyConflict { measure, first: first.to_string(), second: table.name.clone() });
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
                let edges: BTreeSet<(&String, &String)> =
                    codes.iter().zip(parents).filter(|(code, parent)| *code != total && !parent.is_empty()).collect();
                Dimension::new(name.clone(), Hierarchy::new(total.clone(), edges.into_iter().map(|(c, p)| (c.clone(), p.clone()))))
            }
            None => {
                let leaves: BTreeSet<&String> = codes.iter().filter(|code| *code != total).collect();
                Dimension::new(name.clone(), Hierarchy::flat(total.clone(), leaves.into_iter().cloned()))
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
