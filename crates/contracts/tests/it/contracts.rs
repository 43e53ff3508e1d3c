//! The contract rules, checked value by value against the spec in shared/spec.

use svna_contracts::{ColumnType, HeaderProblem, Rule, TypedBatchBuilder, Value, v1};

fn parse(dataset: &str, column: &str, raw: &str) -> Result<Value, Rule> {
    v1().dataset(dataset)
        .unwrap()
        .column(column)
        .unwrap_or_else(|| panic!("{dataset}.{column} exists"))
        .parse(raw)
        .map_err(|v| v.rule)
}

#[test]
fn every_dataset_of_the_spec_is_defined() {
    let names = v1().dataset_names();
    for expected in [
        "police_offences",
        "police_persons",
        "youth_justice",
        "probation",
        "school_suspensions",
        "ed_assaults",
        "hospital_admissions_agg",
        "social_care_factors_agg",
        "lsoa_lookup",
        "imd",
        "population",
        "police_open_data",
    ] {
        assert!(names.contains(&expected), "{expected} missing");
    }
    // Version 2 (match keys) is current; version-1 deliveries are still accepted.
    assert_eq!(v1().version, 2);
    assert!(v1().accepts(1) && v1().accepts(2));
    assert!(!v1().accepts(0) && !v1().accepts(3));
}

#[test]
fn only_person_level_datasets_hold_tokens() {
    for d in &v1().datasets {
        let has_tokens = d.token_columns().next().is_some();
        let person_level = d.kind == svna_contracts::DatasetKind::PersonLevel;
        assert!(!has_tokens || person_level, "{}", d.name);
    }
    let persons = v1().dataset("police_persons").unwrap();
    let tokens: Vec<_> = persons.token_columns().map(|c| c.name.as_str()).collect();
    assert_eq!(
        tokens,
        [
            "offence_id",
            "person_id",
            "mk_nhs",
            "mk_pnc",
            "mk_upn",
            "mk_name_dob_sex",
            "mk_name_dob_swapped",
            "mk_init_surname_dob",
            "mk_forename_dob_pcd",
            "mk_surname_dob_pc"
        ]
    );
}

#[test]
fn version_2_adds_optional_match_keys_to_the_person_level_datasets() {
    for name in [
        "police_persons",
        "youth_justice",
        "probation",
        "school_suspensions",
    ] {
        let d = v1().dataset(name).unwrap();
        let keys: Vec<_> = d.match_key_columns().collect();
        assert_eq!(keys.len(), svna_pseudonymise::MatchKey::ALL.len(), "{name}");
        for c in keys {
            assert_eq!(c.ty, ColumnType::Token);
            assert!(!c.required && c.since == Some(2), "{name}.{}", c.name);
        }
    }
    for name in ["police_offences", "ed_assaults", "lsoa_lookup"] {
        let d = v1().dataset(name).unwrap();
        assert_eq!(d.match_key_columns().count(), 0, "{name}");
    }

    // A version-1 header (no match key) and a version-2 header with some keys both map;
    // the keys a file leaves out are empty.
    let persons = v1().dataset("police_persons").unwrap();
    let v1_header = ["offence_id", "person_id", "role", "age", "sex"];
    assert!(persons.map_header(&v1_header).is_ok());
    let v2_header = [
        "offence_id",
        "person_id",
        "role",
        "age",
        "sex",
        "mk_nhs",
        "mk_name_dob_sex",
    ];
    let map = persons.map_header(&v2_header).unwrap();
    let token = "ab".repeat(32);
    let fields = [
        "cd".repeat(32),
        token.clone(),
        "victim".into(),
        "20".into(),
        "F".into(),
        token.clone(),
        String::new(),
    ];
    let mut values = Vec::new();
    let violations = persons.parse_record(&map, |i| fields.get(i).map(String::as_str), &mut values);
    assert!(violations.is_empty(), "{violations:?}");
    let column = |name: &str| persons.columns.iter().position(|c| c.name == name).unwrap();
    assert_eq!(values[column("mk_nhs")], Value::Utf8(token.clone()));
    assert_eq!(values[column("mk_name_dob_sex")], Value::Null);
    assert_eq!(values[column("mk_pnc")], Value::Null);

    // A match key must look like a token, like every token column: the hub's check stands,
    // and never echoes the value.
    let bad = [
        "cd".repeat(32),
        token.clone(),
        "victim".into(),
        "20".into(),
        "F".into(),
        "JOHN SMITH 2005-03-07".into(),
        String::new(),
    ];
    let violations = persons.parse_record(&map, |i| bad.get(i).map(String::as_str), &mut values);
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(
        (violations[0].column.as_str(), violations[0].rule),
        ("mk_nhs", Rule::Token)
    );
    assert!(!violations[0].message.contains("JOHN"));

    // A contract cannot require a column added after the oldest version it accepts.
    let text = r#"
version = 2
oldest_accepted = 1
[[dataset]]
name = "x"
kind = "person_level"
partner = "p"
columns = [{ name = "a", type = "token", required = true, since = 2 }]
"#;
    assert!(svna_contracts::Contracts::from_toml(text).is_err());
    let text = r#"
version = 1
[[dataset]]
name = "x"
kind = "person_level"
partner = "p"
match_keys = true
columns = [{ name = "a", type = "token", required = true }]
"#;
    assert!(svna_contracts::Contracts::from_toml(text).is_err());
}

