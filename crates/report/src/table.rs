//! A published CSV table held as text, with typed access to its cells. Values stay as the
//! CSV spells them so a withheld cell (`[c]`) can never turn into a number by accident.

use crate::error::ReportError;
use svna_records::DisclosureSpec;

use svna_records::PublishedTable;

/// How published CSV writes a withheld figure: svna's `[c]`, the partner's `[p]`.
pub use svna_records::{
    PARTNER_SUPPRESSED_MARKER as PARTNER_SUPPRESSED, SUPPRESSED_MARKER as SUPPRESSED,
};

/// One cell's value as the report sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Value(f64),
    /// Withheld by disclosure control: unknown, not zero.
    Suppressed,
    /// Empty or not a number (e.g. an IMD decile not published for wards).
    Blank,
}

impl Cell {
    pub fn parse(raw: &str) -> Cell {
        let raw = raw.trim();
        if raw == SUPPRESSED || raw == PARTNER_SUPPRESSED {
            Cell::Suppressed
        } else {
            raw.parse::<f64>().map_or(Cell::Blank, Cell::Value)
        }
    }

    pub fn value(self) -> Option<f64> {
        match self {
            Cell::Value(v) => Some(v),
            _ => None,
        }
    }
}

/// A published table: its name, its disclosure spec and its rows as text.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub spec: DisclosureSpec,
    pub header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn parse(entry: &PublishedTable, bytes: &[u8]) -> Result<Table, ReportError> {
        let bad = |source| ReportError::Table {
            path: entry.csv.path.clone(),
            source,
        };
        let mut reader = csv::Reader::from_reader(bytes);
        let header: Vec<String> = reader
            .headers()
            .map_err(bad)?
            .iter()
            .map(str::to_string)
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(bad)?;
            rows.push(record.iter().map(str::to_string).collect());
        }
        let table = Table {
            name: entry.name.clone(),
            spec: entry.disclosure.clone(),
            header,
            rows,
        };
        if let Some(missing) = table.spec.dimensions.iter().find(|d| !table.has(d)) {
            return Err(ReportError::MissingDimension {
                path: entry.csv.path.clone(),
                column: missing.clone(),
            });
        }
        Ok(table)
    }

    pub fn has(&self, column: &str) -> bool {
        self.header.iter().any(|h| h == column)
    }

    /// The columns missing from this table, of those a section needs.
    pub fn missing<'a>(&self, columns: &[&'a str]) -> Vec<&'a str> {
        columns.iter().copied().filter(|c| !self.has(c)).collect()
    }

    fn index(&self, column: &str) -> Option<usize> {
        self.header.iter().position(|h| h == column)
    }

    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |values| Row {
            table: self,
            values,
        })
    }

    /// Rows whose columns hold the given values (a missing column matches nothing).
    pub fn rows_where<'a>(&'a self, filters: &[(&str, &str)]) -> Vec<Row<'a>> {
        self.rows()
            .filter(|row| filters.iter().all(|(c, v)| row.get(c) == Some(*v)))
            .collect()
    }

    /// The one row identified by these values, if published.
    pub fn row<'a>(&'a self, filters: &[(&str, &str)]) -> Option<Row<'a>> {
        self.rows_where(filters).into_iter().next()
    }

    /// The margin code, `Total` unless the spec says otherwise.
    pub fn total(&self) -> &str {
        &self.spec.total
    }
}

/// One row of a table.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    table: &'a Table,
    values: &'a [String],
}

impl<'a> Row<'a> {
    pub fn get(&self, column: &str) -> Option<&'a str> {
        let at = self.table.index(column)?;
        self.values.get(at).map(String::as_str)
    }

    pub fn text(&self, column: &str) -> &'a str {
        self.get(column).unwrap_or("")
    }

    pub fn cell(&self, column: &str) -> Cell {
        self.get(column).map_or(Cell::Blank, Cell::parse)
    }

    /// The cell's identity: its dimension values in the spec's order, joined by `|`.
    pub fn key(&self) -> String {
        self.table
            .spec
            .dimensions
            .iter()
            .map(|d| self.text(d))
            .collect::<Vec<_>>()
            .join("|")
    }

    pub fn table(&self) -> &'a str {
        &self.table.name
    }

    /// Whether `column`'s figure in this row is a lower bound: it includes figures the
    /// partner withheld before sharing (the release's `<count>_lower_bound` column, or the
    /// table's `lower_bound`, says so; a rate follows its count).
    pub fn is_lower_bound(&self, column: &str) -> bool {
        let count = self
            .table
            .spec
            .rates
            .iter()
            .find(|r| r.name == column)
            .map_or(column, |r| r.count.as_str());
        let own = format!("{count}_lower_bound");
        let flag = if self.table.has(&own) {
            own.as_str()
        } else {
            "lower_bound"
        };
        self.get(flag) == Some("true")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dimensions: &[&str]) -> PublishedTable {
        serde_json::from_value(serde_json::json!({
            "name": "t",
            "disclosure": {"policy": "threshold", "k": 5, "counts": ["n"],
                           "dimensions": dimensions, "total": "Total"},
            "csv": {"path": "published/r/tables/t.csv", "sha256": "0", "size": 0},
        }))
        .unwrap()
    }

    /// A CSV the csv crate cannot read keeps the crate's error as its source.
    #[test]
    fn an_unreadable_table_keeps_the_csv_error_as_its_source() {
        let err = Table::parse(&entry(&["area"]), b"area,n\nA\xff,1\n").unwrap_err();
        assert!(matches!(err, ReportError::Table { .. }), "{err:?}");
        let source = std::error::Error::source(&err).expect("a source");
        let csv = source.downcast_ref::<csv::Error>().expect("a csv::Error");
        assert!(
            err.to_string()
                .starts_with("`published/r/tables/t.csv` is not a readable published CSV table: ")
                && err.to_string().ends_with(&csv.to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_missing_dimension_is_named() {
        let err = Table::parse(&entry(&["area", "year"]), b"area,n\nA,1\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`published/r/tables/t.csv` is not a readable published CSV table: dimension column `year` named by the manifest is missing"
        );
        assert!(std::error::Error::source(&err).is_none());
    }
}
