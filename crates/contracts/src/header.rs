use crate::dataset::Dataset;
use crate::error::{HeaderProblem, Violation};
use crate::value::Value;

/// Where each contract column sits in a particular file's header (column order is free).
#[derive(Debug, Clone)]
pub struct HeaderMap {
    /// For each contract column, in contract order: its index in the file's records.
    positions: Vec<Option<usize>>,
    field_count: usize,
}

impl Dataset {
    /// Maps a file's header onto the contract. Every problem is reported, not just the
    /// first, so a partner can fix a file in one go. A leading UTF-8 BOM is tolerated.
    pub fn map_header<S: AsRef<str>>(&self, header: &[S]) -> Result<HeaderMap, Vec<HeaderProblem>> {
        let mut problems = Vec::new();
        let mut positions = vec![None; self.columns.len()];
        for (index, raw) in header.iter().enumerate() {
            let name = raw.as_ref().trim_start_matches('\u{feff}');
            if self.ignore_columns.iter().any(|c| c == name) {
                continue;
            }
            let found = self
                .columns
                .iter()
                .position(|c| c.name == name || c.source_names.iter().any(|s| s == name));
            match found {
                None => problems.push(HeaderProblem::Unknown {
                    column: name.to_string(),
                }),
                Some(col) if positions[col].is_some() => problems.push(HeaderProblem::Duplicate {
                    column: name.to_string(),
                }),
                Some(col) => positions[col] = Some(index),
            }
        }
        for (col, pos) in self.columns.iter().zip(&positions) {
            if pos.is_none() {
                problems.push(HeaderProblem::Missing {
                    column: col.name.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(HeaderMap {
                positions,
                field_count: header.len(),
            })
        } else {
            Err(problems)
        }
    }

    /// Parses one record (fields in file order) into values in contract order. Returns every
    /// violation in the row; `out` holds the values only when there are none.
    pub fn parse_record<'a>(
        &self,
        map: &HeaderMap,
        field: impl Fn(usize) -> Option<&'a str>,
        out: &mut Vec<Value>,
    ) -> Vec<Violation> {
        out.clear();
        let mut violations = Vec::new();
        for (column, pos) in self.columns.iter().zip(&map.positions) {
            let raw = pos.and_then(&field).unwrap_or("");
            match column.parse(raw) {
                Ok(v) => out.push(v),
                Err(v) => violations.push(v),
            }
        }
        violations
    }
}

impl HeaderMap {
    /// Where the contract column with this index sits in the file's records.
    pub fn position(&self, column: usize) -> Option<usize> {
        self.positions.get(column).copied().flatten()
    }

    /// How many fields a record of this file must have.
    pub fn field_count(&self) -> usize {
        self.field_count
    }
}
