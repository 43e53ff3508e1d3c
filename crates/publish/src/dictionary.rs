//! The data dictionary of a release: for every published table, what it counts, from which
//! sources and definition files (with their checksums, so the definition version is exact),
//! under which disclosure policy, and what each column means.

use std::collections::BTreeSet;

use serde::Serialize;
use svna_records::{DisclosurePolicy, DisclosureSpec, InputRecord, RunRecord, StageRecord};

use crate::output_table::{lower_bound_column, partner_flag};

/// Every staged input a stage reads, directly or through the stages it needs. A need that
/// is neither a stage nor an input of the run is returned as an error (its name).
pub fn lineage<'r>(
    record: &'r RunRecord,
    stage: &StageRecord,
) -> Result<Vec<&'r InputRecord>, String> {
    let mut pending: Vec<&str> = stage.needs.iter().map(String::as_str).collect();
    let mut seen = BTreeSet::new();
    let mut inputs = Vec::new();
    while let Some(need) = pending.pop() {
        if !seen.insert(need) {
            continue;
        }
        if let Some(upstream) = record.stages.iter().find(|s| s.name == need) {
            pending.extend(upstream.needs.iter().map(String::as_str));
        } else if let Some(input) = record.inputs.iter().find(|i| i.source == need) {
            inputs.push(input);
        } else {
            return Err(need.to_string());
        }
    }
    inputs.sort_by(|a, b| a.source.cmp(&b.source));
    Ok(inputs)
}

/// One table's entry.
#[derive(Debug, Clone, Serialize)]
pub struct TableEntry {
    pub table: String,
    pub description: String,
    pub measure: String,
    pub disclosure: String,
    /// Partner, open and reference data it is computed from: `dataset (partner)`.
    pub sources: Vec<String>,
    /// svna's definition files it uses, each `dataset@sha256-prefix`.
    pub definitions: Vec<String>,
    pub columns: Vec<ColumnEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ColumnEntry {
    pub column: String,
    pub role: &'static str,
    pub meaning: String,
}

/// The dictionary entry of an aggregate stage's table.
pub fn table_entry(record: &RunRecord, stage: &StageRecord, spec: &DisclosureSpec) -> TableEntry {
    let inputs = lineage(record, stage).unwrap_or_default();
    let contracts = svna_contracts::v1();
    let (mut sources, mut definitions) = (Vec::new(), Vec::new());
    for input in inputs {
        let partner = contracts
            .dataset(&input.dataset)
            .map(|d| d.partner.clone())
            .unwrap_or_default();
        if partner == "svna" {
            let version: Vec<String> = input
                .files
                .iter()
                .map(|f| f.sha256[..12].to_string())
                .collect();
            definitions.push(format!("{}@{}", input.dataset, version.join("+")));
        } else if input.files.is_empty() {
            // An optional source the run had nothing staged for: say so, rather than name
            // a source the figures do not come from.
            sources.push(format!(
                "{} ({partner}): not loaded for this run, so what is computed from it is empty",
                input.dataset
            ));
        } else {
            sources.push(format!("{} ({partner})", input.dataset));
        }
    }
    // The run's warnings about this table (e.g. LSOAs without population).
    let prefix = format!("stage `{}`: ", stage.name);
    sources.extend(
        record
            .warnings
            .iter()
            .filter_map(|w| w.strip_prefix(&prefix))
            .map(|w| format!("warning: {w}")),
    );
    let measure = spec.measure.clone().unwrap_or_else(|| stage.name.clone());
    TableEntry {
        table: stage.name.clone(),
        description: stage.description.clone(),
        measure: measure.clone(),
        disclosure: policy_text(spec),
        sources,
        definitions,
        columns: columns(spec, &measure),
    }
}

/// Appended to the meaning of a count the partner's suppression can touch.
fn partner_count_note(spec: &DisclosureSpec, count: &str) -> String {
    match (partner_flag(spec, count), lower_bound_column(spec, count)) {
        (Some(flag), Some(bound)) => format!(
            "; a figure the partner withheld before sharing it is `[p]` in CSV and NULL in Parquet (with {flag} true and {bound} false): unknown to svna too and never reconstructed; where {bound} is true the figure is a lower bound, the sum of the parts the partner shared"
        ),
        _ => String::new(),
    }
}

/// The counts whose figures `flag` marks.
fn flagged_counts<'a>(spec: &'a DisclosureSpec, flag: &str) -> Vec<&'a str> {
    spec.counts
        .iter()
        .filter(|count| partner_flag(spec, count).is_some_and(|f| f == flag))
        .map(String::as_str)
        .collect()
}

