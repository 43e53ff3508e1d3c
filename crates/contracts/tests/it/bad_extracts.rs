//! The bad-extract corpus: one good synthetic file per dataset (from `svna-synth`), and from
//! it many files with one defect each, as a careless or hostile partner would send them.
//!
//! Every file goes through [`svna_contracts::read_extract`], the path `svna validate`,
//! `svna upload` and the hub's intake share. Each must be refused whole, or have its bad row
//! rejected, as the contract says, with a message naming the file, the line an editor shows
//! (the header is line 1), the column, and what to do.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::OnceLock;

use svna_contracts::{ExtractError, ExtractReader, Rejection, RowCounts, read_extract, v1};
use svna_synth::SynthConfig;

/// Data rows kept of each synthetic file: enough for every defect, quick to read.
const ROWS: usize = 40;
/// The row (0-based) a defect goes into, and the editor line that row is on.
const ROW: usize = 2;
const LINE: u64 = ROW as u64 + 2;

/// One good extract as header and rows of text, to be damaged.
#[derive(Clone)]
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn col(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }

    fn set(&mut self, row: usize, column: &str, value: &str) {
        let col = self.col(column);
        self.rows[row][col] = value.to_string();
    }

    fn drop_column(&mut self, column: &str) {
        let col = self.col(column);
        self.header.remove(col);
        for row in &mut self.rows {
            row.remove(col);
        }
    }

    fn add_column(&mut self, name: &str, value: &str) {
        self.header.push(name.to_string());
        for row in &mut self.rows {
            row.push(value.to_string());
        }
    }

    /// RFC 4180 CSV with LF line ends, as the `csv` crate writes it.
    fn csv(&self) -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.header).unwrap();
        for row in &self.rows {
            w.write_record(row).unwrap();
        }
        w.into_inner().unwrap()
    }

    /// Lines of the file, joined by hand (for defects a CSV writer would not produce).
    fn lines(&self) -> Vec<String> {
        std::iter::once(self.header.join(","))
            .chain(self.rows.iter().map(|r| r.join(",")))
            .collect()
    }
}

/// Every synthetic extract, whole: one small year of the default county.
fn synth_files() -> &'static BTreeMap<String, Vec<u8>> {
    static FILES: OnceLock<BTreeMap<String, Vec<u8>>> = OnceLock::new();
    FILES.get_or_init(|| {
        let cfg = SynthConfig {
            scale: 0.02,
            years: 1,
            ..SynthConfig::default()
        };
        svna_synth::generate_to_memory(&cfg).unwrap().1
    })
}

/// The first [`ROWS`] rows of a dataset's synthetic extract.
fn good(dataset: &str) -> Table {
    let bytes = synth_files()
        .get(dataset)
        .unwrap_or_else(|| panic!("synth writes no {dataset}"));
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes.as_slice());
    let header = reader.headers().unwrap().iter().map(String::from).collect();
    let rows = reader
        .records()
        .take(ROWS)
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    Table { header, rows }
}

/// A file's bytes; a huge one is produced as it is read, never held whole.
enum Source {
    Bytes(Vec<u8>),
    Huge {
        prefix: Vec<u8>,
        fill: u8,
        len: u64,
        suffix: Vec<u8>,
    },
}

impl Source {
    fn reader(&self) -> Box<dyn Read + '_> {
        match self {
            Source::Bytes(b) => Box::new(b.as_slice()),
            Source::Huge {
                prefix,
                fill,
                len,
                suffix,
            } => Box::new(
                prefix
                    .as_slice()
                    .chain(std::io::repeat(*fill).take(*len))
                    .chain(suffix.as_slice()),
            ),
        }
    }
}

/// What the contract says must happen to a file.
#[derive(Debug)]
enum Expect {
    /// Refused whole; the message names this line (if any) and column (if any), and says
    /// `says` (the part that tells the partner what to do).
    Refused {
        line: Option<u64>,
        column: Option<&'static str>,
        says: &'static str,
    },
    /// The file is read, and the row on `line` is rejected for `column` under `rule`.
    Rejected {
        line: u64,
        column: &'static str,
        rule: &'static str,
    },
}

