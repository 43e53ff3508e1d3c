//! The `svna` binary as partners and the hub use it: exit codes, messages, the key flow.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::svna;

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const TOKEN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn validate_reports_each_problem_with_file_line_and_column_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "persons.csv",
        &format!(
            "offence_id,person_id,role,age,sex\n{TOKEN},{TOKEN},victim,20,F\n{TOKEN},{TOKEN},victim,20,Q\n"
        ),
    );
    let output = svna(&["validate", "--dataset", "police_persons", &file]);
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("1 of 2 rows invalid"), "{text}");
    assert!(
        text.contains(&format!(
            "{file}:3: column `sex`: `Q` is not one of F, M, X, U [enum]"
        )),
        "{text}"
    );

    let output = svna(&["validate", "--dataset", "police_persons", "--json", &file]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json[0]["valid"], false);
    assert_eq!(json[0]["rows_invalid"], 1);
    assert_eq!(json[0]["problems"][0]["line"], 3);
}

#[test]
fn validate_accepts_a_valid_file_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "persons.csv",
        &format!("offence_id,person_id,role,age,sex\r\n{TOKEN},{TOKEN},victim,,F\r\n"),
    );
    let output = svna(&["validate", "--dataset", "police_persons", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).contains("valid (1 rows)"));
}

#[test]
fn an_unknown_dataset_is_an_error_with_exit_2_that_lists_the_known_ones() {
    let output = svna(&["validate", "--dataset", "crimes", "x.csv"]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("unknown dataset `crimes`") && err.contains("police_offences"),
        "{err}"
    );
}

#[test]
fn partners_pseudonymise_with_a_shared_key_and_get_linkable_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("partnership.key");
    let key = key.to_str().unwrap();
    let output = svna(&["keygen", "--out", key]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let fingerprint = stdout(&svna(&["key", "fingerprint", key]))
        .trim()
        .to_string();
    assert!(stdout(&output).contains(&fingerprint));
    // keygen never overwrites a key.
    assert_eq!(svna(&["keygen", "--out", key]).status.code(), Some(2));

    let raw = write(
        dir.path(),
        "raw.csv",
        "crime_ref,nhs_number,role,age,sex\nC1,943 476 5919,victim,20,F\nC2,9434765919,suspect,21,M\n",
    );
    let out = dir.path().join("persons.csv");
    let output = svna(&[
        "pseudonymise",
        "--key",
        key,
        "--dataset",
        "police_persons",
        "--token",
        "crime_ref=offence_id:local:offence",
        "--token",
        "nhs_number=person_id:nhs:person",
        &raw,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    // The same person written two ways gets one token; no NHS number survives.
    assert_eq!(rows[0][1], rows[1][1]);
    assert!(!text.contains("9434765919") && !text.contains("943 476"));
    assert!(text.starts_with("offence_id,person_id,role,age,sex\n"));
}

#[test]
fn an_invalid_nhs_number_stops_pseudonymisation_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    svna(&["keygen", "--out", key.to_str().unwrap()]);
    let raw = write(
        dir.path(),
        "raw.csv",
        "nhs_number\n9434765919\n9434765918\n",
    );
    let output = svna(&[
        "pseudonymise",
        "--key",
        key.to_str().unwrap(),
        "--token",
        "nhs_number=person_id:nhs",
        &raw,
        "-o",
        dir.path().join("o.csv").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("line 3"), "{err}");
    assert!(!dir.path().join("o.csv").exists(), "no half-written output");
}

#[test]
fn pseudonymise_writes_match_keys_and_drops_every_identifying_column() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    svna(&["keygen", "--out", key.to_str().unwrap()]);
    let raw = write(
        dir.path(),
        "raw.csv",
        "Ref,FirstName,LastName,DOB,Sex,Postcode,NHSNumber,age\n\
         A1,Bill,O'Neill,07/03/2005,Male,LN1 3DY,943 476 5919,17\n\
         A2,William,Oneill,2005-03-07,M,,,17\n",
    );
    let out = dir.path().join("o.csv");
    let args = |mapping: &'static str, raw: &str, out: &Path| -> Output {
        svna(&[
            "pseudonymise",
            "--key",
            key.to_str().unwrap(),
            "--token",
            "Ref=person_id",
            "--match-keys",
            mapping,
            raw,
            "-o",
            out.to_str().unwrap(),
        ])
    };
    let mapping =
        "forename=FirstName,surname=LastName,dob=DOB,sex=Sex,postcode=Postcode,nhs=NHSNumber";
    let output = args(mapping, &raw, &out);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "person_id,age,mk_nhs,mk_name_dob_sex,mk_name_dob_swapped,mk_init_surname_dob,\
         mk_forename_dob_pcd,mk_surname_dob_pc"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Two spellings of one person share the name keys; the keys they lack are empty.
    assert_eq!(rows[0][3..6], rows[1][3..6]);
    assert_eq!(rows[1][2], "");
    assert!(rows[0].iter().all(|f| f.len() == 64 || *f == "17"));
    for secret in ["Bill", "Neill", "07/03", "LN1", "9434765919", "943 476"] {
        assert!(!text.contains(secret), "{secret}");
    }

    // A bad date of birth: the file, line and column are named, the value never.
    let bad = write(
        dir.path(),
        "bad.csv",
        "Ref,FirstName,LastName,DOB\nA1,Ann,Lee,2001-01-01\nA2,Bob,Ray,31/04/2005\n",
    );
    let output = args("forename=FirstName,surname=LastName,dob=DOB", &bad, &out);
    assert_eq!(output.status.code(), Some(2));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("bad.csv") && err.contains("line 3") && err.contains("`DOB`"),
        "{err}"
    );
    assert!(!err.contains("31/04") && !err.contains("Bob"), "{err}");
}

