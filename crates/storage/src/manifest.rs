use serde::{Deserialize, Serialize};

/// One file listed by a manifest or record: where it is, what it should hash to, how many
/// rows it holds. A reader trusts only files listed by a committed manifest. The default, an
/// empty path, is what a record lacking the entry reads as: no store holds it, so whoever
/// checks it finds it missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the store root.
    pub path: String,
    pub sha256: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}