struct Case {
    name: &'static str,
    dataset: &'static str,
    source: Source,
    expect: Expect,
}

fn refused(line: Option<u64>, column: Option<&'static str>, says: &'static str) -> Expect {
    Expect::Refused { line, column, says }
}

fn rejected(column: &'static str, rule: &'static str) -> Expect {
    Expect::Rejected {
        line: LINE,
        column,
        rule,
    }
}

/// A case whose defect is one edit of the dataset's good table.
fn edit(
    name: &'static str,
    dataset: &'static str,
    damage: impl FnOnce(&mut Table),
    expect: Expect,
) -> Case {
    let mut table = good(dataset);
    damage(&mut table);
    Case {
        name,
        dataset,
        source: Source::Bytes(table.csv()),
        expect,
    }
}

/// A case whose defect is one value: `column` of row [`ROW`] set to `value`.
fn value(
    name: &'static str,
    dataset: &'static str,
    column: &'static str,
    value: &str,
    expect: Expect,
) -> Case {
    let value = value.to_string();
    edit(name, dataset, move |t| t.set(ROW, column, &value), expect)
}

/// A case whose defect is in the bytes: `damage` gets the good file's lines.
fn bytes(
    name: &'static str,
    dataset: &'static str,
    damage: impl FnOnce(Vec<String>) -> Vec<u8>,
    expect: Expect,
) -> Case {
    Case {
        name,
        dataset,
        source: Source::Bytes(damage(good(dataset).lines())),
        expect,
    }
}

fn join(lines: &[String]) -> Vec<u8> {
    let mut text = lines.join("\n");
    text.push('\n');
    text.into_bytes()
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let units = (bom.then_some(0xFEFF_u16))
        .into_iter()
        .chain(text.encode_utf16());
    units
        .flat_map(|u| {
            if big_endian {
                u.to_be_bytes()
            } else {
                u.to_le_bytes()
            }
        })
        .collect()
}

/// The file with a Latin-1 `é` (one byte, 0xE9) at the end of the defect row.
fn latin1_in_row(lines: &[String]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        bytes.extend_from_slice(line.as_bytes());
        if i == LINE as usize - 1 {
            bytes.push(0xE9);
        }
        bytes.push(b'\n');
    }
    bytes
}

const NHS: &str = "9434765919";
const MB100: u64 = 100 * 1024 * 1024;

