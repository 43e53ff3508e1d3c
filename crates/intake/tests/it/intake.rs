//! Intake: every row is accounted for, and each kind of bad input gets its own reason.

use crate::common;

use svna_intake::{
    ExtractReader, IntakeError, Rejection, StagedManifest, load_extract, read_extract,
};
use svna_storage::Store;

const TOKEN_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const TOKEN_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn read(
    dataset: &str,
    text: &[u8],
) -> (
    Result<svna_intake::RowCounts, IntakeError>,
    Vec<Rejection>,
    usize,
) {
    let dataset = svna_contracts::v1().dataset(dataset).unwrap();
    let mut rejects = Vec::new();
    let mut staged = 0;
    let options = ExtractReader {
        dataset,
        file: "extract.csv",
        batch_rows: 2,
    };
    let result = read_extract(
        text,
        &options,
        |b| {
            staged += b.num_rows();
            Ok(())
        },
        |r| rejects.push(r),
    );
    (result, rejects, staged)
}

fn persons(rows: &str) -> String {
    format!("offence_id,person_id,role,age,sex\n{rows}")
}

#[test]
fn valid_rows_are_staged_in_batches_and_counted() {
    let text = persons(&format!(
        "{TOKEN_A},{TOKEN_B},victim,17,F\n{TOKEN_A},{TOKEN_A},suspect,,M\n{TOKEN_B},{TOKEN_B},offender,30,U\n"
    ));
    let (counts, rejects, staged) = read("police_persons", text.as_bytes());
    let counts = counts.unwrap();
    assert_eq!(
        (counts.received, counts.accepted, counts.rejected),
        (3, 3, 0)
    );
    assert_eq!(staged, 3);
    assert!(rejects.is_empty());
}

#[test]
fn each_bad_row_is_rejected_with_line_column_and_rule() {
    let text = persons(&format!(
        "{TOKEN_A},{TOKEN_B},victim,17,F\n{TOKEN_A},9434765918,victim,17,F\n{TOKEN_A},{TOKEN_B},witness,17,F\n{TOKEN_A},{TOKEN_B},victim,200,F\n"
    ));
    let (counts, rejects, staged) = read("police_persons", text.as_bytes());
    let counts = counts.unwrap();
    assert_eq!(
        (counts.received, counts.accepted, counts.rejected),
        (4, 1, 3)
    );
    assert_eq!(staged, 1);
    let found: Vec<(u64, &str, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.rule.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (3, "person_id", "token"),
            (4, "role", "enum"),
            (5, "age", "range")
        ]
    );
    // A malformed token is never echoed back (it may be a raw identifier).
    assert!(!rejects[0].message.contains("9434765918"));
}

#[test]
fn a_bom_and_crlf_line_ends_are_accepted() {
    let text =
        format!("\u{feff}offence_id,person_id,role,age,sex\r\n{TOKEN_A},{TOKEN_B},victim,17,F\r\n");
    let (counts, rejects, _) = read("police_persons", text.as_bytes());
    assert_eq!(counts.unwrap().accepted, 1, "{rejects:?}");
}

/// Issue 19: the csv crate's `Position::line()` counts a CRLF row's line end only when it
/// reads the next row (and skips blank lines), so line numbers taken from it lag on Windows
/// files. Intake reports the line an editor shows: after CRLF rows, a CRLF blank line and
/// a quoted value spanning two lines, in what it reads and in the rejects file it stores.
const CRLF_PERSONS: &str = "offence_id,person_id,role,age,sex\r\n\
A,B,victim,17,F\r\n\
A,B,victim,17,Q\r\n\
\r\n\
A,B,victim,17,\"F\r\nM\"\r\n\
A,B,victim,200,F\r\n\
A,B,victim,17,M\r\n";

/// Lines 3 (sex), 5 (sex, its value running onto line 6) and 7 (age).
const CRLF_REJECTED: [(u64, &str, &str); 3] =
    [(3, "sex", "enum"), (5, "sex", "enum"), (7, "age", "range")];

fn crlf_persons() -> String {
    CRLF_PERSONS.replace('A', TOKEN_A).replace('B', TOKEN_B)
}

#[test]
fn rejected_lines_of_a_crlf_file_are_the_editor_s_lines() {
    let (counts, rejects, staged) = read("police_persons", crlf_persons().as_bytes());
    let counts = counts.unwrap();
    assert_eq!(
        (counts.received, counts.accepted, counts.rejected),
        (5, 2, 3)
    );
    assert_eq!(staged, 2);
    let found: Vec<(u64, &str, &str)> = rejects
        .iter()
        .map(|r| (r.line, r.column.as_str(), r.rule.as_str()))
        .collect();
    assert_eq!(found, CRLF_REJECTED);
}

