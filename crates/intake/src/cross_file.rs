//! Rules across two extracts of one partner and period: the contract's `references`, such as
//! "a `police_persons` row's `offence_id` exists in that partner's `police_offences` of the
//! period". A person row pointing at no offence is an orphan: counted nowhere the offences
//! are, and the sign of extracts cut for different periods or with different keys.
//!
//! Kept apart from the single-file validator because it needs the other file first: the
//! referenced keys are gathered from one extract ([`referenced_keys`]), then the referencing
//! extract is read with them as one more row rule ([`reference_rule`], [`orphan_rows`]).

use std::collections::HashSet;
use std::io::Read;

use svna_contracts::{
    Dataset, ExtractReader, Reference, Rejection, Rule, Value, Violation, read_extract,
    read_extract_with_rule,
};
use svna_storage::Store;

use crate::error::IntakeError;
use crate::linkage::read_token_column;
use svna_records::{StagedManifest, periods_overlap};

/// The keys of one column of an extract, as 32-byte token digests (half the memory of the
/// hex text; exact, unlike a hash). Only valid rows count: a rejected offence row is not
/// staged, so nothing may refer to it.
#[derive(Debug, Default, Clone)]
pub struct ReferencedKeys {
    column: String,
    keys: HashSet<[u8; 32]>,
}

impl ReferencedKeys {
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn contains(&self, token: &str) -> bool {
        decode(token).is_some_and(|key| self.keys.contains(&key))
    }
}

/// One reference to check while staging an extract: the rule from the contract and the keys
/// its column may hold.
#[derive(Debug, Clone)]
pub struct ReferenceCheck {
    pub reference: Reference,
    pub keys: ReferencedKeys,
}

/// Nothing staged yet to check a reference against: the referencing extract must wait for
/// (or be loaded after) the extract it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingReference {
    pub dataset: String,
    pub referenced: String,
    pub partner: String,
    pub period: Option<String>,
}

impl std::fmt::Display for MissingReference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let period = self
            .period
            .as_deref()
            .map_or_else(|| "any period".to_string(), |p| format!("period {p}"));
        write!(
            f,
            "`{}` rows must point at `{}` rows of the same partner, and partner `{}` has no \
             active `{}` for {period}: send (or load) `{}` first",
            self.dataset, self.referenced, self.partner, self.referenced, self.referenced
        )
    }
}

/// The checks for every reference of `dataset` (a partner's extract for `period`), with the
/// keys gathered from that partner's active staged loads of each referenced dataset whose
/// period overlaps. References are within one partner ("that partner's offences"), so a
/// referenced load that came without an upload belongs to the referencing contract's partner.
pub(crate) async fn staged_reference_checks(
    store: &Store,
    dataset: &Dataset,
    contract_version: u32,
    partner: &str,
    period: Option<&str>,
) -> Result<Result<Vec<ReferenceCheck>, MissingReference>, IntakeError> {
    let mut checks = Vec::new();
    for reference in &dataset.references {
        let manifest = StagedManifest::read(store, &reference.dataset, contract_version).await?;
        let loads: Vec<_> = manifest
            .loads
            .iter()
            .filter(|l| {
                l.is_active()
                    && l.partner(&dataset.partner) == partner
                    && periods_overlap(l.period(), period)
            })
            .collect();
        if loads.is_empty() {
            return Ok(Err(MissingReference {
                dataset: dataset.name.clone(),
                referenced: reference.dataset.clone(),
                partner: partner.to_string(),
                period: period.map(str::to_string),
            }));
        }
        let mut keys = HashSet::new();
        for file in loads.iter().filter_map(|l| l.staged.as_ref()) {
            read_token_column(store, file, &reference.dataset_column, &mut keys).await?;
        }
        checks.push(ReferenceCheck {
            reference: reference.clone(),
            keys: ReferencedKeys {
                column: reference.dataset_column.clone(),
                keys,
            },
        });
    }
    Ok(Ok(checks))
}

/// One row rule for all of `checks`: the first reference a row breaks.
pub(crate) fn references_rule<'a>(
    dataset: &Dataset,
    checks: &'a [ReferenceCheck],
) -> Result<impl FnMut(&[Value]) -> Option<Violation> + 'a, IntakeError> {
    let mut rules = checks
        .iter()
        .map(|c| reference_rule(dataset, &c.reference, &c.keys))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(move |row: &[Value]| rules.iter_mut().find_map(|rule| rule(row)))
}

fn decode(token: &str) -> Option<[u8; 32]> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(token, &mut key).ok()?;
    Some(key)
}