#[test]
fn valid_values_parse_to_typed_values() {
    assert_eq!(
        parse("police_offences", "recorded_date", "1970-01-02"),
        Ok(Value::Date(1))
    );
    assert_eq!(
        parse("police_offences", "offence_hour", "23"),
        Ok(Value::Int(23))
    );
    assert_eq!(
        parse("police_offences", "offence_hour", ""),
        Ok(Value::Null)
    );
    assert_eq!(
        parse("police_offences", "knife_flag", "true"),
        Ok(Value::Bool(true))
    );
    assert_eq!(
        parse("police_offences", "knife_flag", "0"),
        Ok(Value::Bool(false))
    );
    assert_eq!(
        parse("police_offences", "ho_code", "4/1"),
        Ok(Value::Utf8("4/1".into()))
    );
    assert_eq!(
        parse("ed_assaults", "arrival_datetime", "1970-01-01T01:00"),
        Ok(Value::Timestamp(3_600_000))
    );
    assert_eq!(
        parse("ed_assaults", "arrival_datetime", "1970-01-01T00:00:01"),
        Ok(Value::Timestamp(1000))
    );
    assert_eq!(
        parse("police_persons", "sex", "X"),
        Ok(Value::Utf8("X".into()))
    );
    assert_eq!(
        parse("hospital_admissions_agg", "admissions", ""),
        Ok(Value::Null)
    );
}

#[test]
fn invalid_values_name_the_rule_they_break() {
    assert_eq!(
        parse("police_offences", "offence_id", ""),
        Err(Rule::Required)
    );
    assert_eq!(
        parse("police_offences", "offence_id", "9434765918"),
        Err(Rule::Token)
    );
    // A valid NHS number is an identifier that was not pseudonymised, not a bad token.
    assert_eq!(
        parse("police_offences", "offence_id", "9434765919"),
        Err(Rule::Identifier)
    );
    assert_eq!(
        parse("ed_assaults", "site_code", "LN2 5QY"),
        Err(Rule::Identifier)
    );
    assert_eq!(
        parse("ed_assaults", "site_code", &"R".repeat(33)),
        Err(Rule::Length)
    );
    assert!(parse("ed_assaults", "site_code", &"R".repeat(32)).is_ok());
    assert_eq!(
        parse("lsoa_lookup", "lsoa_name", &"n".repeat(257)),
        Err(Rule::Length)
    );
    assert_eq!(parse("police_offences", "ho_code", "8Z"), Err(Rule::HoCode));
    assert_eq!(
        parse("police_offences", "recorded_date", "2019-02-30"),
        Err(Rule::Date)
    );
    assert_eq!(
        parse("police_offences", "recorded_date", "01/02/2019"),
        Err(Rule::Date)
    );
    assert_eq!(
        parse("police_offences", "offence_hour", "24"),
        Err(Rule::Range)
    );
    assert_eq!(
        parse("police_offences", "offence_hour", "7.5"),
        Err(Rule::Integer)
    );
    assert_eq!(
        parse("police_offences", "knife_flag", "Y"),
        Err(Rule::Boolean)
    );
    assert_eq!(
        parse("police_offences", "lsoa_code", "E02000001"),
        Err(Rule::LsoaCode)
    );
    assert_eq!(
        parse("police_offences", "location_type", "Street"),
        Err(Rule::Enum)
    );
    assert_eq!(
        parse("police_offences", "ho_code", "GBH"),
        Err(Rule::HoCode)
    );
    assert_eq!(parse("youth_justice", "age", "18"), Err(Rule::Range));
    assert_eq!(parse("probation", "age", "17"), Err(Rule::Range));
    assert_eq!(
        parse("school_suspensions", "school_lad", "E05000001"),
        Err(Rule::LadCode)
    );
    assert_eq!(
        parse("ed_assaults", "arrival_datetime", "2019-01-01 10:00"),
        Err(Rule::Timestamp)
    );
    assert_eq!(
        parse("hospital_admissions_agg", "month", "2019-13"),
        Err(Rule::Month)
    );
    assert_eq!(
        parse("hospital_admissions_agg", "admissions", "-1"),
        Err(Rule::Range)
    );
    assert_eq!(
        parse("social_care_factors_agg", "quarter", "2019-Q0"),
        Err(Rule::Quarter)
    );
}