#[tokio::test]
async fn a_load_of_a_crlf_file_stores_its_rejects_on_their_editor_lines() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let text = crlf_persons();
    store
        .put("landing/p.csv", text.clone().into_bytes().into())
        .await
        .unwrap();
    // The offences the rows point at, from the same rows written with LF line ends.
    let good_rows = text.replace("\r\n", "\n").replace("\"F\nM\"", "F");
    load_offences_of(&store, dir.path(), &good_rows).await;
    let dataset = svna_contracts::v1().dataset("police_persons").unwrap();
    let load = load_extract(&store, dataset, 1, "landing/p.csv")
        .await
        .unwrap();
    let r = &load.record;
    assert_eq!((r.rows_received, r.rows_staged, r.rows_rejected), (5, 2, 3));
    let rejects = store
        .get(r.rejects_path.as_ref().unwrap())
        .await
        .unwrap()
        .to_vec();
    let mut csv = csv::Reader::from_reader(&rejects[..]);
    assert_eq!(
        csv.headers().unwrap(),
        vec!["line", "column", "rule", "reason"]
    );
    let found: Vec<(u64, String, String)> = csv
        .records()
        .map(|record| {
            let record = record.unwrap();
            (
                record[0].parse().unwrap(),
                record[1].to_string(),
                record[2].to_string(),
            )
        })
        .collect();
    let want: Vec<(u64, String, String)> = CRLF_REJECTED
        .iter()
        .map(|(line, column, rule)| (*line, column.to_string(), rule.to_string()))
        .collect();
    assert_eq!(found, want);
}

#[test]
fn a_wrong_header_refuses_the_whole_file() {
    let (result, _, staged) = read(
        "police_persons",
        b"offence_id,person_id,role,age,sex,extra\n",
    );
    let err = result.unwrap_err().to_string();
    assert!(err.contains("unknown column `extra`"), "{err}");
    assert_eq!(staged, 0);
    let (result, _, _) = read("police_persons", b"offence_id,person_id,role,sex\n");
    assert!(
        result
            .unwrap_err()
            .to_string()
            .contains("missing column `age`")
    );
}

#[test]
fn an_empty_file_is_refused() {
    let (result, _, _) = read("police_persons", b"");
    assert!(matches!(result, Err(IntakeError::Empty { .. })));
}

#[test]
fn a_truncated_last_line_is_rejected_not_lost() {
    let text = persons(&format!(
        "{TOKEN_A},{TOKEN_B},victim,17,F\n{TOKEN_A},{TOKEN_B},vic"
    ));
    let (counts, rejects, _) = read("police_persons", text.as_bytes());
    let counts = counts.unwrap();
    assert_eq!(
        (counts.received, counts.accepted, counts.rejected),
        (2, 1, 1)
    );
    assert_eq!(rejects[0].rule, "field_count");
    assert_eq!(rejects[0].line, 3);
}

#[test]
fn non_utf8_bytes_are_rejected_with_their_line() {
    let mut text = persons(&format!("{TOKEN_A},{TOKEN_B},victim,17,F\n")).into_bytes();
    text.extend_from_slice(format!("{TOKEN_A},{TOKEN_B},victim,17,").as_bytes());
    text.extend_from_slice(&[0xff, b'\n']);
    let (counts, rejects, _) = read("police_persons", &text);
    assert_eq!(counts.unwrap().rejected, 1);
    assert_eq!((rejects[0].line, rejects[0].rule.as_str()), (3, "encoding"));
}

/// "é" is 0xC3 0xA9: split across two fields, neither field is UTF-8 although the bytes of
/// the row, joined up, would be.
#[test]
fn a_character_split_across_fields_is_rejected() {
    let mut text = persons(&format!("{TOKEN_A},{TOKEN_B},victim,17,F\n")).into_bytes();
    text.extend_from_slice(format!("{TOKEN_A},{TOKEN_B},victim,17").as_bytes());
    text.extend_from_slice(&[0xc3, b',', 0xa9, b'\n']);
    let (counts, rejects, _) = read("police_persons", &text);
    assert_eq!(counts.unwrap().rejected, 1);
    assert_eq!(
        (
            rejects[0].line,
            rejects[0].rule.as_str(),
            rejects[0].message.as_str()
        ),
        (
            3,
            "encoding",
            "field 4 is not valid UTF-8: save the file as UTF-8"
        )
    );
}

