use std::io::Read;

use arrow_array::RecordBatch;
use svna_contracts::{Dataset, Rule, TypedBatchBuilder, Value};

use crate::error::IntakeError;

/// One rejected row: enough to find and fix it, never the row's values themselves for
/// token columns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub column: String,
    pub rule: String,
    pub message: String,
}

/// Row accounting for one extract.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowCounts {
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
}

/// How an extract is read.
pub struct ExtractReader<'a> {
    pub dataset: &'a Dataset,
    /// The file's name as shown in messages.
    pub file: &'a str,
    pub batch_rows: usize,
}

/// Reads a CSV extract against its contract, streaming. Valid rows go to `on_batch` as typed
/// Arrow batches; each invalid row goes to `on_reject` once per broken rule. A header that
/// does not match the contract refuses the whole file. A UTF-8 BOM and CRLF line ends are
/// accepted.
pub fn read_extract(
    reader: impl Read,
    options: &ExtractReader<'_>,
    mut on_batch: impl FnMut(RecordBatch) -> Result<(), IntakeError>,
    mut on_reject: impl FnMut(Rejection),
) -> Result<RowCounts, IntakeError> {
    let file = options.file;
    let dataset = options.dataset;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let csv_error = |e: csv::Error, line: u64| IntakeError::Csv {
        file: file.to_string(),
        line,
        message: e.to_string(),
    };

    if !csv
        .read_byte_record(&mut record)
        .map_err(|e| csv_error(e, 1))?
    {
        return Err(IntakeError::Empty {
            file: file.to_string(),
        });
    }
    let header: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    refuse_identifier_columns(file, &header)?;
    let map = dataset
        .map_header(&header)
        .map_err(|problems| IntakeError::Header {
            file: file.to_string(),
            dataset: dataset.name.clone(),
            problems: problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        })?;

    let mut unique = UniqueCheck::new(dataset);
    let mut builder = TypedBatchBuilder::new(dataset, options.batch_rows);
    let mut values: Vec<Value> = Vec::with_capacity(dataset.columns.len());
    let mut counts = RowCounts::default();
    // The first rows are read ahead and scanned for direct identifiers before any row is
    // accepted, so a file holding NHS numbers or postcodes is refused whole.
    let mut ahead = std::collections::VecDeque::new();
    while ahead.len() < IDENTIFIER_SCAN_ROWS {
        let line = csv.position().line();
        let mut next = csv::ByteRecord::new();
        if !csv
            .read_byte_record(&mut next)
            .map_err(|e| csv_error(e, line))?
        {
            break;
        }
        ahead.push_back((line, next));
    }
    refuse_identifier_values(file, dataset, &map, &ahead)?;
    loop {
        let line = if let Some((line, buffered)) = ahead.pop_front() {
            record = buffered;
            line
        } else {
            let line = csv.position().line();
            if !csv
                .read_byte_record(&mut record)
                .map_err(|e| csv_error(e, line))?
            {
                break;
            }
            line
        };
        if is_blank(&record) {
            continue;
        }
        counts.received += 1;
        let problems = check_row(dataset, &map, &record, &mut values, &mut unique);
        if problems.is_empty() {
            counts.accepted += 1;
            builder.push(&values);
            if builder.len() >= options.batch_rows {
                on_batch(builder.finish().map_err(|e| arrow_error(file, e))?)?;
            }
        } else {
            counts.rejected += 1;
            for (column, rule, message) in problems {
                on_reject(Rejection {
                    line,
                    column,
                    rule: rule.to_string(),
                    message,
                });
            }
        }
    }
    if !builder.is_empty() {
        on_batch(builder.finish().map_err(|e| arrow_error(file, e))?)?;
    }
    debug_assert_eq!(counts.received, counts.accepted + counts.rejected);
    Ok(counts)
}

type Problem = (String, String, String);

/// Rows scanned for direct identifiers before anything is staged.
const IDENTIFIER_SCAN_ROWS: usize = 1000;

fn refuse_identifier_columns(file: &str, header: &[String]) -> Result<(), IntakeError> {
    for name in header {
        let name = name.trim_start_matches('\u{feff}');
        if let Some(reason) = svna_pseudonymise::suspicious_column_name(name) {
            return Err(IntakeError::DirectIdentifier {
                file: file.to_string(),
                column: name.to_string(),
                reason: reason.to_string(),
            });
        }
    }
    Ok(())
}