#[test]
fn a_pseudonymised_extract_with_match_keys_is_a_valid_version_2_extract() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k");
    svna(&["keygen", "--out", key.to_str().unwrap()]);
    let raw = write(
        dir.path(),
        "raw.csv",
        "crime_ref,Ref,role,age,sex,FirstName,LastName,DOB,PNC\n\
         C1,P1,suspect,17,M,Bill,O'Neill,07/03/2007,2007/0012345A\n\
         C2,P2,victim,,F,Zoë,Smith-Jones,2001-11-30,\n",
    );
    let out = dir.path().join("persons.csv");
    let output = svna(&[
        "pseudonymise",
        "--key",
        key.to_str().unwrap(),
        "--dataset",
        "police_persons",
        "--token",
        "crime_ref=offence_id:local:offence",
        "--token",
        "Ref=person_id",
        "--match-keys",
        "forename=FirstName,surname=LastName,dob=DOB,pnc=PNC",
        &raw,
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout(&output).contains("valid (2 rows)"),
        "{}",
        stdout(&output)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with(
        "offence_id,person_id,role,age,sex,mk_pnc,mk_name_dob_swapped,mk_init_surname_dob\n"
    ));
}

/// A linkage-key fingerprint in the contract's layout (16 lowercase hex characters).
const FINGERPRINT: &str = "0123456789abcdef";

/// Uploads, as `partner`'s police_offences for `period`, one offence (dated the period's first
/// day) for each of `offence_ids`: person rows must point at their partner's offences of the
/// period, so every test that sends persons sends these too.
fn upload_offences(
    dir: &Path,
    store: &str,
    partner: &str,
    period: &str,
    offence_ids: impl Iterator<Item = String>,
) -> Output {
    let day = &period[..10];
    let mut text = String::from(
        "offence_id,recorded_date,offence_date,offence_hour,ho_code,knife_flag,firearm_flag,domestic_flag,lsoa_code,location_type\n",
    );
    for id in offence_ids {
        text.push_str(&format!(
            "{id},{day},{day},3,5D,false,false,false,E01000001,street\n"
        ));
    }
    let file = write(dir, &format!("offences-{partner}-{day}.csv"), &text);
    svna(&[
        "upload",
        "--store",
        store,
        "--partner",
        partner,
        "--dataset",
        "police_offences",
        "--period",
        period,
        "--key-fingerprint",
        FINGERPRINT,
        &file,
    ])
}

