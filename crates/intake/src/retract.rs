//! `svna retract`: takes a delivery or load out of what pipelines read, on the record.

use svna_contracts::Contracts;
use svna_storage::Store;

use crate::deliveries::refresh_deliveries;
use crate::error::IntakeError;
use svna_records::{Edit, Retraction, StagedManifest};

/// What to retract: every file of one partner upload, or one load.
#[derive(Debug, Clone)]
pub enum RetractTarget {
    Delivery(String),
    Load(String),
}

/// One load marked retracted (or found already retracted).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Retracted {
    pub dataset: String,
    pub load_id: String,
    /// It had been retracted before: the earlier record was kept.
    pub already: bool,
}

/// Marks the target's loads retracted in their staged manifests, with the time and reason,
/// each in a conditional commit. Files are kept: the retraction is a record, not a deletion.
/// Loads the target had superseded stay superseded (load them again to read them again).
pub async fn retract(
    store: &Store,
    contracts: &Contracts,
    target: &RetractTarget,
    reason: &str,
) -> Result<Vec<Retracted>, IntakeError> {
    let matches = |load: &crate::LoadRecord| match target {
        RetractTarget::Delivery(id) => load.delivery.as_ref().is_some_and(|d| d.upload_id == *id),
        RetractTarget::Load(id) => load.load_id == *id,
    };
    let retraction = Retraction {
        at: chrono::Utc::now().to_rfc3339(),
        reason: reason.to_string(),
    };
    let mut retracted = Vec::new();
    for dataset in contracts
        .datasets
        .iter()
        .filter(|d| d.kind.is_delivered() || d.kind == svna_contracts::DatasetKind::Reference)
    {
        let current = StagedManifest::read(store, &dataset.name, contracts.version).await?;
        if !current.loads.iter().any(&matches) {
            continue;
        }
        let done = StagedManifest::update(
            store,
            &dataset.name,
            contracts.version,
            |manifest| -> Result<_, IntakeError> {
                let mut done = Vec::new();
                for load in manifest.loads.iter_mut().filter(|l| matches(l)) {
                    done.push(Retracted {
                        dataset: dataset.name.clone(),
                        load_id: load.load_id.clone(),
                        already: load.retracted.is_some(),
                    });
                    if load.retracted.is_none() {
                        load.retracted = Some(retraction.clone());
                    }
                }
                Ok(if done.iter().all(|d| d.already) {
                    Edit::Keep(done)
                } else {
                    Edit::Write(done)
                })
            },
        )
        .await?;
        retracted.extend(done);
    }
    if retracted.is_empty() {
        return Err(IntakeError::NotStaged {
            what: match target {
                RetractTarget::Delivery(_) => "delivery",
                RetractTarget::Load(_) => "load",
            },
            id: match target {
                RetractTarget::Delivery(id) | RetractTarget::Load(id) => id.clone(),
            },
        });
    }
    refresh_deliveries(store, contracts).await?;
    Ok(retracted)
}
