//! The release as one Excel workbook (`release.xlsx`), for the council and NHS analysts who
//! work in Excel: a Contents sheet, one sheet per published table and the data dictionary.
//!
//! Every table sheet is written from the table's published CSV text, cell for cell, so the
//! workbook can never say more (or other) than the CSV: the same `[c]` and `[p]` markers, the
//! same neutralised text (a code beginning with `=` keeps its leading `'`), and numbers as
//! numbers where the column is numeric in Parquet (counts, rates, numeric context). Nothing
//! else goes in: no row-level data, no withheld value, no token (the gates have passed on the
//! CSVs already).
//!
//! The workbook is byte-reproducible: the zip entries carry a fixed time (rust_xlsxwriter's
//! default), and the document's creation time is the run's finish time, not the clock, so two
//! publishes of one run give identical files, as the tables are.

use std::collections::BTreeSet;

use bytes::Bytes;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Url, Workbook, Worksheet};

use crate::dictionary::TableEntry;
use crate::error::PublishError;

/// The file name of the workbook in a release.
pub const WORKBOOK: &str = "release.xlsx";

/// The sheet listing every table.
pub const CONTENTS_SHEET: &str = "Contents";

/// The sheet holding the data dictionary.
pub const DICTIONARY_SHEET: &str = "Dictionary";

/// The row (0-based) of a table sheet that holds the column names; the table's rows follow.
/// The rows above it name the table and give its description, units and notes.
pub const HEADER_ROW: u32 = 8;

/// The row (0-based) of the Contents sheet that holds its column names.
pub const CONTENTS_HEADER_ROW: u32 = 2;

/// Excel's longest sheet name.
const MAX_SHEET_NAME: usize = 31;

/// One published table as the workbook shows it.
pub struct WorkbookTable<'a> {
    pub name: &'a str,
    /// The published CSV, header first.
    pub csv: &'a [u8],
    /// Per CSV column: whether it holds numbers (written as numbers where a cell is one).
    pub numeric: Vec<bool>,
    /// The table's data dictionary entry.
    pub entry: Option<&'a TableEntry>,
    /// Whether the table holds partner-suppressed data (`[p]` and lower bounds).
    pub partner: bool,
}

/// Short, unique, deterministic sheet names, in the order of `names`: a name of at most 31
/// characters is kept; a longer one is cut to 26 and given `~` and 4 hex characters of its
/// SHA-256, so two long names with one beginning still differ. Names are compared as Excel
/// does (ignoring case), against each other and the Contents, Dictionary and History sheets
/// (History is reserved by Excel); a clash gets `~2`, `~3`, ... instead of the end.
pub fn sheet_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut used: BTreeSet<String> = [CONTENTS_SHEET, DICTIONARY_SHEET, "History"]
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let mut out = Vec::new();
    for name in names {
        let cleaned: String = name
            .chars()
            .map(|c| match c {
                '[' | ']' | ':' | '*' | '?' | '/' | '\\' | '\'' => '_',
                c => c,
            })
            .collect();
        let base = if cleaned.chars().count() <= MAX_SHEET_NAME {
            cleaned
        } else {
            let hash = svna_storage::sha256_hex(name.as_bytes());
            let head: String = cleaned.chars().take(MAX_SHEET_NAME - 5).collect();
            format!("{head}~{}", &hash[..4])
        };
        let mut candidate = base.clone();
        let mut n = 2;
        while used.contains(&candidate.to_lowercase()) {
            let suffix = format!("~{n}");
            let head: String = base.chars().take(MAX_SHEET_NAME - suffix.len()).collect();
            candidate = format!("{head}{suffix}");
            n += 1;
        }
        used.insert(candidate.to_lowercase());
        out.push(candidate);
    }
    out
}

/// The document's creation time: the run's finish time (RFC 3339), or, where it is missing
/// or unreadable, 1 January 1980 (the zip format's epoch, which the entries carry too).
fn creation_time(finished_at: &str) -> Result<ExcelDateTime, PublishError> {
    use chrono::{Datelike, Timelike};
    let at = chrono::DateTime::parse_from_rfc3339(finished_at)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc));
    let time = match at {
        Some(t) => ExcelDateTime::from_ymd(t.year() as u16, t.month() as u8, t.day() as u8)
            .and_then(|d| d.and_hms(t.hour() as u16, t.minute() as u8, t.second())),
        None => ExcelDateTime::from_ymd(1980, 1, 1),
    };
    time.map_err(xlsx_error)
}

fn xlsx_error(source: rust_xlsxwriter::XlsxError) -> PublishError {
    PublishError::Workbook { source }
}

