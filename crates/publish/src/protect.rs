//! Builds the disclosure-control problems from the run's aggregate outputs and maps the
//! outcome back to rows. Tables with the same measure (and policy) are protected jointly,
//! since their shared margins are one quantity; each count column is its own table, measured
//! as `<measure>.<count>`. Two tables with one measure but different policies are refused by
//! the check in `protect_outputs`.

use std::collections::{BTreeMap, BTreeSet};

use svna_disclosure::{
    AuditReport, CellOutcome, CellValue, Dimension, Hierarchy, JointInput, JointTable, Nested,
    Policy, ProtectOptions, Release, Table, audit_verdicts, protect, protect_joint,
};

use svna_records::LeftOut;

use crate::error::PublishError;
use crate::ledger::{LedgerEntry, LedgerPart};
use crate::output_table::OutputTable;
use svna_records::{DisclosurePolicy, PartOf};

/// Outcomes per table, per count column, per row; plus the audits.
pub struct Protected {
    pub outcomes: Vec<Vec<Vec<CellOutcome>>>,
    pub audits: Vec<(Policy, AuditReport)>,
    /// What this release publishes, for the ledger.
    pub ledger_parts: Vec<LedgerPart>,
    /// Earlier releases protected and audited jointly with this one.
    pub linked: BTreeSet<String>,
    /// Of those, the ones whose figures were revised since (still in the model: the
    /// attacker may assume each shared figure changed the way the data truly changed).
    pub revised: BTreeSet<String>,
    /// Tables left out of the release because nothing of them could be safely published.
    pub left_out: Vec<LeftOut>,
    /// Per table, per count column: cells published although the policy would withhold
    /// them, because an earlier release already published the same figure for the same
    /// data (withholding it again would hide nothing).
    pub already_public: Vec<Vec<BTreeSet<usize>>>,
}

