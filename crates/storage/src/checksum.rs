use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The checksum and size of an object, as recorded in manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksummed {
    pub sha256: String,
    pub size: u64,
}