#[test]
fn a_bad_token_is_never_echoed() {
    let column = v1()
        .dataset("police_persons")
        .unwrap()
        .column("person_id")
        .unwrap();
    let violation = column.parse("9434765919").unwrap_err();
    assert!(
        !violation.message.contains("9434765919"),
        "{}",
        violation.message
    );
    assert_eq!(violation.column, "person_id");
}

#[test]
fn headers_accept_any_order_and_report_every_problem() {
    let persons = v1().dataset("police_persons").unwrap();
    assert!(
        persons
            .map_header(&["sex", "age", "role", "person_id", "offence_id"])
            .is_ok()
    );
    assert!(
        persons
            .map_header(&["\u{feff}offence_id", "person_id", "role", "age", "sex"])
            .is_ok()
    );

    let problems = persons
        .map_header(&["offence_id", "person_id", "person_id", "name", "sex"])
        .unwrap_err();
    assert_eq!(
        problems,
        vec![
            HeaderProblem::Duplicate {
                column: "person_id".into()
            },
            HeaderProblem::Unknown {
                column: "name".into()
            },
            HeaderProblem::Missing {
                column: "role".into()
            },
            HeaderProblem::Missing {
                column: "age".into()
            },
        ]
    );
}

#[test]
fn public_files_are_read_under_their_own_header_names() {
    let lookup = v1().dataset("lsoa_lookup").unwrap();
    let ons = [
        "FID", "LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM",
    ];
    assert!(lookup.map_header(&ons).is_ok());
    let open = v1().dataset("police_open_data").unwrap();
    let header = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context";
    assert!(
        open.map_header(&header.split(',').collect::<Vec<_>>())
            .is_ok()
    );
}

#[test]
fn records_become_typed_arrow_batches() {
    let persons = v1().dataset("police_persons").unwrap();
    let map = persons
        .map_header(&["sex", "age", "role", "person_id", "offence_id"])
        .unwrap();
    let token = "ab".repeat(32);
    let fields = ["F", "", "victim", token.as_str(), token.as_str()];
    let mut values = Vec::new();
    let violations = persons.parse_record(&map, |i| fields.get(i).copied(), &mut values);
    assert!(violations.is_empty(), "{violations:?}");
    let mut builder = TypedBatchBuilder::new(persons, 4);
    builder.push(&values);
    let batch = builder.finish().unwrap();
    assert_eq!(batch.num_rows(), 1);
    assert_eq!(batch.schema(), persons.arrow_schema());
    assert_eq!(batch.column_by_name("age").unwrap().null_count(), 1);

    let bad = ["Q", "200", "victim", "nope", token.as_str()];
    let violations = persons.parse_record(&map, |i| bad.get(i).copied(), &mut values);
    let rules: Vec<_> = violations
        .iter()
        .map(|v| (v.column.as_str(), v.rule))
        .collect();
    assert_eq!(
        rules,
        [
            ("person_id", Rule::Token),
            ("age", Rule::Range),
            ("sex", Rule::Enum)
        ]
    );
}

#[test]
fn schemas_follow_the_column_types() {
    let offences = v1().dataset("police_offences").unwrap();
    let schema = offences.arrow_schema();
    assert_eq!(
        schema.field_with_name("offence_date").unwrap().data_type(),
        &ColumnType::Date.arrow_type()
    );
    assert!(!schema.field_with_name("offence_id").unwrap().is_nullable());
    assert!(schema.field_with_name("lsoa_code").unwrap().is_nullable());
}
