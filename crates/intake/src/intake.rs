//! Hub side of a delivery: `svna intake` takes in what partners uploaded ([`crate::upload`]).
//!
//! Only upload folders with a manifest are looked at. The partner is the landing prefix the
//! upload sits under, never the manifest's say-so; files, checksums, row counts, period and
//! key fingerprint are all checked again here, and an upload that fails any check is
//! quarantined on its own while the others go on.

use serde::{Deserialize, Serialize};
use svna_contracts::{Contracts, Dataset, NameKind, check_name};
use svna_storage::{Store, Zone, sha256_hex};

use crate::cross_file::staged_reference_checks;
use crate::deliveries::refresh_deliveries;
use crate::error::IntakeError;
use crate::keys::{KeyRegistration, check_fingerprint, registered_key};
use crate::linkage::{Linkage, measure_linkage};
use crate::load::{commit_loads, stage_file};
use crate::period::parse_period;
use crate::upload::{UploadManifest, check_file_name};
use svna_records::Delivery;

/// What the hub did with one upload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeRecord {
    pub upload_id: String,
    /// The partner whose landing prefix holds the upload (never the manifest's say-so).
    pub partner: String,
    pub dataset: String,
    pub period: String,
    pub status: IntakeStatus,
    pub reason: Option<String>,
    pub files: Vec<IntakeFile>,
    pub taken_at: String,
    /// The upload's manifest in the landing zone.
    #[serde(default)]
    pub landing: String,
    /// Share of the delivery's distinct person tokens found in each other partner's active
    /// person data (person-level deliveries only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub linkage: Vec<Linkage>,
    /// Set when the tokens link with nobody's although other partners have person data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linkage_warning: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeStatus {
    Staged,
    Quarantined,
    /// Not taken in yet: it refers to an extract the partner has not delivered (persons
    /// before their offences). Never recorded, so the next intake tries it again.
    Waiting,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntakeFile {
    pub path: String,
    pub rows_received: u64,
    pub rows_staged: u64,
    pub rows_rejected: u64,
    pub refused: Option<String>,
}
/// An upload folder found in the landing zone: `landing/<partner>/<dataset>/<upload>/`
/// holding `manifest.json`. The segments are as listed (percent-encoded by the store where a
/// name needed it), so a name that passes the name rule is exactly the name uploaded.
#[derive(Debug, Clone)]
pub(crate) struct Landed {
    pub manifest_path: String,
    pub folder: String,
    pub partner: String,
    pub dataset: String,
    pub upload: String,
}

impl Landed {
    fn parse(path: &str) -> Option<Landed> {
        let parts: Vec<&str> = path.split('/').collect();
        match parts.as_slice() {
            [zone, partner, dataset, upload, "manifest.json"]
                if *zone == Zone::Landing.prefix() =>
            {
                Some(Landed {
                    manifest_path: path.to_string(),
                    folder: path.trim_end_matches("/manifest.json").to_string(),
                    partner: partner.to_string(),
                    dataset: dataset.to_string(),
                    upload: upload.to_string(),
                })
            }
            _ => None,
        }
    }

    /// Whether every segment is a plain name, safe to use in paths the hub writes. (The
    /// upload id, `up-<hex>`, is held to the same rule; `NameKind` has no kind for it.)
    fn has_plain_names(&self) -> bool {
        check_name(NameKind::Partner, &self.partner).is_ok()
            && check_name(NameKind::Dataset, &self.dataset).is_ok()
            && check_name(NameKind::Dataset, &self.upload).is_ok()
    }

    /// Where the hub records what it did with this upload. Keyed by where the upload sits,
    /// never by what its manifest says; an upload under a name that fails the name rule is
    /// recorded under a digest of its path, so no such name is ever written back.
    pub(crate) fn record_path(&self) -> String {
        if self.has_plain_names() {
            Zone::Staged.join(&format!(
                "_intake/{}/{}/{}.json",
                self.partner, self.dataset, self.upload
            ))
        } else {
            Zone::Staged.join(&format!("_intake/_unnamed/{}.json", self.digest()))
        }
    }

    fn quarantine_path(&self) -> String {
        if self.has_plain_names() {
            Zone::Quarantine.join(&format!("uploads/{}/{}.json", self.partner, self.upload))
        } else {
            Zone::Quarantine.join(&format!("uploads/_unnamed/{}.json", self.digest()))
        }
    }