#[test]
fn upload_refuses_invalid_data_and_intake_takes_in_valid_data() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("offence_id,person_id,role,age,sex\n{TOKEN},{TOKEN},victim,20,Q\n"),
    );
    let output = svna(&[
        "upload",
        "--store",
        store,
        "--partner",
        "police",
        "--dataset",
        "police_persons",
        "--period",
        "2023-01-01..2023-12-31",
        "--key-fingerprint",
        FINGERPRINT,
        &bad,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("Nothing was uploaded"));

    let good = write(
        dir.path(),
        "good.csv",
        &format!("offence_id,person_id,role,age,sex\n{TOKEN},{TOKEN},victim,20,F\n"),
    );
    let output = svna(&[
        "upload",
        "--store",
        store,
        "--partner",
        "police",
        "--dataset",
        "police_persons",
        "--period",
        "2023-01-01..2023-12-31",
        "--key-fingerprint",
        FINGERPRINT,
        &good,
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The coordinator registers the partnership's key; intake checks deliveries against it.
    let register = svna(&[
        "key",
        "register",
        "--store",
        store,
        "--fingerprint",
        FINGERPRINT,
    ]);
    assert_eq!(register.status.code(), Some(0), "{}", stdout(&register));
    let intake = svna(&["intake", "--store", store]);
    assert_eq!(intake.status.code(), Some(1), "{}", stdout(&intake));
    assert!(
        stdout(&intake).contains("send (or load) `police_offences` first"),
        "{}",
        stdout(&intake)
    );
    let offences = upload_offences(
        dir.path(),
        store,
        "police",
        "2023-01-01..2023-12-31",
        std::iter::once(TOKEN.to_string()),
    );
    assert_eq!(offences.status.code(), Some(0), "{}", stdout(&offences));
    assert_eq!(svna(&["intake", "--store", store]).status.code(), Some(0));
    let status = svna(&["status", "--store", store, "--json"]);
    let json: Vec<serde_json::Value> = serde_json::from_slice(&status.stdout).unwrap();
    let persons = json
        .iter()
        .find(|l| l["dataset"] == "police_persons")
        .unwrap();
    assert_eq!(persons["state"], "staged");
    assert_eq!(persons["rows_staged"], 1);
}

/// `svna upload --json`: the manifest of what was sent, or every file's problems (all files
/// are checked before any is sent).
#[test]
fn upload_reports_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let header = "offence_id,person_id,role,age,sex\n";
    let good = write(
        dir.path(),
        "good.csv",
        &format!("{header}{TOKEN},{TOKEN},victim,20,F\n"),
    );
    let bad = write(
        dir.path(),
        "bad.csv",
        &format!("{header}{TOKEN},{TOKEN},victim,20,Q\n"),
    );
    let upload = |files: &[&str]| {
        let mut args = vec![
            "upload",
            "--store",
            store,
            "--partner",
            "police",
            "--dataset",
            "police_persons",
            "--period",
            "2023-01-01..2023-12-31",
            "--key-fingerprint",
            FINGERPRINT,
            "--json",
        ];
        args.extend(files);
        let output = svna(&args);
        let json: serde_json::Value = serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
        (output.status.code(), json)
    };
    let (code, json) = upload(&[&good, &bad]);
    assert_eq!(code, Some(1));
    assert_eq!(json["uploaded"], false);
    assert_eq!(json["files"][0]["valid"], true);
    assert_eq!(json["files"][1]["valid"], false);
    assert_eq!(json["files"][1]["problems"][0]["column"], "sex");
    assert_eq!(json["files"][1]["problems"][0]["line"], 2);
    assert!(!dir.path().join("store/landing").exists(), "nothing sent");

    let (code, json) = upload(&[&good]);
    assert_eq!(code, Some(0));
    assert_eq!(json["uploaded"], true);
    assert_eq!(json["manifest"]["partner"], "police");
    assert_eq!(json["manifest"]["files"][0]["rows"], 1);
    assert!(
        json["manifest"]["upload_id"]
            .as_str()
            .unwrap()
            .starts_with("up-")
    );
}

/// Issue 14 through the command line: the coordinator registers the key, a bad upload is
/// quarantined (exit 1) beside a good one, loads replace each other and show in status, and
/// a load is retracted on the record.
#[test]
fn the_hub_quarantines_a_bad_upload_alone_and_loads_replace_and_retract() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let register = |fingerprint: &str| {
        svna(&[
            "key",
            "register",
            "--store",
            store,
            "--fingerprint",
            fingerprint,
        ])
    };
    let refused = register("fp1");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("16 lowercase hex"));
    assert_eq!(register(FINGERPRINT).status.code(), Some(0));

    let good = write(
        dir.path(),
        "good.csv",
        &format!("offence_id,person_id,role,age,sex\n{TOKEN},{TOKEN},victim,20,F\n"),
    );
    let upload = |partner: &str| {
        svna(&[
            "upload",
            "--store",
            store,
            "--partner",
            partner,
            "--dataset",
            "police_persons",
            "--period",
            "2023-01-01..2023-12-31",
            "--key-fingerprint",
            FINGERPRINT,
            &good,
        ])
    };
    let bad_name = upload("police#2");
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_name.stderr).contains("partner id"));
    assert_eq!(upload("police").status.code(), Some(0));
    let offences = upload_offences(
        dir.path(),
        store,
        "police",
        "2023-01-01..2023-12-31",
        std::iter::once(TOKEN.to_string()),
    );
    assert_eq!(offences.status.code(), Some(0), "{}", stdout(&offences));
    let broken = dir.path().join("store/landing/evil/police_persons/up-bad");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("manifest.json"), "{").unwrap();

    let intake = svna(&["intake", "--store", store]);
    assert_eq!(intake.status.code(), Some(1), "{}", stdout(&intake));
    let status = svna(&["status", "--store", store, "--json"]);
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&status.stdout).unwrap();
    let state = |partner: &str| {
        lines
            .iter()
            .find(|l| l["partner"] == partner)
            .unwrap_or_else(|| panic!("{partner}: {lines:#?}"))
            .clone()
    };
    assert_eq!(state("police")["state"], "staged");
    assert_eq!(state("evil")["state"], "quarantined");
    assert!(
        state("evil")["reason"]
            .as_str()
            .unwrap()
            .contains("not a valid upload manifest")
    );

    // A corrected reference file replaces the first; status shows both loads.
    let load = |text: &str| {
        let file = write(dir.path(), "age_bands.csv", text);
        let output = svna(&[
            "load",
            "--store",
            store,
            "--dataset",
            "age_bands",
            "--json",
            &file,
        ]);
        assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        json[0]["record"]["load_id"].as_str().unwrap().to_string()
    };
    let first = load("age,age_band,under_25\n20,18-24,true\n");
    let second = load("age,age_band,under_25\n20,18-24,true\n21,18-24,true\n");
    let retract = |id: &str| {
        svna(&[
            "retract",
            "--store",
            store,
            "--load",
            id,
            "--reason",
            "wrong file",
        ])
    };
    assert_eq!(retract(&second).status.code(), Some(0));
    assert_eq!(retract("load-none").status.code(), Some(2));
    let status = svna(&["status", "--store", store, "--json"]);
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&status.stdout).unwrap();
    let load_state = |id: &str| {
        let line = lines.iter().find(|l| l["upload_id"] == id).unwrap();
        assert_eq!(line["kind"], "load");
        line["state"].as_str().unwrap().to_string()
    };
    assert_eq!(load_state(&first), "superseded");
    assert_eq!(load_state(&second), "retracted");

    // Retracting it again keeps the earlier record; `--json` says so per load.
    let output = svna(&[
        "retract",
        "--store",
        store,
        "--load",
        &second,
        "--reason",
        "still wrong",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        json,
        serde_json::json!([{ "dataset": "age_bands", "load_id": second, "already": true }])
    );
}

#[test]
fn contracts_are_shown_as_a_table() {
    insta::assert_snapshot!(stdout(&svna(&["contracts", "police_persons"])));
}