#[test]
fn a_repeated_unique_value_is_rejected() {
    let header = "offence_id,recorded_date,offence_date,offence_hour,ho_code,knife_flag,firearm_flag,domestic_flag,lsoa_code,location_type";
    let row = format!("{TOKEN_A},2019-01-02,2019-01-01,3,5D,false,false,false,E01000001,street");
    let text = format!("{header}\n{row}\n{row}\n");
    let (counts, rejects, _) = read("police_offences", text.as_bytes());
    assert_eq!(counts.unwrap().rejected, 1);
    assert_eq!(
        (
            rejects[0].line,
            rejects[0].column.as_str(),
            rejects[0].rule.as_str()
        ),
        (3, "offence_id", "unique")
    );
}

/// Loads the police_offences that the police_persons extract `persons_text` points at (a
/// person row must refer to a loaded offence).
async fn load_offences_of(store: &Store, dir: &std::path::Path, persons_text: &str) {
    let persons = dir.join("persons-for-offences.csv");
    std::fs::write(&persons, persons_text).unwrap();
    let offences = common::offences_beside(&persons, "2023-01-01");
    store
        .put(
            "landing/offences.csv",
            std::fs::read(&offences.path).unwrap().into(),
        )
        .await
        .unwrap();
    let dataset = svna_contracts::v1().dataset("police_offences").unwrap();
    load_extract(store, dataset, 1, "landing/offences.csv")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_load_accounts_for_every_row_and_a_resend_is_not_staged_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    let text = persons(&format!(
        "{TOKEN_A},{TOKEN_B},victim,17,F\n{TOKEN_A},{TOKEN_B},victim,17,Q\n"
    ));
    store
        .put("landing/p.csv", text.clone().into_bytes().into())
        .await
        .unwrap();
    load_offences_of(&store, dir.path(), &text).await;
    let dataset = svna_contracts::v1().dataset("police_persons").unwrap();

    let first = load_extract(&store, dataset, 1, "landing/p.csv")
        .await
        .unwrap();
    let r = &first.record;
    assert_eq!((r.rows_received, r.rows_staged, r.rows_rejected), (2, 1, 1));
    assert_eq!(r.rows_received, r.rows_staged + r.rows_rejected);
    assert_eq!(r.rejected_by_rule.get("enum"), Some(&1));
    let rejects = String::from_utf8(
        store
            .get(r.rejects_path.as_ref().unwrap())
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(
        rejects,
        "line,column,rule,reason\n3,sex,enum,\"`Q` is not one of F, M, X, U\"\n"
    );
    let staged = r.staged.as_ref().unwrap();
    assert_eq!(
        store.checksum(&staged.path).await.unwrap().sha256,
        staged.sha256
    );

    // The same bytes under another name: recognised by checksum, not staged again.
    store
        .put("landing/p-again.csv", text.into_bytes().into())
        .await
        .unwrap();
    let again = load_extract(&store, dataset, 1, "landing/p-again.csv")
        .await
        .unwrap();
    assert_eq!(again.resend_of.as_deref(), Some(r.load_id.as_str()));
    let manifest = StagedManifest::read(&store, "police_persons", 1)
        .await
        .unwrap();
    assert_eq!(manifest.loads.len(), 1);
    assert_eq!(manifest.active_files().len(), 1);
}

#[tokio::test]
async fn a_refused_file_is_quarantined_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().to_str().unwrap()).unwrap();
    store
        .put("landing/bad.csv", b"who,what\n1,2\n".to_vec().into())
        .await
        .unwrap();
    load_offences_of(
        &store,
        dir.path(),
        &persons(&format!("{TOKEN_A},{TOKEN_B},victim,17,F\n")),
    )
    .await;
    let dataset = svna_contracts::v1().dataset("police_persons").unwrap();
    let outcome = load_extract(&store, dataset, 1, "landing/bad.csv")
        .await
        .unwrap();
    let reason = outcome.record.refused.clone().unwrap();
    assert!(reason.contains("unknown column `who`"), "{reason}");
    assert!(outcome.record.staged.is_none());
    let quarantined = store.list("quarantine/police_persons").await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(quarantined[0].ends_with("refused.json"));
    // The original upload is still there: nothing is deleted.
    assert!(store.exists("landing/bad.csv").await.unwrap());
}