    fn digest(&self) -> String {
        sha256_hex(self.manifest_path.as_bytes())[..16].to_string()
    }
}

/// Every upload folder in the landing zone that has a manifest.
pub(crate) async fn landed_uploads(store: &Store) -> Result<Vec<Landed>, IntakeError> {
    Ok(store
        .list(&format!("{}/", Zone::Landing.prefix()))
        .await?
        .iter()
        .filter_map(|p| Landed::parse(p))
        .collect())
}

/// Why an upload goes no further: quarantined with a reason, or a failure of the hub itself
/// (the store), which stops the command.
enum Stop {
    Quarantine(String),
    /// Left in the landing zone, unrecorded, to be taken in by a later intake.
    Wait(String),
    Error(IntakeError),
}

impl From<IntakeError> for Stop {
    fn from(e: IntakeError) -> Self {
        Stop::Error(e)
    }
}

impl From<svna_storage::StorageError> for Stop {
    fn from(e: svna_storage::StorageError) -> Self {
        Stop::Error(e.into())
    }
}

fn quarantine<T>(reason: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Quarantine(reason.into()))
}

/// Longest reason kept: a hostile manifest cannot grow the records every command re-reads.
const MAX_REASON_CHARS: usize = 600;

fn truncated(reason: String) -> String {
    if reason.chars().count() <= MAX_REASON_CHARS {
        return reason;
    }
    let mut short: String = reason.chars().take(MAX_REASON_CHARS).collect();
    short.push_str("… (truncated)");
    short
}

/// Takes in every upload that has a manifest and no intake record yet, oldest first. An
/// upload that is malformed or lies (about its partner, its files, their checksums or row
/// counts, its period or key) is quarantined on its own with the reason; the others go on.
/// Errors are the store's own failures only.
pub async fn intake_all(
    store: &Store,
    contracts: &Contracts,
) -> Result<Vec<IntakeRecord>, IntakeError> {
    let mut pending = Vec::new();
    for landed in landed_uploads(store).await? {
        if !store.exists(&landed.record_path()).await? {
            let manifest = read_manifest(store, &landed).await?;
            pending.push((landed, manifest));
        }
    }
    // Extracts others refer to first (offences before the persons that point at them), then
    // oldest first, so a later upload supersedes an earlier one; unreadable ones first of all
    // (they stage nothing). Uploads of one dataset keep their order either way.
    let nobody_refers_to = |dataset: &str| {
        !contracts
            .datasets
            .iter()
            .any(|d| d.references.iter().any(|r| r.dataset == dataset))
    };
    pending.sort_by(|(a, ma), (b, mb)| {
        let key =
            |m: &Result<UploadManifest, String>| m.as_ref().ok().map(|m| m.uploaded_at.clone());
        nobody_refers_to(&a.dataset)
            .cmp(&nobody_refers_to(&b.dataset))
            .then(key(ma).cmp(&key(mb)))
            .then(a.manifest_path.cmp(&b.manifest_path))
    });
    let key = registered_key(store).await?;
    let mut records = Vec::new();
    for (landed, manifest) in pending {
        records.push(intake_one(store, contracts, key.as_ref(), &landed, manifest).await?);
    }
    // Pipelines read the deliveries (the data-quality table) as a staged dataset: keep it in
    // step with what was just staged or superseded.
    refresh_deliveries(store, contracts).await?;
    Ok(records)
}

/// The manifest, or why it cannot be one. A name that fails the name rule is not read at
/// all: its listed spelling is percent-encoded and would be encoded again on the way back.
async fn read_manifest(
    store: &Store,
    landed: &Landed,
) -> Result<Result<UploadManifest, String>, IntakeError> {
    if let Err(e) = check_name(NameKind::Partner, &landed.partner) {
        return Ok(Err(format!(
            "landing prefix `landing/{}/`: {e}; the partner must upload again under a valid id",
            landed.partner
        )));
    }
    if !landed.has_plain_names() {
        return Ok(Err(format!(
            "`{}` is not a folder svna writes (landing/<partner>/<dataset>/<upload id>/); upload with `svna upload`",
            landed.folder
        )));
    }
    let bytes = store.get(&landed.manifest_path).await?;
    Ok(serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "{} is not a valid upload manifest ({e}); upload again with `svna upload`",
            landed.manifest_path
        )
    }))
}

