//! Writing rows in the contract's column order, addressing fields by name.

use std::fmt::{Display, Write as _};
use std::io::Write;

use svna_contracts::Dataset;

use crate::{OpenFn, ProgressFn, Result, SynthError};

/// How often the progress callback hears about a dataset.
const PROGRESS_EVERY: u64 = 50_000;

/// A column position, resolved once from its name, so the hot loop indexes a Vec.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Col(usize);

/// A CSV writer for one dataset whose header and field order come from the contract. A
/// generator sets fields by [`Col`]; fields it never sets stay empty (NULL).
pub(crate) struct RowWriter {
    dataset: &'static Dataset,
    csv: csv::Writer<Box<dyn Write>>,
    fields: Vec<String>,
    rows: u64,
}

/// Opens the sink for `name` and writes the contract header.
pub(crate) fn open(open: &mut OpenFn<'_>, name: &str) -> Result<RowWriter> {
    let dataset = svna_contracts::v1().dataset(name)?;
    RowWriter::new(dataset, open(name)?)
}

impl RowWriter {
    pub(crate) fn new(dataset: &'static Dataset, sink: Box<dyn Write>) -> Result<Self> {
        let mut csv = csv::WriterBuilder::new().from_writer(sink);
        csv.write_record(dataset.column_names())?;
        Ok(RowWriter {
            dataset,
            csv,
            fields: vec![String::new(); dataset.columns.len()],
            rows: 0,
        })
    }

    /// The position of `name` in the contract; an error if the contract lacks it.
    pub(crate) fn col(&self, name: &str) -> Result<Col> {
        self.dataset
            .columns
            .iter()
            .position(|c| c.name == name)
            .map(Col)
            .ok_or_else(|| SynthError::MissingColumn {
                dataset: self.dataset.name.clone(),
                column: name.to_string(),
            })
    }

    pub(crate) fn set(&mut self, col: Col, value: &str) {
        let field = &mut self.fields[col.0];
        field.clear();
        field.push_str(value);
    }

    pub(crate) fn set_fmt(&mut self, col: Col, value: impl Display) {
        let field = &mut self.fields[col.0];
        field.clear();
        let _ = write!(field, "{value}");
    }

    /// Sets the field, or leaves it empty (unknown) for `None`.
    pub(crate) fn set_opt(&mut self, col: Col, value: Option<impl Display>) {
        match value {
            Some(v) => self.set_fmt(col, v),
            None => self.fields[col.0].clear(),
        }
    }

    pub(crate) fn set_bool(&mut self, col: Col, value: bool) {
        self.set(col, if value { "true" } else { "false" });
    }

    /// Writes the row and empties every field for the next one.
    pub(crate) fn end_row(&mut self, progress: &mut ProgressFn<'_>) -> Result<()> {
        self.csv.write_record(&self.fields)?;
        self.fields.iter_mut().for_each(String::clear);
        self.rows += 1;
        if self.rows.is_multiple_of(PROGRESS_EVERY) {
            progress(&self.dataset.name, self.rows);
        }
        Ok(())
    }

    /// Flushes the sink (so write errors surface here, not in a silent drop) and returns the
    /// number of data rows.
    pub(crate) fn finish(mut self, progress: &mut ProgressFn<'_>) -> Result<u64> {
        self.csv.flush()?;
        progress(&self.dataset.name, self.rows);
        Ok(self.rows)
    }
}
