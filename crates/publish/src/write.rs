use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use svna_disclosure::CellOutcome;

use crate::csv_out::CsvOut;
use crate::error::PublishError;
use crate::output_table::{OutputTable, PartnerMark, lower_bound_column, partner_flag};
use crate::standardise::{Standardised, standardised_rates};
use crate::{PARTNER_SUPPRESSED_MARKER, SUPPRESSED_MARKER};

/// A table as published, built once and written as both Parquet and CSV: the Arrow batch,
/// and per standardised rate why a figure is missing (withheld or blank), which NULL alone
/// does not say.
pub struct Published {
    pub batch: RecordBatch,
    standardised: Vec<Vec<Standardised>>,
}

/// The published table as Arrow: dimensions as text, counts as Int64 with NULL for
/// withheld cells (never 0), and, for partner-suppressed data, the partner's flags and the
/// lower-bound columns (see [`partner_columns`]).
pub fn published(table: &OutputTable, outcomes: &[Vec<CellOutcome>]) -> Published {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (name, codes) in table.spec.dimensions.iter().zip(&table.dims) {
        fields.push(Field::new(name, DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(codes)));
    }
    for (name, parents) in table.spec.dimensions.iter().zip(&table.parents) {
        if let Some(parents) = parents {
            fields.push(Field::new(&table.spec.parents[name], DataType::Utf8, false));
            columns.push(Arc::new(StringArray::from_iter_values(parents)));
        }
    }
    for (name, values) in &table.context {
        fields.push(Field::new(name, values.data_type().clone(), true));
        columns.push(Arc::clone(values));
    }
    for (name, flags) in partner_columns(table) {
        fields.push(Field::new(name, DataType::Boolean, false));
        columns.push(Arc::new(BooleanArray::from(flags)));
    }
    for (name, cells) in table.spec.counts.iter().zip(outcomes) {
        fields.push(Field::new(name, DataType::Int64, true));
        columns.push(Arc::new(
            cells
                .iter()
                .map(|o| o.value().map(|v| v as i64))
                .collect::<Int64Array>(),
        ));
    }
    for (rate, values) in table.spec.rates.iter().zip(rates(table, outcomes)) {
        fields.push(Field::new(&rate.name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(values)));
    }
    let standardised = standardised_rates(table, outcomes);
    for (rate, values) in table.spec.standardised.iter().zip(&standardised) {
        fields.push(Field::new(&rate.name, DataType::Float64, true));
        columns.push(Arc::new(
            values.iter().map(|v| v.value()).collect::<Float64Array>(),
        ));
    }
    Published {
        batch: RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
            .expect("columns follow the schema"),
        standardised,
    }
}

/// A public context column as numbers (a denominator); None when absent or not numeric.
pub fn context_f64(table: &OutputTable, name: &str) -> Option<Float64Array> {
    let (_, values) = table.context.iter().find(|(n, _)| *n == name)?;
    let values = arrow_cast::cast(values, &DataType::Float64).ok()?;
    values.as_any().downcast_ref::<Float64Array>().cloned()
}

/// `value` rounded to `decimals` places (at most 9), as rates are published.
pub fn round_to(value: f64, decimals: u32) -> f64 {
    let scale = 10f64.powi(decimals.min(9) as i32);
    (value * scale).round() / scale
}

/// For partner-suppressed data, the columns that say what the partner's suppression did:
/// each flag column (true where it touches a figure: withheld by the partner, NULL, or a
/// lower bound), then each count's lower-bound column (true where the figure is the sum of
/// the parts the partner shared, a lower bound of the true figure, even where svna withheld
/// it). Counts that share a column share its values.
pub fn partner_columns(table: &OutputTable) -> Vec<(String, Vec<bool>)> {
    let mut flags: Vec<(String, Vec<bool>)> = Vec::new();
    let mut bounds: Vec<(String, Vec<bool>)> = Vec::new();
    let mark =
        |columns: &mut Vec<(String, Vec<bool>)>, name: String, values: Vec<bool>| match columns
            .iter_mut()
            .find(|(n, _)| *n == name)
        {
            Some((_, existing)) => existing.iter_mut().zip(values).for_each(|(e, v)| *e |= v),
            None => columns.push((name, values)),
        };
    for (count, marks) in table.spec.counts.iter().zip(&table.partner) {
        let Some(flag) = partner_flag(&table.spec, count) else {
            continue;
        };
        let touched = marks.iter().map(|m| *m != PartnerMark::None).collect();
        mark(&mut flags, flag.clone(), touched);
        if let Some(column) = lower_bound_column(&table.spec, count) {
            let bound = marks
                .iter()
                .map(|m| *m == PartnerMark::LowerBound)
                .collect();
            mark(&mut bounds, column, bound);
        }
    }
    flags.extend(bounds);
    flags
}