/// The lower-bound columns of the counts `flag` marks.
fn lower_bound_columns(spec: &DisclosureSpec, flag: &str) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for count in flagged_counts(spec, flag) {
        if let Some(column) = lower_bound_column(spec, count)
            && !columns.contains(&column)
        {
            columns.push(column);
        }
    }
    columns
}

/// What the lower-bound flag means, and why publishing it is safe.
const LOWER_BOUND_MEANING: &str = "true where the figure (and its rate) is a lower bound: it includes parts the partner withheld before sharing, and the count is the sum of the parts the partner did share, so the true figure is at least this. It is never reconstructed and never blanked because of the partner: disclosure control treats it as the exact count of the shared parts (a small one is withheld as `[c]` like any small count, and this column then still says the withheld figure is a lower bound), and every other withheld figure is proven protected against an outsider who knows each lower bound is the sum of the shared parts; the partner's withheld parts are not in it at all";

fn policy_text(spec: &DisclosureSpec) -> String {
    match spec.policy {
        DisclosurePolicy::Threshold => format!(
            "threshold k={}: counts 1 to {} withheld, with complementary suppression so no withheld count can be recomputed",
            spec.k.unwrap_or(5),
            spec.k.unwrap_or(5) - 1
        ),
        DisclosurePolicy::Nhs => "NHS small numbers: counts 1-7 withheld, others rounded to 5".into(),
        DisclosurePolicy::Round => format!("every count rounded to base {}", spec.base.unwrap_or(5)),
        DisclosurePolicy::Midpoint6 => "midpoint-6 rounding (0 stays 0; others to 3, 9, 15 ...)".into(),
        DisclosurePolicy::Open => "open: computed from already-public data only, published as it is".into(),
        DisclosurePolicy::Accounting => "accounting: row counts of whole deliveries (not counts of people or events), published exactly, as the release manifest's file row counts are".into(),
    }
}

/// What a context column holds, in plain words where svna's stages define it; these columns
/// are read by people in spreadsheets, so "context" alone says too little.
fn context_meaning(column: &str) -> &'static str {
    match column {
        "area_name" => {
            "the name of the LSOA, ward or district the code identifies, from the ONS lookup the run used (public); empty for Total and Unknown"
        }
        "partner" => {
            "who delivered the data (partners sending one dataset for one period are joined by ;)"
        }
        "missing_months" => {
            "months (YYYY-MM, separated by ;) from first_month to last_month in which the dataset has no staged row by its main date: a gap in the data, not a zero; empty when none. School suspensions happen only on school days, so their Augusts (summer holidays) are listed here but are expected, and the release report shows them apart"
        }
        "residents" | "residents_u25" => {
            "residents of the area (all ages, or aged under 25), summed from the ONS population estimates loaded (one year's estimates, used for every year; public)"
        }
        "police_months" | "health_months" | "ed_months" => {
            "months of that source's data in the row's year (any record): 0 means the source does not cover it, so its counts there are not zeros of the measure"
        }
        "police_resident_years" | "police_resident_years_u25" => {
            "the residents (all ages, or under 25) times police_months over 12: the denominator of the police rates per year"
        }
        "ed_resident_years" => {
            "the residents of the row's area and age band (all ages for the total) times ed_months over 12: the denominator of the attendance rates per year; empty for an unknown area or age"
        }
        "health_resident_years" | "health_resident_years_u25" => {
            "the residents (all ages, or under 25) times health_months over 12: the denominator of the admissions rates per year"
        }
        "first_month" => {
            "the first month (YYYY-MM) checked for gaps: the delivery period's, or, for files loaded without a period (period 'all'), the first month of the data"
        }
        "resident_years" => {
            "residents times the years of police data the row covers (its months with any recorded offence, over 12): the denominator of the rate per year, so an all-years row gives an annual average"
        }
        "last_month" => {
            "the last month (YYYY-MM) checked for gaps: the delivery period's, or, for files loaded without a period (period 'all'), the last month of the data"
        }
        _ => "public context for the cell (not a count of the measure)",
    }
}