async fn intake_one(
    store: &Store,
    contracts: &Contracts,
    key: Option<&KeyRegistration>,
    landed: &Landed,
    manifest: Result<UploadManifest, String>,
) -> Result<IntakeRecord, IntakeError> {
    let mut record = IntakeRecord {
        upload_id: landed.upload.clone(),
        partner: landed.partner.clone(),
        dataset: landed.dataset.clone(),
        // Bounded: a hostile period string is not copied whole into every status.
        period: manifest
            .as_ref()
            .map(|m| m.period.chars().take(64).collect())
            .unwrap_or_default(),
        status: IntakeStatus::Quarantined,
        reason: None,
        files: Vec::new(),
        taken_at: chrono::Utc::now().to_rfc3339(),
        landing: landed.manifest_path.clone(),
        linkage: Vec::new(),
        linkage_warning: None,
    };
    let outcome = match manifest {
        Err(reason) => Err(Stop::Quarantine(reason)),
        Ok(manifest) => take_in(store, contracts, key, landed, &manifest, &mut record).await,
    };
    match outcome {
        Ok(()) => record.status = IntakeStatus::Staged,
        Err(Stop::Error(e)) => return Err(e),
        Err(Stop::Wait(reason)) => {
            record.status = IntakeStatus::Waiting;
            record.reason = Some(truncated(reason));
            return Ok(record);
        }
        Err(Stop::Quarantine(reason)) => {
            let reason = truncated(reason);
            store
                .put_json(
                    &landed.quarantine_path(),
                    &serde_json::json!({ "landing": landed.manifest_path, "reason": reason }),
                )
                .await?;
            record.reason = Some(reason);
        }
    }
    // Written last: an intake killed before this point is taken in again next time, and
    // the commit recognises loads it already listed.
    store.put_json(&landed.record_path(), &record).await?;
    Ok(record)
}

/// Checks an upload against what the hub can verify, stages its files, compares their row
/// counts, and lists them in the staged manifest in one conditional commit.
async fn take_in(
    store: &Store,
    contracts: &Contracts,
    key: Option<&KeyRegistration>,
    landed: &Landed,
    manifest: &UploadManifest,
    record: &mut IntakeRecord,
) -> Result<(), Stop> {
    let dataset = check_manifest(contracts, landed, manifest)?;
    let period = match parse_period(&manifest.period) {
        Ok(period) => period,
        Err(_) => {
            return quarantine(format!(
                "period `{}` is not YYYY-MM-DD..YYYY-MM-DD (start before end); upload again with a valid --period",
                manifest.period
            ));
        }
    };
    check_files(store, landed, manifest).await?;
    check_key(dataset, key, manifest)?;
    let checks = match staged_reference_checks(
        store,
        dataset,
        contracts.version,
        &landed.partner,
        Some(&period),
    )
    .await?
    {
        Ok(checks) => checks,
        Err(missing) => return Err(Stop::Wait(format!("waiting: {missing}"))),
    };

    let delivery = Delivery {
        partner: landed.partner.clone(),
        period: period.clone(),
        upload_id: landed.upload.clone(),
    };
    let partition = format!("period={}/", period.replace("..", "_"));
    let mut staged = Vec::new();
    for file in &manifest.files {
        let load_id = format!("load-{}-{}", landed.upload, &file.sha256[..12]);
        let mut load = stage_file(
            store,
            dataset,
            file.clone(),
            load_id,
            &partition,
            checks.clone(),
        )
        .await?;
        let declared = file.rows.unwrap_or(0);
        if let Some(refused) = &load.refused {
            return quarantine(format!("{} was refused: {refused}", file.path));
        }
        if load.rows_received != declared {
            return quarantine(format!(
                "{} holds {} rows but its manifest says {declared}; nothing of this upload was staged",
                file.path, load.rows_received
            ));
        }
        load.source.rows = Some(declared);
        load.delivery = Some(delivery.clone());
        load.period = Some(period.clone());
        staged.push(load);
    }
    let outcomes = commit_loads(store, dataset, contracts.version, staged).await?;
    for outcome in &outcomes {
        let r = &outcome.record;
        record.files.push(IntakeFile {
            path: r.source.path.clone(),
            rows_received: r.rows_received,
            rows_staged: r.rows_staged,
            rows_rejected: r.rows_rejected,
            refused: r.refused.clone(),
        });
    }
    let (linkage, warning) =
        measure_linkage(store, contracts, dataset, &landed.partner, &outcomes).await?;
    record.linkage = linkage;
    record.linkage_warning = warning;
    Ok(())
}

