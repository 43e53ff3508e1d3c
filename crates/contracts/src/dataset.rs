use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::{Deserialize, Serialize};

use crate::error::ContractError;

/// All datasets of one contract version.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Contracts {
    /// The version partners' tools write now.
    pub version: u32,
    /// The oldest version whose deliveries are still accepted (defaults to `version`).
    /// Columns added since it carry [`Column::since`] and may be absent from a file.
    #[serde(default)]
    pub oldest_accepted: Option<u32>,
    #[serde(rename = "dataset")]
    pub datasets: Vec<Dataset>,
}

/// Who produced a dataset and at what level of identifiability, which decides how svna may
/// treat it (person tokens may only appear in person-level data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    PersonLevel,
    Unidentified,
    Aggregate,
    Reference,
    OpenData,
    /// svna's own records about the data (e.g. `deliveries`, regenerated from the staged
    /// manifests): neither partner data nor public, so never accepted as open lineage.
    Metadata,
}

/// One dataset of the contract: its columns and the cross-row rules that apply to it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dataset {
    pub name: String,
    pub kind: DatasetKind,
    pub partner: String,
    #[serde(default)]
    pub description: String,
    pub columns: Vec<Column>,
    /// Columns whose values must be unique within an extract.
    #[serde(default)]
    pub unique: Vec<String>,
    /// Foreign keys into another dataset of the same delivery period.
    #[serde(default)]
    pub references: Vec<Reference>,
    /// Header names a public file carries that svna drops on purpose.
    #[serde(default)]
    pub ignore_columns: Vec<String>,
    /// For pre-aggregated data: which count may be withheld by the partner, and its flag.
    #[serde(default)]
    pub suppression: Option<Suppression>,
    /// Cross-field rules within a row: each `earlier` value must not come after its `later`
    /// value (an offence cannot be committed after it was recorded).
    #[serde(default)]
    pub order: Vec<Order>,
    /// Person-level data that may carry match keys (contract version 2): the `mk_*` token
    /// columns of [`svna_pseudonymise::MatchKey::ALL`] are added to its columns, optional
    /// and absent from version-1 files.
    #[serde(default)]
    pub match_keys: bool,
}

/// The contract version that added match-key columns.
pub const MATCH_KEYS_SINCE: u32 = 2;

/// `earlier <= later` within a row, for two date or two timestamp columns. A row where
/// either is empty passes: an unknown date cannot contradict the other.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub earlier: String,
    pub later: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    pub column: String,
    pub dataset: String,
    pub dataset_column: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    pub count: String,
    pub flag: String,
}

/// One column of a dataset.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub min: Option<i64>,
    #[serde(default)]
    pub max: Option<i64>,
    #[serde(default)]
    pub values: Vec<String>,
    /// Longest value accepted, in characters; text columns default to
    /// [`DEFAULT_TEXT_MAX_LEN`]. Coded types are bounded by their format already.
    #[serde(default)]
    pub max_len: Option<usize>,
    #[serde(default)]
    pub source_names: Vec<String>,
    #[serde(default)]
    pub description: String,
    /// The contract version that added the column. A column added after the oldest accepted
    /// version may be absent from a file's header (every value is then empty), so files
    /// written to the older version stay valid; it is never required.
    #[serde(default)]
    pub since: Option<u32>,
}

/// The longest text value accepted where the contract declares no `max_len`: long enough
/// for any name or label in a reference file, short enough that a runaway field (a whole
/// file pasted into one cell) is refused rather than staged.
pub const DEFAULT_TEXT_MAX_LEN: usize = 256;

impl Column {
    /// The longest value this column accepts, if its type does not bound it already.
    pub fn max_len(&self) -> Option<usize> {
        match self.ty {
            ColumnType::Text => Some(self.max_len.unwrap_or(DEFAULT_TEXT_MAX_LEN)),
            _ => self.max_len,
        }
    }
}

/// The value domain of a column; each maps to one Arrow type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    Token,
    Date,
    Timestamp,
    Int,
    Float,
    Bool,
    Text,
    Enum,
    Lsoa,
    Lad,
    Month,
    Quarter,
    HoCode,
}

impl ColumnType {
    /// The Arrow type a column is read as. Timestamps are local (Europe/London) wall-clock
    /// times as partners record them, so they carry no time zone.
    pub fn arrow_type(self) -> DataType {
        match self {
            ColumnType::Date => DataType::Date32,
            ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
            ColumnType::Int => DataType::Int32,
            ColumnType::Float => DataType::Float64,
            ColumnType::Bool => DataType::Boolean,
            ColumnType::Token
            | ColumnType::Text
            | ColumnType::Enum
            | ColumnType::Lsoa
            | ColumnType::Lad
            | ColumnType::Month
            | ColumnType::Quarter
            | ColumnType::HoCode => DataType::Utf8,
        }
    }
}

impl Contracts {
    /// Parses and checks contract text.
    pub fn from_toml(text: &str) -> Result<Self, ContractError> {
        let mut contracts: Contracts = toml::from_str(text)?;
        let oldest = contracts.oldest_accepted();
        if oldest > contracts.version {
            return Err(ContractError::Invalid {
                dataset: "(all)".into(),
                message: format!(
                    "oldest_accepted {oldest} is newer than version {}",
                    contracts.version
                ),
            });
        }
        for dataset in &mut contracts.datasets {
            if dataset.match_keys {
                dataset.add_match_key_columns(contracts.version)?;
            }
            dataset.check(contracts.version)?;
        }
        Ok(contracts)
    }