#[rustfmt::skip]
fn corpus() -> Vec<Case> {
    let po = "police_offences";
    let pp = "police_persons";
    let yj = "youth_justice";
    let pr = "probation";
    let sc = "school_suspensions";
    let ed = "ed_assaults";
    let ha = "hospital_admissions_agg";
    let sf = "social_care_factors_agg";
    let lk = "lsoa_lookup";
    let imd = "imd";
    let pop = "population";
    let token = "ab".repeat(32);
    vec![
        // --- The header: missing, extra, misspelt, duplicated, renamed columns ---
        edit("missing_column", po, |t| t.drop_column("knife_flag"), refused(Some(1), Some("knife_flag"), "use the column names")),
        edit("extra_column", po, |t| t.add_column("notes", "x"), refused(Some(1), Some("notes"), "use the column names")),
        edit("misspelt_column", po, |t| t.header[1] = "recorded_dte".into(), refused(Some(1), Some("recorded_dte"), "use the column names")),
        edit("duplicate_column", pp, |t| { t.add_column("role", "victim"); }, refused(Some(1), Some("role"), "appears twice")),
        edit("column_in_wrong_case", pp, |t| t.header[0] = "Offence_ID".into(), refused(Some(1), Some("Offence_ID"), "use the column names")),
        edit("column_with_trailing_space", yj, |t| t.header[0] = "person_id ".into(), refused(Some(1), Some("person_id "), "use the column names")),
        edit("thousands_of_extra_columns", pp, |t| { for i in 0..5000 { t.add_column(&format!("extra_{i}"), "") } }, refused(Some(1), Some("extra_0"), "and 4994 more")),
        edit("very_long_unknown_column", ed, |t| t.header[0] = "s".repeat(10_000), refused(Some(1), None, "use the column names")),
        bytes("empty_file", po, |_| Vec::new(), refused(None, None, "export it again with its header")),
        // --- Direct identifiers, by column name and by value, in any column ---
        edit("postcode_column", ed, |t| t.add_column("postcode", "LN1 3DY"), refused(Some(1), Some("postcode"), "pseudonymise or remove it")),
        edit("date_of_birth_column", yj, |t| t.add_column("date_of_birth", "2005-01-01"), refused(Some(1), Some("date_of_birth"), "pseudonymise or remove it")),
        edit("dob_column", pr, |t| t.add_column("DOB", "1990-01-01"), refused(Some(1), Some("DOB"), "pseudonymise or remove it")),
        edit("surname_column", pr, |t| t.add_column("surname", "Smith"), refused(Some(1), Some("surname"), "pseudonymise or remove it")),
        edit("full_name_column", sc, |t| t.add_column("Full Name", "Jo Bloggs"), refused(Some(1), Some("Full Name"), "pseudonymise or remove it")),
        edit("nhs_number_column", pp, |t| t.add_column("nhs_number", NHS), refused(Some(1), Some("nhs_number"), "pseudonymise or remove it")),
        edit("address_column", yj, |t| t.add_column("address_line_1", "1 High St"), refused(Some(1), Some("address_line_1"), "pseudonymise or remove it")),
        value("nhs_number_in_offence_token", po, "offence_id", NHS, refused(Some(LINE), Some("offence_id"), "NHS number")),
        value("spaced_nhs_number_in_person_token", pp, "person_id", "943 476 5919", refused(Some(LINE), Some("person_id"), "NHS number")),
        value("nhs_number_in_youth_token", yj, "person_id", "401-023-2137", refused(Some(LINE), Some("person_id"), "NHS number")),
        value("postcode_in_site_code", ed, "site_code", "LN2 5QY", refused(Some(LINE), Some("site_code"), "postcode")),
        value("postcode_in_home_lsoa", yj, "home_lsoa", "LN1 3DY", refused(Some(LINE), Some("home_lsoa"), "postcode")),
        value("nhs_number_in_site_code", ed, "site_code", NHS, refused(Some(LINE), Some("site_code"), "NHS number")),
        value("postcode_in_ward_name", lk, "ward_name", "pe21 6jy", refused(Some(LINE), Some("ward_name"), "postcode")),
        // --- Encodings and byte-level damage ---
        bytes("utf16_le_with_bom", po, |l| utf16(&l.join("\n"), false, true), refused(Some(1), None, "this file is UTF-16")),
        bytes("utf16_be_with_bom", po, |l| utf16(&l.join("\n"), true, true), refused(Some(1), None, "this file is UTF-16")),
        bytes("utf16_le_without_bom", pp, |l| utf16(&l.join("\n"), false, false), refused(Some(1), None, "this file is UTF-16")),
        bytes("utf16_be_without_bom", ed, |l| utf16(&l.join("\n"), true, false), refused(Some(1), None, "this file is UTF-16")),
        bytes("utf32_le_with_bom", pp, |l| [&b"\xFF\xFE\x00\x00"[..], &join(&l)].concat(), refused(Some(1), None, "save it as UTF-8")),
        bytes("xlsx_workbook", po, |_| b"PK\x03\x04\x14\x00\x06\x00binary".to_vec(), refused(Some(1), None, "export the sheet as CSV")),
        bytes("nul_bytes", pp, |l| { let mut b = join(&l); b[20] = 0; b }, refused(Some(1), None, "save it as UTF-8")),
        bytes("latin1_header", lk, |l| { let mut b = join(&l); b.splice(0..0, b"caf\xE9,".iter().copied()); b }, refused(Some(1), None, "save it as UTF-8")),
        bytes("latin1_value", lk, |l| latin1_in_row(&l), rejected("(row)", "encoding")),
        bytes("huge_header", ed, |_| Vec::new(), refused(Some(1), None, "fix that line")),
        bytes("huge_site_code", ed, |_| Vec::new(), refused(Some(LINE), None, "fix that line")),
        // --- Row shape ---
        bytes("ragged_row_short", pp, |mut l| { let r = &mut l[LINE as usize - 1]; let cut = r.rfind(',').unwrap(); r.truncate(cut); join(&l) }, rejected("(row)", "field_count")),
        bytes("ragged_row_long", pp, |mut l| { l[LINE as usize - 1].push_str(",extra"); join(&l) }, rejected("(row)", "field_count")),
        bytes("unquoted_comma_in_name", lk, |mut l| { let r = &mut l[LINE as usize - 1]; *r = r.replacen(',', ",Lincoln, city,", 1); join(&l) }, rejected("(row)", "field_count")),
        value("quoted_newline_in_site_code", ed, "site_code", "RX\nX01", rejected("site_code", "control_character")),
        value("tab_in_ward_name", lk, "ward_name", "Park\tWard", rejected("ward_name", "control_character")),
        // --- Types and formats ---
        value("impossible_date", po, "recorded_date", "2019-02-30", rejected("recorded_date", "date")),
        value("uk_date_format", po, "recorded_date", "01/02/2019", rejected("recorded_date", "date")),
        value("date_with_time", yj, "event_date", "2019-03-01T10:00", rejected("event_date", "date")),
        value("month_13", yj, "event_date", "2019-13-01", rejected("event_date", "date")),
        value("timestamp_with_space", ed, "arrival_datetime", "2019-01-01 10:00", rejected("arrival_datetime", "timestamp")),
        value("hour_24", po, "offence_hour", "24", rejected("offence_hour", "range")),
        value("hour_as_word", po, "offence_hour", "seven", rejected("offence_hour", "integer")),
        value("bool_as_y", po, "knife_flag", "Y", rejected("knife_flag", "boolean")),
        value("bool_as_maybe", yj, "first_time_entrant", "maybe", rejected("first_time_entrant", "boolean")),
        value("lsoa_msoa_code", po, "lsoa_code", "E02000001", rejected("lsoa_code", "lsoa_code")),
        value("lad_ward_code", sc, "school_lad", "E05000001", rejected("school_lad", "lad_code")),
        value("lad_county_code", lk, "lad_code", "E10000019", rejected("lad_code", "lad_code")),
        value("bad_month", ha, "month", "2019-13", rejected("month", "month")),
        value("bad_quarter", sf, "quarter", "2019-Q5", rejected("quarter", "quarter")),
        value("ho_code_not_a_code", po, "ho_code", "GBH", rejected("ho_code", "ho_code")),
        value("ho_code_unknown_8z", po, "ho_code", "8Z", rejected("ho_code", "ho_code")),
        value("ho_code_unknown_subcode", po, "ho_code", "4/99", rejected("ho_code", "ho_code")),
        value("token_uppercase", po, "offence_id", &"AB".repeat(32), rejected("offence_id", "token")),
        value("token_short", pp, "person_id", &"ab".repeat(31), rejected("person_id", "token")),
        value("token_is_a_case_number", pp, "person_id", "PNC-12/345678A", rejected("person_id", "token")),
        value("float_count", sf, "assessments", "2.5", rejected("assessments", "integer")),
        // --- Ranges and enums ---
        value("age_121", pp, "age", "121", rejected("age", "range")),
        value("age_negative", pp, "age", "-1", rejected("age", "range")),
        value("youth_age_9", yj, "age", "9", rejected("age", "range")),
        value("probation_age_17", pr, "age", "17", rejected("age", "range")),
        value("school_age_3", sc, "age", "3", rejected("age", "range")),
        value("negative_admissions", ha, "admissions", "-3", rejected("admissions", "range")),
        value("imd_rank_0", imd, "imd_rank", "0", rejected("imd_rank", "range")),
        value("imd_rank_too_big", imd, "imd_rank", "32845", rejected("imd_rank", "range")),
        value("enum_in_wrong_case", po, "location_type", "Street", rejected("location_type", "enum")),
        value("role_witness", pp, "role", "witness", rejected("role", "enum")),
        value("rosh_severe", pr, "rosh", "severe", rejected("rosh", "enum")),
        value("suspension_reason_xx", sc, "reason", "XX", rejected("reason", "enum")),
        value("age_band_18_25", ed, "age_band", "18-25", rejected("age_band", "enum")),
        value("population_sex_x", pop, "sex", "X", rejected("sex", "enum")),
        // --- Empty required fields ---
        value("empty_offence_id", po, "offence_id", "", rejected("offence_id", "required")),
        value("empty_sex", pp, "sex", "", rejected("sex", "required")),
        value("empty_suspension_type", sc, "type", "", rejected("type", "required")),
        value("empty_assault_method", ed, "assault_method", "", rejected("assault_method", "required")),
        value("empty_residents", pop, "residents", "", rejected("residents", "required")),
        value("empty_lad_code", ha, "lad_code", "", rejected("lad_code", "required")),
        // --- Duplicates ---
        edit("duplicate_offence_id", po, |t| { let id = t.rows[0][t.col("offence_id")].clone(); t.set(ROW, "offence_id", &id) }, rejected("offence_id", "unique")),
        edit("duplicate_lsoa_in_lookup", lk, |t| { let id = t.rows[0][t.col("lsoa_code")].clone(); t.set(ROW, "lsoa_code", &id) }, rejected("lsoa_code", "unique")),
        // --- Lengths ---
        value("long_site_code", ed, "site_code", &"R".repeat(300), rejected("site_code", "length")),
        value("long_ward_name", lk, "ward_name", &"w".repeat(1000), rejected("ward_name", "length")),
        value("long_ward_code", lk, "ward_code", "E05000001E05000001", rejected("ward_code", "length")),
        // --- Cross-field rules ---
        edit("offence_after_recorded", po, |t| { t.set(ROW, "offence_date", "2019-06-02"); t.set(ROW, "recorded_date", "2019-06-01") }, rejected("offence_date", "order")),
        edit("assault_after_arrival", ed, |t| { t.set(ROW, "assault_datetime", "2019-06-01T11:00"); t.set(ROW, "arrival_datetime", "2019-06-01T10:00") }, rejected("assault_datetime", "order")),
        // --- Suppression misuse in pre-aggregated data ---
        edit("suppressed_with_count", ha, |t| { t.set(ROW, "suppressed", "true"); t.set(ROW, "admissions", "5") }, rejected("admissions", "suppression_flag")),
        edit("unsuppressed_without_count", ha, |t| { t.set(ROW, "suppressed", "false"); t.set(ROW, "admissions", "") }, rejected("admissions", "suppression_flag")),
        edit("suppressed_assessments_with_count", sf, |t| { t.set(ROW, "suppressed", "true"); t.set(ROW, "assessments", "3") }, rejected("assessments", "suppression_flag")),
        value("suppressed_flag_yes", ha, "suppressed", "yes", rejected("suppressed", "boolean")),
        value("token_in_open_column", ha, "month", &token, rejected("month", "month")),
    ]
    .into_iter()
    .map(huge)
    .collect()
}

