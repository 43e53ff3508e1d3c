//! Streaming CSV pseudonymisation.
//!
//! Partner extracts run to gigabytes, and are pseudonymised on whatever machine the partner
//! has, so the file is streamed one record at a time with reused buffers: memory stays at a
//! few buffers' worth whatever the file size, and throughput is dominated by one HMAC per
//! identifier (whose key schedule is precomputed, see [`Tokeniser`]).
//!
//! # What is written
//!
//! * The header is copied with each [`TokenSpec::source_column`] renamed to its
//!   [`TokenSpec::dest_column`], in place (column order is unchanged).
//! * Identifier fields are replaced by their 64-hex token. With [`Options::match_keys`],
//!   the columns it maps (forename, surname, date of birth, sex, postcode, national ids) are
//!   dropped, and one column per [match key](crate::matchkey) the mapped identifiers can make
//!   is appended after the others (`mk_nhs`, `mk_name_dob_sex`, …, in [`MatchKey::ALL`]
//!   order), empty where the record lacks one of the key's inputs. A column may be both a
//!   `--token` source and a match-key input (an NHS number as `person_id` and `mk_nhs`).
//!   Every other field is copied byte
//!   for byte; it is not decoded, so non-UTF-8 text in non-identifier columns passes
//!   through untouched.
//! * Quoting is re-done per RFC 4180: a field is quoted only if it contains a comma, a
//!   quote or a line break, with quotes doubled. The *content* of every field is preserved;
//!   its original quoting is not (e.g. `"abc"` is written as `abc`).
//! * Records end with `\n`. A UTF-8 byte-order mark on the input is dropped, and CRLF or LF
//!   input line endings are both accepted.
//!
//! # What is refused
//!
//! Errors carry the 1-based physical line on which the record starts (the header is line
//! 1) and the column's name and 1-based position, never the value:
//!
//! * an identifier that fails [normalisation](mod@crate::normalise) (e.g. a bad NHS check digit);
//! * a match-key input that fails its normalisation (an impossible date of birth, a
//!   postcode of no UK shape);
//! * an empty identifier, under the default [`EmptyPolicy::Reject`]. Missing identifiers are
//!   refused by default because a silently blank `person_id` quietly loses linkage; callers
//!   whose data legitimately lacks some identifiers choose [`EmptyPolicy::Blank`], which
//!   writes an empty field (never a token of the empty string, which would link every
//!   unknown person together) and counts it in [`Stats::blanks`];
//! * a record with a different number of fields from the header;
//! * a source column that is missing, appears twice in the header, or is named by two
//!   specs, and a destination name that would duplicate another output column.
//!
//! On error, output already written is incomplete; [`pseudonymise_file`] writes to a
//! temporary file and only renames it into place on success.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::str::FromStr;

use csv::{ByteRecord, QuoteStyle, ReaderBuilder, Terminator, WriterBuilder};

use crate::key::LinkageKey;
use crate::matchkey::{
    Identifier, Identity, MatchKey, MatchKeyError, MatchKeySpec, MatchKeyTokeniser,
};
use crate::normalise::{IdKind, NormaliseError, ParseIdKindError, normalise_into};
use crate::token::{Domain, ParseDomainError, TOKEN_HEX_LEN, Tokeniser};

/// I/O buffer size for reader and writer: large enough that syscalls are not the
/// bottleneck, small enough to be irrelevant to memory.
const BUFFER_BYTES: usize = 256 * 1024;

/// One identifier column to replace: CLI syntax `SRC=DEST[:kind[:domain]]`.
///
/// `kind` defaults to `local` and `domain` to `person`, e.g.
/// `nhs_number=person_id:nhs:person`, `crime_ref=offence_id:local:offence`,
/// `pupil_ref=person_id`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenSpec {
    /// Header of the identifier column in the input.
    pub source_column: String,
    /// Header the token column gets in the output (renamed so that the output does not
    /// announce an identifier, e.g. `nhs_number` → `person_id`).
    pub dest_column: String,
    /// Normalisation rule.
    pub kind: IdKind,
    /// Token domain.
    pub domain: Domain,
}

impl TokenSpec {
    /// A spec with explicit parts.
    pub fn new(
        source_column: impl Into<String>,
        dest_column: impl Into<String>,
        kind: IdKind,
        domain: Domain,
    ) -> Self {
        Self {
            source_column: source_column.into(),
            dest_column: dest_column.into(),
            kind,
            domain,
        }
    }
}

impl FromStr for TokenSpec {
    type Err = TokenSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (source, rest) = s
            .split_once('=')
            .ok_or_else(|| TokenSpecError::MissingEquals(s.to_string()))?;
        let source = source.trim();
        if source.is_empty() {
            return Err(TokenSpecError::EmptySource(s.to_string()));
        }
        let mut parts = rest.split(':');
        let dest = parts.next().unwrap_or_default().trim();
        if dest.is_empty() {
            return Err(TokenSpecError::EmptyDest(s.to_string()));
        }
        let kind = match parts.next() {
            Some(k) if !k.trim().is_empty() => k.parse()?,
            _ => IdKind::Local,
        };
        let domain = match parts.next() {
            Some(d) if !d.trim().is_empty() => d.parse()?,
            _ => Domain::Person,
        };
        if parts.next().is_some() {
            return Err(TokenSpecError::TooManyParts(s.to_string()));
        }
        Ok(TokenSpec::new(source, dest, kind, domain))
    }
}

