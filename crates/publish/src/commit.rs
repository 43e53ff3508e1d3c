//! How a release enters the published zone without ever being seen half-written.
//!
//! The published zone is what leaves the partnership (it is copied or synced as a whole), so
//! nothing uncommitted may sit in it for long. A release is built like this:
//!
//! 1. Every file is written under a staging prefix in the runs zone,
//!    `runs/_incoming/<release>/<unix seconds>-<id>/`, which is never published. A publish
//!    killed here leaves nothing in `published/`.
//! 2. The release name is claimed with a conditional create of
//!    `runs/_incoming/<release>.claim.json`, so that two publishes of one name never copy
//!    into the same folder at once.
//! 3. The staged files are copied to `published/<release>/` (object stores have no rename;
//!    a local store hard-links).
//! 4. The manifest is written last with `PutMode::Create`: the commit point. A release
//!    exists exactly when its manifest does.
//! 5. The staging files and the claim are removed.
//!
//! A publish killed in steps 3 to 5 leaves a release folder without a manifest, or a stale
//! claim or staging prefix; the next publish removes them ([`clean_leftovers`]) and `svna
//! verify` refuses a folder without a manifest as never committed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use svna_records::{RELEASE_MANIFEST, release_manifest_path, release_prefix};
use svna_storage::{FileEntry, StorageError, Store, Zone, sha256_hex};

use crate::error::PublishError;

/// How long a claim or staging prefix may be in use before it is taken as left behind by a
/// killed publish. Protection happens before staging, so a live publish only holds them
/// while writing and copying files: minutes even for a large release on a cloud store.
pub const STALE_AFTER: Duration = Duration::from_secs(30 * 60);

fn incoming(rest: &str) -> String {
    Zone::Runs.join(&format!("_incoming/{rest}"))
}

fn claim_path(release: &str) -> String {
    incoming(&format!("{release}.claim.json"))
}

/// Who holds a release name while copying it into the published zone.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claim {
    publish_id: String,
    claimed_at: String,
    /// The process holding the claim, where it can be checked: a publish killed on this
    /// machine is seen dead at once instead of after [`STALE_AFTER`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder: Option<Holder>,
}

/// A process on one boot of one machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Holder {
    /// The machine's boot id (Linux `/proc/sys/kernel/random/boot_id`): the same id is the
    /// same machine since the same boot, so the pid means the same process.
    boot_id: String,
    pid: u32,
}

impl Holder {
    /// This process, where the machine has a boot id to tell its processes apart.
    fn this_process() -> Option<Holder> {
        Some(Holder {
            boot_id: boot_id()?,
            pid: std::process::id(),
        })
    }

    /// Known to be gone: same machine and boot, and no such process. Elsewhere, unknown.
    fn is_gone(&self) -> bool {
        boot_id().is_some_and(|id| id == self.boot_id)
            && !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|id| id.trim().to_string())
        .filter(|id| !id.is_empty())
}

impl Claim {
    fn new(publish_id: &str) -> Self {
        Claim {
            publish_id: publish_id.to_string(),
            claimed_at: chrono::Utc::now().to_rfc3339(),
            holder: Holder::this_process(),
        }
    }

    fn is_stale(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        if self.holder.as_ref().is_some_and(Holder::is_gone) {
            return true;
        }
        chrono::DateTime::parse_from_rfc3339(&self.claimed_at)
            .map(|at| now.signed_duration_since(at).to_std().unwrap_or_default() > STALE_AFTER)
            // An unreadable claim cannot belong to a live publish of this version.
            .unwrap_or(true)
    }
}

/// The files of one release being written, before it is committed.
pub struct Staging {
    release: String,
    publish_id: String,
    prefix: String,
    /// Relative name in the release (`tables/t.csv`) of every staged file.
    files: Vec<String>,
}

impl Staging {
    pub fn new(release: &str) -> Self {
        let now = chrono::Utc::now().timestamp();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let publish_id = format!("{now}-{}", &id[..12]);
        Staging {
            release: release.to_string(),
            prefix: incoming(&format!("{release}/{publish_id}/")),
            publish_id,
            files: Vec::new(),
        }
    }

    /// Where `name` will be once the release is committed (the path the manifest lists).
    pub fn final_path(&self, name: &str) -> String {
        format!("{}{name}", release_prefix(&self.release))
    }

    /// Stages one file of the release and returns its manifest entry (final path).
    pub async fn put(
        &mut self,
        store: &Store,
        name: &str,
        bytes: Bytes,
        rows: Option<u64>,
    ) -> Result<FileEntry, PublishError> {
        let entry = FileEntry {
            path: self.final_path(name),
            sha256: sha256_hex(&bytes),
            size: bytes.len() as u64,
            rows,
        };
        store.put(&format!("{}{name}", self.prefix), bytes).await?;
        self.files.push(name.to_string());
        Ok(entry)
    }

