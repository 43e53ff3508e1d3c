//! Commit points that concurrent commands cannot lose: a JSON document kept as numbered,
//! immutable versions under a prefix (`<prefix>/v00000000000000000001.json`, ...), the newest
//! being the current one.
//!
//! Why not one object overwritten with `PutMode::Update` (compare-and-swap on its version)?
//! object_store 0.13's `LocalFileSystem`, the embedded default, answers `Update` with
//! `NotImplemented`; it does implement `PutMode::Create` atomically (a hard link, which fails
//! when the name exists), as do S3, Azure, GCS and `memory://`. So a writer reads the newest
//! version `n`, applies its change and creates version `n + 1`: of two writers that read the
//! same `n`, exactly one creation succeeds, and the other is told so ([`Store::create_version`]
//! returns `false`) and must re-read and re-apply. Nothing is overwritten, so nothing is lost,
//! and every earlier state stays readable for an audit.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::StorageError;
use crate::store::Store;

/// A document read at one version.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    /// The version read; the next commit creates `number + 1`.
    pub number: u64,
    pub value: T,
}

/// The object holding version `number` of the document under `prefix`. Zero-padded so that
/// the lexical order of a listing is the numeric order.
pub fn version_path(prefix: &str, number: u64) -> String {
    format!("{}/v{number:020}.json", prefix.trim_end_matches('/'))
}

fn version_number(prefix: &str, path: &str) -> Option<u64> {
    let name = path
        .strip_prefix(prefix.trim_end_matches('/'))?
        .strip_prefix("/v")?
        .strip_suffix(".json")?;
    if name.len() != 20 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

impl Store {
    /// The newest version of the document under `prefix`, or `None` when none was committed.
    /// Objects under the prefix that are not versions (e.g. an object store's temporary
    /// files) are ignored.
    pub async fn latest_version<T: DeserializeOwned>(
        &self,
        prefix: &str,
        what: &'static str,
    ) -> Result<Option<Versioned<T>>, StorageError> {
        let newest = self
            .list(&format!("{}/", prefix.trim_end_matches('/')))
            .await?
            .iter()
            .filter_map(|path| version_number(prefix, path))
            .max();
        let Some(number) = newest else {
            return Ok(None);
        };
        let value = self.get_json(&version_path(prefix, number), what).await?;
        Ok(Some(Versioned { number, value }))
    }

    /// Creates version `number` of the document under `prefix` (`PutMode::Create`). Returns
    /// `false`, writing nothing, when another writer created that version first: the caller
    /// must read the newest version again and re-apply its change to it.
    pub async fn create_version<T: Serialize>(
        &self,
        prefix: &str,
        number: u64,
        value: &T,
    ) -> Result<bool, StorageError> {
        match self
            .put_json_new(&version_path(prefix, number), value)
            .await
        {
            Ok(()) => Ok(true),
            Err(StorageError::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_numbers_are_parsed_only_from_version_names() {
        let p = "staged/x/_manifest";
        assert_eq!(version_number(p, &version_path(p, 42)), Some(42));
        assert_eq!(version_number(p, "staged/x/_manifest/v1.json"), None);
        assert_eq!(
            version_number(p, "staged/x/_manifest/v00000000000000000001.json#1"),
            None
        );
        assert_eq!(
            version_number(p, "staged/y/_manifest/v00000000000000000001.json"),
            None
        );
    }

    #[tokio::test]
    async fn of_two_writers_of_one_version_exactly_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().to_str().unwrap()).unwrap();
        let p = "staged/doc";
        assert!(store.latest_version::<u32>(p, "n").await.unwrap().is_none());
        let (a, b) = tokio::join!(
            store.create_version(p, 1, &10u32),
            store.create_version(p, 1, &20u32)
        );
        assert!(a.unwrap() ^ b.unwrap(), "exactly one creation succeeds");
        assert!(store.create_version(p, 2, &30u32).await.unwrap());
        let latest = store.latest_version::<u32>(p, "n").await.unwrap().unwrap();
        assert_eq!((latest.number, latest.value), (2, 30));
    }
}