/// NHS numbers (valid check digit) or postcodes in any column that is not a token column.
fn refuse_identifier_values(
    file: &str,
    dataset: &Dataset,
    map: &svna_contracts::HeaderMap,
    rows: &std::collections::VecDeque<(u64, csv::ByteRecord)>,
) -> Result<(), IntakeError> {
    for (index, column) in dataset.columns.iter().enumerate() {
        if column.ty == svna_contracts::ColumnType::Token {
            continue;
        }
        let Some(position) = map.position(index) else {
            continue;
        };
        let values = rows.iter().map(|(_, r)| {
            r.get(position)
                .and_then(|v| std::str::from_utf8(v).ok())
                .unwrap_or("")
        });
        if let Some(finding) = svna_pseudonymise::scan_column(values) {
            let line = rows.get(finding.example_row).map_or(0, |(line, _)| *line);
            let reason = format!("{} (first at line {line})", finding.message);
            return Err(IntakeError::DirectIdentifier {
                file: file.to_string(),
                column: column.name.clone(),
                reason,
            });
        }
    }
    Ok(())
}

fn check_row(
    dataset: &Dataset,
    map: &svna_contracts::HeaderMap,
    record: &csv::ByteRecord,
    values: &mut Vec<Value>,
    unique: &mut UniqueCheck,
) -> Vec<Problem> {
    if record.len() != map.field_count() {
        let message = format!(
            "row has {} fields, the header has {} (truncated or misquoted line?)",
            record.len(),
            map.field_count()
        );
        return vec![("(row)".into(), "field_count".into(), message)];
    }
    // The row is validated as UTF-8 in one pass over all its fields; a field boundary inside
    // a character (two invalid fields that happen to join up) makes it invalid too.
    let on_boundaries = |text: &str| {
        (0..record.len()).all(|i| {
            record
                .range(i)
                .is_some_and(|r| text.is_char_boundary(r.start) && text.is_char_boundary(r.end))
        })
    };
    let text = match std::str::from_utf8(record.as_slice()) {
        Ok(text) if on_boundaries(text) => text,
        _ => {
            let index = record
                .iter()
                .position(|f| std::str::from_utf8(f).is_err())
                .unwrap_or(0);
            let message = format!("field {} is not valid UTF-8", index + 1);
            return vec![("(row)".into(), "encoding".into(), message)];
        }
    };
    let field = |i: usize| record.range(i).map(|range| &text[range]);
    let violations = dataset.parse_record(map, field, values);
    let mut problems: Vec<Problem> = violations
        .into_iter()
        .map(|v| (v.column, v.rule.to_string(), v.message))
        .collect();
    if problems.is_empty()
        && let Some(problem) = unique.check(dataset, values)
    {
        problems.push(problem);
    }
    problems
}

fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty())
}

fn arrow_error(file: &str, e: arrow_schema::ArrowError) -> IntakeError {
    IntakeError::Parquet {
        file: file.to_string(),
        message: e.to_string(),
    }
}

/// Enforces the contract's `unique` columns within one extract. Keeps a 128-bit digest per
/// value rather than the value, so a long extract costs 16 bytes a row. The digest is two
/// SipHash values under random keys: a chance collision (about n² / 2¹²⁹) is negligible, and
/// it hashes far faster than SHA-256, which was a tenth of intake's time.
struct UniqueCheck {
    columns: Vec<(usize, String)>,
    seen: Vec<std::collections::HashSet<u128>>,
    keys: (std::hash::RandomState, std::hash::RandomState),
}

impl UniqueCheck {
    fn new(dataset: &Dataset) -> Self {
        let columns: Vec<(usize, String)> = dataset
            .unique
            .iter()
            .filter_map(|name| {
                dataset
                    .columns
                    .iter()
                    .position(|c| &c.name == name)
                    .map(|i| (i, name.clone()))
            })
            .collect();
        let seen = columns.iter().map(|_| Default::default()).collect();
        Self {
            columns,
            seen,
            keys: Default::default(),
        }
    }

    fn check(&mut self, _dataset: &Dataset, values: &[Value]) -> Option<Problem> {
        for ((index, name), seen) in self.columns.iter().zip(self.seen.iter_mut()) {
            if let Value::Utf8(text) = &values[*index]
                && !seen.insert(digest128(&self.keys, text))
            {
                return Some((
                    name.clone(),
                    Rule::Unique.to_string(),
                    "value repeats an earlier row; it must be unique".into(),
                ));
            }
        }
        None
    }
}

fn digest128(keys: &(std::hash::RandomState, std::hash::RandomState), text: &str) -> u128 {
    use std::hash::BuildHasher;
    (u128::from(keys.0.hash_one(text)) << 64) | u128::from(keys.1.hash_one(text))
}