    /// Claims the name, copies the staged files into `published/<release>/` and writes the
    /// manifest last, only if no manifest is there yet. On failure, nothing of this publish
    /// is left in the published zone (best effort: a kill leaves what [`clean_leftovers`]
    /// removes).
    pub async fn commit(self, store: &Store, manifest: Bytes) -> Result<(), PublishError> {
        self.claim(store).await?;
        let result = self.copy_and_commit(store, manifest).await;
        if result.is_err()
            && !store
                .exists(&self.final_path(RELEASE_MANIFEST))
                .await
                .unwrap_or(true)
        {
            // Not committed, and no other publish committed the name: the files this one
            // copied must not stay public. (A committed release's files are never touched.)
            let _ = remove_prefix(store, &release_prefix(&self.release)).await;
        }
        // Committed or not, staging and claim are no longer needed. A failure to remove
        // them is not the release's failure: the next publish removes them.
        let _ = remove_prefix(store, &self.prefix).await;
        let _ = store.delete(&claim_path(&self.release)).await;
        result
    }

    async fn copy_and_commit(&self, store: &Store, manifest: Bytes) -> Result<(), PublishError> {
        let manifest_path = self.final_path(RELEASE_MANIFEST);
        if store.exists(&manifest_path).await? {
            return Err(self.exists());
        }
        // Files of an earlier publish of this name that was killed before its manifest: we
        // hold the claim, so no live publish is writing them.
        remove_prefix(store, &release_prefix(&self.release)).await?;
        for name in &self.files {
            store
                .copy(&format!("{}{name}", self.prefix), &self.final_path(name))
                .await?;
        }
        match store.put_new(&manifest_path, manifest).await {
            Err(StorageError::AlreadyExists { .. }) => Err(self.exists()),
            other => Ok(other?),
        }
    }

    async fn claim(&self, store: &Store) -> Result<(), PublishError> {
        claim_name(store, &self.release, &self.publish_id).await
    }

    fn exists(&self) -> PublishError {
        PublishError::ReleaseExists {
            name: self.release.clone(),
        }
    }
}