fn csv_records(path: &str, bytes: &[u8]) -> Result<Vec<Vec<String>>, PublishError> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| {
            r.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|source| PublishError::Csv {
                    path: path.to_string(),
                    source,
                })
        })
        .collect()
}

/// What a table's figures are measured in, in words.
fn units(entry: Option<&TableEntry>) -> String {
    let Some(entry) = entry else {
        return String::new();
    };
    let counts: Vec<&str> = entry
        .columns
        .iter()
        .filter(|c| c.role == "count")
        .map(|c| c.column.as_str())
        .collect();
    let mut out = if counts.is_empty() {
        String::new()
    } else {
        format!(
            "{}: counts (whole numbers) of {}",
            counts.join(", "),
            entry.measure
        )
    };
    for rate in entry.columns.iter().filter(|c| c.role == "rate") {
        let per = rate.meaning.split(", from").next().unwrap_or(&rate.meaning);
        out.push_str(&format!("; {}: {per}", rate.column));
    }
    for rate in entry
        .columns
        .iter()
        .filter(|c| c.role == "age-standardised rate")
    {
        let per = rate
            .meaning
            .split(", directly")
            .next()
            .unwrap_or(&rate.meaning);
        out.push_str(&format!(
            "; {}: {per}, age-standardised (ESP 2013) on band totals",
            rate.column
        ));
    }
    out
}

/// The notes on reading a table's cells.
fn notes(table: &WorkbookTable) -> String {
    let mut out = String::from(
        "[c]: withheld by disclosure control (too small to publish, or it would let a small figure be worked out); not zero, not missing.",
    );
    if table.partner {
        out.push_str(
            " [p]: withheld by the partner before sharing; unknown to svna too, never reconstructed. Where a lower-bound column (lower_bound, or <count>_lower_bound) is true the figure is a lower bound: the sum of the parts the partner shared.",
        );
    }
    if let Some(entry) = table.entry {
        for source in &entry.sources {
            if let Some(warning) = source.strip_prefix("warning: ") {
                out.push_str(&format!(" Warning: {warning}."));
            }
        }
    }
    out
}

fn link_to(sheet: &str) -> Url {
    Url::new(format!("internal:'{sheet}'!A1"))
}

/// Writes a CSV record into `row`, numbers as numbers where `numeric` says the column is.
fn write_record(
    sheet: &mut Worksheet,
    row: u32,
    record: &[String],
    numeric: Option<&[bool]>,
    bold: Option<&Format>,
) -> Result<(), PublishError> {
    for (col, text) in record.iter().enumerate() {
        let col = col as u16;
        if text.is_empty() {
            continue;
        }
        let number = numeric
            .and_then(|n| n.get(col as usize).copied())
            .unwrap_or(false)
            .then(|| text.parse::<f64>().ok())
            .flatten()
            .filter(|n| n.is_finite());
        match (number, bold) {
            (Some(n), _) => sheet.write_number(row, col, n).map_err(xlsx_error)?,
            (None, Some(format)) => sheet
                .write_string_with_format(row, col, text, format)
                .map_err(xlsx_error)?,
            (None, None) => sheet.write_string(row, col, text).map_err(xlsx_error)?,
        };
    }
    Ok(())
}