/// `svna contracts --json`: every dataset, or one with its columns (added by issue 19).
#[test]
fn contracts_are_given_in_json() {
    let output = svna(&["contracts", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert!(json["version"].is_u64(), "{json}");
    let datasets = json["dataset"].as_array().unwrap();
    assert!(datasets.iter().any(|d| d["name"] == "police_persons"));

    let output = svna(&["contracts", "police_persons", "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["name"], "police_persons");
    let sex = json["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sex")
        .unwrap();
    assert_eq!(sex["values"], serde_json::json!(["F", "M", "X", "U"]));
    assert_eq!(sex["required"], true);
}

/// `svna synth --json`: the rows written per dataset, as the files hold them (added by
/// issue 19).
#[test]
fn synth_reports_its_rows_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("extracts");
    let output = svna(&[
        "synth",
        "--out",
        out.to_str().unwrap(),
        "--scale",
        "0.001",
        "--years",
        "1",
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = json["rows"].as_object().unwrap();
    let offences = rows["police_offences"].as_u64().unwrap();
    let lines = std::fs::read_to_string(out.join("police_offences.csv"))
        .unwrap()
        .lines()
        .count() as u64;
    assert_eq!(offences + 1, lines, "data rows plus the header");
}

const REGION_SEX: &str = "region,sex,n\nA,M,18\nA,F,2\nA,Total,20\nB,M,14\nB,F,19\nB,Total,33\nC,M,12\nC,F,10\nC,Total,22\nD,M,11\nD,F,14\nD,Total,25\nTotal,M,55\nTotal,F,45\nTotal,Total,100\n";

#[test]
fn protect_applies_primary_and_secondary_suppression_to_any_table() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "t.csv", REGION_SEX);
    let output = dir.path().join("out.csv");
    let run = svna(&[
        "protect",
        "--input",
        &input,
        "--count",
        "n",
        "--k",
        "3",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let protected = std::fs::read_to_string(&output).unwrap();
    // The public reference case: A-female is primary; the cheapest complements are A-male,
    // C-male and C-female.
    let withheld: Vec<&str> = protected.lines().filter(|l| l.ends_with("[c]")).collect();
    assert_eq!(withheld, ["A,M,[c]", "A,F,[c]", "C,M,[c]", "C,F,[c]"]);
    // An outsider re-checking the published table finds nothing recoverable.
    let audit = svna(&[
        "audit",
        "--input",
        output.to_str().unwrap(),
        "--count",
        "n",
        "--k",
        "3",
    ]);
    assert_eq!(audit.status.code(), Some(0), "{}", stdout(&audit));
}

#[test]
fn audit_finds_a_withheld_cell_that_can_be_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "leaky.csv",
        "region,sex,n\nA,M,18\nA,F,[c]\nA,Total,20\n",
    );
    let audit = svna(&["audit", "--input", &input, "--count", "n"]);
    assert_eq!(audit.status.code(), Some(1));
    assert!(
        stdout(&audit).contains("leaky[region=A,sex=F] is recoverable: it lies in [2, 2]"),
        "{}",
        stdout(&audit)
    );
}

/// Margins labelled `All`, not `Total`: the table that once published Preston M = 3 as
/// All − F = 15 − 12 and still printed "audit passed".
const ALL_MARGINS: &str = "region,sex,n\nPreston,F,12\nPreston,M,3\nPreston,All,15\nChorley,F,20\nChorley,M,25\nChorley,All,45\nAll,F,32\nAll,M,28\nAll,All,60\n";

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A CSV file's rows as column -> value maps.
fn read_csv(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .zip(r.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn protect_finds_margins_whatever_their_label() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "all.csv", ALL_MARGINS);
    let output = dir.path().join("out.csv");
    let out = output.to_str().unwrap();
    let run = svna(&["protect", "--input", &input, "--count", "n", "-o", out]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let protected = read_csv(&output);
    let shown = |region: &str, sex: &str| {
        protected
            .iter()
            .find(|r| r["region"] == region && r["sex"] == sex)
            .map(|r| r["n"].clone())
            .unwrap()
    };
    // Preston M is withheld and so is enough else that neither All − F nor the column
    // recovers it.
    assert_eq!(shown("Preston", "M"), "[c]");
    assert_eq!(shown("Preston", "F"), "[c]");
    assert_eq!(shown("Chorley", "M"), "[c]");
    // An outsider finds nothing recoverable, with the margins found the same way ...
    let audit = svna(&["audit", "--input", out, "--count", "n", "--k", "5"]);
    assert_eq!(audit.status.code(), Some(0), "{}", stdout(&audit));
    // ... or declared per dimension.
    let audit = svna(&[
        "audit",
        "--input",
        out,
        "--count",
        "n",
        "--total",
        "region=All",
        "--total",
        "sex=All",
    ]);
    assert_eq!(audit.status.code(), Some(0), "{}", stdout(&audit));

    // The leaky table an analyst might have published: only Preston M withheld.
    let leaky = write(
        dir.path(),
        "leaky.csv",
        &ALL_MARGINS.replace("Preston,M,3", "Preston,M,[c]"),
    );
    let audit = svna(&["audit", "--input", &leaky, "--count", "n"]);
    assert_eq!(audit.status.code(), Some(1), "{}", stdout(&audit));
    assert!(
        stdout(&audit).contains("leaky[region=Preston,sex=M] is recoverable: it lies in [3, 3]"),
        "{}",
        stdout(&audit)
    );
}

#[test]
fn protect_refuses_a_margin_that_is_wrong_or_missing_and_says_how_to_declare_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "all.csv", ALL_MARGINS);
    let output = dir.path().join("out.csv");
    let out = output.to_str().unwrap();

    // `--total Total` declares a margin the table does not have.
    let run = svna(&[
        "protect", "--input", &input, "--count", "n", "--total", "Total", "-o", out,
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    assert!(
        stderr(&run).contains("dimension `region`: declared margin `Total` does not occur"),
        "{}",
        stderr(&run)
    );
    assert!(!output.exists(), "nothing is written for a refused table");

    // A margin that does not add up is refused with where and by how much, declared or not.
    let broken = write(
        dir.path(),
        "broken.csv",
        &ALL_MARGINS
            .replace("Preston,All,15", "Preston,All,16")
            .replace("All,All,60", "All,All,61"),
    );
    for declared in [&["--total", "All"][..], &["--total", "sex=All"], &[]] {
        let mut args = vec!["protect", "--input", &broken, "--count", "n", "-o", out];
        args.extend_from_slice(declared);
        let run = svna(&args);
        assert_eq!(run.status.code(), Some(2), "{declared:?}: {}", stdout(&run));
        let err = stderr(&run);
        assert!(
            err.contains("dimension `sex`")
                && err.contains("at region=All: it is 61 but the other codes sum to 60"),
            "{declared:?}: {err}"
        );
        assert!(!stdout(&run).contains("passed"), "{}", stdout(&run));
    }

    // A dimension where no code is the sum of the others must be declared.
    let no_margin = write(
        dir.path(),
        "no_margin.csv",
        "year,sex,n\n2023,F,12\n2023,M,3\n2023,All,15\n2024,F,20\n2024,M,25\n2024,All,45\n",
    );
    let run = svna(&["protect", "--input", &no_margin, "--count", "n", "-o", out]);
    assert_eq!(run.status.code(), Some(2), "{}", stdout(&run));
    let err = stderr(&run);
    assert!(
        err.contains("dimension `year`")
            && err.contains("--total year=CODE")
            && err.contains("--total year=none"),
        "{err}"
    );
    let run = svna(&[
        "protect",
        "--input",
        &no_margin,
        "--count",
        "n",
        "--total",
        "year=none",
        "-o",
        out,
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let protected = std::fs::read_to_string(&output).unwrap();
    assert!(
        protected.contains("2023,M,[c]") && protected.contains("2023,F,[c]"),
        "{protected}"
    );
}

#[test]
fn protect_reads_quoted_fields_and_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "quoted.csv",
        "\"area, name\",sex,n\r\n\"Preston,\nCity\",F,12\r\n\"Preston,\nCity\",M,3\r\n\"Preston,\nCity\",All,15\r\n\"Chorley \"\"Town\"\"\",F,20\r\n\"Chorley \"\"Town\"\"\",M,25\r\n\"Chorley \"\"Town\"\"\",All,45\r\nAll,F,32\r\nAll,M,28\r\nAll,All,60\r\n",
    );
    let output = dir.path().join("out.csv");
    let run = svna(&[
        "protect",
        "--input",
        &input,
        "--count",
        "n",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let protected = read_csv(&output);
    assert_eq!(protected.len(), 9);
    let preston_m = protected
        .iter()
        .find(|r| r["area, name"] == "Preston,\nCity" && r["sex"] == "M")
        .unwrap();
    assert_eq!(preston_m["n"], "[c]");
    assert!(
        protected
            .iter()
            .any(|r| r["area, name"] == "Chorley \"Town\"")
    );
}

#[test]
fn protect_takes_a_hierarchy_from_a_child_parent_file_and_refuses_a_file_that_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    // England = North + South, North = A + B, South = C + D: no one code is the sum of all
    // the others, so the table is protected only with its hierarchy.
    let input = write(
        dir.path(),
        "areas.csv",
        "area,n\nA,2\nB,30\nC,40\nD,28\nNorth,32\nSouth,68\nEngland,100\n",
    );
    let tree = write(
        dir.path(),
        "tree.csv",
        "child,parent\nA,North\nB,North\nC,South\nD,South\nNorth,England\nSouth,England\n",
    );
    let output = dir.path().join("out.csv");
    let out = output.to_str().unwrap();
    let hierarchy = format!("area={tree}");
    let run = svna(&[
        "protect",
        "--input",
        &input,
        "--count",
        "n",
        "--hierarchy",
        &hierarchy,
        "-o",
        out,
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let protected = std::fs::read_to_string(&output).unwrap();
    // A is under k; B goes with it, or North - B would give A back.
    assert_eq!(
        protected,
        "area,n\nA,[c]\nB,[c]\nC,40\nD,28\nNorth,32\nSouth,68\nEngland,100\n"
    );
    let audit = svna(&[
        "audit",
        "--input",
        out,
        "--count",
        "n",
        "--hierarchy",
        &hierarchy,
    ]);
    assert_eq!(audit.status.code(), Some(0), "{}", stdout(&audit));

    // One column is no child,parent list: an error naming the file, not a crash.
    let flat = write(dir.path(), "flat.csv", "area\nA\nB\n");
    let run = svna(&[
        "protect",
        "--input",
        &input,
        "--count",
        "n",
        "--hierarchy",
        &format!("area={flat}"),
        "-o",
        out,
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("flat.csv: line 1 has 1 column(s)"),
        "{}",
        stderr(&run)
    );
}

/// `kill -9` at points through `svna intake`, then an intake to the end: every upload is
/// staged exactly once (nothing lost, nothing counted twice), as the pipeline reads it.
#[test]
fn intake_killed_at_any_point_loses_and_doubles_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    assert!(
        svna(&[
            "key",
            "register",
            "--store",
            store,
            "--fingerprint",
            FINGERPRINT
        ])
        .status
        .success()
    );
    const UPLOADS: usize = 8;
    const ROWS: usize = 40_000;
    // The offences every person row points at, in one delivery over the eight years.
    let offences = upload_offences(
        dir.path(),
        store,
        "police",
        "2015-01-01..2022-12-31",
        (0..UPLOADS * ROWS).map(|id| format!("{id:064x}")),
    );
    assert!(offences.status.success(), "{}", stdout(&offences));
    for year in 0..UPLOADS {
        let mut text = String::from("offence_id,person_id,role,age,sex\n");
        for row in 0..ROWS {
            text.push_str(&format!(
                "{:064x},{:064x},victim,30,F\n",
                year * ROWS + row,
                row
            ));
        }
        let file = write(dir.path(), &format!("persons-{year}.csv"), &text);
        let period = format!("{0}-01-01..{0}-12-31", 2015 + year);
        let upload = svna(&[
            "upload",
            "--store",
            store,
            "--partner",
            "police",
            "--dataset",
            "police_persons",
            "--period",
            &period,
            "--key-fingerprint",
            FINGERPRINT,
            &file,
        ]);
        assert!(upload.status.success(), "{}", stdout(&upload));
    }
    for delay_ms in [10u64, 30, 60, 100, 150, 200, 260, 330] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_svna"))
            .args(["intake", "--store", store])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL: no destructor, no flush
        let _ = child.wait();
    }
    // The kills must have cut intakes short, or the test proves nothing.
    let before = svna(&["status", "--store", store, "--json"]);
    let before: Vec<serde_json::Value> = serde_json::from_slice(&before.stdout).unwrap();
    let staged_before = before
        .iter()
        .filter(|l| l["dataset"] == "police_persons" && l["state"] == "staged")
        .count();
    assert!(
        staged_before < UPLOADS,
        "every intake finished before its kill ({staged_before} staged): the kills cut nothing"
    );
    let finish = svna(&["intake", "--store", store]);
    assert!(
        matches!(finish.status.code(), Some(0 | 1)),
        "{}",
        stdout(&finish)
    );
    let status = svna(&["status", "--store", store, "--json"]);
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&status.stdout).unwrap();
    let staged: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["dataset"] == "police_persons" && l["state"] == "staged")
        .collect();
    assert_eq!(staged.len(), UPLOADS, "{lines:#?}");
    let rows: u64 = staged
        .iter()
        .map(|l| l["rows_staged"].as_u64().unwrap())
        .sum();
    assert_eq!(rows, (UPLOADS * ROWS) as u64, "{lines:#?}");
    let periods: std::collections::BTreeSet<&str> = staged
        .iter()
        .map(|l| l["period"].as_str().unwrap())
        .collect();
    assert_eq!(periods.len(), UPLOADS, "each upload once: {periods:?}");
}

/// `kill -9` at points through a partner's `svna upload`, then the upload to the end: the
/// hub sees one upload, taken in once with every row (an interrupted upload has no manifest,
/// so it is invisible; the retry lands in the same folder).
#[test]
fn upload_killed_at_any_point_is_invisible_until_sent_whole() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    const ROWS: usize = 150_000;
    let period = "2020-01-01..2020-12-31";
    let mut text = String::from("offence_id,person_id,role,age,sex\n");
    for row in 0..ROWS {
        text.push_str(&format!("{row:064x},{:064x},victim,30,F\n", row % 5000));
    }
    let file = write(dir.path(), "persons.csv", &text);
    let upload: Vec<&str> = vec![
        "upload",
        "--store",
        store,
        "--partner",
        "police",
        "--dataset",
        "police_persons",
        "--period",
        period,
        "--key-fingerprint",
        FINGERPRINT,
        &file,
    ];
    let mut cut = 0;
    for delay_ms in [20u64, 80, 200, 400, 700, 1100] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_svna"))
            .args(&upload)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            cut += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the kill left, the hub takes in no half upload.
        let manifests = walk(&dir.path().join("store/landing"))
            .into_iter()
            .filter(|p| p.ends_with("manifest.json"))
            .count();
        assert!(manifests <= 1, "{manifests} upload manifests");
    }
    assert!(
        cut > 0,
        "every upload finished before its kill: the kills cut nothing"
    );
    let sent = svna(&upload);
    assert_eq!(sent.status.code(), Some(0), "{}", stderr(&sent));
    let offences = upload_offences(
        dir.path(),
        store,
        "police",
        period,
        (0..ROWS).map(|row| format!("{row:064x}")),
    );
    assert!(offences.status.success(), "{}", stderr(&offences));
    assert!(
        svna(&[
            "key",
            "register",
            "--store",
            store,
            "--fingerprint",
            FINGERPRINT
        ])
        .status
        .success()
    );
    let intake = svna(&["intake", "--store", store]);
    assert_eq!(intake.status.code(), Some(0), "{}", stdout(&intake));
    let status = svna(&["status", "--store", store, "--json"]);
    let lines: Vec<serde_json::Value> = serde_json::from_slice(&status.stdout).unwrap();
    let persons: Vec<_> = lines
        .iter()
        .filter(|l| l["dataset"] == "police_persons")
        .collect();
    assert_eq!(persons.len(), 1, "{lines:#?}");
    assert_eq!(persons[0]["state"], "staged");
    assert_eq!(persons[0]["rows_staged"], ROWS as u64);
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path.display().to_string());
        }
    }
    out
}

