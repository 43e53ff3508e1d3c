//! Reading a partner's CSV extract against its contract: the one validation path that
//! `svna validate`, `svna upload` and the hub's intake share (intake wraps [`read_extract`]).
//!
//! The order of checks follows what a partner can fix: the file's encoding and line lengths
//! first (nothing else can be read without them), then the header, then each row. Problems
//! that make the file unusable or unlawful to hold (UTF-16, a header that does not match, a
//! direct identifier anywhere) refuse the whole file; problems with single rows reject those
//! rows, each reported with its editor line number (the header is line 1), column, rule and
//! what to do.

use std::fmt;
use std::io::{self, Read};

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use thiserror::Error;

use crate::dataset::Dataset;
use crate::error::{
    HeaderProblem, PSEUDONYMISE_ADVICE, Rule, Violation, clip, describe_header_problems,
};
use crate::header::HeaderMap;
use crate::typed_batch::TypedBatchBuilder;
use crate::value::Value;

/// The longest physical line read, in bytes. It bounds the memory one header or row can
/// take and keeps a runaway field (a 100 MB header or cell) out of every message and
/// manifest. A real row of any contract dataset is well under 4 KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// How many leading bytes are examined for the file's encoding.
const SNIFF_BYTES: usize = 4096;

/// How an extract is read.
pub struct ExtractReader<'a> {
    pub dataset: &'a Dataset,
    /// The file's name as shown in messages.
    pub file: &'a str,
    pub batch_rows: usize,
}

/// One rejected row: enough to find and fix it, never the row's values themselves for
/// token columns or identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The line an editor shows the row on: the header is line 1, the first data row line 2
    /// (for a row with a quoted line break, the line it starts on).
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

/// An encoding the contract does not accept, found from the file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadEncoding {
    Utf16 {
        big_endian: bool,
        bom: bool,
    },
    Utf32,
    /// NUL bytes that do not follow the UTF-16 pattern: a binary file.
    Binary,
    /// A zip archive: an Excel workbook (xlsx) rather than its CSV export.
    Spreadsheet,
    /// Bytes that are not UTF-8 in the header (Windows-1252 or Latin-1, most often).
    NotUtf8,
}

impl fmt::Display for BadEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SAVE: &str = "save it as UTF-8 (in Excel: Save As, \"CSV UTF-8 (Comma delimited)\")";
        match self {
            BadEncoding::Utf16 { big_endian, bom } => write!(
                f,
                "this file is UTF-16 ({}{}), {SAVE}",
                if *big_endian {
                    "big-endian"
                } else {
                    "little-endian"
                },
                if *bom {
                    ""
                } else {
                    ", without a byte-order mark"
                }
            ),
            BadEncoding::Utf32 => write!(f, "this file is UTF-32, {SAVE}"),
            BadEncoding::Binary => write!(
                f,
                "this file holds NUL bytes, so it is not a CSV text file; export the data \
                 as CSV and {SAVE}"
            ),
            BadEncoding::Spreadsheet => write!(
                f,
                "this file is a spreadsheet workbook (xlsx), not CSV; export the sheet as \
                 CSV and {SAVE}"
            ),
            BadEncoding::NotUtf8 => write!(
                f,
                "the header is not valid UTF-8 (Windows-1252 or Latin-1?), {SAVE}"
            ),
        }
    }
}

/// Why a whole extract was refused. Every variant names the file, and the line where there
/// is one, and says what to do.
#[derive(Debug, Error)]
pub enum ExtractError {
    #[error("{file}: the file is empty (no header row); export it again with its header")]
    Empty { file: String },
    #[error("{file}:1: {encoding}")]
    Encoding { file: String, encoding: BadEncoding },
    #[error(
        "{file}:{line}: line is longer than {limit} bytes (a field pasted whole, or a file \
         without line ends?); fix that line or export the file again"
    )]
    LineTooLong {
        file: String,
        line: u64,
        limit: usize,
    },
    #[error("{file}:{line}: cannot read CSV: {source}; check the quoting around that line")]
    Csv {
        file: String,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error(
        "{file}:1: header does not match contract `{dataset}`: {}; use the column names of \
         `svna contracts {dataset}`",
        describe_header_problems(problems)
    )]
    Header {
        file: String,
        dataset: String,
        problems: Vec<HeaderProblem>,
    },
    #[error("{file}:{line}: refused: column `{column}`: {what}")]
    DirectIdentifier {
        file: String,
        line: u64,
        column: String,
        what: String,
    },
    #[error("{file}: cannot build typed rows: {source}")]
    Arrow {
        file: String,
        #[source]
        source: ArrowError,
    },
}