/// The two 100 MB cases are built here, streamed: a header line and a `site_code`.
fn huge(mut case: Case) -> Case {
    let t = good(case.dataset);
    let lines = t.lines();
    let (prefix, suffix) = match case.name {
        "huge_header" => (
            "site_code,".to_string(),
            format!("\n{}\n", lines[1..].join("\n")),
        ),
        "huge_site_code" => {
            let row = &lines[LINE as usize - 1];
            let rest = &row[row.find(',').unwrap()..];
            (
                format!("{}\nRX", lines[..LINE as usize - 1].join("\n")),
                format!("{rest}\n{}\n", lines[LINE as usize..].join("\n")),
            )
        }
        _ => return case,
    };
    case.source = Source::Huge {
        prefix: prefix.into_bytes(),
        fill: b'X',
        len: MB100,
        suffix: suffix.into_bytes(),
    };
    case
}

/// Validates `source` as `dataset`, named `file`, through the shared entry point.
fn run(
    dataset: &str,
    source: &Source,
    file: &str,
) -> (Result<RowCounts, ExtractError>, Vec<Rejection>) {
    let options = ExtractReader {
        dataset: v1().dataset(dataset).unwrap(),
        file,
        batch_rows: 16,
    };
    let mut rejects = Vec::new();
    let result = read_extract(
        source.reader(),
        &options,
        |_| Ok::<(), ExtractError>(()),
        |r| rejects.push(r),
    );
    (result, rejects)
}

