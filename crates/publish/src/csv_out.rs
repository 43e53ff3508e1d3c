//! The one writer of published CSV text: release tables, the data dictionary and the
//! disclosure report all go through [`CsvOut`], so every cell is neutralised the same way.
//!
//! A spreadsheet opens a cell that begins with `=`, `+`, `-` or `@` (and, in some programs,
//! a tab or carriage return) as a formula: a partner id `@SUM(1+1)` or a ward code
//! `+cmd|' /C calc'!A0` would run when a reader opens the CSV. As OWASP advises ("CSV
//! Injection"), such a text cell is written with a single quote `'` in front, which
//! spreadsheets show as text. Numbers (`-3`, `+1.5e3`) are left alone: they start with a sign
//! but are not formulas. Parquet files keep the values as they are.

use std::borrow::Cow;

use bytes::Bytes;

use crate::error::PublishError;

/// The first characters that make a spreadsheet read a cell as a formula (OWASP).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The cell as it is safe to write: prefixed with `'` when it begins like a formula and is
/// not a plain number.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(first) if FORMULA_STARTS.contains(&first) && !is_plain_number(cell) => {
            Cow::Owned(format!("'{cell}"))
        }
        _ => Cow::Borrowed(cell),
    }
}

/// A signed decimal number, optionally with a fraction and an exponent: what a count, rate
/// or context figure looks like once formatted. Anything else (`-1+2`, `-A1`) is text.
fn is_plain_number(cell: &str) -> bool {
    let body = cell.strip_prefix(['+', '-']).unwrap_or(cell);
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['+', '-']).unwrap_or(e))),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((whole, fraction)) => {
            (digits(whole) || whole.is_empty())
                && (digits(fraction) || fraction.is_empty())
                && !(whole.is_empty() && fraction.is_empty())
        }
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(digits)
}

/// A CSV file being written for the published zone.
pub struct CsvOut {
    path: String,
    writer: csv::Writer<Vec<u8>>,
    rows: u64,
}

impl CsvOut {
    /// `path` names the file in errors.
    pub fn new(path: impl Into<String>) -> Self {
        CsvOut {
            path: path.into(),
            writer: csv::Writer::from_writer(Vec::new()),
            rows: 0,
        }
    }

    /// Writes one record (the header counts as one), every cell neutralised.
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), PublishError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|c| neutralise(c.as_ref()).into_owned())
            .collect();
        self.writer
            .write_record(&cells)
            .map_err(|source| PublishError::Csv {
                path: self.path.clone(),
                source,
            })?;
        self.rows += 1;
        Ok(())
    }

    /// Records written so far, the header included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(self) -> Result<Bytes, PublishError> {
        let path = self.path;
        self.writer
            .into_inner()
            .map(Bytes::from)
            .map_err(|e| PublishError::Csv {
                path,
                source: csv::Error::from(e.into_error()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_prefixed_with_a_quote() {
        for (cell, safe) in [
            ("@SUM(1+1)", "'@SUM(1+1)"),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("=1+2", "'=1+2"),
            ("-1+2", "'-1+2"),
            ("-", "'-"),
            ("\tx", "'\tx"),
            ("\r=1", "'\r=1"),
        ] {
            assert_eq!(neutralise(cell), safe, "{cell:?}");
        }
    }

    #[test]
    fn numbers_and_ordinary_text_are_left_alone() {
        for cell in [
            "-3",
            "+4",
            "-0.5",
            "1.5e3",
            "-2E-4",
            "12",
            "E01026359",
            "Total",
            "[c]",
            "",
            "a=b",
            "0-15",
        ] {
            assert_eq!(neutralise(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn every_cell_of_a_written_file_is_neutralised() {
        let mut csv = CsvOut::new("t.csv");
        csv.row(["=header", "n"]).unwrap();
        csv.row(["@SUM(1+1)", "-3"]).unwrap();
        let text = String::from_utf8(csv.finish().unwrap().to_vec()).unwrap();
        assert_eq!(text, "'=header,n\n'@SUM(1+1),-3\n");
    }
}