impl ExtractError {
    /// The editor line the refusal points at, where there is one.
    pub fn line(&self) -> Option<u64> {
        match self {
            ExtractError::Empty { .. } | ExtractError::Arrow { .. } => None,
            ExtractError::Encoding { .. } | ExtractError::Header { .. } => Some(1),
            ExtractError::LineTooLong { line, .. }
            | ExtractError::Csv { line, .. }
            | ExtractError::DirectIdentifier { line, .. } => Some(*line),
        }
    }
}

/// Reads a CSV extract against its contract, streaming. Valid rows go to `on_batch` as typed
/// Arrow batches; each invalid row goes to `on_reject` once per broken rule. A file the
/// contract refuses whole returns an [`ExtractError`] (converted into the caller's error
/// type, which lets the batch sink fail with its own errors). A UTF-8 BOM and CRLF line ends
/// are accepted, as the spec says.
pub fn read_extract<E: From<ExtractError>>(
    reader: impl Read,
    options: &ExtractReader<'_>,
    on_batch: impl FnMut(RecordBatch) -> Result<(), E>,
    on_reject: impl FnMut(Rejection),
) -> Result<RowCounts, E> {
    read_extract_with_rule(reader, options, |_| None, on_batch, on_reject)
}

/// [`read_extract`] with one more rule, checked on every row the contract accepts (values in
/// contract order): a rule that needs more than the file itself, such as a reference into
/// another extract. A row it breaks is rejected with its line like any other.
pub fn read_extract_with_rule<E: From<ExtractError>>(
    reader: impl Read,
    options: &ExtractReader<'_>,
    mut rule: impl FnMut(&[Value]) -> Option<Violation>,
    mut on_batch: impl FnMut(RecordBatch) -> Result<(), E>,
    mut on_reject: impl FnMut(Rejection),
) -> Result<RowCounts, E> {
    let file = options.file;
    let dataset = options.dataset;
    let reader = sniff_encoding(reader, file)?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(Lines::new(reader));
    let mut record = csv::ByteRecord::new();
    if read_record(&mut csv, &mut record, file)?.is_none() {
        return Err(ExtractError::Empty {
            file: file.to_string(),
        }
        .into());
    }
    let map = read_header(dataset, file, &record)?;

    let mut unique = UniqueCheck::new(dataset);
    let mut builder = TypedBatchBuilder::new(dataset, options.batch_rows);
    let mut values: Vec<Value> = Vec::with_capacity(dataset.columns.len());
    let mut counts = RowCounts::default();
    while let Some(line) = read_record(&mut csv, &mut record, file)? {
        if is_blank(&record) {
            continue;
        }
        counts.received += 1;
        let mut problems = check_row(dataset, &map, &record, &mut values, &mut unique);
        if problems.is_empty()
            && let Some(v) = rule(&values)
        {
            problems.push((v.column, v.rule.to_string(), v.message));
        }
        if problems.is_empty() {
            counts.accepted += 1;
            builder.push(&values);
            if builder.len() >= options.batch_rows {
                on_batch(finish(&mut builder, file)?)?;
            }
            continue;
        }
        refuse_identifier(file, line, &problems)?;
        counts.rejected += 1;
        for (column, rule, message) in problems {
            on_reject(Rejection {
                line,
                column,
                rule,
                message,
            });
        }
    }
    if !builder.is_empty() {
        on_batch(finish(&mut builder, file)?)?;
    }
    debug_assert_eq!(counts.received, counts.accepted + counts.rejected);
    Ok(counts)
}

/// Reads and validates every row, keeping no data: what `svna validate` needs.
pub fn validate_extract(
    reader: impl Read,
    options: &ExtractReader<'_>,
    on_reject: impl FnMut(Rejection),
) -> Result<RowCounts, ExtractError> {
    read_extract(reader, options, |_| Ok::<(), ExtractError>(()), on_reject)
}

fn finish(builder: &mut TypedBatchBuilder, file: &str) -> Result<RecordBatch, ExtractError> {
    builder.finish().map_err(|source| ExtractError::Arrow {
        file: file.to_string(),
        source,
    })
}