/// A message tells the partner what to do, not only what is wrong: it names the valid form
/// or an action.
fn advises(message: &str) -> bool {
    [
        "must",
        "use ",
        "save",
        "fill it in",
        "remove",
        "pseudonymise",
        "check",
        "give",
        "leave",
        "correct",
        "shorten",
        "export",
        "is not one of",
        "is not a",
        "is outside",
        "fix",
    ]
    .iter()
    .any(|w| message.contains(w))
}

/// Checks one case; `Err` says how it failed.
fn check(case: &Case) -> Result<(), String> {
    let file = format!("extracts/{}.csv", case.name);
    let (result, rejects) = run(case.dataset, &case.source, &file);
    match (&case.expect, result) {
        (Expect::Refused { line, column, says }, Err(e)) => {
            let message = e.to_string();
            let mut wrong = Vec::new();
            if !message.starts_with(&file) {
                wrong.push("does not start with the file".to_string());
            }
            if let Some(line) = line
                && !message.starts_with(&format!("{file}:{line}: "))
            {
                wrong.push(format!("does not name line {line}"));
            }
            if e.line() != *line {
                wrong.push(format!("line() is {:?}, not {line:?}", e.line()));
            }
            if let Some(column) = column
                && !message.contains(&format!("`{column}`"))
            {
                wrong.push(format!("does not name column `{column}`"));
            }
            if !message.contains(says) {
                wrong.push(format!("does not say {says:?}"));
            }
            // A refusal is stored in manifests: it must stay short whatever the file holds.
            if message.len() > 600 {
                wrong.push(format!("is {} bytes long", message.len()));
            }
            if message.contains(NHS) || message.contains("LN2 5QY") {
                wrong.push("echoes an identifier".into());
            }
            if wrong.is_empty() {
                Ok(())
            } else {
                Err(format!("refusal {message:?} {}", wrong.join(", ")))
            }
        }
        (Expect::Rejected { line, column, rule }, Ok(counts)) => {
            let found = rejects
                .iter()
                .find(|r| r.line == *line && r.column == *column && r.rule == *rule);
            match found {
                None => Err(format!(
                    "no rejection at line {line}, column {column}, rule {rule}; got {rejects:?}"
                )),
                Some(r) if !advises(&r.message) => {
                    Err(format!("message {:?} does not say what to do", r.message))
                }
                Some(r) if r.message.len() > 400 => {
                    Err(format!("message of {} bytes", r.message.len()))
                }
                Some(_) if counts.rejected != 1 || counts.accepted + 1 != counts.received => Err(
                    format!("one bad row should be rejected and the rest kept: {counts:?}"),
                ),
                Some(_) => Ok(()),
            }
        }
        (expect, Ok(counts)) => Err(format!(
            "accepted ({counts:?}, rejections {rejects:?}) but expected {expect:?}"
        )),
        (expect, Err(e)) => Err(format!("refused with {e} but expected {expect:?}")),
    }
}