/// Takes a release name for `publish_id`, or says who holds it. A claim older than
/// [`STALE_AFTER`] was left by a killed publish and is taken over.
async fn claim_name(store: &Store, release: &str, publish_id: &str) -> Result<(), PublishError> {
    let claim = Claim::new(publish_id);
    let path = claim_path(release);
    let busy = |since: String| PublishError::ReleaseBusy {
        name: release.to_string(),
        since,
        stale_after_minutes: STALE_AFTER.as_secs() / 60,
    };
    for _ in 0..2 {
        match store.put_json_new(&path, &claim).await {
            Ok(()) => return Ok(()),
            Err(StorageError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if store.exists(&release_manifest_path(release)).await? {
            return Err(PublishError::ReleaseExists {
                name: release.to_string(),
            });
        }
        let holder: Option<Claim> = store.get_json(&path, "a release claim").await.ok();
        match holder {
            Some(holder) if !holder.is_stale(chrono::Utc::now()) => {
                return Err(busy(holder.claimed_at));
            }
            _ => store.delete(&path).await?,
        }
    }
    Err(busy("just now".into()))
}

/// Deletes every object under a prefix.
async fn remove_prefix(store: &Store, prefix: &str) -> Result<(), PublishError> {
    for path in store.list(prefix).await? {
        store.delete(&path).await?;
    }
    Ok(())
}

/// What [`clean_leftovers`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// Release folders that had files but no manifest.
    pub uncommitted_releases: Vec<String>,
    /// Object-store temporaries (`…#1`) in the published zone of a local store.
    pub temporaries: Vec<String>,
    /// Staging prefixes and claims of killed publishes.
    pub staging: Vec<String>,
}

/// Removes what killed publishes left: release folders without a manifest, object-store
/// temporaries in the published zone, and staging prefixes and claims older than
/// [`STALE_AFTER`]. A release folder still claimed by a live publish is left alone.
pub async fn clean_leftovers(store: &Store) -> Result<Cleaned, PublishError> {
    let now = chrono::Utc::now();
    let mut cleaned = Cleaned::default();
    let live = live_claims(store, now, &mut cleaned).await?;
    let mut folders: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in store.list(&Zone::Published.join("")).await? {
        let mut parts = path.splitn(3, '/').skip(1);
        let (Some(folder), Some(_)) = (parts.next(), parts.next()) else {
            continue; // a file at the zone root is nobody's release
        };
        folders.entry(folder.to_string()).or_default().push(path);
    }
    for (folder, files) in folders {
        let committed = files
            .iter()
            .any(|f| f.ends_with(&format!("/{RELEASE_MANIFEST}")));
        if committed || live.contains(&folder) {
            continue;
        }
        // Hold the name's claim while deleting, as a publish does while copying: a publish
        // that claimed it since the claims were read is then never undercut.
        let cleaner = format!("cleanup-{}", uuid::Uuid::new_v4().simple());
        match claim_name(store, &folder, &cleaner).await {
            Ok(()) => {}
            Err(PublishError::ReleaseBusy { .. } | PublishError::ReleaseExists { .. }) => continue,
            Err(e) => return Err(e),
        }
        if !store.exists(&release_manifest_path(&folder)).await? {
            for file in &files {
                store.delete(file).await?;
            }
            cleaned.uncommitted_releases.push(folder.clone());
        }
        store.delete(&claim_path(&folder)).await?;
    }
    for (release, publish_id) in staging_prefixes(store).await? {
        let started: Option<i64> = publish_id.split('-').next().and_then(|s| s.parse().ok());
        let old = started
            .is_none_or(|s: i64| now.timestamp().saturating_sub(s) > STALE_AFTER.as_secs() as i64);
        if old {
            let prefix = incoming(&format!("{release}/{publish_id}/"));
            remove_prefix(store, &prefix).await?;
            cleaned.staging.push(prefix);
        }
    }
    if let Some(root) = store.local_root() {
        cleaned.temporaries = clean_local_temporaries(&root.join(Zone::Published.prefix()), &live)
            .map_err(|source| PublishError::Cleanup {
                path: root.join(Zone::Published.prefix()).display().to_string(),
                source,
            })?;
    }
    Ok(cleaned)
}

/// Releases claimed by a publish that may still be running; stale claims are deleted.
async fn live_claims(
    store: &Store,
    now: chrono::DateTime<chrono::Utc>,
    cleaned: &mut Cleaned,
) -> Result<BTreeSet<String>, PublishError> {
    let mut live = BTreeSet::new();
    for path in store.list(&incoming("")).await? {
        let Some(release) = path
            .strip_prefix(&incoming(""))
            .and_then(|p| p.strip_suffix(".claim.json"))
            .filter(|r| !r.contains('/'))
        else {
            continue;
        };
        let claim: Option<Claim> = store.get_json(&path, "a release claim").await.ok();
        match claim {
            Some(c) if !c.is_stale(now) => {
                live.insert(release.to_string());
            }
            _ => {
                store.delete(&path).await?;
                cleaned.staging.push(path);
            }
        }
    }
    Ok(live)
}

/// `(release, publish id)` of every staging prefix.
async fn staging_prefixes(store: &Store) -> Result<BTreeSet<(String, String)>, PublishError> {
    let base = incoming("");
    let mut prefixes = BTreeSet::new();
    for path in store.list(&base).await? {
        let rest = path.strip_prefix(&base).unwrap_or(&path);
        let mut parts = rest.splitn(3, '/');
        if let (Some(release), Some(id), Some(_)) = (parts.next(), parts.next(), parts.next()) {
            prefixes.insert((release.to_string(), id.to_string()));
        }
    }
    Ok(prefixes)
}

/// object_store's local store writes `<file>#<n>` and renames it into place; a kill leaves
/// it, and object_store never lists it, so it is found on disk. Also removes directories
/// left empty in the published zone, which would otherwise look like releases. Folders of
/// live publishes are skipped.
fn clean_local_temporaries(
    published: &std::path::Path,
    live: &BTreeSet<String>,
) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    let Ok(folders) = std::fs::read_dir(published) else {
        return Ok(removed); // nothing published yet
    };
    for folder in folders {
        let folder = folder?.path();
        let name = folder.file_name().unwrap_or_default().to_string_lossy();
        if live.contains(&*name) {
            continue;
        }
        if folder.is_dir() {
            remove_temporaries(&folder, &mut removed)?;
        } else if is_temporary(&folder) {
            std::fs::remove_file(&folder)?;
            removed.push(folder.display().to_string());
        }
    }
    Ok(removed)
}

/// Removes temporaries under `dir`, then `dir` itself if that left it empty.
fn remove_temporaries(dir: &std::path::Path, removed: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            remove_temporaries(&path, removed)?;
        } else if is_temporary(&path) {
            std::fs::remove_file(&path)?;
            removed.push(path.display().to_string());
        }
    }
    if std::fs::read_dir(dir)?.next().is_none() {
        std::fs::remove_dir(dir)?;
    }
    Ok(())
}

/// `name#<digits>`: object_store's temporary for `name` (it refuses such names as objects).
fn is_temporary(path: &std::path::Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.rsplit_once('#')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a release folder exists without a manifest: a publish that never committed.
pub async fn is_uncommitted(store: &Store, release: &str) -> Result<bool, PublishError> {
    Ok(!store.exists(&release_manifest_path(release)).await?
        && !store.list(&release_prefix(release)).await?.is_empty())
}