fn columns(spec: &DisclosureSpec, measure: &str) -> Vec<ColumnEntry> {
    let mut out = Vec::new();
    for dim in &spec.dimensions {
        out.push(ColumnEntry {
            column: dim.clone(),
            role: "dimension",
            meaning: format!(
                "identifies the cell; `{}` is the total over all values; in CSV a code beginning with = + - @ is shown with a leading ' so spreadsheets read it as text",
                spec.total
            ),
        });
        if let Some(parent) = spec.parents.get(dim) {
            out.push(ColumnEntry {
                column: parent.clone(),
                role: "parent",
                meaning: format!("the code `{dim}` rolls up into (one hierarchy)"),
            });
        }
    }
    for count in &spec.counts {
        let what = match spec.count_measures.get(count) {
            Some(quantity) => format!(
                "{count}: the quantity `{quantity}`, the same figure wherever a table publishes it"
            ),
            None => format!("{count} of measure `{measure}`"),
        };
        out.push(ColumnEntry {
            column: count.clone(),
            role: "count",
            meaning: format!(
                "{what}; a figure svna withheld (disclosure control: too small, or it would let a small one be worked out) is `[c]` in CSV and NULL in Parquet, never 0{}",
                partner_count_note(spec, count)
            ),
        });
    }
    for context in &spec.context {
        out.push(ColumnEntry {
            column: context.clone(),
            role: "context",
            meaning: context_meaning(context).into(),
        });
    }
    for count in &spec.counts {
        let Some(flag) = partner_flag(spec, count) else {
            continue;
        };
        if out.iter().any(|c| c.column == *flag) {
            continue;
        }
        out.push(ColumnEntry {
            column: flag.clone(),
            role: "partner flag",
            meaning: format!(
                "true where the partner's own suppression touches the figure of {}: either the partner withheld every part of it before sharing (`[p]` in CSV and NULL in Parquet, unknown to svna too, never reconstructed), or some parts (a lower bound, see {})",
                flagged_counts(spec, flag).join(", "),
                lower_bound_columns(spec, flag).join(", ")
            ),
        });
    }
    for count in &spec.counts {
        let Some(column) = lower_bound_column(spec, count) else {
            continue;
        };
        if out.iter().any(|c| c.column == column) {
            continue;
        }
        out.push(ColumnEntry {
            column,
            role: "lower-bound flag",
            meaning: LOWER_BOUND_MEANING.into(),
        });
    }
    for rate in &spec.rates {
        out.push(ColumnEntry {
            column: rate.name.clone(),
            role: "rate",
            meaning: format!(
                "{} per {} {}, from the published count, to {} decimal place(s); empty where the count is withheld or the denominator is unknown",
                rate.count, rate.per, rate.denominator, rate.decimals
            ),
        });
    }
    for rate in &spec.standardised {
        out.push(ColumnEntry {
            column: rate.name.clone(),
            role: "age-standardised rate",
            meaning: format!(
                "{count} per {per} {den}, directly age-standardised to the 2013 European Standard Population (ESP 2013), on the rows where {by} is `{total}` (empty elsewhere): the mean of the row's {by} rates ({count} / {den} of each band, the other coordinates the same), each weighted by the standard's population in that band. A band's weight is the standard's five-year groups spread evenly over their single years of age (90+ over 90-99) and summed over the band's ages (0-9: 10,500; 10-17: 8,800; 18-24: 8,200; 25-34: 12,500; 35-49: 21,000; 50-64: 19,500; 65+: 19,500 of 100,000). Codes that are not age bands (`unknown`) are left out, so it covers records of known age only, unlike the crude rate. Computed from the published counts and the public populations only, to {decimals} decimal place(s); `[c]` where a band's count is withheld, empty where a band's population is unknown or zero. Use it to compare areas whose residents differ in age; the crude rate says how many",
                count = rate.count,
                per = rate.per,
                den = rate.denominator,
                by = rate.by,
                total = spec.total,
                decimals = rate.decimals,
            ),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_columns_svna_defines_are_explained_in_words() {
        assert!(context_meaning("area_name").contains("ONS lookup"));
        assert!(context_meaning("missing_months").contains("Augusts (summer holidays)"));
        assert!(context_meaning("first_month").contains("loaded without a period"));
        assert!(context_meaning("police_months").contains("does not cover"));
        assert!(context_meaning("resident_years").contains("rate per year"));
        assert_eq!(
            context_meaning("imd_decile"),
            "public context for the cell (not a count of the measure)"
        );
    }
}
