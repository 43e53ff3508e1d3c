//! `svna status`: every delivery and load, read from the same staged manifests a pipeline
//! reads, plus the uploads that are waiting or were quarantined.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use svna_contracts::{Contracts, DatasetKind};
use svna_storage::Store;

use crate::error::IntakeError;
use crate::intake::{IntakeRecord, IntakeStatus, landed_uploads};
use svna_records::{LoadRecord, StagedManifest};

/// One line of `svna status`: a partner's delivery (all files of one upload) or a load.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryStatus {
    /// `delivery` (through `svna upload` and `svna intake`) or `load` (`svna load`).
    pub kind: String,
    pub partner: String,
    pub dataset: String,
    /// `YYYY-MM-DD..YYYY-MM-DD`, or `all` for a load that stands for the whole dataset.
    pub period: String,
    /// The upload id of a delivery, the load id of a load.
    pub upload_id: String,
    /// staged, superseded, retracted, refused, quarantined, waiting, or resend.
    pub state: String,
    pub rows_received: u64,
    pub rows_staged: u64,
    pub rows_rejected: u64,
    pub reason: Option<String>,
    /// How its person tokens link with other partners' (deliveries of person data).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linkage: Option<String>,
}

/// Every delivery and load the hub holds, with what became of it.
pub async fn delivery_status(
    store: &Store,
    contracts: &Contracts,
) -> Result<Vec<DeliveryStatus>, IntakeError> {
    // Keyed by where each record is kept: two hostile folders may claim one upload id.
    let mut records: BTreeMap<String, IntakeRecord> = BTreeMap::new();
    let mut lines = Vec::new();
    for landed in landed_uploads(store).await? {
        let path = landed.record_path();
        if !store.exists(&path).await? {
            lines.push(upload_line(
                &landed.partner,
                &landed.dataset,
                &landed.upload,
                "waiting",
                None,
            ));
            continue;
        }
        let record: IntakeRecord = store.get_json(&path, "an intake record").await?;
        records.insert(path, record);
    }
    let staged_records: BTreeMap<&str, &IntakeRecord> = records
        .values()
        .filter(|r| r.status == IntakeStatus::Staged)
        .map(|r| (r.upload_id.as_str(), r))
        .collect();
    let mut listed = BTreeSet::new();
    for dataset in contracts
        .datasets
        .iter()
        .filter(|d| d.kind != DatasetKind::Metadata)
    {
        let manifest = StagedManifest::read(store, &dataset.name, contracts.version).await?;
        // One line per upload (its files together) or per load, in commit order.
        let mut groups: Vec<(String, Vec<&LoadRecord>)> = Vec::new();
        for load in &manifest.loads {
            let id = load
                .delivery
                .as_ref()
                .map_or(load.load_id.clone(), |d| d.upload_id.clone());
            match groups.iter_mut().find(|(g, _)| *g == id) {
                Some((_, loads)) => loads.push(load),
                None => groups.push((id, vec![load])),
            }
        }
        for (id, loads) in groups {
            listed.insert(id.clone());
            let mut line = staged_line(&dataset.name, &dataset.partner, &id, &loads);
            if let Some(record) = staged_records.get(id.as_str()) {
                line.linkage = linkage_text(record);
            }
            lines.push(line);
        }
    }
    for record in records.values() {
        let id = &record.upload_id;
        let state = match record.status {
            IntakeStatus::Quarantined => "quarantined",
            // Never recorded by intake (see `IntakeStatus::Waiting`); shown as it says.
            IntakeStatus::Waiting => "waiting",
            // Taken in, yet listed in no manifest: all its files were already active.
            IntakeStatus::Staged if !listed.contains(id) => "resend",
            IntakeStatus::Staged => continue,
        };
        let reason = match record.status {
            IntakeStatus::Quarantined | IntakeStatus::Waiting => record.reason.clone(),
            IntakeStatus::Staged => {
                Some("the same files are already staged; nothing staged again".into())
            }
        };
        let mut line = upload_line(&record.partner, &record.dataset, id, state, reason);
        line.period = record.period.clone();
        lines.push(line);
    }
    lines.sort_by(|a, b| {
        (&a.partner, &a.dataset, &a.period, &a.upload_id).cmp(&(
            &b.partner,
            &b.dataset,
            &b.period,
            &b.upload_id,
        ))
    });
    Ok(lines)
}

fn upload_line(
    partner: &str,
    dataset: &str,
    id: &str,
    state: &str,
    reason: Option<String>,
) -> DeliveryStatus {
    DeliveryStatus {
        kind: "delivery".into(),
        partner: partner.to_string(),
        dataset: dataset.to_string(),
        period: String::new(),
        upload_id: id.to_string(),
        state: state.to_string(),
        rows_received: 0,
        rows_staged: 0,
        rows_rejected: 0,
        reason,
        linkage: None,
    }
}

/// A delivery's or load's line from its records in the staged manifest.
fn staged_line(
    dataset: &str,
    contract_partner: &str,
    id: &str,
    loads: &[&LoadRecord],
) -> DeliveryStatus {
    let first = loads[0];
    let (state, reason) = if let Some(r) = &first.retracted {
        (
            "retracted",
            Some(format!("retracted at {}: {}", r.at, r.reason)),
        )
    } else if let Some(by) = &first.superseded_by {
        ("superseded", Some(format!("replaced by {by}")))
    } else if let Some(refused) = loads.iter().find_map(|l| l.refused.clone()) {
        ("refused", Some(refused))
    } else {
        ("staged", None)
    };
    DeliveryStatus {
        kind: if first.delivery.is_some() {
            "delivery"
        } else {
            "load"
        }
        .into(),
        partner: first.partner(contract_partner).to_string(),
        dataset: dataset.to_string(),
        period: first.period().unwrap_or("all").to_string(),
        upload_id: id.to_string(),
        state: state.to_string(),
        rows_received: loads.iter().map(|l| l.rows_received).sum(),
        rows_staged: loads.iter().map(|l| l.rows_staged).sum(),
        rows_rejected: loads.iter().map(|l| l.rows_rejected).sum(),
        reason,
        linkage: None,
    }
}

fn linkage_text(record: &IntakeRecord) -> Option<String> {
    if let Some(warning) = &record.linkage_warning {
        return Some(format!("WARNING: {warning}"));
    }
    if record.linkage.is_empty() {
        return None;
    }
    Some(
        record
            .linkage
            .iter()
            .map(|l| format!("{} {:.0}%", l.partner, l.share * 100.0))
            .collect::<Vec<_>>()
            .join(", "),
    )
}