/// The workbook of a release.
pub fn workbook_bytes(
    release: &str,
    finished_at: &str,
    tables: &[WorkbookTable],
    dictionary_csv: &[u8],
) -> Result<Bytes, PublishError> {
    let mut workbook = Workbook::new();
    let properties = DocProperties::new()
        .set_title(format!("svna release {release}"))
        .set_creation_datetime(&creation_time(finished_at)?);
    workbook.set_properties(&properties);
    let bold = Format::new().set_bold();
    let names = sheet_names(tables.iter().map(|t| t.name));

    // Contents.
    let contents = workbook.add_worksheet();
    contents.set_name(CONTENTS_SHEET).map_err(xlsx_error)?;
    contents
        .write_string_with_format(0, 0, format!("Release {release}"), &bold)
        .map_err(xlsx_error)?;
    contents
        .write_string(
            1,
            0,
            "Every published table, one sheet each (the same cells as its CSV file), and the data dictionary.",
        )
        .map_err(xlsx_error)?;
    let header = [
        "table",
        "sheet",
        "description",
        "what it counts",
        "units",
        "disclosure policy",
        "notes",
        "link",
    ];
    for (col, name) in header.iter().enumerate() {
        contents
            .write_string_with_format(CONTENTS_HEADER_ROW, col as u16, *name, &bold)
            .map_err(xlsx_error)?;
    }
    for (i, (table, sheet)) in tables.iter().zip(&names).enumerate() {
        let row = CONTENTS_HEADER_ROW + 1 + i as u32;
        let entry = table.entry;
        let cells = [
            table.name.to_string(),
            sheet.clone(),
            entry.map(|e| e.description.clone()).unwrap_or_default(),
            entry.map(|e| e.measure.clone()).unwrap_or_default(),
            units(entry),
            entry.map(|e| e.disclosure.clone()).unwrap_or_default(),
            notes(table),
        ];
        for (col, text) in cells.iter().enumerate() {
            contents
                .write_string(row, col as u16, text)
                .map_err(xlsx_error)?;
        }
        contents
            .write_url(row, cells.len() as u16, link_to(sheet).set_text(sheet))
            .map_err(xlsx_error)?;
    }
    let dictionary_row = CONTENTS_HEADER_ROW + 2 + tables.len() as u32;
    contents
        .write_url(
            dictionary_row,
            0,
            link_to(DICTIONARY_SHEET).set_text("Data dictionary"),
        )
        .map_err(xlsx_error)?;
    contents.set_column_width(0, 40).map_err(xlsx_error)?;
    contents.set_column_width(2, 60).map_err(xlsx_error)?;

    // One sheet per table.
    for (table, sheet_name) in tables.iter().zip(&names) {
        let records = csv_records(&format!("tables/{}.csv", table.name), table.csv)?;
        let sheet = workbook.add_worksheet();
        sheet.set_name(sheet_name).map_err(xlsx_error)?;
        sheet
            .write_string_with_format(0, 0, table.name, &bold)
            .map_err(xlsx_error)?;
        let entry = table.entry;
        let about = [
            (
                "Description",
                entry.map(|e| e.description.clone()).unwrap_or_default(),
            ),
            (
                "What it counts",
                entry.map(|e| e.measure.clone()).unwrap_or_default(),
            ),
            ("Units", units(entry)),
            (
                "Disclosure policy",
                entry.map(|e| e.disclosure.clone()).unwrap_or_default(),
            ),
            ("Notes", notes(table)),
        ];
        for (i, (label, text)) in about.iter().enumerate() {
            let row = 1 + i as u32;
            sheet
                .write_string_with_format(row, 0, *label, &bold)
                .map_err(xlsx_error)?;
            sheet.write_string(row, 1, text).map_err(xlsx_error)?;
        }
        sheet
            .write_url(6, 0, link_to(CONTENTS_SHEET).set_text("Back to contents"))
            .map_err(xlsx_error)?;
        let mut rows = records.iter();
        if let Some(header) = rows.next() {
            write_record(sheet, HEADER_ROW, header, None, Some(&bold))?;
        }
        for (i, record) in rows.enumerate() {
            write_record(
                sheet,
                HEADER_ROW + 1 + i as u32,
                record,
                Some(&table.numeric),
                None,
            )?;
        }
        sheet
            .set_freeze_panes(HEADER_ROW + 1, 0)
            .map_err(xlsx_error)?;
    }

    // The data dictionary, as its CSV.
    let records = csv_records("data_dictionary.csv", dictionary_csv)?;
    let sheet = workbook.add_worksheet();
    sheet.set_name(DICTIONARY_SHEET).map_err(xlsx_error)?;
    let mut rows = records.iter();
    if let Some(header) = rows.next() {
        write_record(sheet, 0, header, None, Some(&bold))?;
    }
    for (i, record) in rows.enumerate() {
        write_record(sheet, 1 + i as u32, record, None, None)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(xlsx_error)?;

    workbook
        .save_to_buffer()
        .map(Bytes::from)
        .map_err(xlsx_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_short_unique_and_deterministic() {
        let long_a = "sv_offences_by_lsoa_ward_district_month_category";
        let long_b = "sv_offences_by_lsoa_ward_district_month_category_knife";
        let names = sheet_names([long_a, long_b, "contents", "t", "T"]);
        assert!(names.iter().all(|n| n.chars().count() <= 31), "{names:?}");
        let lower: BTreeSet<String> = names.iter().map(|n| n.to_lowercase()).collect();
        assert_eq!(lower.len(), names.len(), "{names:?}");
        assert!(!lower.contains("contents"), "{names:?}");
        assert_eq!(names[3], "t");
        assert_eq!(names[4], "T~2");
        assert!(
            names[0].starts_with("sv_offences_by_lsoa_ward_"),
            "{names:?}"
        );
        assert_ne!(names[0], names[1]);
        assert_eq!(names, sheet_names([long_a, long_b, "contents", "t", "T"]));
    }

    #[test]
    fn the_creation_time_is_the_runs() {
        assert!(creation_time("2026-11-27T18:00:00+00:00").is_ok());
        assert!(creation_time("").is_ok());
    }
}