/// Reads one record; returns the editor line it starts on, or `None` at the end of the file.
fn read_record<R: Read>(
    csv: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
    file: &str,
) -> Result<Option<u64>, ExtractError> {
    let read = csv
        .read_byte_record(record)
        .map_err(|source| match too_long_line(&source) {
            Some(long) => ExtractError::LineTooLong {
                file: file.to_string(),
                line: long.line,
                limit: MAX_LINE_BYTES,
            },
            None => ExtractError::Csv {
                file: file.to_string(),
                line: source
                    .position()
                    .map_or_else(|| csv.position().line(), |p| p.line()),
                source,
            },
        })?;
    // [`Lines`] ends every record with a `\n` the parser has consumed: the record started
    // that many line breaks (its own, quoted, and its end) before the parser's line count.
    // (Only a quote left open at the end of the file takes that last `\n` into the record.)
    let breaks = memchr::memchr_iter(b'\n', record.as_slice()).count() as u64;
    Ok(read.then(|| csv.position().line().saturating_sub(breaks + 1).max(1)))
}

/// The header row: UTF-8, no column named like a direct identifier, and the contract's
/// columns (in any order), each once.
fn read_header(
    dataset: &Dataset,
    file: &str,
    record: &csv::ByteRecord,
) -> Result<HeaderMap, ExtractError> {
    let header = record
        .iter()
        .map(std::str::from_utf8)
        .collect::<Result<Vec<&str>, _>>()
        .map_err(|_| ExtractError::Encoding {
            file: file.to_string(),
            encoding: BadEncoding::NotUtf8,
        })?;
    for name in &header {
        let name = name.trim_start_matches('\u{feff}');
        if let Some(reason) = svna_pseudonymise::suspicious_column_name(name) {
            return Err(ExtractError::DirectIdentifier {
                file: file.to_string(),
                line: 1,
                column: clip(name).into_owned(),
                what: format!("its name says it holds a {reason}, {PSEUDONYMISE_ADVICE}"),
            });
        }
    }
    dataset
        .map_header(&header)
        .map_err(|problems| ExtractError::Header {
            file: file.to_string(),
            dataset: dataset.name.clone(),
            problems,
        })
}

/// The spec refuses a file holding anything that looks like a direct identifier, whole: a
/// row-level rejection would stage the rest of a file that was never pseudonymised.
fn refuse_identifier(file: &str, line: u64, problems: &[Problem]) -> Result<(), ExtractError> {
    let identifier = Rule::Identifier.as_str();
    match problems.iter().find(|(_, rule, _)| rule == identifier) {
        Some((column, _, message)) => Err(ExtractError::DirectIdentifier {
            file: file.to_string(),
            line,
            column: column.clone(),
            what: message.clone(),
        }),
        None => Ok(()),
    }
}

/// Looks at the first bytes for an encoding the contract refuses, and drops a UTF-8
/// byte-order mark (which Excel writes and the spec tolerates). Returns a reader of the
/// whole content, the examined bytes included.
fn sniff_encoding<R: Read>(
    mut reader: R,
    file: &str,
) -> Result<io::Chain<io::Cursor<Vec<u8>>, R>, ExtractError> {
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    (&mut reader)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ExtractError::Csv {
            file: file.to_string(),
            line: 1,
            source: csv::Error::from(e),
        })?;
    if let Some(encoding) = bad_encoding(&head) {
        return Err(ExtractError::Encoding {
            file: file.to_string(),
            encoding,
        });
    }
    if head.starts_with(UTF8_BOM) {
        head.drain(..UTF8_BOM.len());
    }
    Ok(io::Cursor::new(head).chain(reader))
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The encoding a file's first bytes show, if the contract refuses it. UTF-16 written
/// without a byte-order mark shows as text with every other byte NUL (ASCII characters
/// have a zero high byte).
fn bad_encoding(head: &[u8]) -> Option<BadEncoding> {
    if head.starts_with(b"\xFF\xFE\x00\x00") || head.starts_with(b"\x00\x00\xFE\xFF") {
        return Some(BadEncoding::Utf32);
    }
    if head.starts_with(b"\xFF\xFE") {
        return Some(BadEncoding::Utf16 {
            big_endian: false,
            bom: true,
        });
    }
    if head.starts_with(b"\xFE\xFF") {
        return Some(BadEncoding::Utf16 {
            big_endian: true,
            bom: true,
        });
    }
    if head.starts_with(b"PK\x03\x04") {
        return Some(BadEncoding::Spreadsheet);
    }
    let nul_at = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let (even, odd) = (nul_at(0), nul_at(1));
    if even + odd == 0 {
        return None;
    }
    // Most of one parity NUL and none of the other: interleaved UTF-16 text.
    let pairs = head.len() / 2;
    let utf16 = |nuls: usize, other: usize| other == 0 && nuls * 4 >= pairs * 3;
    Some(if utf16(odd, even) {
        BadEncoding::Utf16 {
            big_endian: false,
            bom: false,
        }
    } else if utf16(even, odd) {
        BadEncoding::Utf16 {
            big_endian: true,
            bom: false,
        }
    } else {
        BadEncoding::Binary
    })
}

