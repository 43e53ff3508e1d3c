//! What a stage declares about its output: whether it is row-level or an aggregate and, for an
//! aggregate, how it is protected before publication (the pipeline file's `disclosure`).
//! Read by the engine with the pipeline file, recorded in run records, and interpreted by
//! svna-publish, which therefore needs this and not the engine.
//!
//! Unknown keys are ignored here, so the report reads release manifests of other svna
//! versions; the pipeline parser (`svna_engine::pipeline`) refuses any key a person wrote that
//! no field takes.

use serde::{Deserialize, Serialize};

use crate::policy::DisclosurePolicy;

/// Whether a stage's output holds row-level records (never publishable) or aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensitivity {
    RowLevel,
    Aggregate,
}

/// How an aggregate output is protected before publication. Interpreted by svna-publish.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DisclosureSpec {
    /// Parsed with the pipeline file, so a misspelt policy never reaches a run.
    pub policy: DisclosurePolicy,
    /// Minimum publishable count for `threshold` (counts 1..k-1 are withheld).
    #[serde(default)]
    pub k: Option<u64>,
    /// Rounding base for `round`.
    #[serde(default)]
    pub base: Option<u64>,
    /// Count columns the policy applies to.
    pub counts: Vec<String>,
    /// Columns that identify a cell (the table's dimensions).
    pub dimensions: Vec<String>,
    /// The value that marks a margin (total) in a dimension column.
    #[serde(default = "default_total")]
    pub total: String,
    /// What is counted; tables of one release with the same measure share their margins.
    #[serde(default)]
    pub measure: Option<String>,
    /// For counts from pre-aggregated partner data: a boolean column marking cells the
    /// partner withheld. They stay withheld.
    #[serde(default)]
    pub partner_suppressed: Option<String>,
    /// Per count column, its own partner flag column (count -> flag), for a table that puts
    /// partner counts beside counts of other data or of other partner cells (the success
    /// measures): such a count is withheld where its flag is set, whatever
    /// `partner_suppressed` says. Counts not named here follow `partner_suppressed`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub partner_flags: std::collections::BTreeMap<String, String>,
    /// Count columns that measure what a count of another measure does: count ->
    /// `measure.count` (e.g. `sharp_admissions = "sharp_admissions_u25.admissions"`). A table
    /// that puts several measures side by side (the success measures) declares each, so its
    /// cells are the same quantities as the other tables' and are protected with them.
    /// Without it a count column is measured as `<measure>.<count>`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub count_measures: std::collections::BTreeMap<String, String>,
    /// Hierarchical dimensions: dimension -> the column holding each code's parent code
    /// (e.g. `area_code` -> `parent_code` for LSOA -> ward -> district -> Total). The root's
    /// parent is empty. Published as it is (it is geography, not a count).
    #[serde(default)]
    pub parents: std::collections::BTreeMap<String, String>,
    /// Public, non-count columns that depend only on the cell's coordinates (e.g. residents
    /// from ONS estimates, IMD decile). Published as they are; never protected.
    #[serde(default)]
    pub context: Vec<String>,
    /// Rates computed by publish from protected counts, after protection (never from raw
    /// counts): `name = count / per_column * per`, withheld when the count is withheld.
    #[serde(default)]
    pub rates: Vec<RateSpec>,
    /// Dimension columns that hold the same classification as a column of other tables,
    /// under that column's name (e.g. `area_code = "lad_code"`: the district rows of an area
    /// table are the district cells of the district tables; `month = "period"` and
    /// `year = "period"`: months and years are one calendar, months summing to years).
    /// Disclosure control links the tables through them, as an outsider would.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub same_as: std::collections::BTreeMap<String, String>,
    /// Count columns that are parts of another count column of the same row: part -> whole
    /// (e.g. `knife_offences = "offences"`). Checked against the data at publish; the
    /// attacker knows a part is at most its whole.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub nested: std::collections::BTreeMap<String, String>,
    /// Count columns that are parts of a count in another table: count -> where its whole
    /// is (e.g. distinct victims by age and sex ≤ involvements with role `victim` by age and
    /// sex: `victims = { table = "sv_person_offences_by_role_age_sex", count =
    /// "involvements", at = { role = "victim" } }`). Checked against the data at publish;
    /// the attacker knows a part is at most its whole.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub part_of: std::collections::BTreeMap<String, PartOf>,
    /// Directly age-standardised rates, computed by publish after protection from the
    /// published cells only (never from raw counts): on each row where `by` is the total,
    /// the rates of its `by` bands (count / denominator, the same coordinates otherwise)
    /// weighted by a standard population. Withheld when any band's count is withheld.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub standardised: Vec<StandardisedRateSpec>,
}

/// A directly standardised rate: see [`DisclosureSpec::standardised`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardisedRateSpec {
    pub name: String,
    pub count: String,
    /// The context column holding each band's population (e.g. resident years).
    pub denominator: String,
    /// The dimension whose codes are age bands (`0-9`, `10-17`, `65+`; other codes, such
    /// as `unknown`, are left out of the standardised rate).
    pub by: String,
    pub standard: StandardPopulation,
    #[serde(default = "default_standardised_per")]
    pub per: f64,
    #[serde(default = "default_decimals")]
    pub decimals: u32,
}

/// The standard population a rate is standardised to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StandardPopulation {
    /// The 2013 European Standard Population (Eurostat), 19 five-year groups to 90+,
    /// 100,000 in all: the standard ONS and OHID use for age-standardised rates.
    Esp2013,
}

fn default_standardised_per() -> f64 {
    100_000.0
}

/// Where the whole of a part count lies: a count column of another table, at the same
/// coordinates plus `at` (the whole table's extra dimensions, by column name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartOf {
    pub table: String,
    pub count: String,
    #[serde(default)]
    pub at: std::collections::BTreeMap<String, String>,
}

/// A rate derived from a protected count and a public denominator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateSpec {
    pub name: String,
    pub count: String,
    pub denominator: String,
    #[serde(default = "default_per")]
    pub per: f64,
    /// Decimal places published (default 1: a rate per 1,000 to 16 places claims a
    /// precision the counts do not have).
    #[serde(default = "default_decimals")]
    pub decimals: u32,
}

fn default_per() -> f64 {
    1000.0
}

fn default_decimals() -> u32 {
    1
}

fn default_total() -> String {
    "Total".into()
}

impl DisclosureSpec {
    /// A spec of `counts` by `dimensions` under `policy` with nothing else declared (no k or
    /// base, margins coded `Total`, no measure, partner flags, context, rates or links), for
    /// callers that build one in code and set what they need on top.
    pub fn new(policy: DisclosurePolicy, counts: &[&str], dimensions: &[&str]) -> Self {
        let names = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        DisclosureSpec {
            policy,
            k: None,
            base: None,
            counts: names(counts),
            dimensions: names(dimensions),
            total: default_total(),
            measure: None,
            partner_suppressed: None,
            partner_flags: Default::default(),
            count_measures: Default::default(),
            parents: Default::default(),
            context: Vec::new(),
            rates: Vec::new(),
            same_as: Default::default(),
            nested: Default::default(),
            part_of: Default::default(),
            standardised: Vec::new(),
        }
    }
}
