//! How a delivery's person tokens link with other partners' person data.
//!
//! The key fingerprint is a declaration the hub cannot prove: a file tokenised with another
//! key and declared with the right fingerprint is well-formed and passes every check, yet
//! none of its people can ever be linked. What gives it away is that its tokens meet nobody
//! else's, so intake measures, per other partner, the share of the delivery's distinct
//! person tokens found in that partner's active person data. A person is found when its
//! token is, or when any of its match keys (`mk_*`, contract version 2, for partners that
//! share no identifier) is among the other partner's match keys.

use std::collections::{BTreeMap, HashMap, HashSet};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};
use svna_contracts::{ColumnType, Contracts, Dataset};
use svna_storage::{FileEntry, Store};

use crate::error::IntakeError;
use crate::load::LoadOutcome;
use svna_records::StagedManifest;

/// The column that holds person tokens (offence tokens are one partner's own).
const PERSON_COLUMN: &str = "person_id";

/// The overlap of one delivery with one other partner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Linkage {
    pub partner: String,
    /// The delivery's distinct person tokens.
    pub tokens: u64,
    /// How many of them the other partner's active person data holds.
    pub found: u64,
    /// `found / tokens`.
    pub share: f64,
}

type Token = [u8; 32];

fn has_person_tokens(dataset: &Dataset) -> bool {
    dataset
        .column(PERSON_COLUMN)
        .is_some_and(|c| c.ty == ColumnType::Token)
}

/// The overlap of the delivery just staged with every other partner holding person data,
/// and a warning when it links with none of them.
pub(crate) async fn measure_linkage(
    store: &Store,
    contracts: &Contracts,
    dataset: &Dataset,
    partner: &str,
    staged: &[LoadOutcome],
) -> Result<(Vec<Linkage>, Option<String>), IntakeError> {
    if !has_person_tokens(dataset) {
        return Ok((Vec::new(), None));
    }
    let mut mine = PersonKeys::default();
    for outcome in staged {
        if let Some(file) = &outcome.record.staged {
            read_person_keys(store, file, &mut mine).await?;
        }
    }
    if mine.is_empty() {
        return Ok((Vec::new(), None));
    }
    let mut linkage = Vec::new();
    for (other, files) in others_person_files(store, contracts, partner).await? {
        let mut theirs = PersonKeys::default();
        for file in &files {
            read_person_keys(store, file, &mut theirs).await?;
        }
        let their_keys: HashSet<&Token> = theirs.values().flatten().collect();
        let found = mine
            .iter()
            .filter(|(person, keys)| {
                theirs.contains_key(*person) || keys.iter().any(|k| their_keys.contains(k))
            })
            .count() as u64;
        linkage.push(Linkage {
            partner: other,
            tokens: mine.len() as u64,
            found,
            share: found as f64 / mine.len() as f64,
        });
    }
    let warning = (!linkage.is_empty() && linkage.iter().all(|l| l.found == 0)).then(|| {
        format!(
            "none of its {} distinct person tokens appears in any other partner's person data ({}): it was probably pseudonymised with another key; check the key's fingerprint with the partner, then retract it (`svna retract`) and have it sent again",
            mine.len(),
            linkage
                .iter()
                .map(|l| l.partner.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    Ok((linkage, warning))
}

/// Active staged files holding person tokens, per partner other than `partner`.
async fn others_person_files(
    store: &Store,
    contracts: &Contracts,
    partner: &str,
) -> Result<BTreeMap<String, Vec<FileEntry>>, IntakeError> {
    let mut files: BTreeMap<String, Vec<FileEntry>> = BTreeMap::new();
    for dataset in contracts.datasets.iter().filter(|d| has_person_tokens(d)) {
        let manifest = StagedManifest::read(store, &dataset.name, contracts.version).await?;
        for load in manifest.loads.iter().filter(|l| l.is_active()) {
            let owner = load.partner(&dataset.partner);
            if let (true, Some(file)) = (owner != partner, &load.staged) {
                files
                    .entry(owner.to_string())
                    .or_default()
                    .push(file.clone());
            }
        }
    }
    Ok(files)
}

/// Each person token with the match-key tokens its records carry.
type PersonKeys = HashMap<Token, HashSet<Token>>;

/// A reader of a staged Parquet file, errors naming the file.
async fn open_staged(
    store: &Store,
    file: &FileEntry,
) -> Result<ParquetRecordBatchReaderBuilder<bytes::Bytes>, IntakeError> {
    let bytes = store.get(&file.path).await?;
    ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(|source| IntakeError::Parquet {
        file: file.path.clone(),
        action: "read",
        source,
    })
}

/// Adds the persons of a staged Parquet file and their match keys (only `person_id` and the
/// `mk_*` columns are decoded; a file without match-key columns, staged before contract
/// version 2, gives persons without keys).
async fn read_person_keys(
    store: &Store,
    file: &FileEntry,
    out: &mut PersonKeys,
) -> Result<(), IntakeError> {
    let (parquet_error, arrow_error) = read_errors(file);
    let builder = open_staged(store, file).await?;
    let wanted: Vec<usize> = builder
        .schema()
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| {
            f.name() == PERSON_COLUMN
                || svna_pseudonymise::MatchKey::from_column(f.name()).is_some()
        })
        .map(|(i, _)| i)
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), wanted);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(parquet_error)?;
    let decode = |text: &str| {
        let mut token = [0u8; 32];
        hex::decode_to_slice(text, &mut token).ok().map(|()| token)
    };
    for batch in reader {
        let batch = batch.map_err(&arrow_error)?;
        let Some(persons) = batch.column_by_name(PERSON_COLUMN) else {
            return Ok(());
        };
        let persons = persons.as_string::<i32>();
        let keys: Vec<_> = batch
            .schema()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| f.name() != PERSON_COLUMN)
            .map(|(_, c)| c.as_string::<i32>().clone())
            .collect();
        for row in 0..batch.num_rows() {
            let Some(person) = persons
                .is_valid(row)
                .then(|| decode(persons.value(row)))
                .flatten()
            else {
                continue;
            };
            let entry = out.entry(person).or_default();
            for column in &keys {
                if let Some(key) = column
                    .is_valid(row)
                    .then(|| decode(column.value(row)))
                    .flatten()
                {
                    entry.insert(key);
                }
            }
        }
    }
    Ok(())
}