/// Marks the I/O error [`Lines`] raises, so the caller can report it as such.
#[derive(Debug)]
struct LongLine {
    line: u64,
}

impl fmt::Display for LongLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {} is longer than {MAX_LINE_BYTES} bytes",
            self.line
        )
    }
}

impl std::error::Error for LongLine {}

fn too_long_line(error: &csv::Error) -> Option<&LongLine> {
    match error.kind() {
        csv::ErrorKind::Io(e) => e.get_ref()?.downcast_ref::<LongLine>(),
        _ => None,
    }
}

/// What the CSV parser reads: the file with every line end made `\n` (CRLF and lone CR
/// alike, so Windows and old Mac files count lines as an editor does), a final `\n` added if
/// the file lacks one, and no physical line longer than [`MAX_LINE_BYTES`].
///
/// Why: the csv crate counts a CRLF row's line end only when it reads the *next* row, and
/// skips blank lines silently, so its own positions put rows on the wrong line. With every
/// record ending in a consumed `\n`, a record's first line is exactly the parser's line
/// count after it, less the line breaks inside it. The length bound stops a runaway line
/// before the parser has buffered it whole (its record buffer grows without bound).
struct Lines<R> {
    inner: R,
    /// 1-based number of the line being read.
    line: u64,
    /// Bytes of that line read so far.
    run: usize,
    /// The previous chunk ended with a CR, whose LF (if next) must be dropped.
    after_cr: bool,
    /// Bytes passed on, and whether the last one was a line end.
    any: bool,
    ended: bool,
    eof: bool,
}

impl<R> Lines<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            line: 1,
            run: 0,
            after_cr: false,
            any: false,
            ended: true,
            eof: false,
        }
    }

    /// CRLF and CR to LF, in place; returns the new length.
    fn normalise(&mut self, chunk: &mut [u8]) -> usize {
        let mut read = 0;
        if std::mem::take(&mut self.after_cr) && chunk.first() == Some(&b'\n') {
            read = 1;
        }
        if read == 0 && memchr::memchr(b'\r', chunk).is_none() {
            return chunk.len();
        }
        let mut out = 0;
        while let Some(offset) = memchr::memchr(b'\r', &chunk[read..]) {
            let cr = read + offset;
            chunk.copy_within(read..cr, out);
            out += cr - read;
            chunk[out] = b'\n';
            out += 1;
            read = cr + 1;
            match chunk.get(read) {
                None => self.after_cr = true,
                Some(b'\n') => read += 1,
                Some(_) => {}
            }
        }
        chunk.copy_within(read.., out);
        out + chunk.len() - read
    }

    /// Counts lines in `chunk` and fails on the first one over the limit.
    fn guard(&mut self, chunk: &[u8]) -> io::Result<()> {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk) {
            if self.run + (end - start) > MAX_LINE_BYTES {
                return Err(self.too_long());
            }
            self.line += 1;
            self.run = 0;
            start = end + 1;
        }
        self.run += chunk.len() - start;
        if self.run > MAX_LINE_BYTES {
            return Err(self.too_long());
        }
        Ok(())
    }

    fn too_long(&self) -> io::Error {
        io::Error::other(LongLine { line: self.line })
    }
}

impl<R: Read> Read for Lines<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while !self.eof {
            let n = self.inner.read(buf)?;
            if n == 0 {
                self.eof = true;
                break;
            }
            let n = self.normalise(&mut buf[..n]);
            self.guard(&buf[..n])?;
            if n > 0 {
                self.any = true;
                self.ended = buf[n - 1] == b'\n';
                return Ok(n);
            }
        }
        if self.any && !self.ended {
            self.ended = true;
            buf[0] = b'\n';
            return Ok(1);
        }
        Ok(0)
    }
}