/// Issue 14: `--spill-dir` inside the store (its `published/`) left spill files holding
/// person tokens there when a run was killed.
#[test]
fn run_refuses_a_spill_directory_inside_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let spill = store.join("published/spill");
    let pipeline = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/open_data.toml");
    let output = svna(&[
        "run",
        "--store",
        store.to_str().unwrap(),
        "--pipeline",
        pipeline.to_str().unwrap(),
        "--spill-dir",
        spill.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(err.contains("inside the local store"), "{err}");
    assert!(err.contains("outside the store"), "{err}");
    assert!(!spill.exists());
}

/// Issue 14: release names `../escape`, `/abs/rel` and the empty name were accepted.
#[test]
fn publish_and_verify_refuse_a_release_name_that_escapes_the_zone() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    for name in ["../escape", "/abs/rel", ""] {
        let output = svna(&["publish", "--store", store, "--release", name]);
        assert_eq!(output.status.code(), Some(2), "{name:?}");
        let err = stderr(&output);
        assert!(err.contains("release name"), "{name:?}: {err}");
    }
    assert!(!dir.path().join("escape").exists());
    assert!(!dir.path().join("store/published/manifest.json").exists());
}

/// Issue 14: a release folder a killed publish left without its manifest is not a release.
#[test]
fn verify_refuses_a_release_that_was_never_committed() {
    let dir = tempfile::tempdir().unwrap();
    let tables = dir.path().join("store/published/half/tables");
    std::fs::create_dir_all(&tables).unwrap();
    std::fs::write(tables.join("t.csv"), "area,n\nA,1\n").unwrap();
    let release = dir.path().join("store/published/half");
    let output = svna(&["verify", release.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(err.contains("never committed"), "{err}");
}

/// Issue 19: a misspelt disclosure policy passed `svna run` and was refused only at publish.
/// It is refused when the pipeline is read, and the cause, which the error also keeps as its
/// source, is printed once.
#[test]
fn run_refuses_a_misspelt_disclosure_policy_naming_the_stage() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "counts.sql", "SELECT 'a' AS area, 1 AS n");
    let pipeline = write(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[[stage]]\nname = \"counts\"\nsql = \"counts.sql\"\nsensitivity = \"aggregate\"\n\
         disclosure = { policy = \"treshold\", k = 5, counts = [\"n\"], dimensions = [\"area\"] }\n",
    );
    let store = dir.path().join("store");
    let output = svna(&[
        "run",
        "--store",
        store.to_str().unwrap(),
        "--pipeline",
        &pipeline,
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let err = stderr(&output);
    for part in [
        "stage `counts`",
        "`treshold`",
        "threshold, nhs, round, midpoint6, open, accounting",
    ] {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
    assert_eq!(err.matches("unknown disclosure policy").count(), 1, "{err}");
    assert!(!store.join("runs").exists(), "nothing ran");
}

/// Issue 19: a refused release is a finding (exit 1), not an error: it exited 2 like an S3
/// outage. A store that cannot be used or read is an error (exit 2).
#[test]
fn a_refused_publish_exits_1_and_a_storage_error_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    // A column holding a token-shaped value: the publish gate refuses the release.
    write(
        dir.path(),
        "counts.sql",
        "SELECT 'a' AS area, '0123456789abcdef0123' AS code, 1 AS n \
         UNION ALL SELECT 'Total', 'Total', 1",
    );
    let pipeline = write(
        dir.path(),
        "p.toml",
        "name = \"p\"\n[[stage]]\nname = \"counts\"\nsql = \"counts.sql\"\nsensitivity = \"aggregate\"\n\
         disclosure = { policy = \"threshold\", k = 5, counts = [\"n\"], dimensions = [\"area\", \"code\"] }\n",
    );
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap();
    let run = svna(&["run", "--store", store_arg, "--pipeline", &pipeline]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));

    let refused = svna(&["publish", "--store", store_arg]);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    let err = stderr(&refused);
    assert!(
        err.starts_with("refused: table `counts`: column `code`"),
        "{err}"
    );
    assert!(err.contains("hexadecimal"), "{err}");
    assert!(
        walk(&store.join("published")).is_empty(),
        "nothing published"
    );

    // A store location that is no store: an error.
    let bad_location = svna(&["publish", "--store", "unknown://x"]);
    assert_eq!(bad_location.status.code(), Some(2));
    let err = stderr(&bad_location);
    assert!(
        err.starts_with("error: `unknown://x` is not a usable store location"),
        "{err}"
    );

    // A run record the store cannot read: an error, not a finding.
    for entry in std::fs::read_dir(store.join("runs")).unwrap() {
        let record = entry.unwrap().path().join("run.json");
        if record.exists() {
            std::fs::write(&record, "{ not json").unwrap();
        }
    }
    let unreadable = svna(&["publish", "--store", store_arg]);
    assert_eq!(unreadable.status.code(), Some(2), "{}", stderr(&unreadable));
    assert!(
        stderr(&unreadable).starts_with("error: "),
        "{}",
        stderr(&unreadable)
    );
}

/// Writes a hand-made release (manifest and table CSVs, with their checksums) into a store.
/// The manifest is publish's own type, so it has every field a release has; what the tables
/// do not need (run record, SQL, Parquet files) is listed empty.
fn hand_made_release(store: &Path, name: &str, created_at: &str, tables: &[(&str, &str)]) {
    let nothing = |path: String| svna_storage::FileEntry {
        path,
        ..Default::default()
    };
    let tables = tables
        .iter()
        .map(|(table, csv)| {
            let rel = format!("published/{name}/tables/{table}.csv");
            let path = store.join(&rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, csv).unwrap();
            let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
            let (count, dimensions) = header.split_last().unwrap();
            svna_publish::PublishedTable {
                name: table.to_string(),
                disclosure: svna_records::DisclosureSpec {
                    k: Some(5),
                    ..svna_records::DisclosureSpec::new(
                        svna_records::DisclosurePolicy::Threshold,
                        &[*count],
                        dimensions,
                    )
                },
                parquet: nothing(format!("published/{name}/tables/{table}.parquet")),
                csv: svna_storage::FileEntry {
                    path: rel,
                    sha256: svna_storage::sha256_hex(csv.as_bytes()),
                    size: csv.len() as u64,
                    rows: None,
                },
                cells: 0,
                withheld: 0,
                partner_withheld: 0,
                lower_bounds: 0,
            }
        })
        .collect();
    let manifest = svna_publish::ReleaseManifest {
        release: name.to_string(),
        created_at: created_at.to_string(),
        tool_version: String::new(),
        run_id: "run".to_string(),
        run_record: nothing("runs/run/run.json".to_string()),
        pipeline: "sna".to_string(),
        pipeline_sha256: String::new(),
        contract_version: 2,
        inputs: Vec::new(),
        sql: Vec::new(),
        tables,
        disclosure_report: Vec::new(),
        data_dictionary: Vec::new(),
        workbook: None,
        withheld_cells: 0,
        published_cells: 0,
        linked_releases: Vec::new(),
        revised_releases: Vec::new(),
        left_out: Vec::new(),
    };
    std::fs::write(
        store.join(format!("published/{name}/manifest.json")),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
}

/// Issue 16: `svna diff OLD NEW` says what changed between two releases, table by table
/// (cells up, down, unchanged, newly withheld or published, rows and tables added or removed),
/// as text or JSON, exit 0, and never prints a figure.
#[test]
fn diff_compares_two_releases_table_by_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    hand_made_release(
        &store,
        "sna-2025",
        "2025-03-31T09:00:00Z",
        &[
            (
                "offences",
                "area,year,offences\nA,2024,1010\nB,2024,[c]\nC,2024,1007\nE,2024,1009\nTotal,2024,5030\n",
            ),
            ("gone", "area,n\nA,2005\n"),
        ],
    );
    hand_made_release(
        &store,
        "sna-2026",
        "2026-03-31T09:00:00Z",
        &[
            (
                "offences",
                "area,year,offences\nA,2024,1012\nB,2024,1008\nC,2024,[c]\nD,2024,1005\nTotal,2024,5030\n",
            ),
            ("added", "area,n\nA,3005\n"),
        ],
    );
    let old = store.join("published/sna-2025");
    let old = old.to_str().unwrap();
    let output = svna(&["diff", old, "sna-2026"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for figure in [
        "1010", "1012", "1007", "1008", "1005", "1009", "5030", "2005", "3005",
    ] {
        assert!(!text.contains(figure), "{figure} printed:\n{text}");
    }
    insta::assert_snapshot!(text);

    let new = store.join("published/sna-2026");
    let output = svna(&["diff", old, new.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["tables_added"], serde_json::json!(["added"]));
    assert_eq!(json["tables_removed"], serde_json::json!(["gone"]));
    let offences = &json["tables"][0];
    assert_eq!(offences["table"], "offences");
    for (field, n) in [
        ("up", 1),
        ("down", 0),
        ("unchanged", 1),
        ("newly_withheld", 1),
        ("newly_published", 1),
        ("rows_added", 1),
        ("rows_removed", 1),
    ] {
        assert_eq!(offences[field], n, "{field}: {offences}");
    }

    // A changed table file is refused (exit 2), as the report refuses it.
    std::fs::write(
        new.join("tables/offences.csv"),
        "area,year,offences\nA,2024,1\n",
    )
    .unwrap();
    let output = svna(&["diff", old, "sna-2026"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("does not match"),
        "{}",
        stderr(&output)
    );
}

/// `svna report --json` prints what was written: the page, the release, its sections and
/// the tables used and missing (an addition of issue 19: every command with a report has
/// `--json`).
#[test]
fn report_says_what_it_wrote_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    hand_made_release(
        &store,
        "sna-2025",
        "2025-03-31T09:00:00Z",
        &[(
            "offences",
            "area,year,offences\nA,2024,1010\nB,2024,[c]\nTotal,2024,2020\n",
        )],
    );
    let release = store.join("published/sna-2025");
    let out = dir.path().join("cpg");
    let output = svna(&[
        "report",
        release.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", stdout(&output)));
    assert_eq!(json["release"], "sna-2025");
    let page = json["index_html"].as_str().unwrap();
    assert!(
        page.ends_with("index.html") && Path::new(page).exists(),
        "{json}"
    );
    for key in ["sections", "tables_used", "tables_missing"] {
        assert!(json[key].is_array(), "{key}: {json}");
    }
    assert!(json["suppressed_marks"].is_u64(), "{json}");
}

/// The commands and their one-line descriptions, as `svna --help` prints them (at clap's
/// widest wrap, whatever the terminal the tests run in says).
#[test]
fn help_lists_every_command() {
    let output = Command::new(env!("CARGO_BIN_EXE_svna"))
        .arg("--help")
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    insta::assert_snapshot!(stdout(&output));
}

/// The commands `svna --help` lists (without `help`).
fn commands() -> Vec<String> {
    let help = stdout(&svna(&["--help"]));
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// README's command table is the one place commands, exit codes and `--json` shapes are
/// documented: it has a row for every command `svna --help` lists, each with its exit
/// codes, and a `--json` shape exactly for the commands that take `--json`.
#[test]
fn readme_command_table_covers_every_command_its_exit_codes_and_json() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| *l != "## Commands")
        .skip_while(|l| !l.starts_with("| command "))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(table[0], "| command | who | what | exit | `--json` |");
    let commands = commands();
    assert!(commands.len() >= 20, "{commands:?}");
    for name in &commands {
        let row = table
            .iter()
            .find(|row| {
                let first = row.split('`').nth(1).unwrap_or("");
                first == format!("svna {name}") || first.starts_with(&format!("svna {name} "))
            })
            .unwrap_or_else(|| panic!("README's command table has no row for `svna {name}`"));
        // The last two cells: exit codes and the JSON shape (cells may hold `\|`).
        let cells: Vec<&str> = row.trim_end_matches('|').rsplitn(3, " | ").collect();
        let (json_cell, exit_cell) = (cells[0].trim(), cells[1].trim());
        assert!(
            exit_cell.starts_with('0') && exit_cell.contains("2 "),
            "`svna {name}`: exit codes `{exit_cell}`"
        );
        let help = stdout(&svna(&[name, "--help"]));
        let takes_json = help.contains("--json");
        assert_eq!(
            !json_cell.starts_with('—'),
            takes_json,
            "`svna {name}`: README's --json cell `{json_cell}`, --help {} --json",
            if takes_json { "lists" } else { "lacks" }
        );
    }
}

/// README's table of where each concept lives names files that exist: a file moved or renamed
/// without the table following fails here.
#[test]
fn readme_concept_files_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let table: Vec<&str> = readme
        .lines()
        .skip_while(|l| !l.starts_with("Where each concept lives"))
        .skip_while(|l| !l.starts_with("| concept | file |"))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .collect();
    assert!(table.len() >= 12, "{table:?}");
    for row in table {
        let file_cell = row.trim_end_matches('|').rsplit(" | ").next().unwrap();
        let paths: Vec<&str> = file_cell
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|p| p.contains('/'))
            .collect();
        assert!(!paths.is_empty(), "no file named in `{row}`");
        for path in paths {
            assert!(
                root.join(path).is_file(),
                "README names `{path}`, which is not a file"
            );
        }
    }
}