/// The rules refuse nothing a correct extract holds: every row of every synthetic file.
#[test]
fn every_row_of_the_synthetic_extracts_is_valid() {
    for (dataset, bytes) in synth_files() {
        let source = Source::Bytes(bytes.clone());
        let (result, rejects) = run(dataset, &source, "synthetic.csv");
        let counts = result.unwrap_or_else(|e| panic!("{dataset} refused: {e}"));
        assert!(
            rejects.is_empty(),
            "{dataset}: {:?}",
            &rejects[..rejects.len().min(5)]
        );
        assert!(counts.accepted > 0, "{dataset}");
    }
}

#[test]
fn every_good_synthetic_file_is_valid_also_with_a_bom_and_crlf() {
    for dataset in svna_synth::DATASETS {
        let table = good(dataset);
        let plain = table.csv();
        let crlf_bom = [
            &b"\xEF\xBB\xBF"[..],
            &String::from_utf8(plain.clone())
                .unwrap()
                .replace('\n', "\r\n")
                .into_bytes(),
        ]
        .concat();
        for (how, bytes) in [("plain", plain), ("BOM and CRLF", crlf_bom)] {
            let (result, rejects) = run(dataset, &Source::Bytes(bytes), "good.csv");
            let counts = result.unwrap_or_else(|e| panic!("{dataset} ({how}) refused: {e}"));
            assert!(rejects.is_empty(), "{dataset} ({how}): {rejects:?}");
            assert_eq!(counts.accepted as usize, table.rows.len(), "{dataset}");
        }
    }
}