/// A published table as Parquet, written the way svna writes every public Parquet file.
pub fn parquet_bytes(path: &str, batch: &RecordBatch) -> Result<Bytes, PublishError> {
    Ok(svna_storage::parquet_bytes(
        path,
        batch.schema(),
        std::slice::from_ref(batch),
        svna_storage::ParquetReaders::Public,
    )?)
}

/// Rates from protected counts only: withheld (None) when the count is withheld, and None
/// when the denominator is missing or zero. Denominators are public context columns.
pub fn rates(table: &OutputTable, outcomes: &[Vec<CellOutcome>]) -> Vec<Vec<Option<f64>>> {
    table
        .spec
        .rates
        .iter()
        .map(|rate| {
            let count = table.spec.counts.iter().position(|c| *c == rate.count);
            let denominator = context_f64(table, &rate.denominator);
            (0..table.rows())
                .map(|row| {
                    let value = outcomes[count?][row].value()? as f64;
                    let den = denominator.as_ref()?;
                    (den.is_valid(row) && den.value(row) > 0.0)
                        .then(|| round_to(value / den.value(row) * rate.per, rate.decimals))
                })
                .collect()
        })
        .collect()
}

/// CSV with a header row; withheld cells (and rates of withheld cells) are written as the
/// suppression marker, or the partner's where the partner withheld the figure.
pub fn csv_bytes(
    table: &OutputTable,
    outcomes: &[Vec<CellOutcome>],
    published: &Published,
) -> Result<Bytes, PublishError> {
    let error = |source| PublishError::Arrow {
        path: table.name.clone(),
        source,
    };
    let batch = &published.batch;
    let options = arrow_cast::display::FormatOptions::default();
    let formatters = batch
        .columns()
        .iter()
        .map(|c| arrow_cast::display::ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(error)?;
    // For each column: the count whose protection it follows, if any.
    let follows: Vec<Option<usize>> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let count_of = |name: &str| table.spec.counts.iter().position(|c| c == name);
            count_of(f.name()).or_else(|| {
                table
                    .spec
                    .rates
                    .iter()
                    .find(|r| &r.name == f.name())
                    .and_then(|r| count_of(&r.count))
            })
        })
        .collect();
    let mut csv = CsvOut::new(format!("{}.csv", table.name));
    csv.row(batch.schema().fields().iter().map(|f| f.name().as_str()))?;
    let row_withheld = |count: usize, row: usize| outcomes[count][row].value().is_none();
    // For each column: its standardised figures, if it is a standardised rate.
    let mut standardised = published.standardised.iter();
    let standardised: Vec<Option<&Vec<Standardised>>> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            table
                .spec
                .standardised
                .iter()
                .any(|r| &r.name == f.name())
                .then(|| standardised.next().expect("one per standardised rate"))
        })
        .collect();
    let marker = |count: usize, row: usize| {
        if table.partner_withheld(count, row) {
            PARTNER_SUPPRESSED_MARKER
        } else {
            SUPPRESSED_MARKER
        }
    };
    for row in 0..batch.num_rows() {
        let record: Vec<String> = batch
            .columns()
            .iter()
            .zip(&formatters)
            .zip(&follows)
            .zip(&standardised)
            .map(|(((column, format), follows), standardised)| {
                if let Some(Standardised::Withheld) = standardised.as_ref().map(|s| s[row]) {
                    return SUPPRESSED_MARKER.to_string();
                }
                match (column.is_null(row), follows) {
                    (true, Some(count)) if row_withheld(*count, row) => {
                        marker(*count, row).to_string()
                    }
                    (true, _) => String::new(),
                    (false, _) => format.value(row).to_string(),
                }
            })
            .collect();
        csv.row(&record)?;
    }
    csv.finish()
}
