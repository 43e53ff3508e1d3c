use std::sync::Arc;

use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use svna_disclosure::CellOutcome;

use crate::SUPPRESSED_MARKER;
use crate::error::PublishError;
use crate::output_table::OutputTable;

/// The published table as Arrow: dimensions as text, counts as Int64 with NULL for
/// withheld cells (never 0).
pub fn published_batch(table: &OutputTable, outcomes: &[Vec<CellOutcome>]) -> RecordBatch {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (name, codes) in table.spec.dimensions.iter().zip(&table.dims) {
        fields.push(Field::new(name, DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from_iter_values(codes)));
    }
    for (name, cells) in table.spec.counts.iter().zip(outcomes) {
        fields.push(Field::new(name, DataType::Int64, true));
        columns.push(Arc::new(cells.iter().map(|o| o.value().map(|v| v as i64)).collect::<Int64Array>()));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("columns follow the schema")
}

pub fn parquet_bytes(table: &str, batch: &RecordBatch) -> Result<Bytes, PublishError> {
    let error = |e: parquet::errors::ParquetError| PublishError::File { path: table.to_string(), message: e.to_string() };
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(props)).map_err(error)?;
    writer.write(batch).map_err(error)?;
    writer.close().map_err(error)?;
    Ok(Bytes::from(buffer))
}

/// CSV with a header row; withheld cells are written as the suppression marker.
pub fn csv_bytes(table: &OutputTable, outcomes: &[Vec<CellOutcome>]) -> Result<Bytes, PublishError> {
    let error = |e: &dyn std::fmt::Display| PublishError::File { path: table.name.clone(), message: e.to_string() };
    let mut csv = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = table.spec.dimensions.iter().chain(&table.spec.counts).map(String::as_str).collect();
    csv.write_record(&header).map_err(|e| error(&e))?;
    for row in 0..table.rows() {
        let mut record: Vec<String> = table.dims.iter().map(|d| d[row].clone()).collect();
        for cells in outcomes {
            record.push(cells[row].value().map_or_else(|| SUPPRESSED_MARKER.to_string(), |v| v.to_string()));
        }
        csv.write_record(&record).map_err(|e| error(&e))?;
    }
    Ok(Bytes::from(csv.into_inner().map_err(|e| error(&e))?))
}
