//! Property tests: the invariants other partners' extracts rely on, checked on generated
//! input rather than hand-picked examples.

use proptest::prelude::*;
use svna_pseudonymise::matchkey::{
    normalise_dob, normalise_forename, normalise_name, normalise_postcode, normalise_sex,
    normalise_upn,
};
use svna_pseudonymise::{
    Domain, IdKind, KEY_LEN, LinkageKey, TokenSpec, Tokeniser, is_valid_nhs_number,
    nhs_check_digit, normalise, pseudonymise_csv,
};

fn any_kind() -> impl Strategy<Value = IdKind> {
    prop_oneof![Just(IdKind::Nhs), Just(IdKind::Pnc), Just(IdKind::Local)]
}

fn any_domain() -> impl Strategy<Value = Domain> {
    prop_oneof![Just(Domain::Person), Just(Domain::Offence)]
}

/// A valid NHS number as 10 ASCII digits.
fn valid_nhs() -> impl Strategy<Value = String> {
    proptest::array::uniform9(0u8..10).prop_filter_map("check value 10", |nine| {
        let ascii = nine.map(|d| b'0' + d);
        let check = nhs_check_digit(&ascii)?;
        let mut s: String = ascii.iter().map(|&b| b as char).collect();
        s.push(char::from(b'0' + check));
        Some(s)
    })
}

