//! Shared by the intake tests: the offences a police_persons extract points at. A person row
//! must refer to an offence of the same partner and period, so every test that sends persons
//! sends these first.

use std::path::{Path, PathBuf};

use svna_intake::{UploadFile, upload};
use svna_storage::Store;

pub const OFFENCES_HEADER: &str = "offence_id,recorded_date,offence_date,offence_hour,ho_code,knife_flag,firearm_flag,domestic_flag,lsoa_code,location_type";

/// Writes, beside the police_persons file at `persons`, a police_offences file with one
/// offence for each distinct `offence_id` of its rows, dated `day` (`YYYY-MM-DD`).
pub fn offences_beside(persons: &Path, day: &str) -> UploadFile {
    let text = std::fs::read_to_string(persons).unwrap();
    let mut ids: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|line| line.split(',').next())
        .collect();
    ids.sort();
    ids.dedup();
    let rows: Vec<String> = ids
        .iter()
        .map(|id| format!("{id},{day},{day},3,5D,false,false,false,E01000001,street"))
        .collect();
    let name = persons.file_name().unwrap().to_str().unwrap();
    let path: PathBuf = persons.with_file_name(format!("offences-{name}"));
    std::fs::write(&path, format!("{OFFENCES_HEADER}\n{}\n", rows.join("\n"))).unwrap();
    UploadFile {
        path,
        rows: rows.len() as u64,
    }
}

/// Uploads the offences of the persons file at `persons` as `partner`'s police_offences for
/// `period`, dated on the period's first day.
pub async fn send_offences(
    store: &Store,
    partner: &str,
    period: &str,
    persons: &Path,
    fingerprint: &str,
) -> svna_intake::UploadManifest {
    let file = offences_beside(persons, &period[..10]);
    upload(
        store,
        svna_contracts::v1(),
        partner,
        "police_offences",
        period,
        Some(fingerprint.into()),
        &[file],
    )
    .await
    .unwrap()
}
