//! Privacy gates: checks that refuse a release rather than publish something forbidden.
//! They repeat, independently, what protection should already guarantee.

use svna_contracts::DatasetKind;
use svna_disclosure::{CellOutcome, Policy};
use svna_records::{DisclosurePolicy, RunRecord, StageRecord};

use crate::dictionary::lineage;
use crate::error::PublishError;
use crate::output_table::OutputTable;

/// The shortest run of hexadecimal characters taken as (part of) a token. Tokens are 64
/// lowercase hex characters; a published value holding 16 of them in a row, in any case, is
/// a token or a recognisable piece of one (`upper(person_id)`, `'p' || person_id`,
/// `substr(person_id, 1, 63)`). Legitimate codes are far shorter: ONS codes such as
/// `E01026359` have 9 characters, dates and months are split by `-`.
pub const HEX_RUN: usize = 16;

/// Whether `text` holds [`HEX_RUN`] or more hexadecimal characters in a row.
pub fn has_hex_run(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
        if run >= HEX_RUN {
            return true;
        }
    }
    false
}

/// No published column may be a token column of any contract, be computed from one (its
/// stage's recorded token lineage), or hold a token-shaped value. What is scanned is every
/// cell that is published as text: dimension codes, parent codes and text context columns,
/// and every column name. Counts and rates are numbers computed by publish; numeric context
/// columns cannot hold hex letters, and their lineage is checked like every column's.
/// (Manifest checksums are SHA-256 hex by design but are not table cells.)
pub fn check_no_tokens(table: &OutputTable, stage: &StageRecord) -> Result<(), PublishError> {
    let token_names: Vec<&str> = svna_contracts::v1()
        .datasets
        .iter()
        .flat_map(|d| d.token_columns().map(|c| c.name.as_str()))
        .collect();
    let refuse = |column: &str, reason: String| PublishError::TokenColumn {
        table: table.name.clone(),
        column: column.to_string(),
        reason,
    };
    let published = published_columns(table);
    for name in &published {
        if token_names.contains(&name.as_str()) {
            return Err(refuse(name, "is a token column of the contracts".into()));
        }
        if stage.token_lineage.contains(name) {
            return Err(refuse(
                name,
                "is computed from a person or offence token column (its SQL lineage)".into(),
            ));
        }
        if has_hex_run(name) {
            return Err(refuse(name, hex_reason("its name")));
        }
    }
    for (name, codes) in table.spec.dimensions.iter().zip(&table.dims) {
        if let Some(row) = codes.iter().position(|c| has_hex_run(c)) {
            return Err(refuse(name, hex_reason(&format!("row {}", row + 1))));
        }
    }
    for (name, parents) in table.spec.dimensions.iter().zip(&table.parents) {
        let hit = parents.iter().flatten().position(|c| has_hex_run(c));
        if let Some(row) = hit {
            let parent = &table.spec.parents[name];
            return Err(refuse(parent, hex_reason(&format!("row {}", row + 1))));
        }
    }
    for (name, values) in &table.context {
        let text = arrow_cast::cast(values, &arrow_schema::DataType::Utf8)
            .map_err(|e| refuse(name, format!("cannot be read as text ({e})")))?;
        let text = text
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("cast to Utf8");
        if let Some(row) = text.iter().position(|v| v.is_some_and(has_hex_run)) {
            return Err(refuse(name, hex_reason(&format!("row {}", row + 1))));
        }
    }
    Ok(())
}

fn hex_reason(at: &str) -> String {
    format!(
        "holds a run of {HEX_RUN} or more hexadecimal characters ({at}), the shape of a token or part of one"
    )
}

/// Every column name the release would publish for `table`.
fn published_columns(table: &OutputTable) -> Vec<String> {
    let spec = &table.spec;
    let flags = crate::write::partner_columns(table)
        .into_iter()
        .map(|(name, _)| name);
    spec.dimensions
        .iter()
        .chain(spec.parents.values())
        .chain(&spec.context)
        .chain(&spec.counts)
        .chain(spec.rates.iter().map(|r| &r.name))
        .chain(spec.standardised.iter().map(|r| &r.name))
        .cloned()
        .chain(flags)
        .collect()
}

/// Every figure about to be published is one the policy allows on its own.
pub fn check_published_counts(
    table: &OutputTable,
    policy: &Policy,
    outcomes: &[Vec<CellOutcome>],
    already_public: &[std::collections::BTreeSet<usize>],
) -> Result<(), PublishError> {
    for (c, (count, cells)) in table.spec.counts.iter().zip(outcomes).enumerate() {
        for (row, outcome) in cells.iter().enumerate() {
            let Some(value) = outcome.value() else {
                continue;
            };
            // The same figure for the same data is already in an earlier release.
            if already_public
                .get(c)
                .is_some_and(|rows| rows.contains(&row))
            {
                continue;
            }
            let allowed = match policy {
                Policy::Threshold {
                    k,
                    zeros_disclosive,
                } => (value == 0 && !zeros_disclosive) || value >= *k,
                Policy::NhsSmallNumbers => value % 5 == 0 && !(1..=7).contains(&value),
                Policy::Rounding { base } => value % base == 0,
                Policy::Midpoint6 => value == 0 || value % 6 == 3,
            };
            if !allowed {
                return Err(PublishError::ForbiddenCount {
                    table: table.name.clone(),
                    column: count.clone(),
                    value,
                });
            }
        }
    }
    Ok(())
}

/// A table may go out under the `open` policy (no suppression) only when everything it is
/// computed from, through every stage it needs, is public already: open data (data.police.uk)
/// or reference data. One partner dataset anywhere in its lineage refuses the release.
pub fn check_open_lineage(record: &RunRecord) -> Result<(), PublishError> {
    let open_stages = record.stages.iter().filter(|s| {
        s.disclosure
            .as_ref()
            .is_some_and(|d| d.policy == DisclosurePolicy::Open)
    });
    for stage in open_stages {
        let refuse = |source_name: &str, dataset: &str| PublishError::OpenPolicyOnPartnerData {
            stage: stage.name.clone(),
            source_name: source_name.to_string(),
            dataset: dataset.to_string(),
        };
        let inputs = lineage(record, stage).map_err(|need| refuse(&need, "unknown"))?;
        for input in inputs {
            let public = svna_contracts::v1()
                .dataset(&input.dataset)
                .is_ok_and(|d| matches!(d.kind, DatasetKind::OpenData | DatasetKind::Reference));
            if !public {
                return Err(refuse(&input.source, &input.dataset));
            }
        }
    }
    Ok(())
}