impl fmt::Display for TokenSpec {
    /// The full CLI form, which parses back to the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}:{}:{}",
            self.source_column, self.dest_column, self.kind, self.domain
        )
    }
}

/// A malformed `--token` argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenSpecError {
    /// No `=`.
    #[error("token spec `{0}` must look like SRC=DEST[:kind[:domain]]")]
    MissingEquals(String),
    /// Nothing before `=`.
    #[error("token spec `{0}` has an empty source column")]
    EmptySource(String),
    /// Nothing after `=`.
    #[error("token spec `{0}` has an empty destination column")]
    EmptyDest(String),
    /// More than three `:`-separated parts after `=`.
    #[error("token spec `{0}` has too many `:` parts (expected SRC=DEST[:kind[:domain]])")]
    TooManyParts(String),
    /// Unknown kind.
    #[error(transparent)]
    Kind(#[from] ParseIdKindError),
    /// Unknown domain.
    #[error(transparent)]
    Domain(#[from] ParseDomainError),
}

/// What to do with an empty or whitespace-only identifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmptyPolicy {
    /// Stop with an error naming the line (the default: missing identifiers lose linkage).
    #[default]
    Reject,
    /// Write an empty field and count it in [`Stats::blanks`].
    Blank,
}

/// Knobs for [`pseudonymise_csv_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Empty identifiers: refuse (default) or leave blank.
    pub empty: EmptyPolicy,
    /// Field delimiter of input and output; `b','` by default.
    pub delimiter: u8,
    /// Columns holding identifiers to turn into match keys (and drop); none by default.
    pub match_keys: Option<MatchKeySpec>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            empty: EmptyPolicy::Reject,
            delimiter: b',',
            match_keys: None,
        }
    }
}

/// Counts from a successful run, for the CLI to report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Data records written (header excluded).
    pub rows: u64,
    /// Identifier fields replaced by tokens.
    pub tokens: u64,
    /// Empty identifier fields left blank under [`EmptyPolicy::Blank`].
    pub blanks: u64,
    /// Match-key tokens written (empty keys not counted).
    pub match_keys: u64,
    /// Input bytes consumed (including header and any BOM).
    pub bytes_read: u64,
}

/// Why pseudonymisation stopped. Line numbers are 1-based physical lines (header = line 1);
/// field positions are 1-based. No variant contains an identifier value.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymiseError {
    /// The input has no header line.
    #[error("input is empty: expected a CSV header line")]
    EmptyInput,
    /// A spec's source column is not in the header.
    #[error("column `{column}` not found in the header (columns: {})", .available.join(", "))]
    MissingColumn {
        /// The missing source column.
        column: String,
        /// The header, for the message.
        available: Vec<String>,
    },
    /// A spec's source column appears more than once in the header.
    #[error(
        "column `{column}` appears {count} times in the header; cannot tell which to pseudonymise"
    )]
    AmbiguousColumn {
        /// The repeated column.
        column: String,
        /// How often it appears.
        count: usize,
    },
    /// Two specs name the same source column.
    #[error("column `{0}` is named by more than one --token spec")]
    DuplicateSpec(String),
    /// The output header would contain a name twice.
    #[error("output column `{0}` would appear twice; choose another destination name")]
    DuplicateOutputColumn(String),
    /// A record with the wrong number of fields.
    #[error("line {line}: record has {found} fields, the header has {expected}")]
    RaggedRow {
        /// Line on which the record starts.
        line: u64,
        /// Header field count.
        expected: usize,
        /// This record's field count.
        found: usize,
    },
    /// An identifier failed normalisation.
    #[error("line {line}, column `{column}` (field {field}): {reason}")]
    InvalidIdentifier {
        /// Line on which the record starts.
        line: u64,
        /// Source column name.
        column: String,
        /// 1-based field position.
        field: usize,
        /// The spec's kind.
        kind: IdKind,
        /// Why it is invalid.
        reason: NormaliseError,
    },
    /// A match-key input that cannot be normalised.
    #[error("line {line}, column `{column}` (field {field}): {reason}")]
    InvalidMatchInput {
        /// Line on which the record starts.
        line: u64,
        /// Source column name.
        column: String,
        /// 1-based field position.
        field: usize,
        /// What the column was mapped as.
        identifier: Identifier,
        /// Why it is invalid.
        reason: MatchKeyError,
    },
    /// A match-key input that is not UTF-8.
    #[error(
        "line {line}, column `{column}` (field {field}): {} is not valid UTF-8 (re-save the file as UTF-8)",
        .identifier.describe()
    )]
    MatchInputNotUtf8 {
        /// Line on which the record starts.
        line: u64,
        /// Source column name.
        column: String,
        /// 1-based field position.
        field: usize,
        /// What the column was mapped as.
        identifier: Identifier,
    },
    /// An empty identifier under [`EmptyPolicy::Reject`].
    #[error(
        "line {line}, column `{column}` (field {field}): empty {}; missing identifiers are refused unless blanks are allowed",
        .kind.describe()
    )]
    EmptyIdentifier {
        /// Line on which the record starts.
        line: u64,
        /// Source column name.
        column: String,
        /// 1-based field position.
        field: usize,
        /// The spec's kind.
        kind: IdKind,
    },
    /// Reading the input failed.
    #[error("reading input near line {line}: {source}")]
    Read {
        /// Line being read.
        line: u64,
        /// Underlying error.
        source: csv::Error,
    },
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Write(#[source] io::Error),
    /// Opening, creating or renaming a file failed.
    #[error("{}: {source}", .path.display())]
    File {
        /// The file concerned.
        path: PathBuf,
        /// Underlying error.
        source: io::Error,
    },
    /// Input and output are the same file.
    #[error("output {} is the input file; refusing to overwrite it", .0.display())]
    OutputIsInput(PathBuf),
}