/// The manifest must describe the upload it sits in: the partner of an upload is the landing
/// prefix it is under, and its dataset and id are the folders it is in.
fn check_manifest<'c>(
    contracts: &'c Contracts,
    landed: &Landed,
    manifest: &UploadManifest,
) -> Result<&'c Dataset, Stop> {
    if manifest.partner != landed.partner {
        return quarantine(format!(
            "its manifest says partner `{}` but it was uploaded under landing/{}/: the partner of an upload is the prefix it sits under",
            manifest.partner.chars().take(80).collect::<String>(),
            landed.partner
        ));
    }
    if manifest.dataset != landed.dataset || manifest.upload_id != landed.upload {
        return quarantine(format!(
            "its manifest names dataset `{}` and upload `{}` but it sits in {}/; upload with `svna upload`",
            manifest.dataset.chars().take(80).collect::<String>(),
            manifest.upload_id.chars().take(80).collect::<String>(),
            landed.folder
        ));
    }
    let Ok(dataset) = contracts.dataset(&manifest.dataset) else {
        return quarantine(format!("unknown dataset `{}`", manifest.dataset));
    };
    if !dataset.kind.is_delivered() {
        return quarantine(format!(
            "`{}` is not delivered by partners (it is svna's own {:?} data)",
            dataset.name, dataset.kind
        ));
    }
    if !contracts.accepts(manifest.contract_version) {
        return quarantine(format!(
            "contract version {} is not one the hub accepts ({} to {})",
            manifest.contract_version,
            contracts.oldest_accepted(),
            contracts.version
        ));
    }
    Ok(dataset)
}

/// Every file must lie directly in the upload's own folder, be listed once, declare its row
/// count, and hash to the SHA-256 and size its manifest gives.
async fn check_files(
    store: &Store,
    landed: &Landed,
    manifest: &UploadManifest,
) -> Result<(), Stop> {
    if manifest.files.is_empty() {
        return quarantine("its manifest lists no file");
    }
    let mut seen = std::collections::BTreeSet::new();
    for file in &manifest.files {
        let inside = file
            .path
            .strip_prefix(&format!("{}/", landed.folder))
            .is_some_and(|name| check_file_name(name).is_ok());
        if !inside {
            return quarantine(format!(
                "its manifest names `{}`, which is not a file of this upload ({}/): every file must lie in the upload's own folder",
                file.path.chars().take(200).collect::<String>(),
                landed.folder
            ));
        }
        if !seen.insert(&file.path) {
            return quarantine(format!("its manifest lists {} twice", file.path));
        }
        if file.rows.is_none() {
            return quarantine(format!("its manifest gives no row count for {}", file.path));
        }
        if !store.exists(&file.path).await? {
            return quarantine(format!("{} is listed but missing", file.path));
        }
        let actual = store.checksum(&file.path).await?;
        if actual.sha256 != file.sha256 || actual.size != file.size {
            return quarantine(format!(
                "{} does not match its manifest checksum (expected {} and {} bytes, found {} and {} bytes)",
                file.path,
                file.sha256.chars().take(64).collect::<String>(),
                file.size,
                actual.sha256,
                actual.size
            ));
        }
    }
    Ok(())
}

/// Person-level data must declare the fingerprint the coordinator registered.
fn check_key(
    dataset: &Dataset,
    key: Option<&KeyRegistration>,
    manifest: &UploadManifest,
) -> Result<(), Stop> {
    if dataset.token_columns().next().is_none() {
        return Ok(());
    }
    let Some(fingerprint) = &manifest.key_fingerprint else {
        return quarantine(
            "person-level data without a linkage-key fingerprint; upload again with --key-fingerprint (`svna key fingerprint KEYFILE`)",
        );
    };
    if let Err(e) = check_fingerprint(fingerprint) {
        return quarantine(e.to_string());
    }
    let Some(key) = key else {
        return quarantine(
            "no partnership linkage key is registered, so its tokens cannot be checked; the coordinator must run `svna key register --store S --fingerprint HEX`, then `svna intake` again",
        );
    };
    if key.key_fingerprint != *fingerprint {
        return quarantine(format!(
            "linkage-key fingerprint {fingerprint} differs from the partnership's {}; tokens would not link: pseudonymise again with the partnership key and upload again",
            key.key_fingerprint
        ));
    }
    Ok(())
}