/// Adds the distinct tokens of one column of a staged Parquet file (only that column is
/// decoded); a file without the column adds nothing.
pub(crate) async fn read_token_column(
    store: &Store,
    file: &FileEntry,
    column: &str,
    tokens: &mut HashSet<Token>,
) -> Result<(), IntakeError> {
    let (parquet_error, arrow_error) = read_errors(file);
    let builder = open_staged(store, file).await?;
    let Some(index) = builder
        .schema()
        .fields()
        .iter()
        .position(|f| f.name() == column)
    else {
        return Ok(());
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), [index]);
    let reader = builder
        .with_projection(mask)
        .build()
        .map_err(parquet_error)?;
    for batch in reader {
        let batch = batch.map_err(&arrow_error)?;
        for text in batch.column(0).as_string::<i32>().iter().flatten() {
            let mut token = [0u8; 32];
            if hex::decode_to_slice(text, &mut token).is_ok() {
                tokens.insert(token);
            }
        }
    }
    Ok(())
}
/// The errors reading a staged file can end in, naming it.
fn read_errors(
    file: &FileEntry,
) -> (
    impl Fn(parquet::errors::ParquetError) -> IntakeError + '_,
    impl Fn(arrow_schema::ArrowError) -> IntakeError + '_,
) {
    let parquet = |source| IntakeError::Parquet {
        file: file.path.clone(),
        action: "read",
        source,
    };
    let arrow = |source| IntakeError::Arrow {
        file: file.path.clone(),
        action: "read",
        source,
    };
    (parquet, arrow)
}
