//! The partnership's linkage-key fingerprint, registered by the coordinator (`svna key
//! register`), never by whichever partner uploads first: a wrong key registered first would
//! have quarantined everyone else's correct one.

use serde::{Deserialize, Serialize};
use svna_storage::{Store, Zone};

use crate::error::IntakeError;

/// Fingerprint length: the first 16 lowercase hex characters of
/// `HMAC-SHA256(key, "svna key fingerprint v1")` (data contracts, "Every upload carries a
/// manifest").
pub const FINGERPRINT_LEN: usize = 16;

/// One registration: the fingerprint every person-level delivery must declare.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRegistration {
    pub key_fingerprint: String,
    pub registered_at: String,
    /// The fingerprint this registration replaced (a key rotation), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// What `register_key` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRegistered {
    New,
    /// The same fingerprint was registered already: nothing written.
    Unchanged,
    Replaced {
        previous: String,
    },
}

/// Where the registry's numbered versions live (staged zone: only the hub writes there).
fn registry_prefix() -> String {
    Zone::Staged.join("_partnership/key")
}

/// Checks the contract's fingerprint layout: exactly 16 lowercase hex characters.
pub fn check_fingerprint(fingerprint: &str) -> Result<(), IntakeError> {
    let ok = fingerprint.len() == FINGERPRINT_LEN
        && fingerprint
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IntakeError::Fingerprint {
            fingerprint: fingerprint.chars().take(40).collect(),
        })
    }
}

/// The registered fingerprint, if the coordinator registered one.
pub async fn registered_key(store: &Store) -> Result<Option<KeyRegistration>, IntakeError> {
    Ok(store
        .latest_version(&registry_prefix(), "the partnership's key registration")
        .await?
        .map(|v| v.value))
}

/// Registers the partnership's fingerprint as a new version of the registry, created only
/// if no other registration landed since it was read (`PutMode::Create`; retried on a
/// conflict). A different fingerprint replaces a registered one only with `replace`.
pub async fn register_key(
    store: &Store,
    fingerprint: &str,
    replace: bool,
) -> Result<KeyRegistered, IntakeError> {
    check_fingerprint(fingerprint)?;
    let prefix = registry_prefix();
    loop {
        let current = store
            .latest_version::<KeyRegistration>(&prefix, "the partnership's key registration")
            .await?;
        let (next, outcome, replaces) = match &current {
            None => (1, KeyRegistered::New, None),
            Some(v) if v.value.key_fingerprint == fingerprint => {
                return Ok(KeyRegistered::Unchanged);
            }
            Some(v) if !replace => {
                return Err(IntakeError::KeyRegistered {
                    registered: v.value.key_fingerprint.clone(),
                    requested: fingerprint.to_string(),
                });
            }
            Some(v) => (
                v.number + 1,
                KeyRegistered::Replaced {
                    previous: v.value.key_fingerprint.clone(),
                },
                Some(v.value.key_fingerprint.clone()),
            ),
        };
        let registration = KeyRegistration {
            key_fingerprint: fingerprint.to_string(),
            registered_at: chrono::Utc::now().to_rfc3339(),
            replaces,
        };
        if store.create_version(&prefix, next, &registration).await? {
            return Ok(outcome);
        }
        // Another registration landed first: decide again against it.
    }
}