/// Reads the referenced extract (`options.dataset`, e.g. `police_offences`) and gathers the
/// values of `column` in its valid rows.
pub fn referenced_keys(
    reader: impl Read,
    options: &ExtractReader<'_>,
    column: &str,
) -> Result<ReferencedKeys, IntakeError> {
    let index = column_index(options.dataset, column)?;
    let mut keys = HashSet::new();
    read_extract(
        reader,
        options,
        |batch| {
            let values = batch
                .column(index)
                .as_any()
                .downcast_ref::<arrow_array::StringArray>()
                .expect("token columns are read as text");
            keys.extend(values.iter().flatten().filter_map(decode));
            Ok::<(), IntakeError>(())
        },
        |_| {},
    )?;
    Ok(ReferencedKeys {
        column: column.to_string(),
        keys,
    })
}

/// The row rule for `reference` (a reference of `dataset`): the row's value must be among
/// `keys`. An empty value is not checked here (`required` decides whether it may be empty).
pub fn reference_rule<'a>(
    dataset: &Dataset,
    reference: &'a Reference,
    keys: &'a ReferencedKeys,
) -> Result<impl FnMut(&[Value]) -> Option<Violation> + 'a, IntakeError> {
    let index = column_index(dataset, &reference.column)?;
    Ok(move |row: &[Value]| match &row[index] {
        Value::Utf8(token) if !keys.contains(token) => Some(Violation {
            column: reference.column.clone(),
            rule: Rule::Reference,
            message: format!(
                "no row of `{}` of the same partner and period has this `{}`: send the \
                 offence extract that covers it, or remove the row",
                reference.dataset, keys.column
            ),
        }),
        _ => None,
    })
}

/// Reads the referencing extract (`options.dataset`, e.g. `police_persons`) and returns its
/// rows whose `reference` value is not among `keys`, with their editor lines. Rows that
/// break the file's own contract are not reported here (the single-file check does that).
pub fn orphan_rows(
    reader: impl Read,
    options: &ExtractReader<'_>,
    reference: &Reference,
    keys: &ReferencedKeys,
) -> Result<Vec<Rejection>, IntakeError> {
    let rule = reference_rule(options.dataset, reference, keys)?;
    let reference_rule = Rule::Reference.to_string();
    let mut orphans = Vec::new();
    read_extract_with_rule(
        reader,
        options,
        rule,
        |_| Ok::<(), IntakeError>(()),
        |r| {
            if r.rule == reference_rule {
                orphans.push(r)
            }
        },
    )?;
    Ok(orphans)
}

fn column_index(dataset: &Dataset, column: &str) -> Result<usize, IntakeError> {
    dataset
        .columns
        .iter()
        .position(|c| c.name == column)
        .ok_or_else(|| {
            IntakeError::Contract(svna_contracts::ContractError::Invalid {
                dataset: dataset.name.clone(),
                message: format!("no column `{column}` to check a reference with"),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const C: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";

    fn options<'a>(dataset: &str, file: &'a str) -> ExtractReader<'a> {
        ExtractReader {
            dataset: svna_contracts::v1().dataset(dataset).unwrap(),
            file,
            batch_rows: 2,
        }
    }

    #[test]
    fn persons_whose_offence_is_not_in_the_offences_are_orphans_with_their_line() {
        let offences = format!(
            "offence_id,recorded_date,offence_date,offence_hour,ho_code,knife_flag,firearm_flag,domestic_flag,lsoa_code,location_type\n\
             {A},2019-01-02,2019-01-01,3,5D,false,false,false,E01000001,street\n\
             {C},2019-01-02,2019-01-03,3,5D,false,false,false,E01000001,street\n"
        );
        let keys = referenced_keys(
            offences.as_bytes(),
            &options("police_offences", "offences.csv"),
            "offence_id",
        )
        .unwrap();
        // C's row is rejected (offence after recording), so it is not a key.
        assert_eq!(keys.len(), 1);

        let persons = format!(
            "offence_id,person_id,role,age,sex\r\n{A},{B},victim,17,F\r\n{B},{B},victim,17,F\r\n{C},{A},suspect,,M\r\n"
        );
        let persons_contract = svna_contracts::v1().dataset("police_persons").unwrap();
        let reference = &persons_contract.references[0];
        let orphans = orphan_rows(
            persons.as_bytes(),
            &options("police_persons", "persons.csv"),
            reference,
            &keys,
        )
        .unwrap();
        let found: Vec<(u64, &str, &str)> = orphans
            .iter()
            .map(|r| (r.line, r.column.as_str(), r.rule.as_str()))
            .collect();
        assert_eq!(
            found,
            [
                (3, "offence_id", "reference"),
                (4, "offence_id", "reference")
            ]
        );
        assert!(orphans[0].message.contains("police_offences"));
    }
}