impl PseudonymiseError {
    /// The input line the error refers to, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            PseudonymiseError::RaggedRow { line, .. }
            | PseudonymiseError::InvalidIdentifier { line, .. }
            | PseudonymiseError::EmptyIdentifier { line, .. }
            | PseudonymiseError::InvalidMatchInput { line, .. }
            | PseudonymiseError::MatchInputNotUtf8 { line, .. }
            | PseudonymiseError::Read { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Pseudonymises a CSV stream with default [`Options`] (comma-separated, empty identifiers
/// refused). See the module docs for exactly what is written and refused.
pub fn pseudonymise_csv(
    reader: impl Read,
    writer: impl Write,
    key: &LinkageKey,
    specs: &[TokenSpec],
) -> Result<Stats, PseudonymiseError> {
    pseudonymise_csv_with(reader, writer, key, specs, &Options::default())
}

/// An identifier column resolved against the header.
struct Plan {
    column: String,
    kind: IdKind,
    domain: Domain,
}

/// What happens to one input column.
#[derive(Default)]
struct Slot {
    /// Replaced by its token (a `--token` spec).
    token: Option<Plan>,
    /// Read as a match-key input (and dropped, unless it is also a token source).
    matched: Option<Identifier>,
}

/// Pseudonymises a CSV stream. Neither `reader` nor `writer` needs buffering: both are
/// wrapped in large buffers here. The writer is flushed before returning `Ok`.
pub fn pseudonymise_csv_with(
    reader: impl Read,
    writer: impl Write,
    key: &LinkageKey,
    specs: &[TokenSpec],
    options: &Options,
) -> Result<Stats, PseudonymiseError> {
    let lines = Lines::default();
    let mut rdr = ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .buffer_capacity(BUFFER_BYTES)
        .from_reader(LineTracker::new(reader, &lines));
    let mut wtr = WriterBuilder::new()
        .delimiter(options.delimiter)
        .quote_style(QuoteStyle::Necessary)
        .terminator(Terminator::Any(b'\n'))
        .buffer_capacity(BUFFER_BYTES)
        .from_writer(writer);

    let mut record = ByteRecord::new();
    let read_err = |rdr: &csv::Reader<_>, source| PseudonymiseError::Read {
        line: lines.end_line(rdr.position().byte()),
        source,
    };
    if !rdr
        .read_byte_record(&mut record)
        .map_err(|e| read_err(&rdr, e))?
    {
        return Err(PseudonymiseError::EmptyInput);
    }
    let width = record.len();
    let keys = options
        .match_keys
        .as_ref()
        .map(MatchKeySpec::keys)
        .unwrap_or_default();
    let (header, plan) = resolve_header(&record, specs, options.match_keys.as_ref(), &keys)?;
    let names: Vec<String> = record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let matcher = (!keys.is_empty()).then(|| MatchKeyTokeniser::new(key));
    wtr.write_byte_record(&header)
        .map_err(|e| PseudonymiseError::Write(e.into()))?;

    let tokeniser = Tokeniser::new(key);
    let mut out = ByteRecord::with_capacity(1024, header.len());
    let mut normalised = Vec::with_capacity(64);
    let mut token = [0u8; TOKEN_HEX_LEN];
    let mut stats = Stats::default();
    while rdr
        .read_byte_record(&mut record)
        .map_err(|e| read_err(&rdr, e))?
    {
        // Advancing every record keeps the newline queue short; the start line itself is only
        // worked out when an error needs it.
        let end_line = lines.end_line(rdr.position().byte());
        let line = || start_line(end_line, &record);
        if record.len() != width {
            return Err(PseudonymiseError::RaggedRow {
                line: line(),
                expected: width,
                found: record.len(),
            });
        }
        out.clear();
        let mut identity = Identity::default();
        for (index, (field, slot)) in record.iter().zip(&plan).enumerate() {
            if let Some(identifier) = slot.matched {
                let text = std::str::from_utf8(field).map_err(|_| {
                    PseudonymiseError::MatchInputNotUtf8 {
                        line: line(),
                        column: names[index].clone(),
                        field: index + 1,
                        identifier,
                    }
                })?;
                identity.set(identifier, text).map_err(|reason| {
                    PseudonymiseError::InvalidMatchInput {
                        line: line(),
                        column: names[index].clone(),
                        field: index + 1,
                        identifier,
                        reason,
                    }
                })?;
            }
            let Some(plan) = &slot.token else {
                if slot.matched.is_none() {
                    out.push_field(field);
                }
                continue;
            };
            match normalise_into(plan.kind, field, &mut normalised) {
                Ok(()) => {
                    tokeniser.token_into(plan.domain, &normalised, &mut token);
                    out.push_field(&token);
                    stats.tokens += 1;
                }
                Err(NormaliseError::Empty) if options.empty == EmptyPolicy::Blank => {
                    out.push_field(b"");
                    stats.blanks += 1;
                }
                Err(NormaliseError::Empty) => {
                    return Err(PseudonymiseError::EmptyIdentifier {
                        line: line(),
                        column: plan.column.clone(),
                        field: index + 1,
                        kind: plan.kind,
                    });
                }
                Err(reason) => {
                    return Err(PseudonymiseError::InvalidIdentifier {
                        line: line(),
                        column: plan.column.clone(),
                        field: index + 1,
                        kind: plan.kind,
                        reason,
                    });
                }
            }
        }
        if let Some(matcher) = &matcher {
            for &key in &keys {
                match matcher.token_for(key, &identity) {
                    Some(token) => {
                        out.push_field(token.as_bytes());
                        stats.match_keys += 1;
                    }
                    None => out.push_field(b""),
                }
            }
        }
        wtr.write_byte_record(&out)
            .map_err(|e| PseudonymiseError::Write(e.into()))?;
        stats.rows += 1;
    }
    stats.bytes_read = rdr.position().byte();
    wtr.flush().map_err(PseudonymiseError::Write)?;
    Ok(stats)
}

/// Physical line numbers for error messages.
///
/// `csv::Position::line` of a record is where the reader stood *before* skipping the
/// previous record's terminator, so with CRLF endings or blank lines it points one or more
/// lines too early. Instead [`LineTracker`] notes the byte offset of every `\n` as the
/// input is read, and a record's last line is 1 + the number of `\n` before the last byte
/// the reader consumed for it (its terminator, or its last byte at end of input). Subtracting
/// the newlines inside its quoted fields gives the line it starts on. Offsets already passed
/// are dropped, so the queue never holds more than a read buffer's worth.
#[derive(Clone, Default)]
struct Lines(Rc<RefCell<LineState>>);

#[derive(Default)]
struct LineState {
    /// Offsets of newlines read from the input but not yet passed by the parser.
    pending: VecDeque<u64>,
    /// Newlines before the parser's position.
    passed: u64,
}

impl Lines {
    /// The line holding the last byte of a record, given the reader's byte position after
    /// reading it. Positions must not decrease between calls.
    fn end_line(&self, consumed: u64) -> u64 {
        let last = consumed.saturating_sub(1);
        let mut state = self.0.borrow_mut();
        while state.pending.front().is_some_and(|&o| o < last) {
            state.pending.pop_front();
            state.passed += 1;
        }
        state.passed + 1
    }
}

/// The line a record starts on, from the line it ends on.
fn start_line(end_line: u64, record: &ByteRecord) -> u64 {
    let inside = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
    end_line.saturating_sub(inside)
}

/// Read adapter feeding [`Lines`].
struct LineTracker<R> {
    inner: R,
    offset: u64,
    lines: Lines,
}

impl<R> LineTracker<R> {
    fn new(inner: R, lines: &Lines) -> Self {
        Self {
            inner,
            offset: 0,
            lines: lines.clone(),
        }
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.lines.0.borrow_mut();
        let base = self.offset;
        // memchr finds newlines many bytes at a time; testing each byte was a tenth of the
        // command's time.
        state
            .pending
            .extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| base + i as u64));
        self.offset += n as u64;
        Ok(n)
    }
}

/// The one header position named `wanted`.
fn find_column(names: &[String], wanted: &str) -> Result<usize, PseudonymiseError> {
    let matches: Vec<usize> = names
        .iter()
        .enumerate()
        .filter(|(_, n)| *n == wanted)
        .map(|(i, _)| i)
        .collect();
    match matches.as_slice() {
        [] => Err(PseudonymiseError::MissingColumn {
            column: wanted.to_string(),
            available: names.to_vec(),
        }),
        [i] => Ok(*i),
        many => Err(PseudonymiseError::AmbiguousColumn {
            column: wanted.to_string(),
            count: many.len(),
        }),
    }
}

/// Matches specs to header columns and builds the output header.
fn resolve_header(
    header: &ByteRecord,
    specs: &[TokenSpec],
    match_keys: Option<&MatchKeySpec>,
    keys: &[MatchKey],
) -> Result<(ByteRecord, Vec<Slot>), PseudonymiseError> {
    let names: Vec<String> = header
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect();
    let mut plan: Vec<Slot> = names.iter().map(|_| Slot::default()).collect();
    let mut out_names: Vec<&str> = names.iter().map(String::as_str).collect();
    for spec in specs {
        let wanted = spec.source_column.trim();
        let index = find_column(&names, wanted)?;
        if plan[index].token.is_some() {
            return Err(PseudonymiseError::DuplicateSpec(wanted.to_string()));
        }
        plan[index].token = Some(Plan {
            column: wanted.to_string(),
            kind: spec.kind,
            domain: spec.domain,
        });
        out_names[index] = spec.dest_column.trim();
    }
    for (identifier, column) in match_keys.map(MatchKeySpec::columns).unwrap_or_default() {
        let index = find_column(&names, column)?;
        plan[index].matched = Some(*identifier);
    }
    // The output's names: tokens renamed, match-key inputs dropped, match keys appended.
    let kept: Vec<(usize, &str)> = out_names
        .iter()
        .enumerate()
        .filter(|(i, _)| plan[*i].token.is_some() || plan[*i].matched.is_none())
        .map(|(i, n)| (i, *n))
        .collect();
    // Untouched input columns may repeat (the header is copied as is), but a token or match
    // key column's name must be unique or downstream readers could pick the wrong column.
    let all: Vec<&str> = kept
        .iter()
        .map(|(_, n)| *n)
        .chain(keys.iter().map(|k| k.column()))
        .collect();
    let generated = kept
        .iter()
        .filter(|(i, _)| plan[*i].token.is_some())
        .map(|(_, n)| *n)
        .chain(keys.iter().map(|k| k.column()));
    for name in generated {
        if all.iter().filter(|n| **n == name).count() > 1 {
            return Err(PseudonymiseError::DuplicateOutputColumn(name.to_string()));
        }
    }
    let mut out = ByteRecord::with_capacity(header.as_slice().len() + 64, all.len());
    for (index, field) in header.iter().enumerate() {
        let slot = &plan[index];
        if slot.token.is_some() {
            out.push_field(out_names[index].as_bytes());
        } else if slot.matched.is_none() {
            // Pass untouched names through byte-for-byte (minus the BOM the reader strips).
            out.push_field(field);
        }
    }
    for key in keys {
        out.push_field(key.column().as_bytes());
    }
    Ok((out, plan))
}

/// Pseudonymises the file at `input` into `output`.
///
/// Output is written to a temporary file next to `output` (`.<name>.partial-<pid>`), synced,
/// and renamed over `output` only on success, so an interrupted or failed run never leaves
/// a half-pseudonymised file where a complete one is expected. Refuses to write over the
/// input.
pub fn pseudonymise_file(
    input: impl AsRef<Path>,
    output: impl AsRef<Path>,
    key: &LinkageKey,
    specs: &[TokenSpec],
    options: &Options,
) -> Result<Stats, PseudonymiseError> {
    let (input, output) = (input.as_ref(), output.as_ref());
    let file_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PseudonymiseError::File { path, source }
    };
    let reader = File::open(input).map_err(file_err(input))?;
    if let (Ok(a), Ok(b)) = (fs::canonicalize(input), fs::canonicalize(output))
        && a == b
    {
        return Err(PseudonymiseError::OutputIsInput(output.to_path_buf()));
    }
    let file_name = output
        .file_name()
        .ok_or_else(|| PseudonymiseError::File {
            path: output.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_string_lossy();
    let partial = output.with_file_name(format!(".{file_name}.partial-{}", std::process::id()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&partial)
        .map_err(file_err(&partial))?;
    let result = (|| {
        let stats = pseudonymise_csv_with(reader, &mut file, key, specs, options)?;
        file.sync_all().map_err(file_err(&partial))?;
        fs::rename(&partial, output).map_err(file_err(output))?;
        Ok(stats)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&partial);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::KEY_LEN;

    const NHS_A: &str = "9434765919";
    const NHS_B: &str = "4010232137";

    fn key() -> LinkageKey {
        LinkageKey::from_bytes([42; KEY_LEN])
    }

    fn run(input: &[u8], specs: &[TokenSpec]) -> Result<(String, Stats), PseudonymiseError> {
        run_with(input, specs, &Options::default())
    }

    fn run_with(
        input: &[u8],
        specs: &[TokenSpec],
        options: &Options,
    ) -> Result<(String, Stats), PseudonymiseError> {
        let mut out = Vec::new();
        let stats = pseudonymise_csv_with(input, &mut out, &key(), specs, options)?;
        Ok((String::from_utf8(out).unwrap(), stats))
    }

    fn nhs_spec() -> TokenSpec {
        "nhs_number=person_id:nhs:person".parse().unwrap()
    }

    fn tok(domain: Domain, normalised: &str) -> String {
        crate::token::token(&key(), domain, normalised)
    }

    #[test]
    fn spec_parsing_and_defaults() {
        assert_eq!(
            nhs_spec(),
            TokenSpec::new("nhs_number", "person_id", IdKind::Nhs, Domain::Person)
        );
        assert_eq!(
            "pupil_ref=person_id".parse::<TokenSpec>().unwrap(),
            TokenSpec::new("pupil_ref", "person_id", IdKind::Local, Domain::Person)
        );
        assert_eq!(
            "crime_ref=offence_id:local:offence"
                .parse::<TokenSpec>()
                .unwrap(),
            TokenSpec::new("crime_ref", "offence_id", IdKind::Local, Domain::Offence)
        );
        assert_eq!(
            "pnc=person_id:pnc".parse::<TokenSpec>().unwrap().kind,
            IdKind::Pnc
        );
        for spec in [nhs_spec(), "a=b:pnc:offence".parse().unwrap()] {
            assert_eq!(spec.to_string().parse::<TokenSpec>().unwrap(), spec);
        }
        assert!(matches!(
            "nhs_number".parse::<TokenSpec>(),
            Err(TokenSpecError::MissingEquals(_))
        ));
        assert!(matches!(
            "=x".parse::<TokenSpec>(),
            Err(TokenSpecError::EmptySource(_))
        ));
        assert!(matches!(
            "x=".parse::<TokenSpec>(),
            Err(TokenSpecError::EmptyDest(_))
        ));
        assert!(matches!(
            "x=y:nhs:person:extra".parse::<TokenSpec>(),
            Err(TokenSpecError::TooManyParts(_))
        ));
        assert!(matches!(
            "x=y:passport".parse::<TokenSpec>(),
            Err(TokenSpecError::Kind(_))
        ));
        assert!(matches!(
            "x=y:nhs:household".parse::<TokenSpec>(),
            Err(TokenSpecError::Domain(_))
        ));
    }

    #[test]
    fn replaces_identifier_and_renames_header() {
        let input = format!("id,nhs_number,age\n1,{NHS_A},17\n2,943 476 5919,18\n3,{NHS_B},19\n");
        let (out, stats) = run(input.as_bytes(), &[nhs_spec()]).unwrap();
        let a = tok(Domain::Person, NHS_A);
        let b = tok(Domain::Person, NHS_B);
        assert_eq!(
            out,
            format!("id,person_id,age\n1,{a},17\n2,{a},18\n3,{b},19\n")
        );
        assert_eq!(
            stats,
            Stats {
                rows: 3,
                tokens: 3,
                blanks: 0,
                match_keys: 0,
                bytes_read: input.len() as u64
            }
        );
    }

    #[test]
    fn round_trip_preserves_quoting_bom_and_crlf_content() {
        // BOM, CRLF, quoted fields with commas, doubled quotes, an embedded newline, a stray
        // quote in an unquoted field, non-UTF-8 bytes in a pass-through column, an empty field.
        let mut input = b"\xef\xbb\xbfnote,nhs_number,place\r\n".to_vec();
        input.extend_from_slice(b"\"a, b\",9434765919,\"say \"\"hi\"\"\"\r\n");
        input.extend_from_slice(b"\"line1\r\nline2\",\"943 476 5919\",caf\xe9\r\n");
        input.extend_from_slice(b"x\"y,4010232137,\r\n");
        input.extend_from_slice(b"\"plain\",4010232137,\"\"");
        let mut out = Vec::new();
        let stats = pseudonymise_csv(&input[..], &mut out, &key(), &[nhs_spec()]).unwrap();
        assert_eq!(stats.rows, 4);

        // Re-read the output: every pass-through field has exactly its original content.
        let mut rdr = ReaderBuilder::new().from_reader(&out[..]);
        assert_eq!(
            rdr.byte_headers().unwrap(),
            &ByteRecord::from(vec!["note", "person_id", "place"])
        );
        let rows: Vec<ByteRecord> = rdr.byte_records().map(Result::unwrap).collect();
        let a = tok(Domain::Person, NHS_A);
        let b = tok(Domain::Person, NHS_B);
        let expected: Vec<Vec<&[u8]>> = vec![
            vec![b"a, b", a.as_bytes(), b"say \"hi\""],
            vec![b"line1\r\nline2", a.as_bytes(), b"caf\xe9"],
            vec![b"x\"y", b.as_bytes(), b""],
            vec![b"plain", b.as_bytes(), b""],
        ];
        assert_eq!(rows.len(), expected.len());
        for (row, want) in rows.iter().zip(&expected) {
            assert_eq!(row.iter().collect::<Vec<_>>(), *want);
        }
        // And the exact bytes: BOM gone, LF endings, quotes only where needed.
        let text = out;
        let mut want = b"note,person_id,place\n".to_vec();
        want.extend_from_slice(format!("\"a, b\",{a},\"say \"\"hi\"\"\"\n").as_bytes());
        want.extend_from_slice(format!("\"line1\r\nline2\",{a},caf").as_bytes());
        want.extend_from_slice(b"\xe9\n");
        want.extend_from_slice(format!("\"x\"\"y\",{b},\n").as_bytes());
        want.extend_from_slice(format!("plain,{b},\n").as_bytes());
        assert_eq!(
            String::from_utf8_lossy(&text),
            String::from_utf8_lossy(&want)
        );
        assert_eq!(text, want);
    }

    #[test]
    fn invalid_identifier_names_line_and_column() {
        // The multi-line record starts on line 3, so the bad record is on line 5.
        let input = format!("id,nhs_number\n1,{NHS_A}\n\"2\n\",{NHS_B}\n3,9434765918\n");
        let err = run(input.as_bytes(), &[nhs_spec()]).unwrap_err();
        match &err {
            PseudonymiseError::InvalidIdentifier {
                line,
                column,
                field,
                kind,
                reason,
            } => {
                assert_eq!(*line, 5);
                assert_eq!(column, "nhs_number");
                assert_eq!(*field, 2);
                assert_eq!(*kind, IdKind::Nhs);
                assert_eq!(*reason, NormaliseError::NhsCheckDigit);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(err.line(), Some(5));
        let message = err.to_string();
        assert!(
            message.starts_with("line 5, column `nhs_number` (field 2)"),
            "{message}"
        );
        assert!(!message.contains("9434765918"), "{message}");
    }

    #[test]
    fn line_numbers_with_crlf_blank_lines_and_multiline_fields() {
        let bad = "9434765918";
        let cases = [
            (format!("id,nhs_number\r\n1,{NHS_A}\r\n2,{bad}\r\n"), 3),
            (format!("id,nhs_number\n1,{NHS_A}\n2,{bad}\n"), 3),
            (format!("id,nhs_number\n1,{NHS_A}\n2,{bad}"), 3),
            (
                format!("id,nhs_number\r\n\r\n\r\n1,{NHS_A}\r\n\r\n2,{bad}\r\n"),
                6,
            ),
            (format!("id,nhs_number\n\n1,{NHS_A}\n\n2,{bad}\n"), 5),
            (
                format!("id,nhs_number\r\n\"a\r\nb\r\n\",{NHS_A}\r\n2,{bad}\r\n"),
                5,
            ),
            (format!("id,nhs_number\r\n\"a\r\nb\",{bad}\r\n"), 2),
            (format!("\u{feff}id,nhs_number\r\n1,{bad}"), 2),
            (format!("\"i\nd\",nhs_number\n1,{NHS_A}\n2,{bad}\n"), 4),
        ];
        for (input, line) in cases {
            let err = run(input.as_bytes(), &[nhs_spec()]).unwrap_err();
            assert_eq!(err.line(), Some(line), "{input:?}: {err}");
        }
        let err = run(b"id,nhs_number\r\n1,9434765919\r\n\r\n3\r\n", &[nhs_spec()]).unwrap_err();
        assert!(
            matches!(err, PseudonymiseError::RaggedRow { line: 4, .. }),
            "{err}"
        );
    }

    #[test]
    fn empty_identifiers_rejected_by_default_or_blanked() {
        let input = format!("id,nhs_number\n1,{NHS_A}\n2,\n3,  \n");
        let err = run(input.as_bytes(), &[nhs_spec()]).unwrap_err();
        assert!(
            matches!(
                err,
                PseudonymiseError::EmptyIdentifier {
                    line: 3,
                    field: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("empty NHS number"));

        let options = Options {
            empty: EmptyPolicy::Blank,
            ..Options::default()
        };
        let (out, stats) = run_with(input.as_bytes(), &[nhs_spec()], &options).unwrap();
        let a = tok(Domain::Person, NHS_A);
        assert_eq!(out, format!("id,person_id\n1,{a}\n2,\n3,\n"));
        assert_eq!((stats.rows, stats.tokens, stats.blanks), (3, 1, 2));
    }

    #[test]
    fn several_specs_kinds_and_domains() {
        let input = "crime_ref,pnc,pupil\nCR/1, 2001/0012345a ,  P7 \n";
        let specs: Vec<TokenSpec> = [
            "crime_ref=offence_id:local:offence",
            "pnc=suspect_id:pnc",
            "pupil=pupil_id",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let (out, stats) = run(input.as_bytes(), &specs).unwrap();
        assert_eq!(
            out,
            format!(
                "offence_id,suspect_id,pupil_id\n{},{},{}\n",
                tok(Domain::Offence, "CR/1"),
                tok(Domain::Person, "20010012345A"),
                tok(Domain::Person, "P7")
            )
        );
        assert_eq!(stats.tokens, 3);
    }

    #[test]
    fn header_problems() {
        let input = b"id,nhs_number\n1,9434765919\n";
        let err = run(input, &["nhs=person_id:nhs".parse().unwrap()]).unwrap_err();
        assert!(
            matches!(&err, PseudonymiseError::MissingColumn { column, .. } if column == "nhs"),
            "{err}"
        );
        assert!(err.to_string().contains("`nhs`"));

        let err = run(b"nhs_number,nhs_number\n", &[nhs_spec()]).unwrap_err();
        assert!(matches!(
            err,
            PseudonymiseError::AmbiguousColumn { count: 2, .. }
        ));

        let err = run(
            input,
            &[nhs_spec(), "nhs_number=other:nhs".parse().unwrap()],
        )
        .unwrap_err();
        assert!(matches!(err, PseudonymiseError::DuplicateSpec(_)));

        let err = run(input, &["nhs_number=id:nhs".parse().unwrap()]).unwrap_err();
        assert!(matches!(err, PseudonymiseError::DuplicateOutputColumn(ref c) if c == "id"));

        assert!(matches!(
            run(b"", &[nhs_spec()]).unwrap_err(),
            PseudonymiseError::EmptyInput
        ));

        // A header with no data rows is fine.
        let (out, stats) = run(b"id,nhs_number\n", &[nhs_spec()]).unwrap();
        assert_eq!(out, "id,person_id\n");
        assert_eq!(stats.rows, 0);
    }

    #[test]
    fn ragged_rows_are_refused_with_line() {
        let err = run(b"id,nhs_number\n1,9434765919\n2\n", &[nhs_spec()]).unwrap_err();
        assert!(matches!(
            err,
            PseudonymiseError::RaggedRow {
                line: 3,
                expected: 2,
                found: 1
            }
        ));
    }

    #[test]
    fn no_specs_copies_the_file() {
        let (out, _) = run(b"a,b\n\"1\",\"x,y\"\n", &[]).unwrap();
        assert_eq!(out, "a,b\n1,\"x,y\"\n");
    }

    #[test]
    fn other_delimiters() {
        let options = Options {
            delimiter: b'|',
            ..Options::default()
        };
        let (out, _) =
            run_with(b"id|nhs_number\n1,2|9434765919\n", &[nhs_spec()], &options).unwrap();
        assert_eq!(
            out,
            format!("id|person_id\n1,2|{}\n", tok(Domain::Person, NHS_A))
        );
    }

    #[test]
    fn file_api_is_atomic() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let output = dir.path().join("out.csv");
        fs::write(&input, format!("id,nhs_number\n1,{NHS_A}\n")).unwrap();
        let stats =
            pseudonymise_file(&input, &output, &key(), &[nhs_spec()], &Options::default()).unwrap();
        assert_eq!(stats.rows, 1);
        assert_eq!(
            fs::read_to_string(&output).unwrap(),
            format!("id,person_id\n1,{}\n", tok(Domain::Person, NHS_A))
        );

        // A failing run leaves the previous output intact and no partial file behind.
        fs::write(&input, "id,nhs_number\n1,9434765918\n").unwrap();
        let err = pseudonymise_file(&input, &output, &key(), &[nhs_spec()], &Options::default())
            .unwrap_err();
        assert_eq!(err.line(), Some(2));
        assert!(fs::read_to_string(&output).unwrap().contains("person_id"));
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().contains("partial"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");

        let err = pseudonymise_file(&input, &input, &key(), &[nhs_spec()], &Options::default())
            .unwrap_err();
        assert!(matches!(err, PseudonymiseError::OutputIsInput(_)));
    }

    fn mk_options(spec: &str) -> Options {
        Options {
            match_keys: Some(spec.parse().unwrap()),
            ..Options::default()
        }
    }

    #[test]
    fn match_keys_replace_the_identifying_columns() {
        let input = "Ref,FirstName,LastName,DOB,Sex,Postcode,NHS,age\n\
                     r1,Bill,O'Neill,07/03/2005,Male,ln1 3dy,943 476 5919,17\n\
                     r2,William,ONEILL,2005-03-07,M,,,17\n\
                     r3,,Smith,2001-01-01,F,LN2 1AA,,20\n";
        let options = mk_options(
            "forename=FirstName,surname=LastName,dob=DOB,sex=Sex,postcode=Postcode,nhs=NHS",
        );
        let (out, stats) = run_with(
            input.as_bytes(),
            &["Ref=person_id".parse().unwrap()],
            &options,
        )
        .unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "person_id,age,mk_nhs,mk_name_dob_sex,mk_name_dob_swapped,mk_init_surname_dob,\
             mk_forename_dob_pcd,mk_surname_dob_pc"
        );
        let t = MatchKeyTokeniser::new(&key());
        let row = |l: &str| l.split(',').map(str::to_string).collect::<Vec<_>>();
        let (r1, r2, r3) = (row(lines[1]), row(lines[2]), row(lines[3]));
        assert_eq!(r1[0], tok(Domain::Person, "r1"));
        assert_eq!(r1[1], "17");
        assert_eq!(r1[2], t.token(MatchKey::Nhs, NHS_A));
        assert_eq!(
            r1[3],
            t.token(MatchKey::NameDobSex, "WILLIAM|ONEILL|2005-03-07|M")
        );
        // The same person spelt differently shares every name key, not the missing ones.
        assert_eq!(&r1[3..6], &r2[3..6]);
        assert_eq!(
            (r2[2].as_str(), r2[6].as_str(), r2[7].as_str()),
            ("", "", "")
        );
        // No forename: only the surname + postcode key.
        assert_eq!(&r3[2..7], ["", "", "", "", ""]);
        assert!(!r3[7].is_empty());
        assert_eq!(stats.rows, 3);
        assert_eq!(stats.match_keys, 6 + 3 + 1);
        // Nothing identifying survives.
        for secret in [
            "Bill",
            "ONeill",
            "O'Neill",
            "2005",
            "ln1",
            "LN2",
            "9434765919",
            "943 476",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
    }

    #[test]
    fn a_column_can_be_a_token_and_a_match_key() {
        let input = format!("NHS,age\n{NHS_A},17\n");
        let (out, _) = run_with(
            input.as_bytes(),
            &["NHS=person_id:nhs".parse().unwrap()],
            &mk_options("nhs=NHS"),
        )
        .unwrap();
        let t = MatchKeyTokeniser::new(&key());
        assert_eq!(
            out,
            format!(
                "person_id,age,mk_nhs\n{},17,{}\n",
                tok(Domain::Person, NHS_A),
                t.token(MatchKey::Nhs, NHS_A)
            )
        );
    }

    #[test]
    fn bad_match_inputs_name_line_and_column_never_the_value() {
        let input = "FirstName,LastName,DOB\nAnn,Lee,2001-01-01\nBob,Ray,31/04/2005\n";
        let err = run_with(
            input.as_bytes(),
            &[],
            &mk_options("forename=FirstName,surname=LastName,dob=DOB"),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                PseudonymiseError::InvalidMatchInput {
                    line: 3,
                    field: 3,
                    identifier: Identifier::Dob,
                    reason: MatchKeyError::DobImpossible,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(text.contains("line 3") && text.contains("`DOB`"), "{text}");
        assert!(!text.contains("31/04") && !text.contains("Bob"), "{text}");

        let err = run_with(
            "Name,DOB\nAnn,2001-01-01\n".as_bytes(),
            &[],
            &mk_options("forename=FirstName,surname=Name,dob=DOB"),
        )
        .unwrap_err();
        assert!(
            matches!(err, PseudonymiseError::MissingColumn { .. }),
            "{err}"
        );

        // A match key's name may not collide with a column already there.
        let err = run_with(
            format!("mk_nhs,NHS\nx,{NHS_A}\n").as_bytes(),
            &[],
            &mk_options("nhs=NHS"),
        )
        .unwrap_err();
        assert!(
            matches!(err, PseudonymiseError::DuplicateOutputColumn(ref c) if c == "mk_nhs"),
            "{err}"
        );
    }
}
