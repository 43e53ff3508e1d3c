//! Privacy gates: checks that refuse a release rather than publish something forbidden.
//! They repeat, independently, what protection should already guarantee.

use svna_contracts::DatasetKind;
use svna_disclosure::{CellOutcome, Policy};
use svna_engine::RunRecord;

use crate::dictionary::lineage;
use crate::error::PublishError;
use crate::output_table::OutputTable;
use crate::protect::OPEN_POLICY;

fn is_token(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// No dimension may be a token column of any contract, or hold a token-shaped value.
pub fn check_no_tokens(table: &OutputTable) -> Result<(), PublishError> {
    let token_names: Vec<&str> = svna_contracts::v1()
        .datasets
        .iter()
        .flat_map(|d| d.token_columns().map(|c| c.name.as_str()))
        .collect();
    let refuse = |column: &str| PublishError::TokenColumn {
        table: table.name.clone(),
        column: column.to_string(),
    };
    for (name, codes) in table.spec.dimensions.iter().zip(&table.dims) {
        if token_names.contains(&name.as_str()) || codes.iter().any(|c| is_token(c)) {
            return Err(refuse(name));
        }
    }
    for (name, parents) in table.spec.dimensions.iter().zip(&table.parents) {
        if parents.iter().flatten().any(|c| is_token(c)) {
            return Err(refuse(&table.spec.parents[name]));
        }
    }
    for (name, values) in &table.context {
        let text =
            arrow_cast::cast(values, &arrow_schema::DataType::Utf8).map_err(|_| refuse(name))?;
        let text = text
            .as_any()
            .downcast_ref::<arrow_array::StringArray>()
            .expect("cast to Utf8");
        if token_names.contains(&name.as_str()) || text.iter().flatten().any(is_token) {
            return Err(refuse(name));
        }
    }
    Ok(())
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
            .is_some_and(|d| d.policy == OPEN_POLICY)
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
