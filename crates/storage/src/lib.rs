//! svna storage: every file svna reads or writes goes through an [`object_store`] named by
//! URL — a local directory (the embedded default), `s3://`, `az://`/`abfss://`, `gs://` or
//! `memory://`. The store is split into zones so that row-level data never sits beside
//! publishable aggregates, and multi-file results become visible only when the manifest
//! that lists them is written (the commit point).

mod checksum;
mod error;
mod manifest;
mod parquet_object;
mod store;
mod versioned;
mod zone;

pub use checksum::{Checksummed, checksum_reader, sha256_hex};
pub use error::StorageError;
pub use manifest::FileEntry;
pub use parquet_object::{ParquetObject, ParquetReaders, parquet_bytes};
pub use store::{ObjectReader, Store};
pub use versioned::{Versioned, version_path};
pub use zone::Zone;

pub use object_store;