#[test]
fn every_bad_extract_is_refused_or_its_bad_row_rejected_with_file_line_column_and_advice() {
    let cases = corpus();
    let mut names = std::collections::BTreeSet::new();
    for case in &cases {
        assert!(names.insert(case.name), "case {} twice", case.name);
    }
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| check(case).err().map(|e| format!("{}: {e}", case.name)))
        .collect();
    let refused = cases
        .iter()
        .filter(|c| matches!(c.expect, Expect::Refused { .. }))
        .count();
    eprintln!(
        "{} bad extracts: {refused} refused whole, {} with their bad row rejected; {} failed",
        cases.len(),
        cases.len() - refused,
        failures.len()
    );
    assert!(cases.len() >= 65, "only {} cases", cases.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Line numbers are editor lines also after a row whose quoted value spans two lines.
#[test]
fn lines_count_quoted_line_breaks_and_crlf() {
    let mut table = good("ed_assaults");
    table.set(1, "site_code", "RX\nX01");
    table.set(5, "age_band", "18-25");
    let text = String::from_utf8(table.csv())
        .unwrap()
        .replace('\n', "\r\n");
    // The header is line 1, row 0 line 2, row 1 lines 3-4, so row 5 is on line 8.
    let source = Source::Bytes(text.into_bytes());
    let (result, rejects) = run("ed_assaults", &source, "lines.csv");
    result.unwrap();
    let lines: Vec<(u64, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str()))
        .collect();
    assert_eq!(lines, [(3, "site_code"), (8, "age_band")]);
}

/// A cross-field rule is reported alongside another column's problem in the same row, and
/// not over a value that is itself bad.
#[test]
fn a_row_reports_its_cross_field_problem_with_its_other_problems() {
    let mut table = good("police_offences");
    table.set(ROW, "ho_code", "8Z");
    table.set(ROW, "offence_date", "2019-06-02");
    table.set(ROW, "recorded_date", "2019-06-01");
    table.set(ROW + 1, "offence_date", "2019-06-32");
    table.set(ROW + 1, "recorded_date", "2019-06-01");
    let source = Source::Bytes(table.csv());
    let (result, rejects) = run("police_offences", &source, "two.csv");
    assert_eq!(result.unwrap().rejected, 2);
    let found: Vec<(u64, &str, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (LINE, "ho_code", "ho_code"),
            (LINE, "offence_date", "order"),
            (LINE + 1, "offence_date", "date"),
        ]
    );
}