/// (column, rule, message) of one problem in a row.
type Problem = (String, String, String);

fn check_row(
    dataset: &Dataset,
    map: &HeaderMap,
    record: &csv::ByteRecord,
    values: &mut Vec<Value>,
    unique: &mut UniqueCheck,
) -> Vec<Problem> {
    if record.len() != map.field_count() {
        let message = format!(
            "row has {} fields, the header has {}: check the row's commas and quotes (a \
             field holding a comma must be in double quotes)",
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
            let message = format!(
                "field {} is not valid UTF-8: save the file as UTF-8",
                index + 1
            );
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
        && let Some(problem) = unique.check(values)
    {
        problems.push(problem);
    }
    problems
}

fn is_blank(record: &csv::ByteRecord) -> bool {
    record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty())
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

    fn check(&mut self, values: &[Value]) -> Option<Problem> {
        for ((index, name), seen) in self.columns.iter().zip(self.seen.iter_mut()) {
            if let Value::Utf8(text) = &values[*index]
                && !seen.insert(digest128(&self.keys, text))
            {
                return Some((
                    name.clone(),
                    Rule::Unique.to_string(),
                    "value repeats an earlier row; it must be unique: remove the duplicate row"
                        .into(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_is_recognised_with_and_without_a_byte_order_mark() {
        let le: Vec<u8> = "a,b\n1,2\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let be: Vec<u8> = "a,b\n1,2\n"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        let with_bom = |bom: &[u8], body: &[u8]| [bom, body].concat();
        assert_eq!(
            bad_encoding(&with_bom(b"\xFF\xFE", &le)),
            Some(BadEncoding::Utf16 {
                big_endian: false,
                bom: true
            })
        );
        assert_eq!(
            bad_encoding(&with_bom(b"\xFE\xFF", &be)),
            Some(BadEncoding::Utf16 {
                big_endian: true,
                bom: true
            })
        );
        assert_eq!(
            bad_encoding(&le),
            Some(BadEncoding::Utf16 {
                big_endian: false,
                bom: false
            })
        );
        assert_eq!(
            bad_encoding(&be),
            Some(BadEncoding::Utf16 {
                big_endian: true,
                bom: false
            })
        );
        assert_eq!(bad_encoding(b"a,b\n1,\x002\n"), Some(BadEncoding::Binary));
        assert_eq!(bad_encoding(b"\xEF\xBB\xBFa,b\n"), None);
        assert_eq!(bad_encoding(b"a,b\n"), None);
    }

    /// Reads through [`Lines`] in chunks of `size` bytes, so CRLF pairs fall across reads.
    fn through_lines(text: &[u8], size: usize) -> io::Result<Vec<u8>> {
        let mut lines = Lines::new(text);
        let mut out = Vec::new();
        let mut buf = vec![0; size];
        loop {
            match lines.read(&mut buf)? {
                0 => return Ok(out),
                n => out.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[test]
    fn line_ends_become_lf_and_a_last_one_is_added() {
        for size in [1, 2, 3, 64] {
            let out = through_lines(b"a,b\r\n1,\"x\r\ny\"\r2,3", size).unwrap();
            assert_eq!(out, b"a,b\n1,\"x\ny\"\n2,3\n", "chunks of {size}");
        }
        for size in [1, 2, 5] {
            assert_eq!(through_lines(b"a\r\r\nb\r", size).unwrap(), b"a\n\nb\n");
        }
        assert_eq!(through_lines(b"", 8).unwrap(), b"");
        assert_eq!(through_lines(b"a\n", 8).unwrap(), b"a\n");
    }

    #[test]
    fn a_line_over_the_limit_stops_the_read_with_its_number() {
        let ok = format!("{}\n{}\n", "a".repeat(MAX_LINE_BYTES), "b".repeat(10));
        assert_eq!(
            through_lines(ok.as_bytes(), 1 << 16).unwrap().len(),
            ok.len()
        );

        let long = format!("a\r\nb\n{}\n", "c".repeat(MAX_LINE_BYTES + 1));
        let err = through_lines(long.as_bytes(), 1 << 16).unwrap_err();
        let long_line = err.get_ref().unwrap().downcast_ref::<LongLine>().unwrap();
        assert_eq!(long_line.line, 3);
    }
}