#[test]
fn a_name_column_is_refused_as_a_direct_identifier() {
    let (result, _, staged) = read(
        "police_persons",
        b"offence_id,person_id,role,age,sex,surname\n",
    );
    let err = result.unwrap_err();
    assert!(
        matches!(&err, IntakeError::DirectIdentifier { column, .. } if column == "surname"),
        "{err}"
    );
    assert_eq!(staged, 0);
}

#[test]
fn nhs_numbers_in_a_text_column_refuse_the_file() {
    let header = "site_code,arrival_datetime,assault_datetime,assault_method,location_type,incident_lsoa,age_band";
    let text = format!(
        "{header}\nRX1,2019-01-01T10:00,,body_part,street,,18-24\n9434765919,2019-01-01T11:00,,body_part,street,,18-24\n"
    );
    let (result, _, staged) = read("ed_assaults", text.as_bytes());
    let err = result.unwrap_err();
    assert!(
        matches!(&err, IntakeError::DirectIdentifier { column, .. } if column == "site_code"),
        "{err}"
    );
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(
        !err.to_string().contains("9434765919"),
        "the identifier itself is never echoed: {err}"
    );
    assert_eq!(staged, 0);
}

/// Intake refuses through the shared validator: a valid NHS number in a token column is an
/// identifier that was not pseudonymised, and a UTF-16 file is named as such.
#[test]
fn an_nhs_number_in_a_token_column_and_a_utf16_file_are_refused_with_what_to_do() {
    let text = persons(&format!("{TOKEN_A},9434765919,victim,17,F\n"));
    let err = read("police_persons", text.as_bytes()).0.unwrap_err();
    assert!(
        matches!(&err, IntakeError::DirectIdentifier { column, .. } if column == "person_id"),
        "{err}"
    );
    assert!(err.to_string().contains("NHS number"), "{err}");
    assert!(err.to_string().contains("line 2"), "{err}");
    assert_eq!(
        err.to_string().matches("svna pseudonymise").count(),
        1,
        "{err}"
    );
    assert!(!err.to_string().contains("9434765919"), "{err}");

    let utf16: Vec<u8> = "\u{feff}offence_id,person_id,role,age,sex\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let err = read("police_persons", &utf16).0.unwrap_err();
    assert!(
        matches!(err, IntakeError::Unreadable { line: 1, .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("this file is UTF-16 (little-endian), save it as UTF-8"),
        "{err}"
    );
}

#[test]
fn postcodes_in_a_text_column_refuse_the_file() {
    let header = "site_code,arrival_datetime,assault_datetime,assault_method,location_type,incident_lsoa,age_band";
    let text = format!(
        "{header}\nLN1 3DY,2019-01-01T10:00,,body_part,street,,18-24\nPE21 6JY,2019-01-01T11:00,,body_part,street,,18-24\n"
    );
    let (result, _, _) = read("ed_assaults", text.as_bytes());
    assert!(
        matches!(result, Err(IntakeError::DirectIdentifier { column, .. }) if column == "site_code")
    );
}

/// A bad `--period` is its own error, saying what is wrong and how to write it (it was an
/// I/O error on a file named `--period`).
#[test]
fn a_bad_period_says_what_is_wrong_with_it() {
    assert_eq!(
        svna_intake::parse_period("2023-01-01..2023-12-31").unwrap(),
        "2023-01-01..2023-12-31"
    );
    for (period, problem) in [
        ("soon", "no `..`"),
        ("2023-01-01..2023-13-01", "`2023-13-01` is not a date"),
        ("2023-12-31..2023-01-01", "first day is after its last"),
    ] {
        let err = svna_intake::parse_period(period).unwrap_err();
        assert!(matches!(err, IntakeError::Period { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.contains(problem) && message.contains("YYYY-MM-DD..YYYY-MM-DD"),
            "{message}"
        );
    }
}

/// Issue 19: errors keep their cause as a typed source (they flattened it into a String).
#[tokio::test]
async fn an_upload_of_a_missing_local_file_keeps_the_io_error_as_its_source() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("store").to_str().unwrap()).unwrap();
    let missing = dir.path().join("missing.csv");
    let err = svna_intake::upload_local_file(&store, &missing, "landing/p/missing.csv")
        .await
        .unwrap_err();
    // Storage reads and uploads the file (issue 19: storage owns uploads in parts).
    assert!(
        matches!(
            err,
            IntakeError::Storage(svna_storage::StorageError::LocalFile { .. })
        ),
        "{err:?}"
    );
    let source = std::error::Error::source(&err).expect("a source");
    let io = source
        .downcast_ref::<std::io::Error>()
        .expect("an io::Error");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(err.to_string(), format!("{}: {io}", missing.display()));
}
