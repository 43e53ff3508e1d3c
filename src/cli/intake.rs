//! `svna intake`: the hub takes in every new upload.

use anyhow::Result;
use svna_contracts::v1;
use svna_storage::{Store, Zone};

use super::Outcome;
use super::args::StoreArgs;
use super::output::{print_table, render};

pub async fn intake(args: StoreArgs) -> Result<Outcome> {
    let store = Store::open(&args.store)?.restricted_to(&[Zone::Staged, Zone::Quarantine]);
    let records = svna_intake::intake_all(&store, v1()).await?;
    render(args.json, &records, |records| {
        if records.is_empty() {
            println!("No new uploads.");
            return;
        }
        let rows: Vec<Vec<String>> = records
            .iter()
            .map(|r| {
                let sum = |f: fn(&svna_intake::IntakeFile) -> u64| {
                    r.files.iter().map(f).sum::<u64>().to_string()
                };
                vec![
                    r.partner.clone(),
                    r.dataset.clone(),
                    r.period.clone(),
                    format!("{:?}", r.status).to_lowercase(),
                    sum(|f| f.rows_received),
                    sum(|f| f.rows_staged),
                    sum(|f| f.rows_rejected),
                    r.reason
                        .clone()
                        .or(r.linkage_warning.clone())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        print_table(
            &[
                "partner", "dataset", "period", "outcome", "received", "staged", "rejected",
                "reason",
            ],
            &rows,
        );
    })?;
    // A quarantined upload, a rejected row or tokens that link with nobody's is a finding
    // (exit 1): the other uploads were taken in all the same.
    let clean = records.iter().all(|r| {
        r.status == svna_intake::IntakeStatus::Staged
            && r.linkage_warning.is_none()
            && r.files
                .iter()
                .all(|f| f.rows_rejected == 0 && f.refused.is_none())
    });
    Ok(if clean { Outcome::Ok } else { Outcome::Finding })
}
