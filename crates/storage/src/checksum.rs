use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of a byte slice.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 and size of everything a reader yields, read in 1 MiB blocks (blocking: call it
/// on a blocking thread from async code).
pub fn checksum_reader(mut reader: impl std::io::Read) -> std::io::Result<Checksummed> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Ok(Checksummed {
                sha256: hex::encode(hasher.finalize()),
                size,
            });
        }
        hasher.update(&buffer[..n]);
        size += n as u64;
    }
}

/// The checksum and size of an object, as recorded in manifests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksummed {
    pub sha256: String,
    pub size: u64,
}