proptest! {
    #[test]
    fn tokens_are_64_lowercase_hex(
        key in proptest::array::uniform32(any::<u8>()),
        domain in any_domain(),
        value in ".*",
    ) {
        let t = Tokeniser::new(&LinkageKey::from_bytes(key)).token(domain, &value);
        prop_assert_eq!(t.len(), 64);
        prop_assert!(t.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    }

    #[test]
    fn normalisation_is_idempotent(kind in any_kind(), raw in "[ 0-9a-zA-Z/\\-\t\u{e9}\u{a0}]{0,16}") {
        if let Ok(once) = normalise(kind, &raw) {
            prop_assert_eq!(normalise(kind, &once), Ok(once.clone()));
        }
    }

    #[test]
    fn normalisation_is_idempotent_on_any_text(kind in any_kind(), raw in ".*") {
        if let Ok(once) = normalise(kind, &raw) {
            prop_assert_eq!(normalise(kind, &once), Ok(once.clone()));
        }
    }

    #[test]
    fn valid_nhs_numbers_normalise_in_any_layout(nhs in valid_nhs(), sep in prop_oneof![Just(""), Just(" "), Just("-")]) {
        let spaced = format!("{}{sep}{}{sep}{}", &nhs[..3], &nhs[3..6], &nhs[6..]);
        prop_assert_eq!(normalise(IdKind::Nhs, &spaced), Ok(nhs.clone()));
        prop_assert!(is_valid_nhs_number(&spaced));
        // Any single-digit change of the check digit is caught.
        let last = nhs.as_bytes()[9];
        let wrong = format!("{}{}", &nhs[..9], char::from(b'0' + (last - b'0' + 1) % 10));
        prop_assert!(normalise(IdKind::Nhs, &wrong).is_err());
        prop_assert!(!is_valid_nhs_number(&wrong));
    }

    #[test]
    fn csv_pass_through_is_faithful(
        rows in proptest::collection::vec(
            (valid_nhs(), proptest::collection::vec(any::<u8>(), 0..20), "[^\u{0}]{0,12}"),
            1..20,
        ),
    ) {
        let key = LinkageKey::from_bytes([5; KEY_LEN]);
        let mut wtr = csv::WriterBuilder::new().from_writer(Vec::new());
        wtr.write_record(["nhs_number", "blob", "text"]).unwrap();
        for (nhs, blob, text) in &rows {
            wtr.write_record([nhs.as_bytes(), blob.as_slice(), text.as_bytes()]).unwrap();
        }
        let input = wtr.into_inner().unwrap();
        let spec: TokenSpec = "nhs_number=person_id:nhs".parse().unwrap();
        let mut out = Vec::new();
        let stats = pseudonymise_csv(&input[..], &mut out, &key, &[spec]).unwrap();
        prop_assert_eq!(stats.rows, rows.len() as u64);

        let tokeniser = Tokeniser::new(&key);
        let mut rdr = csv::ReaderBuilder::new().from_reader(&out[..]);
        let got: Vec<csv::ByteRecord> = rdr.byte_records().map(Result::unwrap).collect();
        prop_assert_eq!(got.len(), rows.len());
        for (record, (nhs, blob, text)) in got.iter().zip(&rows) {
            let token = tokeniser.token(Domain::Person, nhs);
            prop_assert_eq!(&record[0], token.as_bytes());
            prop_assert_eq!(&record[1], blob.as_slice());
            prop_assert_eq!(&record[2], text.as_bytes());
        }
    }

    #[test]
    fn name_normalisation_is_idempotent(raw in ".*") {
        if let Some(once) = normalise_name(&raw) {
            prop_assert_eq!(normalise_name(&once), Some(once.clone()));
            prop_assert!(!once.contains(['|', '\0', ' ', '-', '\'']));
        }
        if let Some(once) = normalise_forename(&raw) {
            prop_assert_eq!(normalise_forename(&once), Some(once.clone()));
        }
    }

    #[test]
    fn latin_names_fold_to_ascii_capitals(raw in "[a-zA-Z\u{c0}-\u{ff}\u{100}-\u{17f} '\\-]{0,20}") {
        if let Some(name) = normalise_name(&raw) {
            prop_assert!(name.bytes().all(|b| b.is_ascii_uppercase()), "{}", name);
        }
    }

    #[test]
    fn dob_normalisation_is_idempotent(
        (y, m, d) in (1880u32..=2100, 1u32..=12, 1u32..=31),
        layout in 0usize..4,
    ) {
        let raw = match layout {
            0 => format!("{y:04}-{m:02}-{d:02}"),
            1 => format!("{d}/{m}/{y}"),
            2 => format!("{d:02}.{m:02}.{y}"),
            _ => format!("{y:04}{m:02}{d:02}"),
        };
        match normalise_dob(&raw) {
            Ok(Some(once)) => {
                prop_assert_eq!(&once, &format!("{y:04}-{m:02}-{d:02}"));
                prop_assert_eq!(normalise_dob(&once), Ok(Some(once.clone())));
            }
            Ok(None) => prop_assert!(false, "a date is never missing"),
            // Only impossible days are refused.
            Err(_) => prop_assert!(d > 28),
        }
    }

    #[test]
    fn other_identifiers_are_idempotent(raw in "[ 0-9a-zA-Z/]{0,14}") {
        if let Ok(Some(once)) = normalise_postcode(&raw) {
            prop_assert_eq!(normalise_postcode(&once.full), Ok(Some(once.clone())));
        }
        if let Ok(Some(once)) = normalise_upn(&raw) {
            prop_assert_eq!(normalise_upn(&once), Ok(Some(once.clone())));
        }
        if let Ok(Some(once)) = normalise_sex(&raw) {
            prop_assert_eq!(normalise_sex(once.as_str()), Ok(Some(once)));
        }
    }

    #[test]
    fn match_key_errors_never_echo_the_value(
        raw in "[A-Z]{2}[0-9]{3,8}[a-z/]{0,3}",
        identifier in proptest::sample::select(svna_pseudonymise::Identifier::ALL.to_vec()),
    ) {
        let mut identity = svna_pseudonymise::Identity::default();
        if let Err(e) = identity.set(identifier, &raw) {
            let text = e.to_string();
            prop_assert!(!text.contains(&raw), "{}", text);
            prop_assert!(!text.contains(&raw[..5]), "{}", text);
        }
    }
}