    /// The oldest contract version whose deliveries are accepted.
    pub fn oldest_accepted(&self) -> u32 {
        self.oldest_accepted.unwrap_or(self.version)
    }

    /// Whether a delivery declaring contract `version` is accepted.
    pub fn accepts(&self, version: u32) -> bool {
        (self.oldest_accepted()..=self.version).contains(&version)
    }

    pub fn dataset(&self, name: &str) -> Result<&Dataset, ContractError> {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| ContractError::UnknownDataset {
                name: name.to_string(),
                known: self.dataset_names().join(", "),
            })
    }

    pub fn dataset_names(&self) -> Vec<&str> {
        self.datasets.iter().map(|d| d.name.as_str()).collect()
    }
}

impl DatasetKind {
    /// Data a partner (or a public source) delivers, as opposed to svna's definitions
    /// (reference) and its own records (metadata).
    pub fn is_delivered(self) -> bool {
        matches!(
            self,
            DatasetKind::PersonLevel
                | DatasetKind::Unidentified
                | DatasetKind::Aggregate
                | DatasetKind::OpenData
        )
    }
}

impl Dataset {
    /// The Arrow schema every extract of this dataset is read with (never inferred).
    /// Required columns are non-nullable.
    pub fn arrow_schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.ty.arrow_type(), !c.required))
            .collect();
        Arc::new(Schema::new(fields))
    }

    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|c| c.name.as_str()).collect()
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns holding person or offence tokens: these must never reach a published output.
    pub fn token_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.ty == ColumnType::Token)
    }

    /// The match-key columns (`mk_*`) this dataset carries, strongest key first.
    pub fn match_key_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| svna_pseudonymise::MatchKey::from_column(&c.name).is_some())
    }

    /// Whether a file's header may leave this column out (it was added after a version
    /// whose files are still accepted).
    pub fn may_be_absent(column: &Column) -> bool {
        column.since.is_some_and(|since| since > 1)
    }

    fn add_match_key_columns(&mut self, version: u32) -> Result<(), ContractError> {
        if version < MATCH_KEYS_SINCE {
            return Err(self.invalid(format!(
                "match_keys needs contract version {MATCH_KEYS_SINCE} or later"
            )));
        }
        for key in svna_pseudonymise::MatchKey::ALL {
            self.columns.push(Column {
                name: key.column().to_string(),
                ty: ColumnType::Token,
                required: false,
                min: None,
                max: None,
                values: Vec::new(),
                max_len: None,
                source_names: Vec::new(),
                description: format!(
                    "Match key (v{MATCH_KEYS_SINCE}, optional): keyed token of {}.",
                    key.describe()
                ),
                since: Some(MATCH_KEYS_SINCE),
            });
        }
        Ok(())
    }

    fn invalid(&self, message: String) -> ContractError {
        ContractError::Invalid {
            dataset: self.name.clone(),
            message,
        }
    }

    fn check(&self, version: u32) -> Result<(), ContractError> {
        let mut seen = std::collections::BTreeSet::new();
        for column in &self.columns {
            if !seen.insert(column.name.as_str()) {
                return Err(self.invalid(format!("column `{}` defined twice", column.name)));
            }
            if let Some(since) = column.since
                && (since > version || (since > 1 && column.required))
            {
                return Err(self.invalid(format!(
                    "column `{}`: `since` must be at most the contract version, and a column \
                     added later cannot be required",
                    column.name
                )));
            }
            if (column.ty == ColumnType::Enum) == column.values.is_empty() {
                return Err(self.invalid(format!(
                    "column `{}`: enum columns need `values`, other types must not have them",
                    column.name
                )));
            }
        }
        let named = |c: &str| seen.contains(c);
        for c in self
            .unique
            .iter()
            .chain(self.references.iter().map(|r| &r.column))
        {
            if !named(c) {
                return Err(self.invalid(format!("rule names unknown column `{c}`")));
            }
        }
        if let Some(s) = &self.suppression {
            let typed = |name: &str, ty| self.column(name).is_some_and(|c| c.ty == ty);
            if !(typed(&s.count, ColumnType::Int) && typed(&s.flag, ColumnType::Bool)) {
                return Err(self.invalid(
                    "suppression must name an int count column and a bool flag column".into(),
                ));
            }
        }
        for rule in &self.order {
            self.check_order(rule)?;
        }
        if self.kind != DatasetKind::PersonLevel && self.token_columns().next().is_some() {
            return Err(self.invalid("only person-level datasets may hold tokens".into()));
        }
        Ok(())
    }

    /// An order rule compares two columns of one temporal type.
    fn check_order(&self, rule: &Order) -> Result<(), ContractError> {
        let ty = |name: &str| self.column(name).map(|c| c.ty);
        match (ty(&rule.earlier), ty(&rule.later)) {
            (Some(a), Some(b))
                if a == b && matches!(a, ColumnType::Date | ColumnType::Timestamp) =>
            {
                Ok(())
            }
            _ => Err(self.invalid(format!(
                "order rule `{}` <= `{}` needs two date or two timestamp columns",
                rule.earlier, rule.later
            ))),
        }
    }
}