/// Whether a table is published as it is (open data, or row accounting; see
/// `DisclosurePolicy::is_published_as_is`).
pub fn is_open(table: &OutputTable) -> bool {
    table.spec.policy.is_published_as_is()
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

/// The disclosure control an output declares; `None` for the tables published as they are
/// (open, accounting), which have none.
pub fn policy_of(table: &OutputTable) -> Option<Policy> {
    let spec = &table.spec;
    match spec.policy {
        DisclosurePolicy::Threshold => Some(Policy::threshold(spec.k.unwrap_or(5))),
        DisclosurePolicy::Nhs => Some(Policy::NhsSmallNumbers),
        DisclosurePolicy::Round => Some(Policy::Rounding {
            base: spec.base.unwrap_or(5),
        }),
        DisclosurePolicy::Midpoint6 => Some(Policy::Midpoint6),
        DisclosurePolicy::Open | DisclosurePolicy::Accounting => None,
    }
}

fn part_name(table: &OutputTable, count: &str) -> String {
    format!("{}.{count}", table.name)
}

fn threshold_k(policy: &Policy) -> Option<u64> {
    match policy {
        Policy::Threshold { k, .. } => Some(*k),
        _ => None,
    }
}

/// Protects every count column of every table.
///
/// Threshold tables (whatever their k) are protected together with every threshold table
/// of every earlier release in the ledger, as one model (`svna_disclosure::joint`): the
/// attacker holds all of them. Rounded tables (nhs, round, midpoint6) publish every cell
/// rounded; they are protected per measure as before.
pub fn protect_outputs(
    tables: &[OutputTable],
    ledger: &[LedgerEntry],
) -> Result<Protected, PublishError> {
    check_count_declarations(tables)?;
    check_one_policy_per_measure(tables)?;
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
    let mut already_public: Vec<Vec<BTreeSet<usize>>> = tables
        .iter()
        .map(|t| vec![BTreeSet::new(); t.spec.counts.len()])
        .collect();
    let mut audits = Vec::new();
    let mut ledger_parts = Vec::new();

    // Rounded policies: every cell is published rounded, per measure.
    let mut rounded: BTreeMap<String, (Policy, Vec<(usize, usize)>)> = BTreeMap::new();
    let mut threshold: Vec<(usize, usize, u64)> = Vec::new();
    for (t, table) in tables.iter().enumerate() {
        let Some(policy) = policy_of(table) else {
            continue;
        };
        for (c, count) in table.spec.counts.iter().enumerate() {
            match threshold_k(&policy) {
                Some(k) => threshold.push((t, c, k)),
                None => rounded
                    .entry(measure_of(table, count))
                    .or_insert_with(|| (policy.clone(), Vec::new()))
                    .1
                    .push((t, c)),
            }
        }
    }
    for (policy, members) in rounded.into_values() {
        let parts = members
            .iter()
            .map(|&(t, c)| disclosure_table(&tables[t], c))
            .collect::<Result<Vec<_>, _>>()?;
        let protection = protect(
            &Release::new(parts.clone()),
            &ProtectOptions::new(policy.clone()),
        )?;
        for (&(t, c), (part, outcome)) in members.iter().zip(parts.iter().zip(&protection.tables)) {
            let cells: BTreeMap<&Vec<String>, CellOutcome> =
                outcome.cells.iter().map(|(c, o)| (c, *o)).collect();
            outcomes[t][c] = row_outcomes(&tables[t], c, &cells);
            ledger_parts.push(LedgerPart::new(policy.clone(), part, Vec::new()));
        }
        audits.push((policy, protection.audit));
    }

    // Threshold policies: one joint model with every earlier release.
    let mut input = JointInput::default();
    let mut members = Vec::new();
    for &(t, c, k) in &threshold {
        let table = canonical(&tables[t], disclosure_table(&tables[t], c)?);
        input.tables.push(JointTable {
            table,
            release: 0,
            k,
            withheld: BTreeSet::new(),
        });
        members.push((t, c, k));
    }
    for table in tables {
        for (part, whole) in &table.spec.nested {
            if !table.spec.counts.contains(part) || !table.spec.counts.contains(whole) {
                return Err(PublishError::Nested {
                    table: table.name.clone(),
                    part: part.clone(),
                    whole: whole.clone(),
                });
            }
            input.nested.push(Nested {
                part: measure_of(table, part),
                whole: measure_of(table, whole),
                whole_extra: Vec::new(),
            });
        }
        for (part, whole) in &table.spec.part_of {
            input.nested.push(part_of(tables, table, part, whole)?);
        }
    }
    input
        .nested
        .sort_by(|a, b| (&a.part, &a.whole).cmp(&(&b.part, &b.whole)));
    input.nested.dedup();
    let new_measures: BTreeSet<String> = input
        .tables
        .iter()
        .map(|t| t.table.measure.clone())
        .collect();
    let (mut linked, mut revised) = (BTreeSet::new(), BTreeSet::new());
    for (r, entry) in ledger.iter().enumerate() {
        for part in &entry.parts {
            let Some(k) = threshold_k(&part.policy) else {
                continue;
            };
            if !new_measures.contains(&part.measure) {
                continue;
            }
            let table = part.table();
            if !agrees_with(&table, &input.tables[..members.len()]) {
                revised.insert(entry.release.clone());
            }
            linked.insert(entry.release.clone());
            input.tables.push(JointTable {
                table,
                release: r + 1,
                k,
                withheld: part.withheld.iter().cloned().collect(),
            });
        }
    }
    input.rollups = calendar_rollups(&input.tables);
    let mut left_out = Vec::new();
    if !members.is_empty() {
        let protection = protect_joint(&input)?;
        // A count column that cannot be protected is withheld whole (its cells come back
        // all withheld); a table all of whose columns are, is left out.
        let left_columns: BTreeMap<String, String> = protection
            .left_out
            .iter()
            .map(|l| (l.table.clone(), l.reason.clone()))
            .collect();
        let left_out_tables: BTreeSet<String> = tables
            .iter()
            .filter(|t| {
                !is_open(t)
                    && !t.spec.counts.is_empty()
                    && t.spec
                        .counts
                        .iter()
                        .all(|c| left_columns.contains_key(&part_name(t, c)))
            })
            .map(|t| t.name.clone())
            .collect();
        // Release-0 joint tables are the members, in the same order.
        for (i, (&(t, c, k), outcome)) in members.iter().zip(&protection.tables).enumerate() {
            let table = &tables[t];
            let cells: BTreeMap<&Vec<String>, CellOutcome> =
                outcome.cells.iter().map(|(c, o)| (c, *o)).collect();
            outcomes[t][c] = row_outcomes(table, c, &cells);
            for (row, o) in outcomes[t][c].iter().enumerate() {
                if let Some(v) = o.value()
                    && v > 0
                    && v < k
                {
                    already_public[t][c].insert(row);
                }
            }
            let withheld = outcome
                .cells
                .iter()
                .filter(|(_, o)| o.value().is_none())
                .map(|(c, _)| c.clone())
                .collect();
            let part = &input.tables[i].table;
            if !left_out_tables.contains(&table.name) {
                ledger_parts.push(LedgerPart::new(Policy::threshold(k), part, withheld));
            }
        }
        let k_max = members.iter().map(|m| m.2).max().unwrap_or(5);
        audits.push((Policy::threshold(k_max), protection.audit));
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (part, reason) in left_columns {
            let table = part.rsplit_once('.').map_or(part.as_str(), |(t, _)| t);
            let name = if left_out_tables.contains(table) {
                table.to_string()
            } else {
                part.clone()
            };
            by_name.entry(name).or_default().push(reason);
        }
        left_out = by_name
            .into_iter()
            .map(|(table, reasons)| LeftOut {
                table,
                reason: reasons.join("; "),
            })
            .collect();
    }
    revised.retain(|r| linked.contains(r));
    Ok(Protected {
        outcomes,
        audits,
        ledger_parts,
        linked,
        revised,
        left_out,
        already_public,
    })
}

/// The table with its dimensions under their canonical names (`same_as`).
fn canonical(output: &OutputTable, mut table: Table) -> Table {
    for dim in &mut table.dims {
        if let Some(name) = output.spec.same_as.get(&dim.name) {
            dim.name = name.clone();
        }
    }
    table
}

/// Calendar codes roll up: a month `YYYY-MM` and a quarter `YYYY-Qn` lie inside year `YYYY`,
/// in every dimension that holds them.
fn calendar_rollups(tables: &[JointTable]) -> Vec<(String, String, String)> {
    let mut out = BTreeSet::new();
    for jt in tables {
        for (coords, _) in jt.table.cells() {
            for (dim, code) in jt.table.dims.iter().zip(coords) {
                if let Some(year) = calendar_year(code) {
                    out.insert((dim.name.clone(), code.clone(), year.to_string()));
                }
            }
        }
    }
    out.into_iter().collect()
}

fn calendar_year(code: &str) -> Option<&str> {
    let b = code.as_bytes();
    let year = b.len() >= 7 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    let month = b.len() == 7 && b[5..].iter().all(u8::is_ascii_digit);
    let quarter = b.len() == 7 && b[5] == b'Q' && b[6].is_ascii_digit();
    (year && (month || quarter)).then(|| &code[..4])
}

/// Whether an earlier part agrees with the new parts on every quantity they share.
fn agrees_with(earlier: &Table, new_parts: &[JointTable]) -> bool {
    let values = |t: &Table| -> BTreeMap<(String, Vec<(String, String)>), CellValue> {
        t.cells()
            .map(|(coords, v)| ((t.measure.clone(), t.identity_coords(coords)), *v))
            .collect()
    };
    let old = values(earlier);
    new_parts.iter().all(|t| {
        values(&t.table)
            .iter()
            .all(|(id, v)| match (old.get(id), v) {
                (Some(CellValue::Count(a)), CellValue::Count(b)) => a == b,
                _ => true,
            })
    })
}

/// A part whose whole is a count of another table of the release, with that table's extra
/// coordinates under their canonical (`same_as`) names.
fn part_of(
    tables: &[OutputTable],
    table: &OutputTable,
    part: &str,
    whole: &PartOf,
) -> Result<Nested, PublishError> {
    let refuse = |reason: &str| PublishError::PartOf {
        table: table.name.clone(),
        part: part.to_string(),
        whole: format!("{}.{}", whole.table, whole.count),
        reason: reason.to_string(),
    };
    if !table.spec.counts.iter().any(|c| c == part) {
        return Err(refuse("the part is not a count column of its table"));
    }
    let Some(whole_table) = tables.iter().find(|t| t.name == whole.table) else {
        return Err(refuse("the whole's table is not in this release"));
    };
    if !whole_table.spec.counts.contains(&whole.count) {
        return Err(refuse("the whole is not a count column of its table"));
    }
    let mut whole_extra = Vec::new();
    for (column, code) in &whole.at {
        if !whole_table.spec.dimensions.contains(column) {
            return Err(refuse(&format!(
                "`{column}` is not a dimension of the whole's table"
            )));
        }
        let name = whole_table.spec.same_as.get(column).unwrap_or(column);
        whole_extra.push((name.clone(), code.clone()));
    }
    Ok(Nested {
        part: measure_of(table, part),
        whole: measure_of(whole_table, &whole.count),
        whole_extra,
    })
}

fn measure_of(table: &OutputTable, count: &str) -> String {
    match table.spec.count_measures.get(count) {
        Some(measure) => measure.clone(),
        None => format!(
            "{}.{count}",
            table.spec.measure.as_deref().unwrap_or(&table.name)
        ),
    }
}

/// Every `count_measures` entry names a count of its table as `measure.count`.
fn check_count_declarations(tables: &[OutputTable]) -> Result<(), PublishError> {
    for table in tables {
        for (count, measure) in &table.spec.count_measures {
            let well_formed = measure
                .split_once('.')
                .is_some_and(|(m, c)| !m.is_empty() && !c.is_empty());
            if !table.spec.counts.contains(count) || !well_formed {
                return Err(PublishError::CountMeasure {
                    table: table.name.clone(),
                    count: count.clone(),
                    measure: measure.clone(),
                });
            }
        }
        check_partner_flags(table)?;
        check_standardised(table)?;
    }
    Ok(())
}

/// Each standardised rate names a count, a dimension and a context column of the table.
fn check_standardised(table: &OutputTable) -> Result<(), PublishError> {
    let spec = &table.spec;
    for rate in &spec.standardised {
        let problem = if !spec.counts.contains(&rate.count) {
            Some(format!("`{}` is not a count column", rate.count))
        } else if !spec.dimensions.contains(&rate.by) {
            Some(format!("`{}` is not a dimension", rate.by))
        } else if !spec.context.contains(&rate.denominator) {
            Some(format!("`{}` is not a context column", rate.denominator))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(PublishError::StandardisedRate {
                table: table.name.clone(),
                rate: rate.name.clone(),
                problem,
            });
        }
    }
    Ok(())
}

/// Each `partner_flags` entry names a count of the table and a flag column no other count
/// and no other column uses: a release publishes the flags, and reads each figure's state
/// back from its own flag and lower-bound column.
fn check_partner_flags(table: &OutputTable) -> Result<(), PublishError> {
    let spec = &table.spec;
    for (count, flag) in &spec.partner_flags {
        let problem = if !spec.counts.contains(count) {
            Some("it is not a count column")
        } else if spec.partner_flags.values().filter(|f| *f == flag).count() > 1
            || spec.partner_suppressed.as_ref() == Some(flag)
        {
            Some("another count uses the same flag column")
        } else if spec
            .dimensions
            .iter()
            .chain(&spec.counts)
            .chain(&spec.context)
            .any(|c| c == flag)
        {
            Some("the flag is a dimension, count or context column")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(PublishError::PartnerFlag {
                table: table.name.clone(),
                count: count.clone(),
                flag: flag.clone(),
                problem,
            });
        }
    }
    Ok(())
}

/// Every count column's measure has one policy across the release (they are one quantity).
fn check_one_policy_per_measure(tables: &[OutputTable]) -> Result<(), PublishError> {
    let mut seen: BTreeMap<String, (Option<Policy>, &str)> = BTreeMap::new();
    for table in tables {
        let policy = policy_of(table);
        for count in &table.spec.counts {
            let measure = measure_of(table, count);
            match seen.get(&measure) {
                Some((other, first)) if *other != policy => {
                    return Err(PublishError::PolicyConflict {
                        measure,
                        first: first.to_string(),
                        second: table.name.clone(),
                    });
                }
                _ => {
                    seen.insert(measure, (policy.clone(), &table.name));
                }
            }
        }
    }
    Ok(())
}

/// Each row's outcome for count `c`. A figure the partner withheld is not in the disclosure
/// model (see `disclosure_table`) and stays withheld, as the partner's.
fn row_outcomes(
    table: &OutputTable,
    c: usize,
    cells: &BTreeMap<&Vec<String>, CellOutcome>,
) -> Vec<CellOutcome> {
    (0..table.rows())
        .map(|row| {
            let coords = coords(table, row);
            match cells.get(&coords) {
                Some(outcome) => *outcome,
                None if table.partner_withheld(c, row) => CellOutcome::Withheld {
                    class: svna_disclosure::ValueClass::Partner,
                },
                None => panic!("row {row} of {} has no outcome", table.name),
            }
        })
        .collect()
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
    // Partner-suppressed data are modelled as what svna publishes of them: the parts the
    // partner shared. A row the partner withheld whole ([p]) has no shared part, so it is
    // left out of the model (a structural zero: it drops out of every relation, and no
    // certificate can move it); a lower-bound row is the exact sum of its shared parts, an
    // ordinary count with ordinary margins. This is exactly what an outsider learns from a
    // release (the lower bounds are published as sums of shared parts, and a [p] row is
    // flagged as having none), so every other withheld count is proven protected against
    // that knowledge, and a small lower bound is withheld like any small count. Nothing is
    // said about the withheld parts themselves, which svna does not know: the true total is
    // the lower bound plus the partner's withheld parts, never reconstructed.
    for row in 0..table.rows() {
        if table.partner_withheld(c, row) {
            continue;
        }
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
pub fn is_rounded(table: &OutputTable) -> bool {
    policy_of(table).is_some_and(|policy| !matches!(policy, Policy::Threshold { .. }))
}

/// Only threshold tables are re-audited (see `is_rounded`).
pub fn outsider_audit(tables: &[OutputTable]) -> Result<Vec<(String, AuditReport)>, PublishError> {
    let mut groups: BTreeMap<String, (Policy, Vec<Table>)> = BTreeMap::new();
    for table in tables {
        let Some(policy @ Policy::Threshold { .. }) = policy_of(table) else {
            continue;
        };
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
        // Verdicts only: an outsider needs to know which withheld cells can be worked out,
        // not the exact interval of every safe one (two integer programs each).
        let report = audit_verdicts(&Release::new(parts), &ProtectOptions::new(policy), &[])?;
        reports.push((measure, report));
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use svna_records::{DisclosurePolicy, DisclosureSpec};

    use super::*;

    fn spec(dims: &[&str], counts: &[&str], measure: &str) -> DisclosureSpec {
        DisclosureSpec {
            k: Some(5),
            measure: Some(measure.into()),
            ..DisclosureSpec::new(DisclosurePolicy::Threshold, counts, dims)
        }
    }

    fn table(name: &str, spec: DisclosureSpec, columns: Vec<(&str, ArrayRef)>) -> OutputTable {
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let mut bytes = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        OutputTable::from_parquet(name, &spec, bytes.into()).unwrap()
    }

    fn text(values: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from_iter_values(values))
    }

    fn ints(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    /// Area x sex, measure `m`: the area margins are A = 20, B = 33, Total = 53.
    fn by_sex() -> OutputTable {
        table(
            "by_sex",
            spec(&["area", "sex"], &["n"], "m"),
            vec![
                (
                    "area",
                    text(&["A", "A", "A", "B", "B", "B", "Total", "Total", "Total"]),
                ),
                (
                    "sex",
                    text(&["F", "M", "Total", "F", "M", "Total", "F", "M", "Total"]),
                ),
                ("n", ints(&[2, 18, 20, 19, 14, 33, 21, 32, 53].map(Some))),
            ],
        )
    }

    /// Area only, two measures side by side: `x` declared the area margins of `m.n`.
    fn side_by_side(a: i64, linked: bool) -> OutputTable {
        let mut spec = spec(&["area"], &["x", "y"], "other");
        if linked {
            spec.count_measures.insert("x".into(), "m.n".into());
        }
        table(
            "side_by_side",
            spec,
            vec![
                ("area", text(&["A", "B", "Total"])),
                ("x", ints(&[Some(a), Some(33), Some(a + 33)])),
                ("y", ints(&[Some(40), Some(50), Some(90)])),
            ],
        )
    }

    #[test]
    fn a_count_declared_another_measures_count_is_one_quantity_with_it() {
        // Consistent values protect together.
        assert!(protect_outputs(&[by_sex(), side_by_side(20, true)], &[]).is_ok());
        // Declared the same quantity but different: the model sees one quantity with two
        // values and refuses (so the link is real) ...
        let refused = protect_outputs(&[by_sex(), side_by_side(21, true)], &[]);
        assert!(refused.is_err(), "one quantity, two values");
        // ... while undeclared, the counts are separate quantities.
        assert!(protect_outputs(&[by_sex(), side_by_side(21, false)], &[]).is_ok());
    }

    #[test]
    fn a_count_measure_must_name_a_count_as_measure_dot_count() {
        for (count, measure) in [("x", "m"), ("x", ".n"), ("z", "m.n")] {
            let mut t = side_by_side(20, false);
            t.spec.count_measures.insert(count.into(), measure.into());
            let err = protect_outputs(&[by_sex(), t], &[]).err().unwrap();
            assert!(
                matches!(err, PublishError::CountMeasure { .. }),
                "{count} = {measure}: {err}"
            );
        }
    }

    #[test]
    fn a_partner_flag_withholds_only_its_own_count() {
        let mut spec = spec(&["area"], &["x", "y"], "flags");
        spec.partner_flags.insert("x".into(), "x_suppressed".into());
        let t = table(
            "flags",
            spec,
            vec![
                ("area", text(&["A", "B", "Total"])),
                ("x", ints(&[None, Some(30), Some(30)])),
                (
                    "x_suppressed",
                    Arc::new(BooleanArray::from(vec![true, false, true])),
                ),
                ("y", ints(&[Some(40), Some(50), Some(90)])),
            ],
        );
        assert_eq!(t.counts[0], vec![None, Some(30), Some(30)]);
        assert_eq!(t.counts[1], vec![Some(40), Some(50), Some(90)]);
        use crate::output_table::PartnerMark::{LowerBound, None as Untouched, Withheld};
        // A's x has no shared part; the total includes it, so it is a lower bound.
        assert_eq!(t.partner[0], vec![Withheld, Untouched, LowerBound]);
        assert_eq!(t.partner[1], vec![Untouched; 3]);
    }

    #[test]
    fn partner_flags_name_a_count_and_a_flag_column_of_its_own() {
        let flagged = |flags: &[(&str, &str)]| {
            let mut t = side_by_side(20, false);
            for (count, flag) in flags {
                t.spec
                    .partner_flags
                    .insert(count.to_string(), flag.to_string());
            }
            protect_outputs(&[t], &[])
        };
        assert!(flagged(&[("x", "x_flag")]).is_ok());
        for flags in [
            vec![("z", "z_flag")],
            vec![("x", "flag"), ("y", "flag")],
            vec![("x", "y")],
            vec![("x", "area")],
        ] {
            let err = flagged(&flags).err().unwrap();
            assert!(
                matches!(err, PublishError::PartnerFlag { .. }),
                "{flags:?}: {err}"
            );
        }
    }
}
